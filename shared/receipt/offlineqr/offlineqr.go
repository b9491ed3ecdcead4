// Package offlineqr makes the QR code printed on a receipt verifiable with
// no network: the code carries the receipt's essentials and an Ed25519
// signature over them, checkable with the province's published public keys
// (a JWKS-like KeySet the receipt function serves and verifiers keep).
//
// Payload (text, every character in the QR alphanumeric set so the code
// stays small — about 150 characters, a version 6 or 7 code at level M):
//
//	MCBL1:<KID>:<SERIES>:<NUMBER>:<YYYYMMDD>:<AMOUNT>:<PAYER>:<SIG>
//
// KID names the signing key; SERIES, NUMBER, YYYYMMDD (issue date, GMT+7)
// and AMOUNT (whole đồng) identify the receipt; PAYER is a hash of the
// payer's ID; SIG is the unpadded base32 Ed25519 signature of everything
// before the last colon.
//
// The payer hash is salted per receipt and truncated on purpose:
// SHA-256("MCBL1|series|number|ID"), first 24 bits, hex. Salting with the
// receipt's identity makes two receipts of one citizen unlinkable; anyone
// holding the payer's ID card can recompute it offline (so no secret key,
// which a village verifier could not have); and 24 bits cannot be inverted
// to one person: with some 10^10 plausible CCCD numbers, several hundred
// share each value, while a wrong ID still fails the check with probability
// 1 − 2^-24. An unsalted or full-length hash of a 12-digit ID would be
// reversed by brute force in minutes.
package offlineqr

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"motcua/shared/config"
	"motcua/shared/receipt"
)

// Prefix starts every payload and names its version.
const Prefix = "MCBL1"

// SecretName is the OpenFaaS secret holding the signing keys.
const SecretName = "receipt-qr-key"

// MaxPayload bounds a payload given to Parse.
const MaxPayload = 512

var (
	// ErrMalformed means the payload is not an MCBL1 payload.
	ErrMalformed = errors.New("offlineqr: malformed payload")
	// ErrUnknownKey means no key of the key set has the payload's kid.
	ErrUnknownKey = errors.New("offlineqr: unknown key id")
	// ErrBadSignature means the signature does not verify: the payload was
	// altered or not signed by the named key.
	ErrBadSignature = errors.New("offlineqr: signature does not verify")
)

var (
	kidRE    = regexp.MustCompile(`^[A-Z0-9-]{1,16}$`)
	seriesRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9/-]{0,10}$`)
	numberRE = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
	amountRE = regexp.MustCompile(`^-?[1-9][0-9]{0,14}$`)
	payerRE  = regexp.MustCompile(`^[0-9A-F]{6}$`)
	b32      = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// Claims is what a QR payload vouches for.
type Claims struct {
	// Kid names the key that signed.
	Kid string `json:"kid"`
	// Series is the receipt's series symbol.
	Series string `json:"series"`
	// Number is the receipt's number.
	Number uint32 `json:"number"`
	// IssuedOn is the issue date (midnight, GMT+7).
	IssuedOn time.Time `json:"issuedOn"`
	// AmountVND is the receipt's total.
	AmountVND int64 `json:"amountVND"`
	// PayerHash is the truncated, salted hash of the payer's ID (hex).
	PayerHash string `json:"payerHash"`
}

// ClaimsOf returns the claims of a receipt (Kid left empty: the signer
// fills it).
func ClaimsOf(r receipt.Receipt) Claims {
	y, m, d := r.IssuedAt.In(receipt.Zone).Date()
	return Claims{
		Series:    r.Series,
		Number:    r.Number,
		IssuedOn:  time.Date(y, m, d, 0, 0, 0, 0, receipt.Zone),
		AmountVND: r.TotalVND,
		PayerHash: PayerHash(r.Series, r.Number, r.Payer.ID),
	}
}

// PayerHash returns the salted, truncated hash of a payer's ID for the
// receipt series/number (see the package documentation for why).
func PayerHash(series string, number uint32, payerID string) string {
	h := sha256.Sum256([]byte(Prefix + "|" + series + "|" + strconv.FormatUint(uint64(number), 10) + "|" + strings.TrimSpace(payerID)))
	return strings.ToUpper(hex.EncodeToString(h[:3]))
}

// MatchesPayer reports whether payerID (read from the citizen's card) is
// the ID the receipt was issued to.
func (c Claims) MatchesPayer(payerID string) bool {
	return PayerHash(c.Series, c.Number, payerID) == c.PayerHash
}

// body is the signed part of the payload.
func (c Claims) body() (string, error) {
	switch {
	case !kidRE.MatchString(c.Kid):
		return "", fmt.Errorf("%w: kid %q must be 1 to 16 upper-case letters, digits or '-'", ErrMalformed, c.Kid)
	case !seriesRE.MatchString(c.Series):
		return "", fmt.Errorf("%w: series %q", ErrMalformed, c.Series)
	case c.Number == 0 || c.Number > receipt.MaxNumber:
		return "", fmt.Errorf("%w: number %d", ErrMalformed, c.Number)
	case c.AmountVND == 0 || c.AmountVND > receipt.MaxAmountVND || c.AmountVND < -receipt.MaxAmountVND:
		return "", fmt.Errorf("%w: amount %d", ErrMalformed, c.AmountVND)
	case !payerRE.MatchString(c.PayerHash):
		return "", fmt.Errorf("%w: payer hash %q", ErrMalformed, c.PayerHash)
	}
	return strings.Join([]string{Prefix, c.Kid, c.Series, strconv.FormatUint(uint64(c.Number), 10),
		c.IssuedOn.In(receipt.Zone).Format("20060102"), strconv.FormatInt(c.AmountVND, 10), c.PayerHash}, ":"), nil
}

// Parse splits a payload into its claims, signed body and signature
// without checking the signature.
func Parse(payload string) (Claims, string, []byte, error) {
	payload = strings.TrimSpace(payload)
	if len(payload) > MaxPayload {
		return Claims{}, "", nil, fmt.Errorf("%w: longer than %d characters", ErrMalformed, MaxPayload)
	}
	f := strings.Split(payload, ":")
	if len(f) != 8 || f[0] != Prefix {
		return Claims{}, "", nil, fmt.Errorf("%w: want %s and 7 fields separated by ':'", ErrMalformed, Prefix)
	}
	c := Claims{Kid: f[1], Series: f[2], PayerHash: f[6]}
	if !numberRE.MatchString(f[3]) {
		return Claims{}, "", nil, fmt.Errorf("%w: number %q", ErrMalformed, f[3])
	}
	n, _ := strconv.ParseUint(f[3], 10, 32)
	c.Number = uint32(n)
	day, err := time.ParseInLocation("20060102", f[4], receipt.Zone)
	if err != nil || len(f[4]) != 8 {
		return Claims{}, "", nil, fmt.Errorf("%w: date %q is not YYYYMMDD", ErrMalformed, f[4])
	}
	c.IssuedOn = day
	if !amountRE.MatchString(f[5]) {
		return Claims{}, "", nil, fmt.Errorf("%w: amount %q", ErrMalformed, f[5])
	}
	c.AmountVND, _ = strconv.ParseInt(f[5], 10, 64)
	body, err := c.body()
	if err != nil {
		return Claims{}, "", nil, err
	}
	if body != strings.Join(f[:7], ":") {
		// Only the canonical spelling of each field is accepted, so one
		// receipt has exactly one valid payload.
		return Claims{}, "", nil, fmt.Errorf("%w: fields not in canonical form", ErrMalformed)
	}
	sig, err := b32.DecodeString(f[7])
	if err != nil || len(sig) != ed25519.SignatureSize || b32.EncodeToString(sig) != f[7] {
		return Claims{}, "", nil, fmt.Errorf("%w: signature is not %d bytes of unpadded base32", ErrMalformed, ed25519.SignatureSize)
	}
	return c, body, sig, nil
}

// Verify checks a payload offline against a key set and returns its
// claims: ErrMalformed, ErrUnknownKey or ErrBadSignature (wrapped) when it
// does not verify.
func Verify(payload string, keys KeySet) (Claims, error) {
	c, body, sig, err := Parse(payload)
	if err != nil {
		return Claims{}, err
	}
	pub, ok := keys.Lookup(c.Kid)
	if !ok {
		return Claims{}, fmt.Errorf("%w %q", ErrUnknownKey, c.Kid)
	}
	if !ed25519.Verify(pub, []byte(body), sig) {
		return Claims{}, fmt.Errorf("%w (key %s)", ErrBadSignature, c.Kid)
	}
	return c, nil
}

// JWK is one public key in RFC 8037 form (kty OKP, crv Ed25519).
type JWK struct {
	// Kty is "OKP".
	Kty string `json:"kty"`
	// Crv is "Ed25519".
	Crv string `json:"crv"`
	// Kid is the key id carried in payloads.
	Kid string `json:"kid"`
	// X is the public key, base64url without padding.
	X string `json:"x"`
	// Use is "sig".
	Use string `json:"use,omitempty"`
	// Alg is "EdDSA".
	Alg string `json:"alg,omitempty"`
	// Status is "current" for the key new receipts are signed with and
	// "previous" for keys kept so older receipts still verify.
	Status string `json:"status,omitempty"`
}

// KeySet is the published set of QR verification keys, JWKS-like:
// {"keys":[{"kty":"OKP","crv":"Ed25519","kid":"…","x":"…"}, …]}.
type KeySet struct {
	// Keys lists the current key first, then previous keys.
	Keys []JWK `json:"keys"`
}

// Lookup returns the Ed25519 public key called kid.
func (s KeySet) Lookup(kid string) (ed25519.PublicKey, bool) {
	for _, k := range s.Keys {
		if k.Kid != kid || k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, false
		}
		return ed25519.PublicKey(b), true
	}
	return nil, false
}

// ParseKeySet reads a published key set and checks every key.
func ParseKeySet(b []byte) (KeySet, error) {
	var s KeySet
	if err := json.Unmarshal(b, &s); err != nil {
		return KeySet{}, fmt.Errorf("offlineqr: key set: %w", err)
	}
	if len(s.Keys) == 0 {
		return KeySet{}, errors.New("offlineqr: key set has no keys")
	}
	for i, k := range s.Keys {
		if _, ok := s.Lookup(k.Kid); !ok || !kidRE.MatchString(k.Kid) {
			return KeySet{}, fmt.Errorf("offlineqr: key set: keys[%d] (kid %q) is not an Ed25519 OKP key with a valid kid", i, k.Kid)
		}
	}
	return s, nil
}

// Signer signs payloads with the current key and publishes every key.
// Safe for concurrent use.
type Signer struct {
	current string
	keys    []signingKey
}

type signingKey struct {
	kid  string
	priv ed25519.PrivateKey
}

// secretFile is the content of the receipt-qr-key secret.
type secretFile struct {
	Current string `json:"current"`
	Keys    []struct {
		Kid  string `json:"kid"`
		Seed string `json:"seed"`
	} `json:"keys"`
}

// ParseSecret reads the receipt-qr-key secret:
//
//	{"current":"Q26A","keys":[{"kid":"Q26A","seed":"<32 bytes, base64url>"},{"kid":"Q25A","seed":"…"}]}
//
// Errors name the key, never its seed.
func ParseSecret(b []byte) (*Signer, error) {
	var f secretFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errors.New("offlineqr: secret is not valid JSON")
	}
	s := &Signer{current: f.Current}
	seen := map[string]bool{}
	for i, k := range f.Keys {
		if !kidRE.MatchString(k.Kid) || seen[k.Kid] {
			return nil, fmt.Errorf("offlineqr: secret keys[%d]: kid %q is invalid or repeated", i, k.Kid)
		}
		seen[k.Kid] = true
		seed, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Seed, "="))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("offlineqr: secret key %q: seed must be %d bytes, base64url", k.Kid, ed25519.SeedSize)
		}
		s.keys = append(s.keys, signingKey{kid: k.Kid, priv: ed25519.NewKeyFromSeed(seed)})
	}
	if !seen[f.Current] {
		return nil, fmt.Errorf("offlineqr: secret: current key %q is not among the keys", f.Current)
	}
	return s, nil
}

// LoadSigner reads the receipt-qr-key secret.
func LoadSigner(secrets config.Secrets) (*Signer, error) {
	v, err := secrets.Get(SecretName)
	if err != nil {
		return nil, err
	}
	return ParseSecret([]byte(v))
}

// Kid returns the current key's id.
func (s *Signer) Kid() string { return s.current }

// Sign returns the payload for c signed with the current key (c.Kid is
// set to it).
func (s *Signer) Sign(c Claims) (string, error) {
	c.Kid = s.current
	body, err := c.body()
	if err != nil {
		return "", err
	}
	for _, k := range s.keys {
		if k.kid == s.current {
			return body + ":" + b32.EncodeToString(ed25519.Sign(k.priv, []byte(body))), nil
		}
	}
	return "", fmt.Errorf("offlineqr: current key %q missing", s.current)
}

// SignReceipt returns the signed payload of a receipt.
func (s *Signer) SignReceipt(r receipt.Receipt) (string, error) { return s.Sign(ClaimsOf(r)) }

// KeySet returns the public keys to publish: the current one first, then
// the previous ones.
func (s *Signer) KeySet() KeySet {
	var out KeySet
	add := func(k signingKey, status string) {
		out.Keys = append(out.Keys, JWK{Kty: "OKP", Crv: "Ed25519", Kid: k.kid, Use: "sig", Alg: "EdDSA", Status: status,
			X: base64.RawURLEncoding.EncodeToString(k.priv.Public().(ed25519.PublicKey))})
	}
	for _, k := range s.keys {
		if k.kid == s.current {
			add(k, "current")
		}
	}
	for _, k := range s.keys {
		if k.kid != s.current {
			add(k, "previous")
		}
	}
	return out
}

// GenerateDevSecret returns a receipt-qr-key secret with one new random
// key called kid, for the local stack and tests. Never for production.
func GenerateDevSecret(kid string) ([]byte, error) {
	if !kidRE.MatchString(kid) {
		return nil, fmt.Errorf("offlineqr: kid %q must be 1 to 16 upper-case letters, digits or '-'", kid)
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	f := map[string]any{"current": kid, "keys": []map[string]string{{"kid": kid, "seed": base64.RawURLEncoding.EncodeToString(priv.Seed())}}}
	return json.Marshal(f)
}

// PNG renders a payload as a QR code image (error correction level M,
// size×size pixels).
func PNG(payload string, size int) ([]byte, error) {
	return qrcode.Encode(payload, qrcode.Medium, size)
}

// Modules returns a payload's QR code as its modules, row by row (true =
// dark), quiet zone included: the same symbol as PNG (error correction
// level M), for renderers that draw it as vector squares.
func Modules(payload string) ([][]bool, error) {
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.Bitmap(), nil
}
