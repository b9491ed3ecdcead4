package sigv4

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// maxChunkHeader bounds the length of one chunk header line.
const maxChunkHeader = 4096

// DecodeChunked decodes an aws-chunked body (Content-Encoding: aws-chunked)
// into its payload and trailing headers. mode is the request's
// x-amz-content-sha256:
//   - StreamingUnsignedTrailer: "hex-size\r\n data\r\n ... 0\r\n trailers\r\n";
//   - StreamingSigned / StreamingSignedTrailer: each chunk header carries
//     ";chunk-signature=..." chained from the request's seed signature (and a
//     final x-amz-trailer-signature over the trailers), all verified with a.
//
// decodedLength is x-amz-decoded-content-length (-1 if absent); a payload of
// another length is refused. Errors are S3's (IncompleteBody,
// SignatureDoesNotMatch, InvalidRequest).
func DecodeChunked(body []byte, mode string, a *Auth, decodedLength int64) ([]byte, http.Header, *Error) {
	signed := mode == StreamingSigned || mode == StreamingSignedTrailer
	if !signed && mode != StreamingUnsignedTrailer {
		return nil, nil, badRequest("InvalidRequest", "Unsupported x-amz-content-sha256 value for aws-chunked: "+mode)
	}
	incomplete := badRequest("IncompleteBody", "The request body terminated unexpectedly")
	var out bytes.Buffer
	if decodedLength > 0 {
		out.Grow(int(min(decodedLength, int64(len(body)))))
	}
	prev := ""
	if a != nil {
		prev = a.signature
	}
	rest := body
	for {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok || len(line) > maxChunkHeader {
			return nil, nil, incomplete
		}
		rest = after
		sizeHex, ext, _ := strings.Cut(string(line), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 || size > int64(len(rest)) {
			return nil, nil, incomplete
		}
		data := rest[:size]
		rest = rest[size:]
		if signed {
			sig, ok := strings.CutPrefix(strings.TrimSpace(ext), "chunk-signature=")
			if !ok || a == nil {
				return nil, nil, badRequest("InvalidRequest", "chunk-signature is missing")
			}
			sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + a.amzDate + "\n" + a.scope + "\n" + prev + "\n" + EmptySHA256 + "\n" + HashHex(data)
			want := hex.EncodeToString(hmacSHA256(a.signingKey, []byte(sts)))
			if want != strings.ToLower(sig) {
				return nil, nil, ErrSignatureMismatch()
			}
			prev = want
		}
		if size == 0 {
			break
		}
		out.Write(data)
		if !bytes.HasPrefix(rest, []byte("\r\n")) {
			return nil, nil, incomplete
		}
		rest = rest[2:]
	}
	// Trailers: "name:value\r\n" lines up to an empty line (or the end).
	trailers := http.Header{}
	var signedTrailers strings.Builder
	trailerSig := ""
	for len(rest) > 0 {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			line, after = rest, nil
		}
		rest = after
		if len(line) == 0 {
			continue
		}
		name, val, ok := strings.Cut(string(line), ":")
		if !ok {
			return nil, nil, incomplete
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "x-amz-trailer-signature" {
			trailerSig = val
			continue
		}
		trailers.Add(textproto.CanonicalMIMEHeaderKey(name), val)
		signedTrailers.WriteString(name + ":" + val + "\n")
	}
	if mode == StreamingSignedTrailer {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + a.amzDate + "\n" + a.scope + "\n" + prev + "\n" + HashHex([]byte(signedTrailers.String()))
		want := hex.EncodeToString(hmacSHA256(a.signingKey, []byte(sts)))
		if trailerSig == "" || want != strings.ToLower(trailerSig) {
			return nil, nil, ErrSignatureMismatch()
		}
	}
	if decodedLength >= 0 && int64(out.Len()) != decodedLength {
		return nil, nil, incomplete
	}
	return out.Bytes(), trailers, nil
}
