package runner

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/signing"
)

func TestRunner_generates_receipt_dev_secrets(t *testing.T) {
	// A folder not created yet (no function named a secret).
	r := &Runner{opts: Options{SecretsDir: filepath.Join(t.TempDir(), "secrets")}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cert, err := r.Secret(signing.SecretCert)
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.Secret(signing.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.NewLocal(key, cert); err != nil {
		t.Fatalf("generated pair does not match: %v", err)
	}
	again, _ := r.Secret(signing.SecretCert)
	if string(again) != string(cert) {
		t.Fatal("certificate regenerated")
	}
	q, err := r.Secret(offlineqr.SecretName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offlineqr.ParseSecret(q); err != nil {
		t.Fatalf("generated QR key unusable: %v", err)
	}
}
