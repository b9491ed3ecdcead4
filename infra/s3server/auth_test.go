package s3server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"motcua/infra/s3server"
	"motcua/infra/sigv4"
	"motcua/shared/awsx"
)

// s3Error is S3's XML error body.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// do sends req and returns the status and decoded S3 error (if any).
func do(t *testing.T, req *http.Request) (int, s3Error, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e s3Error
	if resp.StatusCode >= 300 {
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("status %d with a body that is not S3's XML error: %q", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, e, b
}

func TestPresignedPut_enforces_what_was_signed(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	pc := s3.NewPresignClient(c)
	const declared = 5000
	presign := func(key string, expires time.Duration) string {
		req, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key),
			ContentType: aws.String("application/pdf"), ContentLength: aws.Int64(declared),
		}, s3.WithPresignExpires(expires))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(req.URL, "content-length") {
			t.Fatalf("the SDK did not sign content-length: %s", req.URL)
		}
		return req.URL
	}
	put := func(url, contentType string, body []byte) *http.Request {
		req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		return req
	}
	pdf := bytes.Repeat([]byte("%"), declared)
	url := presign("uploads/a.pdf", 15*time.Minute)

	cases := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"bigger_body_than_signed", put(url, "application/pdf", bytes.Repeat([]byte("x"), 12<<20)), 403, "SignatureDoesNotMatch"},
		{"smaller_body_than_signed", put(url, "application/pdf", pdf[:10]), 403, "SignatureDoesNotMatch"},
		{"other_content_type", put(url, "text/html", pdf), 403, "SignatureDoesNotMatch"},
		{"other_key", put(strings.Replace(url, "uploads/a.pdf", "uploads/b.pdf", 1), "application/pdf", pdf), 403, "SignatureDoesNotMatch"},
		{"other_bucket", put(strings.Replace(url, "/"+bucket+"/", "/other-bucket/", 1), "application/pdf", pdf), 403, "SignatureDoesNotMatch"},
		{"longer_expiry", put(strings.Replace(url, "X-Amz-Expires=900", "X-Amz-Expires=9000", 1), "application/pdf", pdf), 403, "SignatureDoesNotMatch"},
		{"expired", func() *http.Request {
			bp := s3.NewPresignClient(c, func(o *s3.PresignOptions) { o.Presigner = backdatedPresigner{v4.NewSigner()} })
			r, err := bp.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("uploads/a.pdf"),
				ContentType: aws.String("application/pdf"), ContentLength: aws.Int64(declared)}, s3.WithPresignExpires(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return put(r.URL, "application/pdf", pdf)
		}(), 403, "AccessDenied"},
		{"as_signed", put(url, "application/pdf", pdf), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e, b := do(t, tc.req)
			if status != tc.status || e.Code != tc.code {
				t.Fatalf("status %d code %q (%s), want %d %s", status, e.Code, b, tc.status, tc.code)
			}
			if tc.name == "expired" && e.Message != "Request has expired" {
				t.Fatalf("message %q", e.Message)
			}
		})
	}
	if got, err := get(ctx, c, "uploads/a.pdf"); err != nil || got != string(pdf) {
		t.Fatalf("stored object: %d bytes, %v", len(got), err)
	}
	if _, err := get(ctx, c, "uploads/b.pdf"); errorCode(err) != "NoSuchKey" {
		t.Fatalf("a refused upload left an object: %v", err)
	}
}

func TestAnonymous_and_forged_requests_are_refused(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	if _, err := put(ctx, c, "applications/STP-1.json", `{"pinHash":"secret"}`); err != nil {
		t.Fatal(err)
	}
	anon := func(method, path string, body io.Reader) *http.Request {
		r, _ := http.NewRequest(method, hs.URL+path, body)
		return r
	}
	signed := func(secret string, body []byte, declaredHash string) *http.Request {
		r, _ := http.NewRequest(http.MethodPut, hs.URL+"/"+bucket+"/applications/STP-2.json", bytes.NewReader(body))
		r.Header.Set("X-Amz-Content-Sha256", declaredHash)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret}, r, declaredHash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	body := []byte(`{"pinHash":"x"}`)
	cases := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"anonymous_get", anon(http.MethodGet, "/"+bucket+"/applications/STP-1.json", nil), 403, "AccessDenied"},
		{"anonymous_list", anon(http.MethodGet, "/"+bucket+"?list-type=2", nil), 403, "AccessDenied"},
		{"anonymous_put", anon(http.MethodPut, "/"+bucket+"/x", strings.NewReader("x")), 403, "AccessDenied"},
		{"anonymous_delete", anon(http.MethodDelete, "/"+bucket+"/applications/STP-1.json", nil), 403, "AccessDenied"},
		{"wrong_secret", signed("guess", body, sigv4.HashHex(body)), 403, "SignatureDoesNotMatch"},
		{"body_not_matching_signed_hash", signed("test", body, sigv4.HashHex([]byte("other"))), 400, "XAmzContentSHA256Mismatch"},
		{"missing_payload_hash", func() *http.Request {
			r := signed("test", body, sigv4.HashHex(body))
			r.Header.Del("X-Amz-Content-Sha256")
			return r
		}(), 400, "InvalidRequest"},
		{"forged_presign_query", anon(http.MethodGet, "/"+bucket+"/applications/STP-1.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=00", nil), 403, "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e, b := do(t, tc.req)
			if status != tc.status || e.Code != tc.code {
				t.Fatalf("status %d code %q (%s), want %d %s", status, e.Code, b, tc.status, tc.code)
			}
		})
	}
	if _, err := get(ctx, c, "applications/STP-2.json"); errorCode(err) != "NoSuchKey" {
		t.Fatalf("a refused write left an object: %v", err)
	}
}

// TestStreamingTrailerUpload is the Go SDK over HTTPS, which sends PutObject
// bodies aws-chunked with STREAMING-UNSIGNED-PAYLOAD-TRAILER and a trailing
// CRC32; the object must come back byte for byte with its checksum.
func TestStreamingTrailerUpload(t *testing.T) {
	srv, err := s3server.New(s3server.Options{DataDir: t.TempDir(), Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		t.Fatal(err)
	}
	var modes []string
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			modes = append(modes, r.Header.Get("X-Amz-Content-Sha256"))
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	tr := hs.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // test server's own certificate
	c := s3.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(hs.URL), HTTPClient: &http.Client{Transport: tr},
		APIOptions: []func(*middleware.Stack) error{awsx.SafeRequestBody},
	}, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	createBucket(t, c)
	body := bytes.Repeat([]byte("hồ sơ trực tuyến "), 40000) // ~880 KB, several chunks
	// An io.Reader that is not seekable makes the SDK stream it.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.txt"),
		Body: io.MultiReader(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: "CRC32"}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if len(modes) == 0 || modes[len(modes)-1] != sigv4.StreamingUnsignedTrailer {
		t.Fatalf("the SDK sent x-amz-content-sha256 %v, want %s (the test no longer covers the trailer)", modes, sigv4.StreamingUnsignedTrailer)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.txt"), ChecksumMode: "ENABLED"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body) // the SDK validates the CRC32 while reading
	_ = out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes (want %d): %v", len(got), len(body), err)
	}
	if aws.ToString(out.ChecksumCRC32) == "" {
		t.Fatal("the trailing CRC32 was not stored")
	}
}

func TestObjectHeaders_as_S3_sends_them(t *testing.T) {
	srv, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	body := strings.Repeat("0123456789", 100)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body),
		Metadata: map[string]string{"doc": "giấy-tờ", "Mixed-Case": "v"}, ChecksumAlgorithm: "CRC32"}); err != nil {
		t.Fatal(err)
	}
	presigned := func(in *s3.GetObjectInput) *http.Response {
		req, err := s3.NewPresignClient(c).PresignGetObject(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, req.URL, nil)
		for k, vs := range req.SignedHeader {
			r.Header[k] = vs
		}
		// Served in process: Go's HTTP client would canonicalise the
		// header names this test is about.
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		resp := rec.Result()
		resp.Header = rec.Header()
		return resp
	}
	whole := presigned(&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), ChecksumMode: "ENABLED"})
	if _, ok := whole.Header["x-amz-meta-doc"]; !ok {
		t.Fatalf("metadata keys not lower case: %v", whole.Header)
	}
	if _, ok := whole.Header["x-amz-meta-mixed-case"]; !ok {
		t.Fatalf("metadata keys not lower case: %v", whole.Header)
	}
	if whole.Header.Get("X-Amz-Checksum-Crc32") == "" {
		t.Fatalf("no checksum on a whole GET with checksum mode: %v", whole.Header)
	}
	for _, h := range []string{"X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Decoded-Content-Length"} {
		if whole.Header.Get(h) != "" {
			t.Fatalf("request header %s echoed on GET", h)
		}
	}
	ranged := presigned(&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Range: aws.String("bytes=0-9"), ChecksumMode: "ENABLED"})
	if ranged.StatusCode != http.StatusPartialContent || ranged.Header.Get("X-Amz-Checksum-Crc32") != "" {
		t.Fatalf("ranged GET: status %d, checksum %q", ranged.StatusCode, ranged.Header.Get("X-Amz-Checksum-Crc32"))
	}
	plain := presigned(&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if plain.Header.Get("X-Amz-Checksum-Crc32") != "" {
		t.Fatal("checksum sent without x-amz-checksum-mode")
	}
	// The SDK's own ranged read, with checksum validation on, succeeds.
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	if err != nil || string(b) != "0123456789" || out.Metadata["doc"] != "giấy-tờ" {
		t.Fatalf("ranged SDK read %q %v meta %v", b, err, out.Metadata)
	}
}

func TestCORSPreflight_needs_no_signature(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	createBucket(t, newClient(hs.URL))
	req, _ := http.NewRequest(http.MethodOptions, hs.URL+"/"+bucket+"/uploads/a.pdf", nil)
	req.Header.Set("Origin", "https://dichvucong.example.vn")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
