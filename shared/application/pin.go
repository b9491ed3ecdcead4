package application

import (
	"crypto/rand"
	"fmt"

	"motcua/shared/citizenguard"
)

// PINLength is the number of digits of a lookup PIN.
const PINLength = 8

// DefaultPINIterations is the PBKDF2-SHA256 work factor of new PIN hashes:
// the citizen guard's, so the dummy hash compared for unknown codes costs
// what a real PIN costs (see citizenguard.DefaultIterations for why it is
// moderate).
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

// HashPIN hashes pin with PBKDF2-SHA256 and a fresh random salt; it returns
// the encoded hash ("pbkdf2-sha256$<iterations>$<base64 key>") and the
// salt (base64), the two values stored in Application.PINHash and PINSalt.
// iterations <= 0 means DefaultPINIterations.
func HashPIN(pin string, iterations int) (hash, salt string, err error) {
	h, err := citizenguard.HashSecret(pin, iterations)
	if err != nil {
		return "", "", fmt.Errorf("hash pin: %w", err)
	}
	return h.Hash, h.Salt, nil
}

// CheckPIN reports whether pin is the application's PIN, at constant cost
// (citizenguard.Compare). It does no throttling: requests from citizens go
// through Access.Authorize, never straight here.
func CheckPIN(a Application, pin string) bool {
	return citizenguard.Compare(citizenguard.Hashed{Hash: a.PINHash, Salt: a.PINSalt}, pin)
}
