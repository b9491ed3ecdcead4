package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"motcua/shared/citizenguard"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/signing"
)

// devGenerators make dev secrets that are not random bytes: the receipt
// signing key and its self-signed certificate (generated together, as a
// pair), the receipt QR key and the citizen-secret pepper (one key,
// "dev1"). Other secrets are made by devSecret.
var devGenerators = map[string]func() (map[string][]byte, error){
	signing.SecretKey:         devSigningPair,
	signing.SecretCert:        devSigningPair,
	offlineqr.SecretName:      devQRKey,
	citizenguard.PepperSecret: devPepper,
}

// devPepper is a one-key pepper set in the form citizenguard.ParsePepper
// reads. Generated once and kept in SecretsDir: a new pepper would make
// every PIN of the local stack's existing applications fail.
func devPepper() (map[string][]byte, error) {
	v, err := citizenguard.GeneratePepper("dev1")
	if err != nil {
		return nil, err
	}
	return map[string][]byte{citizenguard.PepperSecret: v}, nil
}

func devSigningPair() (map[string][]byte, error) {
	key, cert, err := signing.GenerateDevPair("motcua local stack receipt signer", time.Now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	return map[string][]byte{signing.SecretKey: key, signing.SecretCert: cert}, nil
}

func devQRKey() (map[string][]byte, error) {
	v, err := offlineqr.GenerateDevSecret("DEV1")
	if err != nil {
		return nil, err
	}
	return map[string][]byte{offlineqr.SecretName: v}, nil
}

// generateSet writes every secret gen makes (each only if still absent,
// create-exclusive, so a pair is never half replaced) and returns name's.
// If a secret of the set already exists while another is missing (a pair
// broken by hand), it refuses rather than write a mismatched pair.
func (r *Runner) generateSet(name string, gen func() (map[string][]byte, error)) ([]byte, error) {
	vals, err := gen()
	if err != nil {
		return nil, err
	}
	for n := range vals {
		if n == name {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.opts.SecretsDir, n)); err == nil {
			return nil, fmt.Errorf("secret %s is missing but %s exists: delete both to regenerate a dev pair", name, n)
		}
	}
	for n, v := range vals {
		f, err := os.OpenFile(filepath.Join(r.opts.SecretsDir, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(v); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		r.log.Warn("generated a development secret; set a real value for production", "secret", n)
	}
	return os.ReadFile(filepath.Join(r.opts.SecretsDir, name))
}

// Secret returns the value of a dev secret from SecretsDir, generating it
// the first time as for a function that names it (the local stack's queue
// connector reads queue-delivery-secret through it).
func (r *Runner) Secret(name string) ([]byte, error) {
	// The folder exists only once a function names a secret; a stack
	// whose functions name none still gives the connector its own.
	if err := os.MkdirAll(r.opts.SecretsDir, 0o700); err != nil {
		return nil, fmt.Errorf("runner: secrets folder: %w", err)
	}
	return r.secret(name)
}
