// Package sigv4 verifies AWS Signature Version 4 on requests reaching motcua's
// embedded S3 and SQS servers, the way AWS's front ends do: header-signed
// requests (Authorization: AWS4-HMAC-SHA256 ...) and presigned query-string
// requests (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
// X-Amz-SignedHeaders, X-Amz-Signature), against a configured set of access
// keys, one region and one service.
//
// What is checked, with the error code AWS answers:
//   - no signature at all: AccessDenied (S3) / MissingAuthenticationToken (SQS);
//   - an algorithm other than AWS4-HMAC-SHA256 (SigV2 headers or presigned
//     URLs, SigV4a): InvalidRequest, as S3 answers for buckets created
//     since SigV2 was retired;
//   - a malformed Authorization header or query: AuthorizationHeaderMalformed /
//     AuthorizationQueryParametersError (also for a wrong region, service or
//     scope date);
//   - an unknown access key: InvalidAccessKeyId;
//   - header-signed request more than 15 minutes off the server's clock:
//     RequestTimeTooSkewed;
//   - presigned request past X-Amz-Date + X-Amz-Expires (1 s .. 7 days):
//     AccessDenied "Request has expired";
//   - the canonical request (method, path, query, every signed header with the
//     value actually received, the payload hash) signed with the key's secret
//     not matching the signature: SignatureDoesNotMatch. A signed header the
//     request does not carry, or carries with another value (content-type,
//     content-length, a changed key in the path), therefore fails here;
//   - "host" not among the signed headers: AccessDenied / SignatureDoesNotMatch.
//
// The payload: the caller passes the payload hash to sign (the declared
// x-amz-content-sha256 for S3, the hash of the body it read for SQS) and
// checks the body itself (PayloadMismatch, DecodeChunked). No Go library
// verifies SigV4 on the server side (the AWS SDK only signs), so the
// canonicalisation is written here from AWS's specification and tested against
// the AWS SDK's signer and presigner.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hash values with a meaning of their own (x-amz-content-sha256).
const (
	UnsignedPayload          = "UNSIGNED-PAYLOAD"
	StreamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// EmptySHA256 is the hex SHA-256 of an empty payload.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// amzDateFormat is the layout of X-Amz-Date.
const amzDateFormat = "20060102T150405Z"

// MaxSkew is how far a header-signed request's X-Amz-Date may be from the
// server's clock, as on AWS.
const MaxSkew = 15 * time.Minute

// MaxExpires is the longest X-Amz-Expires AWS accepts (7 days).
const MaxExpires = 7 * 24 * 60 * 60

// Verifier checks signatures for one service in one region. The zero value
// is not usable: set Credentials, Region and Service. A Verifier is safe for
// concurrent use once configured.
type Verifier struct {
	// Credentials maps access key ids to their secret access keys.
	Credentials map[string]string
	// Region is the only region accepted in the credential scope.
	Region string
	// Service is the scope's service ("s3", "sqs").
	Service string
	// S3 selects S3's canonical URI rules (path encoded once, not
	// normalised); other services encode the path twice.
	S3 bool
	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	// keys caches derived signing keys; a Verifier must not be copied
	// after first use.
	keys keyCache
}

// maxCachedKeys bounds the signing-key cache. A key is derived per access
// key and scope date, so a handful of entries serve a day's traffic; the
// bound only matters against requests with many distinct (valid) dates,
// e.g. presigned URLs signed over a week.
const maxCachedKeys = 64

// keyCache memoises the SigV4 signing key per (access key, scope date):
// deriving it costs four HMAC-SHA256 computations per request, and it only
// changes daily. Region and service are fixed per Verifier. Entries are
// added only for access keys found in Credentials, after the request's
// date passed the clock checks; the cache is emptied when it reaches
// maxCachedKeys.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]keyCacheEntry
}

type keyCacheKey struct{ accessKey, date string }

// keyCacheEntry is a derived key and the secret it was derived from (the
// same string Credentials holds), so a secret changed in Credentials is
// never served a stale key.
type keyCacheEntry struct {
	secret string
	key    []byte
}

// signingKey returns the signing key of accessKey (whose secret is secret)
// for date, deriving it on a miss. The returned slice must not be modified.
func (v *Verifier) signingKey(accessKey, secret, date string) []byte {
	ck := keyCacheKey{accessKey, date}
	c := &v.keys
	c.mu.Lock()
	e, ok := c.m[ck]
	c.mu.Unlock()
	if ok && e.secret == secret {
		return e.key
	}
	key := signingKey(secret, date, v.Region, v.Service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyCacheKey]keyCacheEntry)
	}
	c.m[ck] = keyCacheEntry{secret: secret, key: key}
	c.mu.Unlock()
	return key
}

// Error is a refused request: the HTTP status and AWS's error code and
// message. The caller renders it in its service's protocol.
type Error struct {
	// Status is the HTTP status (400 or 403).
	Status int
	// Code is AWS's error code, e.g. "SignatureDoesNotMatch".
	Code string
	// Message is AWS's human-readable message.
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func denied(code, msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: code, Message: msg}
}
func badRequest(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg}
}

// ErrSignatureMismatch is the error of a signature that does not match.
func ErrSignatureMismatch() *Error {
	return denied("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

// Auth is a verified request's identity and the values needed to verify a
// chunk-signed payload.
type Auth struct {
	// AccessKeyID is the key that signed the request.
	AccessKeyID string
	// Presigned reports a query-string (presigned URL) signature.
	Presigned bool
	// SignedHeaders lists the signed header names, lowercase.
	SignedHeaders []string

	amzDate    string
	scope      string
	signingKey []byte
	signature  string
}

// Anonymous reports whether r carries no signature at all (neither an
// Authorization header nor X-Amz-Algorithm / X-Amz-Signature in the query).
func Anonymous(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	q := r.URL.Query()
	return !q.Has("X-Amz-Algorithm") && !q.Has("X-Amz-Signature") && !q.Has("X-Amz-Credential") &&
		!(q.Has("AWSAccessKeyId") && q.Has("Signature"))
}

// IsPresigned reports whether r is signed in its query string.
func IsPresigned(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && r.URL.Query().Has("X-Amz-Algorithm")
}

// DeclaredPayloadHash is the payload hash a request's signature covers as S3
// defines it: the X-Amz-Content-Sha256 query parameter or UNSIGNED-PAYLOAD
// for a presigned request, the x-amz-content-sha256 header otherwise ("" if
// missing).
func DeclaredPayloadHash(r *http.Request) string {
	if IsPresigned(r) {
		if h := r.URL.Query().Get("X-Amz-Content-Sha256"); h != "" {
			return h
		}
		return UnsignedPayload
	}
	return r.Header.Get("X-Amz-Content-Sha256")
}

// HashHex returns the hex SHA-256 of b.
func HashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parsed holds the signature parameters of one request.
type parsed struct {
	accessKey, date, region, service string
	amzDate                          string
	signedHeaders                    []string
	signedRaw                        string // SignedHeaders as received: "host;x-amz-date"
	signature                        string
	expires                          int64
	presigned                        bool
}

// Verify checks r's signature, signing payloadHash as the canonical
// request's last line. It does not read the body.
func (v *Verifier) Verify(r *http.Request, payloadHash string) (*Auth, *Error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	var p *parsed
	var e *Error
	if auth := r.Header.Get("Authorization"); auth != "" {
		p, e = v.parseHeader(auth, r)
	} else if q := r.URL.Query(); q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
		p, e = v.parseQuery(q)
	} else if q.Has("AWSAccessKeyId") && q.Has("Signature") {
		// A Signature Version 2 presigned URL (boto3's default for S3
		// unless signature_version="s3v4"): refused as S3 refuses it for
		// buckets created since 2020.
		return nil, badRequest("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	} else {
		return nil, denied("AccessDenied", "Access Denied")
	}
	if e != nil {
		return nil, e
	}
	secret, ok := v.Credentials[p.accessKey]
	if !ok {
		return nil, denied("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	t, err := time.Parse(amzDateFormat, p.amzDate)
	if err != nil {
		return nil, v.malformed(p.presigned, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if p.date != p.amzDate[:8] {
		return nil, v.malformed(p.presigned, "Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	cur := now().UTC()
	if p.presigned {
		if cur.After(t.Add(time.Duration(p.expires) * time.Second)) {
			return nil, denied("AccessDenied", "Request has expired")
		}
		if t.After(cur.Add(MaxSkew)) {
			return nil, denied("AccessDenied", "Request is not valid yet")
		}
	} else if d := cur.Sub(t); d > MaxSkew || d < -MaxSkew {
		return nil, denied("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	if !contains(p.signedHeaders, "host") {
		return nil, denied("AccessDenied", "Host header must be signed.")
	}
	scope := p.date + "/" + p.region + "/" + p.service + "/aws4_request"
	canonSum := sha256.Sum256(v.canonicalRequest(r, p, payloadHash))
	sts := Algorithm + "\n" + p.amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonSum[:])
	key := v.signingKey(p.accessKey, secret, p.date)
	want := hex.EncodeToString(hmacSHA256(key, []byte(sts)))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(p.signature))) {
		return nil, ErrSignatureMismatch()
	}
	return &Auth{
		AccessKeyID: p.accessKey, Presigned: p.presigned, SignedHeaders: p.signedHeaders,
		amzDate: p.amzDate, scope: scope, signingKey: key, signature: want,
	}, nil
}

func (v *Verifier) malformed(presigned bool, msg string) *Error {
	if presigned {
		return badRequest("AuthorizationQueryParametersError", msg)
	}
	return badRequest("AuthorizationHeaderMalformed", "The authorization header is malformed; "+msg)
}

// parseHeader parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func (v *Verifier) parseHeader(auth string, r *http.Request) (*parsed, *Error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != Algorithm {
		return nil, badRequest("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	p := &parsed{}
	var cred, signed string
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			p.signature = val
		}
	}
	if cred == "" || signed == "" || p.signature == "" {
		return nil, v.malformed(false, "it must contain Credential, SignedHeaders and Signature.")
	}
	if e := v.parseCredential(cred, p, false); e != nil {
		return nil, e
	}
	p.signedHeaders, p.signedRaw = strings.Split(signed, ";"), signed
	p.amzDate = r.Header.Get("X-Amz-Date")
	if p.amzDate == "" {
		return nil, denied("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	return p, nil
}

// parseQuery parses the presigned query parameters.
func (v *Verifier) parseQuery(q url.Values) (*parsed, *Error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		if alg == "" {
			return nil, badRequest("AuthorizationQueryParametersError", "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
		return nil, badRequest("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	p := &parsed{presigned: true, amzDate: q.Get("X-Amz-Date"), signature: q.Get("X-Amz-Signature")}
	cred, signed, exp := q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Expires")
	if cred == "" || signed == "" || p.signature == "" || p.amzDate == "" || exp == "" {
		return nil, badRequest("AuthorizationQueryParametersError", "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	switch {
	case err != nil:
		return nil, badRequest("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
	case n < 1:
		return nil, badRequest("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
	case n > MaxExpires:
		return nil, badRequest("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	p.expires = n
	if e := v.parseCredential(cred, p, true); e != nil {
		return nil, e
	}
	p.signedHeaders, p.signedRaw = strings.Split(signed, ";"), signed
	return p, nil
}

// parseCredential parses "AKID/yyyymmdd/region/service/aws4_request" and
// checks region and service.
func (v *Verifier) parseCredential(cred string, p *parsed, presigned bool) *Error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || len(parts[1]) != 8 {
		return v.malformed(presigned, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	p.accessKey, p.date, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	if p.region != v.Region {
		return v.malformed(presigned, "the region '"+p.region+"' is wrong; expecting '"+v.Region+"'")
	}
	if p.service != v.Service {
		return v.malformed(presigned, "incorrect service \""+p.service+"\". This endpoint belongs to \""+v.Service+"\".")
	}
	return nil
}

// canonicalRequest builds the SigV4 canonical request of r.
func (v *Verifier) canonicalRequest(r *http.Request, p *parsed, payloadHash string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, r.Method...)
	b = append(b, '\n')
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if v.S3 {
		b = appendEncoded(b, path, false)
	} else {
		b = appendEncoded(b, encodePath(normalizePath(path)), false)
	}
	b = append(b, '\n')
	if r.URL.RawQuery != "" {
		b = append(b, canonicalQuery(r.URL.Query(), p.presigned)...)
	}
	b = append(b, '\n')
	for _, h := range p.signedHeaders {
		b = append(b, h...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, h)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, p.signedRaw...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

// appendHeaderValue appends the canonical value of a signed header as
// received: every value, trimmed, inner runs of spaces collapsed, joined by
// commas. Host and Content-Length come from the fields net/http moves them
// to.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		return append(b, r.Host...)
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return append(b, strings.TrimSpace(vs[0])...)
		}
		if r.ContentLength >= 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
		return b
	case "transfer-encoding":
		for i, te := range r.TransferEncoding {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, te...)
		}
		return b
	}
	for i, v := range r.Header.Values(name) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCollapsed(b, v)
	}
	return b
}

// appendCollapsed appends v with leading and trailing white space removed
// and every inner run of white space (as strings.Fields sees it) replaced
// by one space.
func appendCollapsed(b []byte, v string) []byte {
	if isCollapsed(v) {
		return append(b, v...)
	}
	for i, f := range strings.Fields(v) {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return b
}

// isCollapsed reports whether v is printable ASCII other than space at
// both ends with no two spaces in a row: what appendCollapsed leaves
// unchanged. Anything else (tabs, non-ASCII white space) takes the general
// path.
func isCollapsed(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f || (c == ' ' && v[i+1] == ' ') {
			return false
		}
	}
	return true
}

// canonicalQuery sorts and encodes the query parameters (X-Amz-Signature
// excluded for presigned requests).
func canonicalQuery(q url.Values, presigned bool) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		ek := encode(k, true)
		for _, v := range vs {
			pairs = append(pairs, kv{ek, encode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// encodePath URI-encodes every byte of p except unreserved characters and '/'.
func encodePath(p string) string { return encode(p, false) }

// encode percent-encodes s as SigV4 requires: unreserved characters
// (A-Z a-z 0-9 - _ . ~) as is, '/' as is unless encodeSlash, everything else
// %XX with upper-case hex.
func encode(s string, encodeSlash bool) string {
	return string(appendEncoded(make([]byte, 0, len(s)), s, encodeSlash))
}

// appendEncoded appends s percent-encoded as encode does.
func appendEncoded(b []byte, s string, encodeSlash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == '/' && !encodeSlash:
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// normalizePath removes "." and ".." segments and duplicate slashes, keeping
// a trailing slash, as non-S3 services do before signing.
func normalizePath(p string) string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	n := "/" + strings.Join(out, "/")
	if strings.HasSuffix(p, "/") && n != "/" {
		n += "/"
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// signingKey derives the SigV4 signing key.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}
