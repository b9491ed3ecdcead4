package staffauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SecretSource reads a secret by name; config.Secrets (and so
// platform.Platform.Secrets) fits.
type SecretSource interface {
	Get(name string) (string, error)
}

// Verifier checks staff tokens against the public key set read from a
// SecretSource. The set is read again on every Verify (a small file) and
// parsed again only when its bytes change, so a rotated key set is in
// force on the next request, without a restart. It is safe for concurrent
// use.
type Verifier struct {
	src         SecretSource
	issuer      string
	audience    string
	leeway      time.Duration
	maxLifetime time.Duration

	mu   sync.Mutex
	raw  string
	keys *KeySet

	// verified caches tokens that passed every check but the clock
	// (cachedVerification); cacheMu guards it.
	cacheMu  sync.Mutex
	verified map[string]cachedVerification
}

// verifiedCacheSize bounds the verified-token cache: a province's officers
// working at one time, with room to spare.
const verifiedCacheSize = 1024

// cachedVerification is a token that passed Verify: its signature under a
// key of keys, issuer, audience, lifetime, subject, agency and role. Only
// the clock checks (exp, nbf, iat against now, with Leeway) depend on the
// moment, so a later Verify of the very same token string under the very
// same key set (keys is replaced whenever the secret's bytes change, so a
// rotation or a removed key empties the cache in effect) needs only those.
type cachedVerification struct {
	keys   *KeySet
	claims Claims
}

// VerifierOption adjusts a Verifier.
type VerifierOption func(*Verifier)

// WithIssuer sets the required "iss" (default DefaultIssuer).
func WithIssuer(iss string) VerifierOption { return func(v *Verifier) { v.issuer = iss } }

// WithAudience sets the audience tokens must name (default DefaultAudience).
func WithAudience(aud string) VerifierOption { return func(v *Verifier) { v.audience = aud } }

// WithMaxLifetime sets the longest exp - iat accepted (default MaxLifetime).
func WithMaxLifetime(d time.Duration) VerifierOption {
	return func(v *Verifier) { v.maxLifetime = d }
}

// NewVerifier returns a Verifier reading the key set from src's
// PublicKeysSecret. It reads and parses the set once, so a missing or
// malformed set is an error at start, not on the first staff request.
func NewVerifier(src SecretSource, opts ...VerifierOption) (*Verifier, error) {
	v := &Verifier{src: src, issuer: DefaultIssuer, audience: DefaultAudience, leeway: Leeway, maxLifetime: MaxLifetime}
	for _, o := range opts {
		o(v)
	}
	if v.issuer == "" || v.audience == "" || v.maxLifetime <= 0 {
		return nil, errors.New("staffauth: verifier needs an issuer, an audience and a positive maximum lifetime")
	}
	if _, err := v.keySet(); err != nil {
		return nil, err
	}
	return v, nil
}

// keySet returns the current key set, re-parsing it when the secret's
// bytes changed. A set that became unreadable or malformed is an error
// (fail closed), never the previous set.
func (v *Verifier) keySet() (*KeySet, error) {
	raw, err := v.src.Get(PublicKeysSecret)
	if err != nil {
		return nil, fmt.Errorf("staffauth: read %s: %w", PublicKeysSecret, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil && raw == v.raw {
		return v.keys, nil
	}
	ks, err := ParseKeySet([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("staffauth: %s: %w", PublicKeysSecret, err)
	}
	v.raw, v.keys = raw, ks
	return ks, nil
}

// Verify checks the bearer token in an Authorization header value at time
// now and returns its claims. The token must be signed (EdDSA or ES256)
// by a key of the set named by its kid, carry the verifier's issuer and
// audience, iat and exp with exp - iat at most the maximum lifetime, not be
// expired or not yet valid (Leeway), and carry sub, agency and the staff
// role. Failures are *Error: KindInvalid or KindExpired (401), KindNotStaff
// (403). An unreadable key set is a plain error (a server fault, 500).
//
// A token that passed is remembered, keyed by the whole token string (never
// by its signature alone: the same signature under another header or
// payload must be checked from scratch and fails), for the key set it was
// verified under: the same token again costs a map look-up and the clock
// checks instead of a signature verification. A token whose clock checks
// fail on the fast path is verified from scratch, so every refusal gives
// the same error as before.
func (v *Verifier) Verify(authorizationHeader string, now time.Time) (Claims, error) {
	ks, err := v.keySet()
	if err != nil {
		return Claims{}, err
	}
	tokStr, err := BearerToken(authorizationHeader)
	if err != nil {
		return Claims{}, err
	}
	if len(tokStr) > maxTokenLen {
		return Claims{}, invalid("token longer than %d bytes", maxTokenLen)
	}
	if c, ok := v.cached(tokStr, ks, now); ok {
		return c, nil
	}
	c, err := v.verify(tokStr, ks, now)
	if err != nil {
		return Claims{}, err
	}
	v.remember(tokStr, ks, c, now)
	return c, nil
}

// inTime reports whether c's exp, nbf and iat admit now with leeway, as
// the parser checks them (exp: now before exp+leeway; nbf and iat: not
// after now+leeway).
func inTime(c Claims, now time.Time, leeway time.Duration) bool {
	return now.Before(c.ExpiresAt.Add(leeway)) && !now.Add(leeway).Before(c.NotBefore) && !now.Add(leeway).Before(c.IssuedAt)
}

// cached returns the claims of tok when it was verified under ks before and
// its clock checks pass at now.
func (v *Verifier) cached(tok string, ks *KeySet, now time.Time) (Claims, bool) {
	v.cacheMu.Lock()
	e, ok := v.verified[tok]
	v.cacheMu.Unlock()
	if !ok || e.keys != ks || !inTime(e.claims, now, v.leeway) {
		return Claims{}, false
	}
	c := e.claims
	c.Roles = slices.Clone(c.Roles) // callers may change theirs
	return c, true
}

// remember caches the verified claims c of tok under ks. When the cache is
// full, entries expired at now (or verified under another key set) go
// first; if none did, it starts over empty.
func (v *Verifier) remember(tok string, ks *KeySet, c Claims, now time.Time) {
	c.Roles = slices.Clone(c.Roles)
	v.cacheMu.Lock()
	defer v.cacheMu.Unlock()
	if v.verified == nil {
		v.verified = make(map[string]cachedVerification)
	}
	if len(v.verified) >= verifiedCacheSize {
		for k, e := range v.verified {
			if e.keys != ks || !now.Before(e.claims.ExpiresAt.Add(v.leeway)) {
				delete(v.verified, k)
			}
		}
		if len(v.verified) >= verifiedCacheSize {
			clear(v.verified)
		}
	}
	v.verified[tok] = cachedVerification{keys: ks, claims: c}
}

// verify checks tokStr from scratch under ks at now.
func (v *Verifier) verify(tokStr string, ks *KeySet, now time.Time) (Claims, error) {
	var tc tokenClaims
	var kid string
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{AlgEdDSA, AlgES256}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(v.leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	tok, err := parser.ParseWithClaims(tokStr, &tc, func(t *jwt.Token) (any, error) {
		k, ok := t.Header["kid"].(string)
		if !ok || k == "" {
			return nil, errors.New("no kid in header")
		}
		kid = k
		return ks.lookup(k, t.Method.Alg())
	})
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			return Claims{}, &Error{Kind: KindExpired, Reason: err.Error()}
		}
		return Claims{}, invalid("%v", err)
	}
	if !tok.Valid {
		return Claims{}, invalid("token not valid")
	}
	if strings.TrimSpace(tc.Subject) == "" || strings.TrimSpace(tc.Agency) == "" {
		return Claims{}, invalid("sub or agency empty")
	}
	iat, exp := tc.IssuedAt, tc.ExpiresAt
	if iat == nil {
		return Claims{}, invalid("no iat claim")
	}
	if life := exp.Sub(iat.Time); life > v.maxLifetime || life <= 0 {
		return Claims{}, invalid("lifetime %s outside (0, %s]", life, v.maxLifetime)
	}
	c := Claims{Subject: tc.Subject, Agency: tc.Agency, Roles: tc.Roles, Name: tc.Name, KeyID: kid,
		IssuedAt: iat.UTC(), ExpiresAt: exp.UTC()}
	if tc.NotBefore != nil {
		c.NotBefore = tc.NotBefore.UTC()
	}
	if !c.HasRole(RoleStaff) {
		return Claims{}, &Error{Kind: KindNotStaff, Reason: fmt.Sprintf("subject %q lacks role %q", c.Subject, RoleStaff)}
	}
	return c, nil
}
