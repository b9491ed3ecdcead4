package sigv4_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"motcua/infra/sigv4"
)

// The vectors below are the worked examples of AWS's "Signature Version 4
// for Amazon S3" documentation (example key pair, 24 May 2013).
const (
	docAKID   = "AKIAIOSFODNN7EXAMPLE"
	docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var docTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func docVerifier(now time.Time) *sigv4.Verifier {
	return &sigv4.Verifier{
		Credentials: map[string]string{docAKID: docSecret}, Region: "us-east-1", Service: "s3", S3: true,
		Now: func() time.Time { return now },
	}
}

func TestVerify_aws_documentation_vectors(t *testing.T) {
	tests := []struct {
		name    string
		build   func() *http.Request
		payload string
	}{
		{"get_object_with_range", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
			r.Header.Set("Range", "bytes=0-9")
			r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
			return r
		}, sigv4.EmptySHA256},
		{"presigned_get_object", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
		}, sigv4.UnsignedPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build()
			if got := sigv4.DeclaredPayloadHash(r); got != tc.payload {
				t.Fatalf("DeclaredPayloadHash = %q, want %q", got, tc.payload)
			}
			a, e := docVerifier(docTime.Add(time.Minute)).Verify(r, tc.payload)
			if e != nil {
				t.Fatalf("Verify: %v", e)
			}
			if a.AccessKeyID != docAKID {
				t.Fatalf("AccessKeyID = %q", a.AccessKeyID)
			}
		})
	}
}

func TestDecodeChunked_aws_documentation_vector(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 65*1024)
	var body bytes.Buffer
	body.WriteString("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
	body.Write(data[:65536])
	body.WriteString("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n")
	body.Write(data[65536:])
	body.WriteString("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
	raw := body.Bytes()
	newReq := func() *http.Request {
		r := httptest.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(raw))
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingSigned)
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("Content-Length", "66824")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
		return r
	}
	if len(raw) != 66824 {
		t.Fatalf("vector body is %d bytes, want 66824", len(raw))
	}
	a, e := docVerifier(docTime).Verify(newReq(), sigv4.StreamingSigned)
	if e != nil {
		t.Fatalf("Verify seed: %v", e)
	}
	got, _, e := sigv4.DecodeChunked(raw, sigv4.StreamingSigned, a, 66560)
	if e != nil {
		t.Fatalf("DecodeChunked: %v", e)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("decoded %d bytes, want %d of 'a'", len(got), len(data))
	}
	// One changed byte in the second chunk breaks its signature.
	bad := bytes.Clone(raw)
	bad[len(bad)-200] = 'b'
	if _, _, e := sigv4.DecodeChunked(bad, sigv4.StreamingSigned, a, 66560); e == nil || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("tampered chunk: got %v, want SignatureDoesNotMatch", e)
	}
}

func TestDecodeChunked_unsigned_trailer(t *testing.T) {
	raw := "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	got, tr, e := sigv4.DecodeChunked([]byte(raw), sigv4.StreamingUnsignedTrailer, nil, 11)
	if e != nil {
		t.Fatal(e)
	}
	if string(got) != "hello world" || tr.Get("X-Amz-Checksum-Crc32") != "DUoRhQ==" {
		t.Fatalf("got %q trailers %v", got, tr)
	}
	for name, in := range map[string]string{
		"truncated":        "5\r\nhel",
		"size_past_end":    "ff\r\nhello\r\n0\r\n\r\n",
		"not_hex":          "zz\r\nhello\r\n0\r\n\r\n",
		"missing_crlf":     "5\r\nhelloX0\r\n\r\n",
		"wrong_decoded_ln": "5\r\nhello\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, e := sigv4.DecodeChunked([]byte(in), sigv4.StreamingUnsignedTrailer, nil, 11); e == nil {
				t.Fatalf("accepted %q", in)
			}
		})
	}
}

// sdkSigned signs r with the AWS SDK's own signer as of at.
func sdkSigned(t *testing.T, r *http.Request, payload, service string, at time.Time) *http.Request {
	t.Helper()
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).
		SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, payload, service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerify_refusals(t *testing.T) {
	now := time.Now().UTC()
	v := &sigv4.Verifier{Credentials: map[string]string{"test": "test"}, Region: "us-east-1", Service: "s3", S3: true}
	// As SDKs send it: every byte outside the unreserved set escaped.
	key := "/motcua-data/applications/h%E1%BB%93%20s%C6%A1%2B1.json"
	good := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4566"+key+"?versionId=x&list-type=2", nil)
		r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
		return sdkSigned(t, r, sigv4.EmptySHA256, "s3", now)
	}
	if _, e := v.Verify(good(), sigv4.EmptySHA256); e != nil {
		t.Fatalf("SDK-signed request refused: %v", e)
	}
	tests := []struct {
		name   string
		mutate func(r *http.Request) *http.Request
		code   string
	}{
		{"anonymous", func(r *http.Request) *http.Request { r.Header.Del("Authorization"); return r }, "AccessDenied"},
		{"changed_key", func(r *http.Request) *http.Request { r.URL.Path += "x"; return r }, "SignatureDoesNotMatch"},
		{"changed_query", func(r *http.Request) *http.Request { r.URL.RawQuery = "versionId=y&list-type=2"; return r }, "SignatureDoesNotMatch"},
		{"changed_host", func(r *http.Request) *http.Request { r.Host = "127.0.0.1:4567"; return r }, "SignatureDoesNotMatch"},
		{"wrong_secret", func(r *http.Request) *http.Request {
			r.Header.Del("Authorization")
			_ = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
				aws.Credentials{AccessKeyID: "test", SecretAccessKey: "guess"}, r, sigv4.EmptySHA256, "s3", "us-east-1", now)
			return r
		}, "SignatureDoesNotMatch"},
		{"unknown_key", func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Credential=test/", "Credential=other/", 1))
			return r
		}, "InvalidAccessKeyId"},
		{"wrong_region", func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/ap-southeast-1/", 1))
			return r
		}, "AuthorizationHeaderMalformed"},
		{"wrong_service", func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/", "/sqs/", 1))
			return r
		}, "AuthorizationHeaderMalformed"},
		{"sigv2", func(r *http.Request) *http.Request { r.Header.Set("Authorization", "AWS test:abc"); return r }, "InvalidRequest"},
		{"skewed_clock", func(r *http.Request) *http.Request {
			r.Header.Del("Authorization")
			return sdkSigned(t, r, sigv4.EmptySHA256, "s3", now.Add(-20*time.Minute))
		}, "RequestTimeTooSkewed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, e := v.Verify(tc.mutate(good()), sigv4.EmptySHA256)
			if e == nil || e.Code != tc.code {
				t.Fatalf("got %v, want %s", e, tc.code)
			}
		})
	}
	t.Run("changed_payload_hash", func(t *testing.T) {
		if _, e := v.Verify(good(), sigv4.HashHex([]byte("x"))); e == nil || e.Code != "SignatureDoesNotMatch" {
			t.Fatalf("got %v", e)
		}
	})
}

func TestVerify_sqs_json_request_signed_by_sdk(t *testing.T) {
	v := &sigv4.Verifier{Credentials: map[string]string{"test": "test"}, Region: "us-east-1", Service: "sqs"}
	body := []byte(`{"QueueUrl":"http://127.0.0.1:4566/000000000000/q","MessageBody":"hồ sơ"}`)
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sdkSigned(t, r, sigv4.HashHex(body), "sqs", time.Now())
	if _, e := v.Verify(r, sigv4.HashHex(body)); e != nil {
		t.Fatalf("Verify: %v", e)
	}
	if _, e := v.Verify(r, sigv4.HashHex(append(body, ' '))); e == nil || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("changed body: got %v", e)
	}
}

// BenchmarkVerify is the server-side cost of checking one SDK-signed
// request (canonical request, key derivation, HMAC).
func BenchmarkVerify(b *testing.B) {
	v := &sigv4.Verifier{Credentials: map[string]string{"test": "test"}, Region: "us-east-1", Service: "s3", S3: true}
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4566/motcua-data/applications/STP-261203-0001.json", nil)
	r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, sigv4.EmptySHA256, "s3", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, e := v.Verify(r, sigv4.EmptySHA256); e != nil {
			b.Fatal(e)
		}
	}
}

// Header values reach the canonical request trimmed, inner runs of spaces
// collapsed, as the SDK signs them. (Tabs are left out: the Go SDK keeps
// them, botocore collapses them like any white space, and so does Verify.)
func TestVerify_header_values_trimmed_and_collapsed(t *testing.T) {
	v := &sigv4.Verifier{Credentials: map[string]string{"test": "test"}, Region: "us-east-1", Service: "s3", S3: true}
	for name, val := range map[string]string{
		"plain":            "attachment",
		"inner_runs":       "attachment;  filename=\"a   b.pdf\"",
		"leading_trailing": "  attachment ",
		"non_ascii":        "inline; filename*=UTF-8''h\u1ed3 s\u01a1.pdf",
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:4566/motcua-data/k", nil)
			r.Header.Set("Content-Disposition", val)
			r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
			sdkSigned(t, r, sigv4.EmptySHA256, "s3", time.Now())
			if !strings.Contains(r.Header.Get("Authorization"), "content-disposition") {
				t.Fatalf("the SDK did not sign content-disposition: %s", r.Header.Get("Authorization"))
			}
			if _, e := v.Verify(r, sigv4.EmptySHA256); e != nil {
				t.Fatalf("Verify: %v", e)
			}
			r.Header.Set("Content-Disposition", val+"x")
			if _, e := v.Verify(r, sigv4.EmptySHA256); e == nil || e.Code != "SignatureDoesNotMatch" {
				t.Fatalf("changed header value: got %v, want SignatureDoesNotMatch", e)
			}
		})
	}
}

func TestVerify_cached_signing_key(t *testing.T) {
	creds := map[string]string{"test": "test"}
	v := &sigv4.Verifier{Credentials: creds, Region: "us-east-1", Service: "sqs"}
	body := []byte(`{"QueueUrl":"q"}`)
	signedAt := func(at time.Time) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", bytes.NewReader(body))
		return sdkSigned(t, r, sigv4.HashHex(body), "sqs", at)
	}
	now := time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC)
	v.Now = func() time.Time { return now }
	today, tomorrow := signedAt(now), signedAt(now.Add(2*time.Minute)) // two scope dates
	for i := 0; i < 3; i++ {                                           // hits after the first miss
		if _, e := v.Verify(today, sigv4.HashHex(body)); e != nil {
			t.Fatalf("today #%d: %v", i, e)
		}
		if _, e := v.Verify(tomorrow, sigv4.HashHex(body)); e != nil {
			t.Fatalf("tomorrow #%d: %v", i, e)
		}
	}
	// A key derived from the old secret is not reused once it changes.
	creds["test"] = "rotated"
	if _, e := v.Verify(today, sigv4.HashHex(body)); e == nil || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("after rotation: got %v, want SignatureDoesNotMatch", e)
	}
}
