package application

import (
	"crypto/rand"
	"fmt"

	"motcua/shared/citizenguard"
)

// PINLength is the number of digits of a lookup PIN.
const PINLength = 8

// DefaultPINIterations is the PBKDF2-SHA256 work factor of legacy PIN
// hashes (HashLegacyPIN), those written before the pepper; new PINs are
// peppered HMACs (HashPIN).
const DefaultPINIterations = citizenguard.DefaultIterations

// NewPIN returns a fresh PINLength-digit PIN from crypto/rand.
func NewPIN() (string, error) {
	var b [PINLength]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new pin: %w", err)
	}
	out := make([]byte, PINLength)
	for i := range out {
		// Rejection sampling keeps every digit uniform.
		for b[i] >= 250 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", fmt.Errorf("new pin: %w", err)
			}
			b[i] = one[0]
		}
		out[i] = '0' + b[i]%10
	}
	return string(out), nil
}

// HashPIN hashes pin with the guard's pepper (citizenguard.Guard.Hash:
// HMAC-SHA256 under the current key, fresh random salt); it returns the
// encoded hash ("hmac-sha256$<kid>$<base64 MAC>") and the salt (base64),
// the two values stored in Application.PINHash and PINSalt. A guard
// without a pepper is an error (citizenguard.ErrNoPepper): a PIN is never
// stored unkeyed.
func HashPIN(g *citizenguard.Guard, pin string) (hash, salt string, err error) {
	h, err := g.Hash(pin)
	if err != nil {
		return "", "", fmt.Errorf("hash pin: %w", err)
	}
	return h.Hash, h.Salt, nil
}

// HashLegacyPIN hashes pin in the legacy form, PBKDF2-SHA256
// ("pbkdf2-sha256$<iterations>$<base64 key>"; iterations <= 0 means
// DefaultPINIterations). Nothing in production writes it any more; tests
// use it for records written before the pepper, which keep verifying.
func HashLegacyPIN(pin string, iterations int) (hash, salt string, err error) {
	h, err := citizenguard.HashLegacy(pin, iterations)
	if err != nil {
		return "", "", fmt.Errorf("hash pin: %w", err)
	}
	return h.Hash, h.Salt, nil
}

// CheckPIN reports whether pin is the application's PIN, at constant cost
// (citizenguard.Guard.Compare: peppered and legacy hashes alike). It does
// no throttling: requests from citizens go through Access.Authorize, never
// straight here.
func CheckPIN(g *citizenguard.Guard, a Application, pin string) bool {
	return g.Compare(citizenguard.Hashed{Hash: a.PINHash, Salt: a.PINSalt}, pin)
}
