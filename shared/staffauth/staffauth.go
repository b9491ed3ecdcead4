// Package staffauth mints and verifies the staff bearer tokens of motcua:
// compact JWS (RFC 7515) JSON Web Tokens (RFC 7519) signed with HMAC-SHA256
// ("HS256") over a shared secret, implemented with the standard library
// only.
//
// A token's claims are:
//
//	sub     officer id (required)
//	roles   array of role names; must contain "staff"
//	agency  code of the agency the officer works for (required)
//	exp     expiry, seconds since the epoch (required; 60 s leeway)
//	iat     issue time (optional)
//	nbf     not-before time (optional; 60 s leeway)
//
// Verify accepts only alg "HS256" in the header (an "alg":"none" or any
// other algorithm is refused before the signature is looked at) and
// compares signatures in constant time. Every failure is an *Error, which
// implements httpx.Coded: 401 "invalid_token" / "token_expired" (with a
// WWW-Authenticate: Bearer error="invalid_token" header when the error
// reaches httpx.FromError) or 403 "not_staff" / "wrong_agency".
package staffauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"motcua/shared/httpx"
)

// RoleStaff is the role every staff token must carry.
const RoleStaff = "staff"

// SecretName is the OpenFaaS secret holding the HMAC key.
const SecretName = "staff-jwt-secret"

// Leeway is the clock skew tolerated on exp and nbf.
const Leeway = 60 * time.Second

// MinSecretLen is the shortest secret Mint and Verify accept (RFC 7518
// §3.2: a key of at least the hash output size).
const MinSecretLen = 32

// maxTokenLen bounds the token accepted by Verify.
const maxTokenLen = 8 << 10

// Claims are the claims of a staff token.
type Claims struct {
	// Subject is the officer id ("sub").
	Subject string `json:"sub"`
	// Roles are the officer's roles ("roles"); must contain RoleStaff.
	Roles []string `json:"roles"`
	// Agency is the code of the officer's agency ("agency").
	Agency string `json:"agency"`
	// ExpiresAt is "exp", seconds since the epoch.
	ExpiresAt int64 `json:"exp"`
	// IssuedAt is "iat", seconds since the epoch; 0 when absent.
	IssuedAt int64 `json:"iat,omitempty"`
	// NotBefore is "nbf", seconds since the epoch; 0 when absent.
	NotBefore int64 `json:"nbf,omitempty"`
}

// HasRole reports whether c carries role.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// Kind classifies an authentication or authorisation failure.
type Kind int

// Failure kinds.
const (
	// KindInvalid is a missing, malformed or badly signed token (401).
	KindInvalid Kind = iota + 1
	// KindExpired is a token past exp (or before nbf) beyond the leeway (401).
	KindExpired
	// KindNotStaff is a valid token without the staff role (403).
	KindNotStaff
	// KindWrongAgency is a staff token of another agency (403).
	KindWrongAgency
)

// ErrUnauthenticated is matched (errors.Is) by every 401 *Error.
var ErrUnauthenticated = errors.New("staffauth: unauthenticated")

// ErrForbidden is matched (errors.Is) by every 403 *Error.
var ErrForbidden = errors.New("staffauth: forbidden")

// Error is a failed Verify or Authorize. Reason is for logs only; clients
// see the fixed messages of its Kind.
type Error struct {
	// Kind says which failure it is.
	Kind Kind
	// Reason is the internal detail (never sent to clients).
	Reason string
}

// Error implements error.
func (e *Error) Error() string { return "staffauth: " + e.Reason }

// Is makes errors.Is(err, ErrUnauthenticated / ErrForbidden) work.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.Kind == KindInvalid || e.Kind == KindExpired
	case ErrForbidden:
		return e.Kind == KindNotStaff || e.Kind == KindWrongAgency
	}
	return false
}

// ProblemCode is the stable problem slug.
func (e *Error) ProblemCode() string {
	switch e.Kind {
	case KindExpired:
		return "token_expired"
	case KindNotStaff:
		return "not_staff"
	case KindWrongAgency:
		return "wrong_agency"
	default:
		return "invalid_token"
	}
}

// StatusCode is 401 for token failures and 403 for authorisation failures.
func (e *Error) StatusCode() int {
	if e.Kind == KindNotStaff || e.Kind == KindWrongAgency {
		return 403
	}
	return 401
}

// MessageEn is the English detail shown to clients.
func (e *Error) MessageEn() string {
	switch e.Kind {
	case KindExpired:
		return "The access token has expired; sign in again."
	case KindNotStaff:
		return "This action is reserved for staff."
	case KindWrongAgency:
		return "The application belongs to another agency."
	default:
		return "A valid staff access token is required (Authorization: Bearer <token>)."
	}
}

// MessageVi is the Vietnamese detail shown to clients.
func (e *Error) MessageVi() string {
	switch e.Kind {
	case KindExpired:
		return "Phiên đăng nhập đã hết hạn; vui lòng đăng nhập lại."
	case KindNotStaff:
		return "Chức năng này chỉ dành cho cán bộ."
	case KindWrongAgency:
		return "Hồ sơ thuộc cơ quan khác."
	default:
		return "Cần mã truy cập hợp lệ của cán bộ (Authorization: Bearer <token>)."
	}
}

// Challenge is the WWW-Authenticate value for a 401 of this error (RFC
// 6750 §3), "" for a 403.
func (e *Error) Challenge() string {
	if e.StatusCode() != 401 {
		return ""
	}
	return `Bearer error="invalid_token", error_description="` + e.ProblemCode() + `"`
}

// Problem is the client-facing problem of e, carrying the WWW-Authenticate
// challenge on a 401.
func (e *Error) Problem() *httpx.Problem {
	status := e.StatusCode()
	p := httpx.NewProblem(status, e.ProblemCode(), http.StatusText(status), httpx.StatusTitleVi(status)).
		WithDetail(e.MessageEn(), e.MessageVi())
	if ch := e.Challenge(); ch != "" {
		p.WithHeader("WWW-Authenticate", ch)
	}
	return p
}

// As lets httpx.FromError (errors.As to *httpx.Problem) find the problem
// with its WWW-Authenticate header, which a plain httpx.Coded cannot carry.
func (e *Error) As(target any) bool {
	if p, ok := target.(**httpx.Problem); ok {
		*p = e.Problem().WithCause(errors.New(e.Reason))
		return true
	}
	return false
}

func invalid(format string, a ...any) *Error {
	return &Error{Kind: KindInvalid, Reason: fmt.Sprintf(format, a...)}
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
}

var b64 = base64.RawURLEncoding

// Mint signs c as an HS256 token valid for ttl from now: it sets IssuedAt
// and ExpiresAt (overriding any value in c). c must name a subject and an
// agency; the staff role is not added for the caller.
func Mint(secret []byte, c Claims, ttl time.Duration) (string, error) {
	return MintAt(secret, c, ttl, time.Now())
}

// MintAt is Mint with an explicit clock.
func MintAt(secret []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("staffauth mint: secret shorter than %d bytes", MinSecretLen)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("staffauth mint: ttl must be positive, got %s", ttl)
	}
	if strings.TrimSpace(c.Subject) == "" || strings.TrimSpace(c.Agency) == "" {
		return "", errors.New("staffauth mint: sub and agency are required")
	}
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(ttl).Unix()
	return sign(secret, header{Alg: "HS256", Typ: "JWT"}, c)
}

// sign encodes any header and payload and signs them with HS256.
func sign(secret []byte, h, payload any) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("staffauth encode header: %w", err)
	}
	pb, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("staffauth encode claims: %w", err)
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	return input + "." + b64.EncodeToString(mac(secret, input)), nil
}

func mac(secret []byte, input string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return m.Sum(nil)
}

// BearerToken extracts the token from an Authorization header value
// ("Bearer <token>", scheme case-insensitive).
func BearerToken(authorization string) (string, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if authorization == "" {
		return "", invalid("no Authorization header")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", invalid("authorization scheme is not Bearer")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", invalid("empty bearer token")
	}
	return tok, nil
}

// Verify checks the bearer token in an Authorization header value against
// secret at time now and returns its claims. The token must be HS256 with
// a valid signature, not expired (exp + Leeway > now), already valid (nbf -
// Leeway <= now), and carry sub, agency and the staff role. The error is an
// *Error: KindInvalid or KindExpired (401), KindNotStaff (403).
func Verify(secret []byte, authorizationHeader string, now time.Time) (Claims, error) {
	if len(secret) < MinSecretLen {
		// A misconfigured (empty) secret must never verify anything.
		return Claims{}, invalid("verification secret shorter than %d bytes", MinSecretLen)
	}
	tok, err := BearerToken(authorizationHeader)
	if err != nil {
		return Claims{}, err
	}
	if len(tok) > maxTokenLen {
		return Claims{}, invalid("token longer than %d bytes", maxTokenLen)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return Claims{}, invalid("token has %d parts, want 3", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return Claims{}, invalid("header is not base64url")
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return Claims{}, invalid("header is not JSON")
	}
	if h.Alg != "HS256" {
		return Claims{}, invalid("alg %q refused", h.Alg)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return Claims{}, invalid("signature is not base64url")
	}
	if !hmac.Equal(sig, mac(secret, parts[0]+"."+parts[1])) {
		return Claims{}, invalid("bad signature")
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, invalid("payload is not base64url")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(pb, &raw); err != nil {
		return Claims{}, invalid("payload is not a JSON object")
	}
	for _, name := range []string{"sub", "agency", "exp", "roles"} {
		if _, ok := raw[name]; !ok {
			return Claims{}, invalid("claim %q missing", name)
		}
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return Claims{}, invalid("claims have the wrong types")
	}
	if strings.TrimSpace(c.Subject) == "" || strings.TrimSpace(c.Agency) == "" {
		return Claims{}, invalid("sub or agency empty")
	}
	if now.After(time.Unix(c.ExpiresAt, 0).Add(Leeway)) {
		return Claims{}, &Error{Kind: KindExpired, Reason: fmt.Sprintf("expired at %d", c.ExpiresAt)}
	}
	if c.NotBefore != 0 && now.Before(time.Unix(c.NotBefore, 0).Add(-Leeway)) {
		return Claims{}, &Error{Kind: KindExpired, Reason: fmt.Sprintf("not valid before %d", c.NotBefore)}
	}
	if !c.HasRole(RoleStaff) {
		return Claims{}, &Error{Kind: KindNotStaff, Reason: fmt.Sprintf("subject %q lacks role %q", c.Subject, RoleStaff)}
	}
	return c, nil
}

// Authorize checks that the officer of c may act on an application of
// agency: nil when c.Agency equals it (case-insensitively), otherwise a
// KindWrongAgency *Error (403).
func Authorize(c Claims, agency string) error {
	if agency == "" || !strings.EqualFold(strings.TrimSpace(c.Agency), strings.TrimSpace(agency)) {
		return &Error{Kind: KindWrongAgency, Reason: fmt.Sprintf("officer %q of agency %q on an application of %q", c.Subject, c.Agency, agency)}
	}
	return nil
}
