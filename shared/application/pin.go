package application

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// PINLength is the number of digits of a lookup PIN.
const PINLength = 8

// DefaultPINIterations is the PBKDF2-SHA256 work factor of new PIN hashes.
//
// It is deliberately moderate. A PIN has only 10^8 values, so no practical
// work factor stops an offline search by someone who can read the bucket —
// and such a reader already holds the application the PIN guards. What
// protects a PIN is the online path: lookups are throttled per code and per
// client (shared/throttle). At 100 000 iterations the hash was the largest
// cost of a submission on a 2-core machine (see cmd/motcua-bench); 10 000
// keeps a hash per lookup cheap without storing anything fast to reverse.
// Stored hashes carry their own iteration count, so changing this never
// invalidates existing applications.
const DefaultPINIterations = 10_000

const (
	pinScheme  = "pbkdf2-sha256"
	pinKeyLen  = 32
	pinSaltLen = 16
)

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
	if iterations <= 0 {
		iterations = DefaultPINIterations
	}
	s := make([]byte, pinSaltLen)
	if _, err := rand.Read(s); err != nil {
		return "", "", fmt.Errorf("hash pin: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, pin, s, iterations, pinKeyLen)
	if err != nil {
		return "", "", fmt.Errorf("hash pin: %w", err)
	}
	return pinScheme + "$" + strconv.Itoa(iterations) + "$" + base64.RawStdEncoding.EncodeToString(key),
		base64.RawStdEncoding.EncodeToString(s), nil
}

// CheckPIN reports whether pin is the application's PIN, comparing the
// hashes in constant time. A malformed stored hash never matches.
func CheckPIN(a Application, pin string) bool {
	parts := strings.Split(a.PINHash, "$")
	if len(parts) != 3 || parts[0] != pinScheme || len(pin) != PINLength {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 10_000_000 {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(a.PINSalt)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pin, salt, iter, len(want))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
