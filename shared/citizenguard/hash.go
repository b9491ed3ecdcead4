package citizenguard

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// DefaultIterations is the PBKDF2-SHA256 work factor of new secret hashes
// and of the dummy hash compared when a record is missing.
//
// It is deliberately moderate. An 8-digit PIN has only 10^8 values, so no
// practical work factor stops an offline search by someone who can read
// the bucket — and such a reader already holds what the PIN guards. What
// protects a PIN is the online path (the throttle). At 100 000 iterations
// the hash was the largest cost of a submission on a 2-core machine (see
// cmd/motcua-bench); 10 000 keeps a check cheap without storing anything
// fast to reverse. Stored hashes carry their own count, so changing this
// never invalidates existing records.
const DefaultIterations = 10_000

// maxIterations refuses absurd stored work factors (a corrupt record must
// not become a CPU sink).
const maxIterations = 10_000_000

const (
	scheme  = "pbkdf2-sha256"
	keyLen  = 32
	saltLen = 16
)

// Hashed is a stored secret: Hash is "pbkdf2-sha256$<iterations>$<base64
// key>", Salt the base64 salt (the two members records keep, e.g.
// Application.PINHash and PINSalt).
type Hashed struct {
	Hash string
	Salt string
}

// HashSecret hashes secret with PBKDF2-SHA256 and a fresh random salt.
// iterations <= 0 means DefaultIterations.
func HashSecret(secret string, iterations int) (Hashed, error) {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	s := make([]byte, saltLen)
	if _, err := rand.Read(s); err != nil {
		return Hashed{}, fmt.Errorf("hash secret: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, secret, s, iterations, keyLen)
	if err != nil {
		return Hashed{}, fmt.Errorf("hash secret: %w", err)
	}
	return Hashed{
		Hash: scheme + "$" + strconv.Itoa(iterations) + "$" + base64.RawStdEncoding.EncodeToString(key),
		Salt: base64.RawStdEncoding.EncodeToString(s),
	}, nil
}

// parsed is a decoded Hashed.
type parsed struct {
	iter       int
	want, salt []byte
}

func (h Hashed) parse() (parsed, bool) {
	parts := strings.Split(h.Hash, "$")
	if len(parts) != 3 || parts[0] != scheme {
		return parsed{}, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > maxIterations {
		return parsed{}, false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(want) == 0 {
		return parsed{}, false
	}
	salt, err := base64.RawStdEncoding.DecodeString(h.Salt)
	if err != nil {
		return parsed{}, false
	}
	return parsed{iter: iter, want: want, salt: salt}, true
}

var (
	dummyOnce sync.Once
	dummyHash parsed
)

// dummy is a hash of a random secret with DefaultIterations, made once per
// process: comparing against it costs what a real record costs, and
// nothing matches it.
func dummy() parsed {
	dummyOnce.Do(func() {
		var secret [32]byte
		_, _ = rand.Read(secret[:])
		h, err := HashSecret(base64.RawStdEncoding.EncodeToString(secret[:]), DefaultIterations)
		if err == nil {
			dummyHash, _ = h.parse()
		}
		if dummyHash.iter == 0 { // rand failed: still cost the same
			dummyHash = parsed{iter: DefaultIterations, want: make([]byte, keyLen), salt: make([]byte, saltLen)}
		}
	})
	return dummyHash
}

// Compare reports whether secret matches h, comparing the derived keys in
// constant time. A missing (zero) or malformed h is compared against the
// dummy hash instead, at the same cost, and never matches. This is the
// only comparison a guarded path may use.
func Compare(h Hashed, secret string) bool {
	p, ok := h.parse()
	if !ok {
		p = dummy()
	}
	got, err := pbkdf2.Key(sha256.New, secret, p.salt, p.iter, len(p.want))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, p.want) == 1 && ok
}
