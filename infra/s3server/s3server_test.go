package s3server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"motcua/infra/s3server"
	"motcua/shared/awsx"
)

const bucket = "test-bucket"

func quietLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// startServer opens a Server on dir and serves it on 127.0.0.1:0.
func startServer(t testing.TB, dir string) (*s3server.Server, *httptest.Server) {
	t.Helper()
	srv, err := s3server.New(s3server.Options{DataDir: dir, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, hs
}

func newClient(endpoint string) *s3.Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		APIOptions:   []func(*middleware.Stack) error{awsx.SafeRequestBody},
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func createBucket(t testing.TB, c *s3.Client) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
}

func put(ctx context.Context, c *s3.Client, key, body string) (string, error) {
	out, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

func get(ctx context.Context, c *s3.Client, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestPutGetDeleteRoundTrip(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)

	key := "hồ-sơ/2024/0001.json"
	etag, err := put(ctx, c, key, `{"a":1}`)
	if err != nil || etag == "" {
		t.Fatalf("put: etag=%q err=%v", etag, err)
	}
	got, err := get(ctx, c, key)
	if err != nil || got != `{"a":1}` {
		t.Fatalf("get = %q, %v", got, err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := get(ctx, c, key); errorCode(err) != "NoSuchKey" {
		t.Fatalf("get after delete: want NoSuchKey, got %v", err)
	}
}

func TestConditionalWriteRaces(t *testing.T) {
	const writers = 50
	tests := []struct {
		name  string
		setup func(t *testing.T, c *s3.Client, key string) string // returns etag for IfMatch
		input func(key, etag string, i int) *s3.PutObjectInput
	}{
		{
			name: "if_match_same_etag_exactly_one_wins",
			setup: func(t *testing.T, c *s3.Client, key string) string {
				etag, err := put(context.Background(), c, key, "v0")
				if err != nil {
					t.Fatalf("seed: %v", err)
				}
				return etag
			},
			input: func(key, etag string, i int) *s3.PutObjectInput {
				return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
					Body: strings.NewReader(fmt.Sprintf("v1-writer-%d", i)), IfMatch: aws.String(etag)}
			},
		},
		{
			name:  "if_none_match_star_exactly_one_creates",
			setup: func(*testing.T, *s3.Client, string) string { return "" },
			input: func(key, _ string, i int) *s3.PutObjectInput {
				return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
					Body: strings.NewReader(fmt.Sprintf("create-%d", i)), IfNoneMatch: aws.String("*")}
			},
		},
	}
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	createBucket(t, c)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "race/" + tc.name
			etag := tc.setup(t, c, key)
			var (
				wg                    sync.WaitGroup
				mu                    sync.Mutex
				ok, failed412, others int
				winner                string
			)
			start := make(chan struct{})
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := c.PutObject(context.Background(), tc.input(key, etag, i))
					mu.Lock()
					defer mu.Unlock()
					var re interface{ HTTPStatusCode() int }
					switch {
					case err == nil:
						ok++
						winner = fmt.Sprint(i)
					case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed && errorCode(err) == "PreconditionFailed":
						failed412++
					default:
						others++
						t.Errorf("writer %d: unexpected error %v", i, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if ok != 1 || failed412 != writers-1 || others != 0 {
				t.Fatalf("ok=%d 412=%d other=%d; want 1/%d/0", ok, failed412, others, writers-1)
			}
			got, err := get(context.Background(), c, key)
			if err != nil || !strings.HasSuffix(got, "-"+winner) {
				t.Fatalf("stored body %q (err %v) is not the winner's (%s)", got, err, winner)
			}
		})
	}
}

func TestDeleteIfMatch(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	etag, err := put(ctx, c, "doc", "v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), IfMatch: aws.String(`"0123"`)})
	if errorCode(err) != "PreconditionFailed" {
		t.Fatalf("delete with stale etag: want PreconditionFailed, got %v", err)
	}
	if _, err := get(ctx, c, "doc"); err != nil {
		t.Fatalf("object must survive a failed conditional delete: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), IfMatch: aws.String(etag)}); err != nil {
		t.Fatalf("delete with current etag: %v", err)
	}
	if _, err := get(ctx, c, "doc"); errorCode(err) != "NoSuchKey" {
		t.Fatalf("want NoSuchKey after delete, got %v", err)
	}
}

func TestPresignedPutThenGet(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	pc := s3.NewPresignClient(c)

	putReq, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("uploads/giấy tờ.pdf"), ContentType: aws.String("application/pdf"),
	}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatalf("presign put: %v", err)
	}
	body := []byte("%PDF-1.7 fake")
	req, err := http.NewRequestWithContext(ctx, putReq.Method, putReq.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT presigned: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT presigned: status %d", resp.StatusCode)
	}

	getReq, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("uploads/giấy tờ.pdf")})
	if err != nil {
		t.Fatalf("presign get: %v", err)
	}
	resp, err = http.Get(getReq.URL)
	if err != nil {
		t.Fatalf("GET presigned: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET presigned: status %d body %q", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Fatalf("content type %q, want application/pdf", ct)
	}
}

func TestListObjectsV2PrefixAndPagination(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	var want []string
	for i := range 23 {
		k := fmt.Sprintf("apps/%03d.json", i)
		want = append(want, k)
		if _, err := put(ctx, c, k, "x"); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"app", "apps", "appsz/1", "other/1", "a/1"} {
		if _, err := put(ctx, c, k, "y"); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String("apps/"), MaxKeys: aws.Int32(5),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if len(out.Contents) > 5 {
			t.Fatalf("page %d has %d keys, max 5", pages, len(out.Contents))
		}
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
		if pages > 10 {
			t.Fatal("pagination does not terminate")
		}
	}
	if pages != 5 {
		t.Errorf("pages = %d, want 5", pages)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("keys = %v\nwant %v", got, want)
	}

	// Delimiter listing groups common prefixes.
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, cp := range out.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(cp.Prefix))
	}
	if strings.Join(prefixes, ",") != "a/,apps/,appsz/,other/" {
		t.Fatalf("common prefixes = %v", prefixes)
	}
}

func TestRestartKeepsObjects(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := s3server.New(s3server.Options{DataDir: dir, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	c := newClient(hs.URL)
	createBucket(t, c)
	etag, err := put(ctx, c, "k", "persisted")
	if err != nil {
		t.Fatal(err)
	}
	hs.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	_, hs2 := startServer(t, dir)
	c2 := newClient(hs2.URL)
	got, err := get(ctx, c2, "k")
	if err != nil || got != "persisted" {
		t.Fatalf("after restart: %q, %v", got, err)
	}
	head, err := c2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil || aws.ToString(head.ETag) != etag {
		t.Fatalf("etag after restart = %v (%v), want %s", aws.ToString(head.ETag), err, etag)
	}
}

// crashChildEnv makes the test binary act as a writer child in TestCrashKeepsAcknowledgedWrites.
const crashChildEnv = "MOTCUA_S3SERVER_CRASH_CHILD_DIR"

// TestCrashChild is the child side of TestCrashKeepsAcknowledgedWrites: it
// PUTs objects forever and prints each key once the PUT is acknowledged.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	srv, err := s3server.New(s3server.Options{DataDir: dir, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	hs := httptest.NewServer(srv)
	c := newClient(hs.URL)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		key := fmt.Sprintf("crash/%06d", i)
		if _, err := put(ctx, c, key, "body-"+key); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(2)
		}
		fmt.Println("ACK", key)
	}
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("running as child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "ACK "); ok {
			acked = append(acked, k)
			if len(acked) == 60 {
				// Kill mid-stream: the child is in the middle of more PUTs.
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		} else if strings.HasPrefix(line, "ERROR") {
			t.Fatalf("child: %s", line)
		}
	}
	// Acks printed between the last read and the kill count too.
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, k)
		}
	}
	_ = cmd.Wait()
	if len(acked) < 60 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}

	_, hs := startServer(t, dir)
	c := newClient(hs.URL)
	ctx := context.Background()
	for _, k := range acked {
		got, err := get(ctx, c, k)
		if err != nil || got != "body-"+k {
			t.Fatalf("acknowledged key %s after SIGKILL: %q, %v", k, got, err)
		}
	}
}

func TestConditionsOnCopyAndMultipartComplete(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	if _, err := put(ctx, c, "src", "source"); err != nil {
		t.Fatal(err)
	}
	dstEtag, err := put(ctx, c, "dst", "old")
	if err != nil {
		t.Fatal(err)
	}
	copyIn := func(mod func(*s3.CopyObjectInput)) error {
		in := &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("dst"), CopySource: aws.String(bucket + "/src")}
		mod(in)
		_, err := c.CopyObject(ctx, in)
		return err
	}
	complete := func(key string, mod func(*s3.CompleteMultipartUploadInput)) error {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key),
			UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("multipart-body")})
		if err != nil {
			return err
		}
		in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}}
		mod(in)
		_, err = c.CompleteMultipartUpload(ctx, in)
		return err
	}
	tests := []struct {
		name     string
		do       func() error
		wantCode string
	}{
		{name: "copy_if_none_match_onto_existing_fails", wantCode: "PreconditionFailed",
			do: func() error { return copyIn(func(in *s3.CopyObjectInput) { in.IfNoneMatch = aws.String("*") }) }},
		{name: "copy_if_match_stale_fails", wantCode: "PreconditionFailed",
			do: func() error { return copyIn(func(in *s3.CopyObjectInput) { in.IfMatch = aws.String(`"deadbeef"`) }) }},
		{name: "copy_if_match_current_succeeds",
			do: func() error { return copyIn(func(in *s3.CopyObjectInput) { in.IfMatch = aws.String(dstEtag) }) }},
		{name: "complete_if_none_match_onto_existing_fails", wantCode: "PreconditionFailed",
			do: func() error {
				return complete("dst", func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") })
			}},
		{name: "complete_if_none_match_new_key_succeeds",
			do: func() error {
				return complete("mp-new", func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") })
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if tc.wantCode == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantCode != "" && errorCode(err) != tc.wantCode {
				t.Fatalf("got %v, want %s", err, tc.wantCode)
			}
		})
	}
	if got, err := get(ctx, c, "dst"); err != nil || got != "source" {
		t.Fatalf("dst = %q, %v; want the successful copy", got, err)
	}
	if got, err := get(ctx, c, "mp-new"); err != nil || got != "multipart-body" {
		t.Fatalf("mp-new = %q, %v", got, err)
	}
}

func TestExpiredPresignedURLIsRefused(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	if _, err := put(ctx, c, "doc", "x"); err != nil {
		t.Fatal(err)
	}
	pc := s3.NewPresignClient(c, func(o *s3.PresignOptions) {
		// Sign as of two hours ago, valid for one hour.
		o.Presigner = backdatedPresigner{v4.NewSigner()}
	})
	req, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("expired URL: status %d, want 403", resp.StatusCode)
	}
}

// backdatedPresigner signs as if it were two hours earlier.
type backdatedPresigner struct{ s3.HTTPPresignerV4 }

func (p backdatedPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, signingTime time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.HTTPPresignerV4.PresignHTTP(ctx, creds, r, payloadHash, service, region, signingTime.Add(-2*time.Hour), optFns...)
}

// TestConcurrentMixedWritesSurviveRestart runs concurrent writes of which
// some are refused (failed precondition, missing bucket): group commit must
// answer each on its own, and every acknowledged write must survive a restart.
func TestConcurrentMixedWritesSurviveRestart(t *testing.T) {
	const writers = 60
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := s3server.New(s3server.Options{DataDir: dir, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	c := newClient(hs.URL)
	createBucket(t, c)
	if _, err := put(ctx, c, "taken", "first"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]string, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("k/%03d", i)),
				Body: strings.NewReader(fmt.Sprintf("body-%03d", i)),
			}
			switch i % 3 {
			case 1:
				in.Key, in.IfNoneMatch = aws.String("taken"), aws.String("*")
			case 2:
				in.Bucket = aws.String("no-such-bucket")
			}
			_, err := c.PutObject(ctx, in)
			codes[i] = errorCode(err)
			if err != nil && codes[i] == "" {
				codes[i] = err.Error()
			}
		}()
	}
	wg.Wait()
	hs.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	_, hs2 := startServer(t, dir)
	c2 := newClient(hs2.URL)
	for i, code := range codes {
		want := []string{"", "PreconditionFailed", "NoSuchBucket"}[i%3]
		if code != want {
			t.Errorf("writer %d: code %q, want %q", i, code, want)
		}
		if i%3 != 0 {
			continue
		}
		if got, err := get(ctx, c2, fmt.Sprintf("k/%03d", i)); err != nil || got != fmt.Sprintf("body-%03d", i) {
			t.Errorf("acknowledged k/%03d after restart: %q, %v", i, got, err)
		}
	}
	if got, err := get(ctx, c2, "taken"); err != nil || got != "first" {
		t.Errorf("taken after restart: %q, %v", got, err)
	}
}

// testCredentials is the key pair the test server accepts (the SDK clients
// sign with it).
var testCredentials = map[string]string{"test": "test"}

// deleteObjects sends one DeleteObjects (Quiet) of keys.
func deleteObjects(ctx context.Context, c *s3.Client, keys []string) error {
	objs := make([]types.ObjectIdentifier, len(keys))
	for i := range keys {
		objs[i] = types.ObjectIdentifier{Key: aws.String(keys[i])}
	}
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
	if err == nil && len(out.Errors) > 0 {
		err = fmt.Errorf("DeleteObjects: %d keys failed, first %s: %s", len(out.Errors), aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Code))
	}
	return err
}

// TestMultiDeleteAtomicWithConditionalWrites races two multi-object deletes
// (the same keys, opposite orders) with conditional single-key writes on
// those keys, round after round, and checks every outcome is one some
// serial order allows:
//   - copy If-Match the seeded ETag: before the deletes it succeeds and is
//     then deleted, after them it fails; the key is absent either way (a
//     copy that checked before a delete and committed after it would leave
//     it present);
//   - delete If-Match the seeded ETag: the key is absent either way;
//   - put If-None-Match *: the key can be present at the end only if that
//     put succeeded (after a delete), with its body.
//
// Under the race detector, and a deadlock would hang the test.
func TestMultiDeleteAtomicWithConditionalWrites(t *testing.T) {
	_, hs := startServer(t, t.TempDir())
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	if _, err := put(ctx, c, "src", "copied"); err != nil {
		t.Fatal(err)
	}
	const rounds, perKind = 8, 6
	kinds := []string{"copy", "del", "create"}
	for round := range rounds {
		var keys []string
		etags := map[string]string{}
		for _, kind := range kinds {
			for i := range perKind {
				k := fmt.Sprintf("r%d/%s-%d", round, kind, i)
				etag, err := put(ctx, c, k, "seed")
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
				etags[k] = etag
			}
		}
		reversed := slices.Clone(keys)
		slices.Reverse(reversed)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created = map[string]bool{}
		)
		start := make(chan struct{})
		for _, ks := range [][]string{keys, reversed} {
			wg.Go(func() {
				<-start
				if err := deleteObjects(ctx, c, ks); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		for _, k := range keys {
			wg.Go(func() {
				<-start
				var err error
				switch {
				case strings.Contains(k, "/copy-"):
					_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(k),
						CopySource: aws.String(bucket + "/src"), IfMatch: aws.String(etags[k])})
				case strings.Contains(k, "/del-"):
					_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), IfMatch: aws.String(etags[k])})
				default:
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k),
						Body: strings.NewReader("created"), IfNoneMatch: aws.String("*")})
					if err == nil {
						mu.Lock()
						created[k] = true
						mu.Unlock()
					}
				}
				if code := errorCode(err); err != nil && code != "PreconditionFailed" && code != "NoSuchKey" {
					t.Errorf("round %d %s: %v", round, k, err)
				}
			})
		}
		close(start)
		wg.Wait()
		for _, k := range keys {
			got, err := get(ctx, c, k)
			switch {
			case errorCode(err) == "NoSuchKey":
			case err != nil:
				t.Fatalf("get %s: %v", k, err)
			case !created[k] || got != "created":
				t.Errorf("round %d: %s = %q after the deletes (created by If-None-Match: %v); no serial order leaves it", round, k, got, created[k])
			}
		}
	}
}

// TestMultiDeleteDoesNotBlockOtherKeys: while a multi-object delete holds
// its locks (held there by the test hook), a write, a conditional copy and
// another multi-object delete on keys of other stripes complete. With a
// lock excluding every writer they would wait for it: the test would fail
// at its generous deadline instead of hanging (a liveness check, not a
// timing one).
func TestMultiDeleteDoesNotBlockOtherKeys(t *testing.T) {
	srv, hs := startServer(t, t.TempDir())
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s3server.SetMultiDeleteHook(srv, func() {
		first := false
		once.Do(func() { first = true })
		if first {
			close(entered)
			<-release
		}
	})
	c := newClient(hs.URL)
	ctx := context.Background()
	createBucket(t, c)
	// Keys on stripes other than the slow delete's.
	slow := []string{"slow/a", "slow/b"}
	busy := map[int]bool{}
	for _, k := range slow {
		busy[s3server.Stripe(bucket, k)] = true
	}
	var free []string
	for i := 0; len(free) < 4; i++ {
		if k := fmt.Sprintf("free/%d", i); !busy[s3server.Stripe(bucket, k)] {
			free = append(free, k)
		}
	}
	for _, k := range append(slices.Clone(slow), free...) {
		if _, err := put(ctx, c, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // on failure too, or the server's Close would wait for the held delete
	done := make(chan error, 1)
	go func() { done <- deleteObjects(ctx, c, slow) }()
	<-entered

	live, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := put(live, c, free[0], "written meanwhile"); err != nil {
		t.Fatalf("put on another stripe during a multi-delete: %v", err)
	}
	if _, err := c.CopyObject(live, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(free[1]),
		CopySource: aws.String(bucket + "/" + free[0]), IfNoneMatch: aws.String("*")}); errorCode(err) != "PreconditionFailed" {
		t.Fatalf("conditional copy onto an existing key during a multi-delete: %v, want PreconditionFailed", err)
	}
	if err := deleteObjects(live, c, free[2:]); err != nil {
		t.Fatalf("multi-delete of other stripes during a multi-delete: %v", err)
	}
	unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, k := range append(slices.Clone(slow), free[2:]...) {
		if _, err := get(ctx, c, k); errorCode(err) != "NoSuchKey" {
			t.Errorf("%s after its delete: %v", k, err)
		}
	}
	if got, err := get(ctx, c, free[0]); err != nil || got != "written meanwhile" {
		t.Errorf("%s = %q, %v", free[0], got, err)
	}
}
