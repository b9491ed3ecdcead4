package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/staffauth"
)

func TestTokenMint(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s", 64)
	if err := os.WriteFile(filepath.Join(dir, staffauth.SecretName), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte(strings.Repeat("o", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		secret  string
		code    int
	}{
		{"from_secrets_dir_env", []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--ttl", "8h"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, secret, 0},
		{"from_secret_file", []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--secret-file", other}, nil, strings.Repeat("o", 40), 0},
		{"missing_agency", []string{"token", "mint", "--sub", "officer1"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, "", 2},
		{"ttl_too_long", []string{"token", "mint", "--sub", "o", "--agency", "STP", "--ttl", "720h"}, []string{"MOTCUA_SECRETS_DIR=" + dir}, "", 2},
		{"secret_file_absent", []string{"token", "mint", "--sub", "o", "--agency", "STP", "--secret-file", filepath.Join(dir, "nope")}, nil, "", 1},
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
			c, err := staffauth.Verify([]byte(tt.secret), "Bearer "+strings.TrimSpace(out.String()), time.Now())
			if err != nil {
				t.Fatalf("minted token does not verify: %v", err)
			}
			if c.Subject != "officer1" || c.Agency != "STP" || !c.HasRole(staffauth.RoleStaff) {
				t.Fatalf("claims = %+v", c)
			}
			if strings.Contains(errb.String(), tt.secret) {
				t.Fatal("secret printed")
			}
		})
	}
	t.Run("local_stack_secret", func(t *testing.T) {
		data := t.TempDir()
		if err := os.MkdirAll(filepath.Join(data, "secrets"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "secrets", staffauth.SecretName), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"token", "mint", "--sub", "officer1", "--agency", "STP", "--data-dir", data}, &env{stdout: &out, stderr: &errb})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if _, err := staffauth.Verify([]byte(secret), "Bearer "+strings.TrimSpace(out.String()), time.Now()); err != nil {
			t.Fatal(err)
		}
	})
}
