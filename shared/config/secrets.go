package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultSecretsDir is where OpenFaaS mounts a function's secrets.
const DefaultSecretsDir = "/var/openfaas/secrets"

// SecretsDirKey is the configuration key that overrides DefaultSecretsDir.
const SecretsDirKey = "MOTCUA_SECRETS_DIR"

// ErrSecretMissing means a secret file does not exist or is empty.
var ErrSecretMissing = errors.New("config: secret missing")

// SecretError names the secret that could not be read; it never carries the
// secret's value.
type SecretError struct {
	// Name is the secret's name (its file name under the secrets directory).
	Name string
	// Err is the cause (ErrSecretMissing or an I/O error).
	Err error
}

// Error implements error.
func (e *SecretError) Error() string {
	return fmt.Sprintf("config: secret %q: %v", e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *SecretError) Unwrap() error { return e.Err }

// Secrets reads secrets stored one per file in Dir.
type Secrets struct {
	// Dir is the directory holding one file per secret.
	Dir string
}

// SecretsFrom returns the Secrets whose directory is src's MOTCUA_SECRETS_DIR,
// or DefaultSecretsDir when that is unset or empty.
func SecretsFrom(src Source) Secrets {
	if d, ok := src.Lookup(SecretsDirKey); ok && d != "" {
		return Secrets{Dir: d}
	}
	return Secrets{Dir: DefaultSecretsDir}
}

// Get returns the secret called name with one trailing newline ("\n" or
// "\r\n") removed. A missing or empty secret is a *SecretError wrapping
// ErrSecretMissing.
func (s Secrets) Get(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", &SecretError{Name: name, Err: errors.New("invalid secret name")}
	}
	dir := s.Dir
	if dir == "" {
		dir = DefaultSecretsDir
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", &SecretError{Name: name, Err: ErrSecretMissing}
	}
	if err != nil {
		// The path error names the file, never its content.
		return "", &SecretError{Name: name, Err: err}
	}
	v := strings.TrimSuffix(string(b), "\n")
	v = strings.TrimSuffix(v, "\r")
	if v == "" {
		return "", &SecretError{Name: name, Err: ErrSecretMissing}
	}
	return v, nil
}
