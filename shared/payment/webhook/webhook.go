// Package webhook signs and verifies motcua's generic partner-bank webhook:
// the bank sends the raw body with the header
//
//	X-Motcua-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// The header may carry several v1 entries (a bank signing with the old and
// the new secret during rotation), and the verifier accepts any of several
// secrets (our side of the rotation). The timestamp must be within a
// tolerance of now, both ways, which bounds replays. Pure; safe for
// concurrent use.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is the HTTP header carrying the signature.
const Header = "X-Motcua-Signature"

// DefaultTolerance is the accepted clock skew between the bank and us.
const DefaultTolerance = 300 * time.Second

// maxHeaderLen bounds the header we are willing to parse.
const maxHeaderLen = 4096

// ErrMalformedHeader means the signature header is missing or not of the
// form t=<unix seconds>,v1=<64 hex>[,v1=...].
var ErrMalformedHeader = errors.New("webhook: malformed signature header")

// ErrStaleTimestamp means the header's timestamp is further from now than
// the tolerance (too old: a replay; too far ahead: a bad clock).
var ErrStaleTimestamp = errors.New("webhook: timestamp outside tolerance")

// ErrNoMatchingSignature means no v1 signature matches the body under any
// of our secrets.
var ErrNoMatchingSignature = errors.New("webhook: no matching signature")

// ErrNoSecrets means Verify was given no secret to check with (a
// configuration error, not the sender's fault).
var ErrNoSecrets = errors.New("webhook: no secrets configured")

// Signature is a parsed header.
type Signature struct {
	// Timestamp is the t= value.
	Timestamp time.Time
	// V1 are the decoded v1= signatures (32 bytes each), in header order.
	V1 [][]byte
}

// mac returns HMAC-SHA256(secret, unix + "." + body).
func mac(secret []byte, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the header value for body signed with secret at t (whole
// seconds): "t=<unix>,v1=<hex>".
func Sign(secret []byte, t time.Time, body []byte) string {
	unix := t.Unix()
	return "t=" + strconv.FormatInt(unix, 10) + ",v1=" + hex.EncodeToString(mac(secret, unix, body))
}

// SignAll returns a header with one v1 entry per secret (for a sender in
// the middle of a rotation).
func SignAll(secrets [][]byte, t time.Time, body []byte) string {
	unix := t.Unix()
	var b strings.Builder
	b.WriteString("t=" + strconv.FormatInt(unix, 10))
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, unix, body)))
	}
	return b.String()
}

// ParseHeader parses a header value. Exactly one t= (decimal seconds, no
// sign) and at least one v1= (64 hex digits) are required; entries of other
// schemes (e.g. a future v2=) are ignored; spaces around entries are
// allowed. Errors wrap ErrMalformedHeader.
func ParseHeader(h string) (Signature, error) {
	if h == "" {
		return Signature{}, fmt.Errorf("%w: empty", ErrMalformedHeader)
	}
	if len(h) > maxHeaderLen {
		return Signature{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, maxHeaderLen)
	}
	var sig Signature
	seenT := false
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return Signature{}, fmt.Errorf("%w: entry %q is not key=value", ErrMalformedHeader, part)
		}
		switch k {
		case "t":
			if seenT {
				return Signature{}, fmt.Errorf("%w: repeated t", ErrMalformedHeader)
			}
			seenT = true
			if v == "" || len(v) > 12 || strings.TrimLeft(v, "0123456789") != "" {
				return Signature{}, fmt.Errorf("%w: t=%q is not unix seconds", ErrMalformedHeader, v)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Signature{}, fmt.Errorf("%w: t=%q: %v", ErrMalformedHeader, v, err)
			}
			sig.Timestamp = time.Unix(n, 0)
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return Signature{}, fmt.Errorf("%w: v1 is not %d hex digits", ErrMalformedHeader, 2*sha256.Size)
			}
			sig.V1 = append(sig.V1, b)
		}
	}
	if !seenT {
		return Signature{}, fmt.Errorf("%w: no t", ErrMalformedHeader)
	}
	if len(sig.V1) == 0 {
		return Signature{}, fmt.Errorf("%w: no v1", ErrMalformedHeader)
	}
	return sig, nil
}

// Verify checks header against the raw body: it must parse, its timestamp
// must be within tolerance of now (either way; tolerance <= 0 means
// DefaultTolerance), and one of its v1 signatures must equal
// HMAC-SHA256(secret, t + "." + body) for one of secrets (compared in
// constant time). Errors: ErrMalformedHeader, ErrStaleTimestamp,
// ErrNoMatchingSignature, ErrNoSecrets.
func Verify(header string, body []byte, secrets [][]byte, now time.Time, tolerance time.Duration) error {
	if len(secrets) == 0 {
		return ErrNoSecrets
	}
	sig, err := ParseHeader(header)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(sig.Timestamp); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: t=%d is %s from now", ErrStaleTimestamp, sig.Timestamp.Unix(), skew.Round(time.Second))
	}
	unix := sig.Timestamp.Unix()
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		want := mac(secret, unix, body)
		for _, got := range sig.V1 {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

// ParseSecrets reads a secrets file: one secret per line, surrounding
// whitespace trimmed, blank lines and lines starting with '#' ignored. The
// newest secret goes first by convention (senders sign with the first).
func ParseSecrets(s string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, []byte(line))
	}
	return out
}
