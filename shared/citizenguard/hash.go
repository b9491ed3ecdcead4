package citizenguard

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Stored-form schemes (the first "$" member of Hashed.Hash).
const (
	// SchemeHMAC is the current form: HMAC-SHA256 under a pepper key,
	// "hmac-sha256$<kid>$<base64 MAC of salt‖secret>".
	SchemeHMAC = "hmac-sha256"
	// SchemePBKDF2 is the legacy form written before the pepper:
	// "pbkdf2-sha256$<iterations>$<base64 key>". Such records keep
	// verifying; nothing new is written in it.
	SchemePBKDF2 = "pbkdf2-sha256"
)

// DefaultIterations is the PBKDF2-SHA256 work factor of legacy hashes
// (HashLegacy) and of the dummy a guard without a pepper compares when a
// record is missing. New hashes are peppered HMACs (Pepper.Hash); see the
// package documentation for why a key beats a work factor here.
const DefaultIterations = 10_000

// maxIterations refuses absurd stored work factors (a corrupt record must
// not become a CPU sink).
const maxIterations = 10_000_000

const (
	keyLen  = 32 // PBKDF2 output and HMAC-SHA256 size
	saltLen = 16
)

// Hashed is a stored secret: Hash is the scheme-tagged hash
// ("hmac-sha256$<kid>$<base64>", or the legacy
// "pbkdf2-sha256$<iterations>$<base64>"), Salt the base64 per-record salt
// (the two members records keep, e.g. Application.PINHash and PINSalt).
type Hashed struct {
	Hash string
	Salt string
}

// Scheme returns the stored form's scheme (SchemeHMAC, SchemePBKDF2, or
// whatever a malformed record holds; "" for a zero Hashed).
func (h Hashed) Scheme() string {
	s, _, _ := strings.Cut(h.Hash, "$")
	return s
}

// Errors of a stored hash that cannot be compared (wrapped by Verify).
var (
	// ErrMalformedHash: the stored form does not parse.
	ErrMalformedHash = errors.New("citizenguard: malformed stored hash")
	// ErrUnknownKey: a peppered hash names a key id the key set does not
	// hold (a retired or mistyped key); it never matches.
	ErrUnknownKey = errors.New("citizenguard: stored hash names a key id not in the pepper")
)

// Hash hashes secret as HMAC-SHA256(current key, salt‖secret) with a fresh
// random 16-byte salt. The salt has a fixed length, so salt‖secret is
// unambiguous.
func (p *Pepper) Hash(secret string) (Hashed, error) {
	if p == nil {
		return Hashed{}, ErrNoPepper
	}
	s := make([]byte, saltLen)
	if _, err := rand.Read(s); err != nil {
		return Hashed{}, fmt.Errorf("hash secret: salt: %w", err)
	}
	mac := hmacSum(p.keys[p.current], s, secret)
	return Hashed{
		Hash: SchemeHMAC + "$" + p.current + "$" + base64.RawStdEncoding.EncodeToString(mac),
		Salt: base64.RawStdEncoding.EncodeToString(s),
	}, nil
}

func hmacSum(key, salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// HashLegacy hashes secret in the legacy form, PBKDF2-SHA256 with a fresh
// random salt (iterations <= 0 means DefaultIterations). Production code
// hashes with a Pepper; this remains for fixtures of records written
// before the pepper and for the benchmark baseline.
func HashLegacy(secret string, iterations int) (Hashed, error) {
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
		Hash: SchemePBKDF2 + "$" + strconv.Itoa(iterations) + "$" + base64.RawStdEncoding.EncodeToString(key),
		Salt: base64.RawStdEncoding.EncodeToString(s),
	}, nil
}

// parsed is a decoded Hashed: key != nil for an HMAC, iter > 0 for PBKDF2.
type parsed struct {
	key        []byte
	iter       int
	want, salt []byte
}

// derive computes what want must equal for secret.
func (q parsed) derive(secret string) []byte {
	if q.key != nil {
		return hmacSum(q.key, q.salt, secret)
	}
	got, err := pbkdf2.Key(sha256.New, secret, q.salt, q.iter, len(q.want))
	if err != nil {
		return nil
	}
	return got
}

// parseHashed decodes h against the key set p (nil: legacy forms only).
// Errors: ErrMalformedHash, ErrUnknownKey, ErrNoPepper (an HMAC form and
// no key set).
func parseHashed(p *Pepper, h Hashed) (parsed, error) {
	parts := strings.Split(h.Hash, "$")
	if len(parts) != 3 {
		return parsed{}, ErrMalformedHash
	}
	var q parsed
	switch parts[0] {
	case SchemeHMAC:
		if !kidPattern.MatchString(parts[1]) {
			return parsed{}, ErrMalformedHash
		}
		if p == nil {
			return parsed{}, ErrNoPepper
		}
		key, ok := p.keys[parts[1]]
		if !ok {
			return parsed{}, ErrUnknownKey
		}
		q.key = key
	case SchemePBKDF2:
		iter, err := strconv.Atoi(parts[1])
		if err != nil || iter <= 0 || iter > maxIterations {
			return parsed{}, ErrMalformedHash
		}
		q.iter = iter
	default:
		return parsed{}, ErrMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(want) == 0 || len(want) > 64 || (q.key != nil && len(want) != sha256.Size) {
		return parsed{}, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(h.Salt)
	if err != nil || (q.key != nil && len(salt) != saltLen) {
		return parsed{}, ErrMalformedHash
	}
	q.want, q.salt = want, salt
	return q, nil
}

var (
	legacyDummyOnce sync.Once
	legacyDummy     Hashed
)

// dummyFor is what a missing or unreadable record is compared against: a
// hash of a random secret in the form new records have (an HMAC with the
// current key; PBKDF2 at DefaultIterations without a key set), parsed
// like a real record, so the comparison costs what a real one costs and
// nothing matches it.
func dummyFor(p *Pepper) parsed {
	var h Hashed
	if p != nil {
		h = p.dummy
	} else {
		legacyDummyOnce.Do(func() {
			var secret [32]byte
			_, _ = rand.Read(secret[:])
			legacyDummy, _ = HashLegacy(base64.RawStdEncoding.EncodeToString(secret[:]), DefaultIterations)
		})
		h = legacyDummy
	}
	q, err := parseHashed(p, h)
	if err != nil { // rand failed: still cost the same
		q = parsed{iter: DefaultIterations, want: make([]byte, keyLen), salt: make([]byte, saltLen)}
		if p != nil {
			q = parsed{key: p.keys[p.current], want: make([]byte, keyLen), salt: make([]byte, saltLen)}
		}
	}
	return q
}

// Verify reports whether secret matches h, comparing in constant time.
// Peppered hashes are checked with the key their id names, legacy PBKDF2
// hashes with their own salt and work factor. A missing (zero), malformed
// or unverifiable h is compared against the dummy at the same cost,
// never matches, and its reason is returned (ErrMalformedHash — which a
// zero Hashed gives —, ErrUnknownKey, ErrNoPepper). p may be nil: then
// only legacy hashes verify.
func (p *Pepper) Verify(h Hashed, secret string) (bool, error) {
	q, err := parseHashed(p, h)
	if err != nil {
		q = dummyFor(p)
	}
	match := subtle.ConstantTimeCompare(q.derive(secret), q.want) == 1
	return match && err == nil, err
}

// Compare reports whether secret matches h (Verify without the reason).
// This is the only comparison a guarded path may use.
func (p *Pepper) Compare(h Hashed, secret string) bool {
	ok, _ := p.Verify(h, secret)
	return ok
}
