package embedded_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/infra/embedded"
)

func TestStackServesS3AndSQSThroughOneEndpoint(t *testing.T) {
	st := embedded.StartForTest(t)
	ctx := context.Background()
	s3c, sqsc, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("motcua-data"), Key: aws.String("applications/A-1.json"),
		Body: strings.NewReader(`{"id":"A-1"}`), IfNoneMatch: aws.String("*"),
	}); err != nil {
		t.Fatalf("s3 put: %v", err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("applications/A-1.json")})
	if err != nil {
		t.Fatalf("s3 get: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if string(body) != `{"id":"A-1"}` {
		t.Fatalf("s3 body %q", body)
	}

	url, ok := st.QueueURL("application-events")
	if !ok {
		t.Fatal("application-events not provisioned")
	}
	got, err := sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("application-events")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", aws.ToString(got.QueueUrl), err, url)
	}
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("xin chào")}); err != nil {
		t.Fatalf("sqs send: %v", err)
	}
	rcv, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5, MaxNumberOfMessages: 10})
	if err != nil || len(rcv.Messages) != 1 || aws.ToString(rcv.Messages[0].Body) != "xin chào" {
		t.Fatalf("sqs receive: %+v, %v", rcv, err)
	}

	resp, err := http.Get(st.Endpoint() + "/_localstack/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Services map[string]string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || health.Services["s3"] != "running" || health.Services["sqs"] != "running" {
		t.Fatalf("health: %+v, %v", health, err)
	}
}

func TestRestartOnSameDataDirKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cfg := embedded.Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: logger}

	st, err := embedded.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s3c, sqsc, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	url, _ := st.QueueURL("receipt-jobs")
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("job-1")}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	st2, err := embedded.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer st2.Close()
	s3c, sqsc, err = st2.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	b, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if string(b) != "v" {
		t.Fatalf("object after restart = %q", b)
	}
	url2, _ := st2.QueueURL("receipt-jobs")
	rcv, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url2), WaitTimeSeconds: 5})
	if err != nil || len(rcv.Messages) != 1 || aws.ToString(rcv.Messages[0].Body) != "job-1" {
		t.Fatalf("message after restart: %+v, %v", rcv, err)
	}
}

func TestStartRejectsMissingDataDir(t *testing.T) {
	if _, err := embedded.Start(context.Background(), embedded.Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Fatal("Start without DataDir succeeded")
	}
}

// BenchmarkS3PutGet measures one PUT and one GET of 1 KiB through the AWS
// SDK against the embedded stack (fsync on, as in `make run`). Set
// MOTCUA_BENCH_ENDPOINT (e.g. http://localhost:4566 for LocalStack, which
// must have the motcua-data bucket) to measure another endpoint instead:
//
//	go test ./infra/embedded -run '^$' -bench S3PutGet
//	MOTCUA_BENCH_ENDPOINT=http://localhost:4566 go test ./infra/embedded -run '^$' -bench S3PutGet
func BenchmarkS3PutGet(b *testing.B) {
	ctx := context.Background()
	endpoint := os.Getenv("MOTCUA_BENCH_ENDPOINT")
	if endpoint == "" {
		st, err := embedded.Start(ctx, embedded.Config{
			Addr: "127.0.0.1:0", DataDir: b.TempDir(),
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		endpoint = st.Endpoint()
	}
	c := s3.NewFromConfig(aws.Config{
		Region:       embedded.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(embedded.AccessKeyID, embedded.SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}, func(o *s3.Options) { o.UsePathStyle = true })
	payload := bytes.Repeat([]byte("a"), 1024)
	b.SetBytes(int64(2 * len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := aws.String(fmt.Sprintf("bench/%d", i%1000))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: key, Body: bytes.NewReader(payload)}); err != nil {
			b.Fatal(err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: key})
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, out.Body)
		_ = out.Body.Close()
		if n != int64(len(payload)) {
			b.Fatalf("got %d bytes", n)
		}
	}
}

func TestCloseEndsLongPollsPromptly(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Start(ctx, embedded.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), NoSync: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, sqsc, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := st.QueueURL("payment-events")
	polling := make(chan struct{})
	var once sync.Once
	traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(polling) }) },
	})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		// Returns (with or without an error) once the stack goes away.
		_, _ = sqsc.ReceiveMessage(traced, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20},
			func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	}()
	<-polling // the long poll is on the wire
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(15 * time.Second): // generous: the poll itself lasts 20 s
		t.Fatal("Close waited for the 20 s long poll")
	}
	<-pollDone
}

// TestEdgeRefusesUnsignedRequests checks, through the stack's one endpoint,
// that S3 and SQS both demand signatures as AWS does.
func TestEdgeRefusesUnsignedRequests(t *testing.T) {
	st := embedded.StartForTest(t)
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		want                                  string
	}{
		{"s3_anonymous_get", http.MethodGet, "/motcua-data/applications/STP-1.json", "", "", 403, "<Code>AccessDenied</Code>"},
		{"s3_anonymous_list", http.MethodGet, "/motcua-data?list-type=2", "", "", 403, "<Code>AccessDenied</Code>"},
		{"sqs_anonymous_query", http.MethodPost, "/", "application/x-www-form-urlencoded", "Action=ListQueues&Version=2012-11-05", 403, "<Code>MissingAuthenticationToken</Code>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, st.Endpoint()+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("status %d body %s", resp.StatusCode, b)
			}
		})
	}
}
