package citizenguard

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// PepperSecret is the OpenFaaS secret holding the pepper key set: mounted
// by every function that hashes or checks a citizen secret, never stored in
// S3, never logged.
const PepperSecret = "citizen-secret-pepper"

const (
	// minPepperKey and maxPepperKey bound a decoded key: at least the
	// HMAC-SHA256 output size, so the key is never the weak link.
	minPepperKey = 32
	maxPepperKey = 256
)

// kidPattern is a key id: short, printable, no separator of the stored
// form ("$") or of the secret's lines (":").
var kidPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// ErrNoPepper means a secret was to be hashed, or a peppered hash
// compared, by a guard without a pepper key set (see WithPepper).
var ErrNoPepper = errors.New("citizenguard: no pepper key set configured (secret " + PepperSecret + ")")

// Pepper is the key set of citizen-secret hashes: key id → HMAC key, and
// the current id that new hashes use. Older ids keep verifying the hashes
// made with them, so the pepper can be rotated without invalidating a
// single PIN. Safe for concurrent use; immutable.
//
// Its String, GoString and LogValue show the key ids only, never a key.
type Pepper struct {
	current string
	keys    map[string][]byte
	// dummy is a hash with the current key of a random secret: what a
	// missing record is compared against (same parse, same HMAC).
	dummy Hashed
}

// SecretReader reads a secret by name (config.Secrets fits).
type SecretReader interface {
	// Get returns the secret called name; an error when it is missing.
	Get(name string) (string, error)
}

// LoadPepper reads and parses the PepperSecret secret. A missing or
// malformed secret is an error that names the secret and what is wrong
// with it (never its value): a function that hashes or checks citizen
// secrets must not start without it, and nothing falls back to an unkeyed
// hash.
func LoadPepper(secrets SecretReader) (*Pepper, error) {
	v, err := secrets.Get(PepperSecret)
	if err != nil {
		return nil, fmt.Errorf("citizenguard: pepper: %w (create it as infra/README.md says: one \"<kid>:<base64 key>\" line, current first)", err)
	}
	p, err := ParsePepper(v)
	if err != nil {
		return nil, fmt.Errorf("citizenguard: secret %q: %w", PepperSecret, err)
	}
	return p, nil
}

// ParsePepper parses a pepper key set: one key per line as
// "<kid>:<base64 key>" (standard or URL alphabet, padded or not). The
// first key is the current one, which new hashes use; the others only
// verify. Blank lines and lines starting with "#" are skipped. A key id
// matches [A-Za-z0-9][A-Za-z0-9._-]{0,31} and appears once; a key decodes
// to 32..256 bytes. Errors name the line, never its content.
func ParsePepper(value string) (*Pepper, error) {
	p := &Pepper{keys: map[string][]byte{}}
	for i, line := range strings.Split(value, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kid, b64, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("pepper line %d: want \"<kid>:<base64 key>\"", i+1)
		}
		kid, b64 = strings.TrimSpace(kid), strings.TrimSpace(b64)
		if !kidPattern.MatchString(kid) {
			return nil, fmt.Errorf("pepper line %d: key id must match %s", i+1, kidPattern)
		}
		if _, dup := p.keys[kid]; dup {
			return nil, fmt.Errorf("pepper line %d: key id %q appears twice", i+1, kid)
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("pepper line %d (key id %q): key is not base64", i+1, kid)
		}
		if len(key) < minPepperKey || len(key) > maxPepperKey {
			return nil, fmt.Errorf("pepper line %d (key id %q): key is %d bytes, want %d to %d (e.g. `head -c 32 /dev/urandom | base64`)", i+1, kid, len(key), minPepperKey, maxPepperKey)
		}
		p.keys[kid] = key
		if p.current == "" {
			p.current = kid
		}
	}
	if p.current == "" {
		return nil, errors.New("pepper: no key (want one \"<kid>:<base64 key>\" line, current first)")
	}
	var junk [32]byte
	if _, err := rand.Read(junk[:]); err != nil {
		return nil, fmt.Errorf("pepper: %w", err)
	}
	d, err := p.Hash(base64.RawStdEncoding.EncodeToString(junk[:]))
	if err != nil {
		return nil, err
	}
	p.dummy = d
	return p, nil
}

// decodeKey accepts the base64 forms an operator's tools produce.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// GeneratePepper returns a fresh secret value holding one random 32-byte
// key with id kid ("<kid>:<base64 key>\n"): the dev stack's value, and
// the line to put first when rotating.
func GeneratePepper(kid string) ([]byte, error) {
	if !kidPattern.MatchString(kid) {
		return nil, fmt.Errorf("citizenguard: key id must match %s", kidPattern)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("citizenguard: generate pepper: %w", err)
	}
	return []byte(kid + ":" + base64.StdEncoding.EncodeToString(key) + "\n"), nil
}

// Current returns the id of the key new hashes use ("" for a nil set).
func (p *Pepper) Current() string {
	if p == nil {
		return ""
	}
	return p.current
}

// Kids returns every key id, sorted (none for a nil set).
func (p *Pepper) Kids() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.keys))
	for k := range p.keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// String shows the key ids, never a key.
func (p *Pepper) String() string {
	if p == nil {
		return "citizenguard.Pepper(nil)"
	}
	return fmt.Sprintf("citizenguard.Pepper{current: %s, kids: %s}", p.current, strings.Join(p.Kids(), ","))
}

// GoString is String (so %#v shows no key either).
func (p *Pepper) GoString() string { return p.String() }

// LogValue logs the key ids, never a key.
func (p *Pepper) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(slog.String("current", p.current), slog.String("kids", strings.Join(p.Kids(), ",")))
}
