package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

func TestTokenMint(t *testing.T) {
	dir := t.TempDir()
	signer := stafftest.WriteKeys(t, dir)
	otherDir := t.TempDir()
	other := stafftest.WriteKeys(t, otherDir)
	verify := func(t *testing.T, keysDir, tok string) staffauth.Claims {
		t.Helper()
		v, err := staffauth.NewVerifier(config.Secrets{Dir: keysDir})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify("Bearer "+tok, time.Now())
		if err != nil {
			t.Fatalf("minted token does not verify: %v", err)
		}
		return c
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		keysDir string
		roles   string
		code    int
	}{
		{"from_secrets_dir_env", []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--ttl", "8h"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, dir, "staff", 0},
		{"from_secret_file", []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--secret-file", filepath.Join(otherDir, staffauth.PrivateKeySecret)}, nil, otherDir, "staff", 0},
		{"admin_role", []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--roles", "staff,admin", "--name", "Trần Thị B"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, dir, "staff,admin", 0},
		{"missing_agency", []string{"token", "mint", "--sub", "officer1"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, "", "", 2},
		{"ttl_too_long", []string{"token", "mint", "--sub", "o", "--agency", "STP", "--ttl", "24h"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, "", "", 2},
		{"secret_file_absent", []string{"token", "mint", "--sub", "o", "--agency", "STP", "--secret-file", filepath.Join(dir, "nope")}, nil, "", "", 1},
		{"secrets_dir_without_key", []string{"token", "mint", "--sub", "o", "--agency", "STP"}, []string{"MOTCUA_SECRETS_DIR=" + t.TempDir()}, "", "", 1},
		{"public_key_set_is_not_a_private_key", []string{"token", "mint", "--sub", "o", "--agency", "STP", "--secret-file", filepath.Join(dir, staffauth.PublicKeysSecret)}, nil, "", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &env{stdout: &out, stderr: &errb, environ: tt.environ})
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errb.String())
			}
			if tt.code != 0 {
				return
			}
			c := verify(t, tt.keysDir, strings.TrimSpace(out.String()))
			if c.Subject != "officer1" || c.Agency != "STP" || strings.Join(c.Roles, ",") != tt.roles {
				t.Fatalf("claims = %+v", c)
			}
			if strings.Contains(errb.String(), "PRIVATE KEY") {
				t.Fatal("private key printed")
			}
		})
	}
	t.Run("kid_flag", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"token", "mint", "--sub", "o", "--agency", "STP", "--kid", "2026-12"}, &env{stdout: &out, stderr: &errb, environ: []string{"MOTCUA_SECRETS_DIR=" + dir}})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		// The published set names the key by its thumbprint: kid 2026-12 is unknown to it.
		v, _ := staffauth.NewVerifier(config.Secrets{Dir: dir})
		if _, err := v.Verify("Bearer "+strings.TrimSpace(out.String()), time.Now()); err == nil {
			t.Fatal("token with a kid absent from the set verified")
		}
	})
	t.Run("local_stack_key", func(t *testing.T) {
		data := t.TempDir()
		stafftest.WriteKeys(t, filepath.Join(data, "secrets"))
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--data-dir", data}, &env{stdout: &out, stderr: &errb})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		verify(t, filepath.Join(data, "secrets"), strings.TrimSpace(out.String()))
	})
	t.Run("jwks_then_rotation", func(t *testing.T) {
		// An operator publishes the new key next to the old one.
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"token", "jwks", "--secret-file", filepath.Join(otherDir, staffauth.PrivateKeySecret)}, &env{stdout: &out, stderr: &errb}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var added, current struct {
			Keys []json.RawMessage `json:"keys"`
		}
		cur, _ := os.ReadFile(filepath.Join(dir, staffauth.PublicKeysSecret))
		if err := json.Unmarshal(out.Bytes(), &added); err != nil || len(added.Keys) != 1 {
			t.Fatalf("jwks output %s: %v", out.String(), err)
		}
		if err := json.Unmarshal(cur, &current); err != nil {
			t.Fatal(err)
		}
		merged, _ := json.Marshal(map[string]any{"keys": append(current.Keys, added.Keys...)})
		if err := os.WriteFile(filepath.Join(dir, staffauth.PublicKeysSecret), merged, 0o600); err != nil {
			t.Fatal(err)
		}
		verify(t, dir, stafftest.Token(t, signer, "officer1", "STP"))
		verify(t, dir, stafftest.Token(t, other, "officer1", "STP"))
	})
}

// reconcile pending finds the dev VNPAY secrets where token mint finds
// the staff key: in motcua-local's <data-dir>/secrets.
func TestReconcilePending_finds_dev_secrets(t *testing.T) {
	data := t.TempDir()
	secrets := filepath.Join(data, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"vnpay-tmn-code": "2QXUI4J4", "vnpay-hash-secret": strings.Repeat("k", 32)} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store := docstore.NewMemStore("motcua-data")
	old := reconcilePublisher
	reconcilePublisher = func(context.Context, *env) (queue.Publisher, error) { return queue.NewMemQueue("payment-events"), nil }
	t.Cleanup(func() { reconcilePublisher = old })
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, store: func(context.Context) (docstore.Store, error) { return store, nil }}
	code := run(context.Background(), []string{"reconcile", "pending", "--data-dir", data, "--querydr-url", "http://127.0.0.1:1/querydr"}, e)
	if code != 0 || strings.Contains(errb.String(), "no VNPAY terminal configured") {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
}
