package runner

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"motcua/shared/citizenguard"
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

func TestRunner_generates_the_citizen_secret_pepper_once(t *testing.T) {
	r := &Runner{opts: Options{SecretsDir: filepath.Join(t.TempDir(), "secrets")}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	v, err := r.Secret(citizenguard.PepperSecret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := citizenguard.ParsePepper(string(v))
	if err != nil {
		t.Fatalf("generated pepper unusable: %v", err)
	}
	if p.Current() != "dev1" {
		t.Fatalf("dev pepper key id %q, want dev1", p.Current())
	}
	again, _ := r.Secret(citizenguard.PepperSecret)
	if string(again) != string(v) {
		t.Fatal("pepper regenerated: the local stack's PINs would stop working")
	}
}
