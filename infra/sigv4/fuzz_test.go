package sigv4_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"motcua/infra/sigv4"
)

// FuzzDecodeChunked feeds arbitrary aws-chunked bodies to the decoder: it
// must never panic, and what it accepts is never longer than its input.
func FuzzDecodeChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), int64(5))
	f.Add([]byte("ff\r\nab\r\n"), int64(-1))
	f.Add([]byte("0\r\n\r\n"), int64(0))
	f.Add([]byte("3;chunk-signature=00\r\nabc\r\n0;chunk-signature=00\r\n\r\n"), int64(3))
	f.Fuzz(func(t *testing.T, body []byte, decodedLen int64) {
		for _, mode := range []string{sigv4.StreamingUnsignedTrailer, sigv4.StreamingSigned, sigv4.StreamingSignedTrailer} {
			got, _, e := sigv4.DecodeChunked(body, mode, nil, decodedLen)
			if e == nil && len(got) > len(body) {
				t.Fatalf("decoded %d bytes from %d", len(got), len(body))
			}
			if e == nil && mode != sigv4.StreamingUnsignedTrailer {
				t.Fatalf("signed chunks accepted without a seed signature: %q", body)
			}
		}
	})
}

// FuzzVerify feeds arbitrary Authorization headers and query strings to the
// verifier: it must never panic and never accept a request (no fuzzed input
// knows the secret).
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS test:abc", "")
	f.Add("", "AWSAccessKeyId=test&Signature=x&Expires=1")
	f.Add("AWS4-HMAC-SHA256 Credential=test//us-east-1/s3/aws4_request,SignedHeaders=,Signature=", "a=%ZZ")
	now := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	v := &sigv4.Verifier{Credentials: map[string]string{"test": "test"}, Region: "us-east-1", Service: "s3", S3: true,
		Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, auth, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4566/b/k", nil)
		r.URL.RawQuery = rawQuery
		if _, err := url.ParseQuery(rawQuery); err != nil {
			r.URL.RawQuery = url.QueryEscape(rawQuery)
		}
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		r.Header.Set("X-Amz-Date", "20260101T000000Z")
		if a, e := v.Verify(r, sigv4.EmptySHA256); e == nil {
			t.Fatalf("fuzzed request accepted as %+v", a)
		}
	})
}
