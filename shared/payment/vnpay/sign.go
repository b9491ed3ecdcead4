// Package vnpay implements the merchant side of the VNPAY payment gateway,
// API version 2.1.0: building the signed payment URL that the citizen's
// browser is redirected to, verifying and parsing the IPN (server-to-server
// payment notification) and return URL, the IPN reply JSON VNPAY expects,
// and the querydr transaction-status API used for reconciliation.
//
// Everything here is pure except QueryClient, which POSTs to the querydr API
// through the http.Client it is given. Functions are safe for concurrent use.
//
// Signatures: VNPAY 2.1.0 signs with lowercase hex HMAC-SHA512 keyed with the
// merchant's hash secret. For the payment URL, the IPN and the return URL the
// signed data is every vnp_* parameter except vnp_SecureHash and
// vnp_SecureHashType, with a non-empty value, sorted by key, each written
// urlencode(key)=urlencode(value) and joined by '&' (see Escape). querydr
// signs its fields joined by '|' in a fixed order instead (see querydr.go).
package vnpay

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Parameter names used in the signed query strings.
const (
	// ParamSecureHash carries the signature; it is never part of the signed data.
	ParamSecureHash = "vnp_SecureHash"
	// ParamSecureHashType is a legacy parameter naming the hash; never signed.
	ParamSecureHashType = "vnp_SecureHashType"
)

// ErrMissingSignature means the message carries no vnp_SecureHash.
var ErrMissingSignature = errors.New("vnpay: missing vnp_SecureHash")

// ErrBadSignature means vnp_SecureHash does not match the data: the message was
// tampered with, or signed with another secret.
var ErrBadSignature = errors.New("vnpay: signature mismatch")

// ErrMalformed means a message from VNPAY (IPN, return URL, querydr answer)
// lacks a required field or has one in the wrong format.
var ErrMalformed = errors.New("vnpay: malformed message")

// Escape form-url-encodes s exactly as VNPAY's Java reference integration
// does before hashing, with java.net.URLEncoder (application/x-www-form-
// urlencoded, UTF-8), which the npm vnpay library follows too: ASCII
// letters, digits and "-_.*" stay, a space becomes '+', every other byte
// (UTF-8 for non-ASCII) becomes %XX in upper-case hex. It differs from
// url.QueryEscape in two bytes: '*' stays and '~' is escaped. A value
// carrying '*' (an order description, say) must hash the way VNPAY hashes
// it, or the IPN fails its signature check (RspCode 97).
func Escape(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '*':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&0x0f])
		}
	}
	return b.String()
}

// HashData returns the canonical string VNPAY 2.1.0 signs for a payment URL,
// IPN or return URL: the vnp_* parameters of q except vnp_SecureHash and
// vnp_SecureHashType, with a non-empty value, sorted by key, each
// Escape(key)=Escape(value), joined by '&'. Only the first value of a key is
// used (VerifyQuery refuses repeated keys).
func HashData(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k, v := range q {
		if !strings.HasPrefix(k, "vnp_") || k == ParamSecureHash || k == ParamSecureHashType {
			continue
		}
		if len(v) == 0 || v[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(Escape(k))
		b.WriteByte('=')
		b.WriteString(Escape(q.Get(k)))
	}
	return b.String()
}

// Sign returns the lowercase hex HMAC-SHA512 of data keyed with secret.
func Sign(secret, data string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSignature compares got (hex, any case) with HMAC-SHA512(secret, data)
// in constant time.
func checkSignature(secret, data, got string) error {
	if got == "" {
		return ErrMissingSignature
	}
	sig, err := hex.DecodeString(got)
	if err != nil || len(sig) != sha512.Size {
		return fmt.Errorf("%w: vnp_SecureHash is not a %d-byte hex string", ErrBadSignature, sha512.Size)
	}
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(data))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// Verify checks the vnp_SecureHash of a query VNPAY signed (IPN or return
// URL) against secret. It returns ErrMissingSignature when there is none,
// ErrMalformed when a vnp_* key is repeated (the signed data would be
// ambiguous), and ErrBadSignature when it does not match. The comparison is
// constant-time and accepts upper- or lower-case hex.
func Verify(secret string, q url.Values) error {
	for k, v := range q {
		if strings.HasPrefix(k, "vnp_") && len(v) > 1 {
			return fmt.Errorf("%w: parameter %s repeated", ErrMalformed, k)
		}
	}
	return checkSignature(secret, HashData(q), q.Get(ParamSecureHash))
}
