package staffauth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Algorithms accepted for staff tokens: the algorithm is pinned to the
// type of the key the token's kid names.
const (
	// AlgEdDSA is Ed25519 (RFC 8037), the default.
	AlgEdDSA = "EdDSA"
	// AlgES256 is ECDSA over P-256 with SHA-256.
	AlgES256 = "ES256"
)

// maxKeySetLen bounds the key set file (a handful of keys).
const maxKeySetLen = 64 << 10

// KeySet is a parsed public key set: key id → public key.
type KeySet struct {
	keys map[string]publicKey
}

type publicKey struct {
	alg string // AlgEdDSA or AlgES256
	key crypto.PublicKey
}

// Len returns the number of keys in s.
func (s *KeySet) Len() int { return len(s.keys) }

// lookup returns the key of kid if it may verify a token of alg.
func (s *KeySet) lookup(kid, alg string) (crypto.PublicKey, error) {
	k, ok := s.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	if k.alg != alg {
		return nil, fmt.Errorf("kid %q is an %s key, token says alg %q", kid, k.alg, alg)
	}
	return k.key, nil
}

// ParseKeySet parses a JWK Set (RFC 7517 §5) of public signing keys. Every
// key must have a unique "kid", be public (no private members) and be an
// Ed25519 ("OKP") or P-256 ("EC") key; an "alg" member, when present, must
// match the key type, and "use", when present, must be "sig".
func ParseKeySet(data []byte) (*KeySet, error) {
	if len(data) > maxKeySetLen {
		return nil, fmt.Errorf("staffauth: key set larger than %d bytes", maxKeySetLen)
	}
	var set jose.JSONWebKeySet
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&set); err != nil {
		return nil, fmt.Errorf("staffauth: key set is not a JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("staffauth: key set has no keys")
	}
	out := &KeySet{keys: make(map[string]publicKey, len(set.Keys))}
	for i, k := range set.Keys {
		if k.KeyID == "" {
			return nil, fmt.Errorf("staffauth: key set: key %d has no kid", i)
		}
		if _, dup := out.keys[k.KeyID]; dup {
			return nil, fmt.Errorf("staffauth: key set: kid %q appears twice", k.KeyID)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("staffauth: key set: kid %q holds a private key; publish only public keys", k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf("staffauth: key set: kid %q has use %q, want sig", k.KeyID, k.Use)
		}
		var pk publicKey
		switch key := k.Key.(type) {
		case ed25519.PublicKey:
			pk = publicKey{alg: AlgEdDSA, key: key}
		case *ecdsa.PublicKey:
			if key.Curve != elliptic.P256() {
				return nil, fmt.Errorf("staffauth: key set: kid %q is not a P-256 key", k.KeyID)
			}
			pk = publicKey{alg: AlgES256, key: key}
		default:
			return nil, fmt.Errorf("staffauth: key set: kid %q has unsupported key type %T (want Ed25519 or P-256)", k.KeyID, k.Key)
		}
		if k.Algorithm != "" && k.Algorithm != pk.alg {
			return nil, fmt.Errorf("staffauth: key set: kid %q says alg %q for an %s key", k.KeyID, k.Algorithm, pk.alg)
		}
		out.keys[k.KeyID] = pk
	}
	return out, nil
}

// GenerateKey returns a new Ed25519 private key as a PKCS #8 PEM block
// ("PRIVATE KEY", as `openssl genpkey -algorithm ed25519` writes it).
func GenerateKey() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parsePrivateKey reads an Ed25519 or P-256 private key from PEM (PKCS #8,
// or SEC 1 "EC PRIVATE KEY").
func parsePrivateKey(data []byte) (crypto.Signer, string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("staffauth: private key is not PEM")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("staffauth: private key PEM block %q, want PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("staffauth: private key: %w", err)
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return k, AlgEdDSA, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errors.New("staffauth: ECDSA private key is not P-256")
		}
		return k, AlgES256, nil
	}
	return nil, "", fmt.Errorf("staffauth: private key type %T unsupported (want Ed25519 or P-256)", key)
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of a
// public key: the default key id, stable for a given key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("staffauth: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Signer mints staff tokens with one private key. It is safe for
// concurrent use.
type Signer struct {
	key      crypto.Signer
	method   jwt.SigningMethod
	kid      string
	issuer   string
	audience string
}

// SignerOption adjusts a Signer.
type SignerOption func(*Signer)

// SignWithIssuer sets the "iss" of minted tokens (default DefaultIssuer).
func SignWithIssuer(iss string) SignerOption { return func(s *Signer) { s.issuer = iss } }

// SignWithAudience sets the "aud" of minted tokens (default DefaultAudience).
func SignWithAudience(aud string) SignerOption { return func(s *Signer) { s.audience = aud } }

// NewSigner reads a PEM private key (Ed25519 → EdDSA, P-256 → ES256). kid
// names the key in tokens and in the key set; "" means its RFC 7638
// thumbprint, which is what PublicKeySet publishes.
func NewSigner(privatePEM []byte, kid string, opts ...SignerOption) (*Signer, error) {
	key, alg, err := parsePrivateKey(privatePEM)
	if err != nil {
		return nil, err
	}
	if kid == "" {
		if kid, err = Thumbprint(key.Public()); err != nil {
			return nil, err
		}
	}
	s := &Signer{key: key, method: jwt.GetSigningMethod(alg), kid: kid, issuer: DefaultIssuer, audience: DefaultAudience}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// KeyID returns the kid written into minted tokens.
func (s *Signer) KeyID() string { return s.kid }

// PublicJWK returns the signer's public key as a JWK with its kid, alg and
// use "sig": one entry of a key set.
func (s *Signer) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.key.Public(), KeyID: s.kid, Algorithm: s.method.Alg(), Use: "sig"}
}

// PublicKeySet returns the JWK Set JSON of the public keys of signers, in
// order: what the PublicKeysSecret secret holds.
func PublicKeySet(signers ...*Signer) ([]byte, error) {
	set := jose.JSONWebKeySet{}
	for _, s := range signers {
		set.Keys = append(set.Keys, s.PublicJWK())
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("staffauth: key set: %w", err)
	}
	return append(b, '\n'), nil
}

// tokenClaims is the JSON form of a staff token's claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	Agency string   `json:"agency"`
	Roles  []string `json:"roles"`
	Name   string   `json:"name,omitempty"`
}

// Mint signs c as a token issued at now and valid for ttl (at most
// MaxLifetime). c must name a subject and an agency; roles are written as
// given (the staff role is not added for the caller). c's time fields and
// KeyID are ignored.
func (s *Signer) Mint(c Claims, ttl time.Duration, now time.Time) (string, error) {
	if ttl <= 0 || ttl > MaxLifetime {
		return "", fmt.Errorf("staffauth mint: ttl must be between 1s and %s, got %s", MaxLifetime, ttl)
	}
	if strings.TrimSpace(c.Subject) == "" || strings.TrimSpace(c.Agency) == "" {
		return "", errors.New("staffauth mint: sub and agency are required")
	}
	now = now.Truncate(time.Second)
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{s.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Agency: c.Agency, Roles: c.Roles, Name: c.Name,
	}
	if !c.NotBefore.IsZero() {
		tc.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	tok := jwt.NewWithClaims(s.method, tc)
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("staffauth mint: %w", err)
	}
	return out, nil
}

// GenerateDevKeys generates a development key pair: the private key PEM
// (the PrivateKeySecret) and the JWK Set with its public key under its
// thumbprint kid (the PublicKeysSecret).
func GenerateDevKeys() (privatePEM, keySet []byte, err error) {
	privatePEM, err = GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSigner(privatePEM, "")
	if err != nil {
		return nil, nil, err
	}
	keySet, err = PublicKeySet(s)
	if err != nil {
		return nil, nil, err
	}
	return privatePEM, keySet, nil
}
