package idempotency

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/s3server"
	"motcua/shared/docstore"
	"motcua/shared/logx"
)

// s3Store starts the embedded S3 server on 127.0.0.1 and returns an
// S3Store over a fresh bucket, reached through the real AWS SDK.
func s3Store(t *testing.T) docstore.Store {
	t.Helper()
	srv, err := s3server.New(s3server.Options{DataDir: t.TempDir(), NoSync: true, Logger: logx.New(&bytes.Buffer{}, "error")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close s3server: %v", err)
		}
	})
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ts.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("motcua-test")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return docstore.NewS3Store(client, nil, "motcua-test")
}

// TestDoAgainstEmbeddedS3 checks the create-once lock, replay and release
// through the real SDK and the embedded S3 server's conditional writes.
func TestDoAgainstEmbeddedS3(t *testing.T) {
	store := s3Store(t)
	var logs bytes.Buffer
	k := New(store, "idempotency/pay", time.Hour, WithLogger(logx.New(&logs, "debug")))
	ctx := context.Background()

	const n = 6
	release := make(chan struct{})
	var calls atomic.Int32
	work := func() (handler.Response, error) {
		calls.Add(1)
		<-release
		h := http.Header{"Content-Type": {"application/json"}}
		return handler.Response{StatusCode: 201, Header: h, Body: []byte(`{"paid":true}`)}, nil
	}
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			resp, err := k.Do(ctx, "citizen-a", request("pay-1", `{"amount":50000}`), work)
			if err != nil {
				t.Errorf("Do: %v", err)
			}
			statuses <- resp.StatusCode
		})
	}
	deadline := time.After(30 * time.Second)
	conflicts := 0
	for conflicts < n-1 {
		select {
		case s := <-statuses:
			if s != 409 {
				t.Fatalf("status %d before the winner finished", s)
			}
			conflicts++
		case <-deadline:
			t.Fatalf("only %d conflicts", conflicts)
		}
	}
	close(release)
	wg.Wait()
	if s := <-statuses; s != 201 {
		t.Fatalf("winner status %d", s)
	}
	if calls.Load() != 1 {
		t.Fatalf("work ran %d times", calls.Load())
	}

	resp, err := k.Do(ctx, "citizen-a", request("pay-1", `{"amount":50000}`), work)
	if err != nil || resp.StatusCode != 201 || resp.Header.Get(HeaderReplayed) != "true" || string(resp.Body) != `{"paid":true}` {
		t.Fatalf("replay: %d %v %v %s", resp.StatusCode, err, resp.Header, resp.Body)
	}
	resp, _ = k.Do(ctx, "citizen-a", request("pay-1", `{"amount":1}`), work)
	if resp.StatusCode != 409 || problemOf(t, resp).Code != "idempotency_key_reused" {
		t.Fatalf("reuse: %d %s", resp.StatusCode, resp.Body)
	}

	// A 5xx releases the lock on S3 too.
	failing := &counter{status: 502}
	if resp, _ := k.Do(ctx, "citizen-a", request("pay-2", `{}`), failing.fn); resp.StatusCode != 502 {
		t.Fatalf("5xx: %d", resp.StatusCode)
	}
	if _, err := store.Head(ctx, k.path("citizen-a", "pay-2")); err == nil {
		t.Fatal("lock of a 5xx response still in the bucket")
	}
}
