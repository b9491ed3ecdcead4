// Package stafftest gives tests staff tokens signed the way production
// tokens are: a dev Ed25519 key pair written as the two secrets
// (staffauth.PrivateKeySecret, staffauth.PublicKeysSecret) into a secrets
// folder, and tokens minted with its private key. It is the one helper the
// function, api and end-to-end tests share.
package stafftest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua/shared/staffauth"
)

// WriteKeys generates a key pair and writes both secrets into dir (created
// if needed), replacing what was there. It returns the signer.
func WriteKeys(tb testing.TB, dir string) *staffauth.Signer {
	tb.Helper()
	priv, set, err := staffauth.GenerateDevKeys()
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	for name, b := range map[string][]byte{staffauth.PrivateKeySecret: priv, staffauth.PublicKeysSecret: set} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	s, err := staffauth.NewSigner(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// LoadSigner reads the private key secret from dir (as the local runner
// generated it) and returns its signer.
func LoadSigner(tb testing.TB, dir string) *staffauth.Signer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, staffauth.PrivateKeySecret))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := staffauth.NewSigner(b, "")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Token mints a one-hour token of sub at agency with roles (RoleStaff
// when none are given).
func Token(tb testing.TB, s *staffauth.Signer, sub, agency string, roles ...string) string {
	tb.Helper()
	if len(roles) == 0 {
		roles = []string{staffauth.RoleStaff}
	}
	tok, err := s.Mint(staffauth.Claims{Subject: sub, Agency: agency, Roles: roles}, time.Hour, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}
