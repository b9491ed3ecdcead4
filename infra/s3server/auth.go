package s3server

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"motcua/infra/sigv4"
)

// hexSHA256 matches a payload hash given as 64 hex digits.
var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// requestOnlyHeaders are X-Amz-* headers that describe a request, not the
// object: they are removed before gofakes3 stores every X-Amz-* header as
// object metadata (and so would echo them, a session token included, to
// every reader).
var requestOnlyHeaders = []string{
	"X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length",
	"X-Amz-Trailer", "X-Amz-Sdk-Checksum-Algorithm", "X-Amz-User-Agent", "X-Amz-Checksum-Mode",
	"X-Amz-Expected-Bucket-Owner", "X-Amz-Request-Payer",
}

// authenticate verifies the request's SigV4 signature and its payload as S3
// does, decoding an aws-chunked body. It reports whether to go on; when not,
// it has written S3's error. On success r's body (if it was read) and
// headers are replaced by the decoded, verified form.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	resource := r.URL.Path
	if sigv4.Anonymous(r) {
		writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied", resource)
		return false
	}
	payload := sigv4.DeclaredPayloadHash(r)
	if payload == "" && strings.HasPrefix(r.Header.Get("Authorization"), sigv4.Algorithm+" ") {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", resource)
		return false
	}
	auth, e := s.verifier.Verify(r, payload)
	if e != nil {
		s.logger.Info("s3server: request refused", "method", r.Method, "path", resource, "code", e.Code)
		writeError(w, e.Status, e.Code, e.Message, resource)
		return false
	}
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	switch {
	case payload == sigv4.UnsignedPayload:
		if hasBody && hasChecksumHeader(r.Header) {
			if !s.readBody(w, r) {
				return false
			}
		}
	case hexSHA256.MatchString(payload):
		if !hasBody {
			if !strings.EqualFold(payload, sigv4.EmptySHA256) {
				writeError(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", resource)
				return false
			}
			break
		}
		if !s.readBody(w, r) {
			return false
		}
		if !strings.EqualFold(sigv4.HashHex(r.Body.(*bodyBuffer).b), payload) {
			writeError(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", resource)
			return false
		}
	case payload == sigv4.StreamingSigned || payload == sigv4.StreamingSignedTrailer || payload == sigv4.StreamingUnsignedTrailer:
		if !s.readBody(w, r) {
			return false
		}
		decodedLen := int64(-1)
		if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "InvalidArgument", "x-amz-decoded-content-length is not a valid length", resource)
				return false
			}
			decodedLen = n
		}
		data, trailers, e := sigv4.DecodeChunked(r.Body.(*bodyBuffer).b, payload, auth, decodedLen)
		if e != nil {
			writeError(w, e.Status, e.Code, e.Message, resource)
			return false
		}
		for k, vs := range trailers {
			if strings.HasPrefix(k, "X-Amz-Checksum-") {
				r.Header[k] = vs
			}
		}
		r.Body = &bodyBuffer{Reader: bytes.NewReader(data), b: data}
		r.ContentLength = int64(len(data))
		r.Header.Set("Content-Length", strconv.Itoa(len(data)))
		dropAWSChunked(r.Header)
	default:
		writeError(w, http.StatusBadRequest, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) or a valid sha256 value.", resource)
		return false
	}
	if bb, ok := r.Body.(*bodyBuffer); ok {
		if code, msg := verifyChecksums(r.Header, bb.b); code != "" {
			writeError(w, http.StatusBadRequest, code, msg, resource)
			return false
		}
	}
	if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") == "" {
		// S3 answers a PUT with the checksums it verified.
		for k := range checksumHeaders {
			if v := r.Header.Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
	}
	for _, h := range requestOnlyHeaders {
		r.Header.Del(h)
	}
	return true
}

// bodyBuffer is a request body already read into memory.
type bodyBuffer struct {
	*bytes.Reader
	b []byte
}

// Close implements io.Closer.
func (*bodyBuffer) Close() error { return nil }

// readBody reads r's body into memory (gofakes3 buffers whole objects
// anyway) and replaces it with a bodyBuffer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := r.Body.(*bodyBuffer); ok {
		return true
	}
	var b []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		b, err = readAll(r.Body, r.ContentLength)
		_ = r.Body.Close()
		if err != nil {
			s.logger.Warn("s3server: read request body", "path", r.URL.Path, "err", err)
			writeError(w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", r.URL.Path)
			return false
		}
	}
	r.Body = &bodyBuffer{Reader: bytes.NewReader(b), b: b}
	return true
}

// maxPrealloc bounds the buffer readAll allocates up front from a declared
// Content-Length, so a client declaring a huge body and sending little
// cannot make the server allocate it.
const maxPrealloc = 1 << 20

// readAll reads r to EOF into a buffer sized from the declared length n
// (-1 if unknown): one allocation for a body of known length instead of
// io.ReadAll's growing copies.
func readAll(r io.Reader, n int64) ([]byte, error) {
	if n < 0 || n > maxPrealloc {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// dropAWSChunked removes the aws-chunked content coding and the headers
// that only describe the chunked transfer.
func dropAWSChunked(h http.Header) {
	var keep []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "aws-chunked") {
				keep = append(keep, c)
			}
		}
	}
	h.Del("Content-Encoding")
	if len(keep) > 0 {
		h.Set("Content-Encoding", strings.Join(keep, ","))
	}
}

// checksumHeaders are the flexible checksums S3 verifies on upload.
var checksumHeaders = map[string]func() hash.Hash{
	"X-Amz-Checksum-Crc32":  func() hash.Hash { return crc32.NewIEEE() },
	"X-Amz-Checksum-Crc32c": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"X-Amz-Checksum-Sha1":   sha1.New,
	"X-Amz-Checksum-Sha256": sha256.New,
}

func hasChecksumHeader(h http.Header) bool {
	for k := range checksumHeaders {
		if h.Get(k) != "" {
			return true
		}
	}
	return false
}

// verifyChecksums checks every flexible checksum header against body and
// returns S3's error code and message for a mismatch ("" when all match).
// CRC64NVME, which Go's standard library lacks, is stored unverified.
func verifyChecksums(h http.Header, body []byte) (string, string) {
	for k, mk := range checksumHeaders {
		want := h.Get(k)
		if want == "" {
			continue
		}
		hh := mk()
		hh.Write(body)
		sum := hh.Sum(nil)
		if c32, ok := hh.(hash.Hash32); ok {
			sum = binary.BigEndian.AppendUint32(nil, c32.Sum32())
		}
		if base64.StdEncoding.EncodeToString(sum) != want {
			alg := strings.ToUpper(strings.TrimPrefix(k, "X-Amz-Checksum-"))
			return "BadDigest", "The " + alg + " you specified did not match the calculated checksum."
		}
	}
	return "", ""
}
