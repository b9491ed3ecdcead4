// Package staffauth mints and verifies the staff bearer tokens of motcua:
// JSON Web Tokens (RFC 7519) signed with an asymmetric key, EdDSA (Ed25519,
// RFC 8037) or ES256 (ECDSA P-256), parsed and checked by
// github.com/golang-jwt/jwt/v5.
//
// Functions hold only public keys: the secret PublicKeysSecret
// ("staff-jwt-public-keys") is a JWK Set (RFC 7517 §5) whose keys carry a
// key id ("kid"). A token names its key in the header's "kid"; during a
// rotation the set lists the old and the new key, and every token of either
// verifies until the old key is removed. The private key (secret
// PrivateKeySecret, "staff-jwt-private-key", a PKCS #8 PEM file) lives only
// with the issuer: `motcua token mint` in development, the province's
// identity provider in production. No function can mint a token.
//
// A token's claims are:
//
//	iss     issuer, must equal the verifier's (DefaultIssuer)
//	aud     audience, must contain the verifier's (DefaultAudience)
//	sub     officer id (required)
//	agency  code of the agency the officer works for (required)
//	roles   array of role names; must contain "staff" ("admin" adds batch reprocessing)
//	name    the officer's display name (optional)
//	iat     issue time (required)
//	exp     expiry (required); exp - iat at most MaxLifetime
//	nbf     not-before time (optional)
//
// exp, nbf and iat are checked with Leeway of clock skew. The algorithm is
// pinned: only EdDSA and ES256 are accepted, and only with a key of the
// matching type from the key set, so "alg":"none" and HS256 signed with
// the public key as an HMAC secret (algorithm confusion) are refused.
//
// Every failure is an *Error. It implements the coded-error methods
// httpx.FromError looks for (ProblemCode, StatusCode, MessageVi, MessageEn,
// ProblemHeaders) without importing httpx: 401 "invalid_token" /
// "token_expired" with a WWW-Authenticate: Bearer challenge, 403
// "not_staff" / "wrong_agency" / "role_required".
package staffauth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Roles a staff token can carry.
const (
	// RoleStaff is the role every staff token must carry.
	RoleStaff = "staff"
	// RoleAdmin is the role of operators allowed to run batch reprocessing.
	RoleAdmin = "admin"
)

// Secret names (OpenFaaS secrets, files under /var/openfaas/secrets).
const (
	// PublicKeysSecret is the JWK Set of the keys tokens may be signed
	// with; the only staff secret a function holds.
	PublicKeysSecret = "staff-jwt-public-keys"
	// PrivateKeySecret is the PKCS #8 PEM private key `motcua token mint`
	// signs with in development. No function lists it.
	PrivateKeySecret = "staff-jwt-private-key"
)

// Defaults of the verifier and the signer.
const (
	// DefaultIssuer is the "iss" every token must carry.
	DefaultIssuer = "urn:motcua:staff-auth"
	// DefaultAudience is the "aud" every token must name.
	DefaultAudience = "urn:motcua:staff-api"
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 60 * time.Second
	// MaxLifetime is the longest exp - iat a token may have: a leaked
	// token is useful for one working day at most.
	MaxLifetime = 12 * time.Hour
)

// maxTokenLen bounds the token accepted by Verify.
const maxTokenLen = 8 << 10

// Claims are the claims of a staff token.
type Claims struct {
	// Subject is the officer id ("sub").
	Subject string
	// Agency is the code of the officer's agency ("agency").
	Agency string
	// Roles are the officer's roles ("roles"); must contain RoleStaff.
	Roles []string
	// Name is the officer's display name ("name"), may be empty.
	Name string
	// KeyID is the "kid" of the key that signed the token (set by Verify).
	KeyID string
	// IssuedAt is "iat" (set by Verify and by Mint).
	IssuedAt time.Time
	// ExpiresAt is "exp" (set by Verify and by Mint).
	ExpiresAt time.Time
	// NotBefore is "nbf"; zero when absent.
	NotBefore time.Time
}

// HasRole reports whether c carries role.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// Require returns nil when c carries role, otherwise a KindMissingRole
// *Error (403 "role_required").
func (c Claims) Require(role string) error {
	if c.HasRole(role) {
		return nil
	}
	return &Error{Kind: KindMissingRole, Role: role, Reason: fmt.Sprintf("subject %q lacks role %q", c.Subject, role)}
}

// Kind classifies an authentication or authorisation failure.
type Kind int

// Failure kinds.
const (
	// KindInvalid is a missing, malformed or badly signed token, or one
	// for another issuer or audience (401).
	KindInvalid Kind = iota + 1
	// KindExpired is a token past exp beyond the leeway (401).
	KindExpired
	// KindNotStaff is a valid token without the staff role (403).
	KindNotStaff
	// KindWrongAgency is a staff token of another agency (403).
	KindWrongAgency
	// KindMissingRole is a staff token without a role the action needs
	// (403), e.g. RoleAdmin.
	KindMissingRole
)

// ErrUnauthenticated is matched (errors.Is) by every 401 *Error.
var ErrUnauthenticated = errors.New("staffauth: unauthenticated")

// ErrForbidden is matched (errors.Is) by every 403 *Error.
var ErrForbidden = errors.New("staffauth: forbidden")

// Error is a failed Verify, Authorize or Require. Reason is for logs only;
// clients see the fixed messages of its Kind.
type Error struct {
	// Kind says which failure it is.
	Kind Kind
	// Role is the missing role of a KindMissingRole error.
	Role string
	// Reason is the internal detail (never sent to clients).
	Reason string
}

// Error implements error.
func (e *Error) Error() string { return "staffauth: " + e.Reason }

// Is makes errors.Is(err, ErrUnauthenticated / ErrForbidden) work.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.StatusCode() == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode() == http.StatusForbidden
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
	case KindMissingRole:
		return "role_required"
	default:
		return "invalid_token"
	}
}

// StatusCode is 401 for token failures and 403 for authorisation failures.
func (e *Error) StatusCode() int {
	switch e.Kind {
	case KindNotStaff, KindWrongAgency, KindMissingRole:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
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
	case KindMissingRole:
		return "This action needs the role " + e.Role + "."
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
	case KindMissingRole:
		return "Chức năng này cần quyền " + e.Role + "."
	default:
		return "Cần mã truy cập hợp lệ của cán bộ (Authorization: Bearer <token>)."
	}
}

// Challenge is the WWW-Authenticate value for a 401 of this error (RFC
// 6750 §3), "" for a 403.
func (e *Error) Challenge() string {
	if e.StatusCode() != http.StatusUnauthorized {
		return ""
	}
	return `Bearer error="invalid_token", error_description="` + e.ProblemCode() + `"`
}

// ProblemHeaders are the response headers of the problem: the
// WWW-Authenticate challenge of a 401, nothing for a 403.
func (e *Error) ProblemHeaders() http.Header {
	if ch := e.Challenge(); ch != "" {
		return http.Header{"Www-Authenticate": {ch}}
	}
	return nil
}

func invalid(format string, a ...any) *Error {
	return &Error{Kind: KindInvalid, Reason: fmt.Sprintf(format, a...)}
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

// Authorize checks that the officer of c may act on an application of
// agency: nil when c.Agency equals it (case-insensitively), otherwise a
// KindWrongAgency *Error (403).
func Authorize(c Claims, agency string) error {
	if agency == "" || !strings.EqualFold(strings.TrimSpace(c.Agency), strings.TrimSpace(agency)) {
		return &Error{Kind: KindWrongAgency, Reason: fmt.Sprintf("officer %q of agency %q on an application of %q", c.Subject, c.Agency, agency)}
	}
	return nil
}
