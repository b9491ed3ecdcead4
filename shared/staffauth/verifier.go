package staffauth

import (
	"errors"
	"fmt"
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
