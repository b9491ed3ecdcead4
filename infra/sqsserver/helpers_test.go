package sqsserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"motcua/shared/awsx"
)

// env is one server under test with an SDK client talking to it over HTTP.
type env struct {
	t   testing.TB
	dir string
	srv *Server
	ts  *httptest.Server
	c   *sqs.Client
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// newEnv starts a server on dir (a fresh temp dir when "").
func newEnv(t testing.TB, dir string, noSync bool) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	srv, err := New(Options{DataDir: dir, NoSync: noSync, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e := &env{t: t, dir: dir, srv: srv}
	e.ts = httptest.NewServer(srv)
	e.c = newClient(e.ts.URL)
	t.Cleanup(e.stop)
	return e
}

// testCredentials is the key pair test servers accept and test clients sign with.
var testCredentials = map[string]string{"AKIDTEST": "secret"}

// signRequest signs a hand-made request the way an SDK would.
func signRequest(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now())
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// newClient returns an SDK client for the server at url. One attempt per
// call, so any failure shows. It has awsx.SafeRequestBody, as every motcua
// client: without it, net/http sometimes closes the connection while a
// response is being read (a smithy-go race; see SafeRequestBody), and
// ReceiveMessage failed after its 200 with "use of closed network
// connection" (TestCrashKeepsEveryAcknowledgedMessage in CI,
// BenchmarkReceive1KiB about one run in six).
func newClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		APIOptions:       []func(*middleware.Stack) error{awsx.SafeRequestBody},
	})
}

// stop closes the HTTP server and the SQS server (idempotent).
func (e *env) stop() {
	if e.ts != nil {
		e.ts.Close()
		e.ts = nil
	}
	if e.srv != nil {
		if err := e.srv.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
		e.srv = nil
	}
}

func (e *env) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (e *env) send(url, body string) *sqs.SendMessageOutput {
	e.t.Helper()
	out, err := e.c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	return out
}

// receive receives with all attributes, waiting up to wait seconds.
func (e *env) receive(url string, max, wait int32, vt *int32) []types.Message {
	e.t.Helper()
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         max,
		WaitTimeSeconds:             wait,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	}
	if vt != nil {
		in.VisibilityTimeout = *vt
	}
	out, err := e.c.ReceiveMessage(context.Background(), in)
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (e *env) attrs(url string) map[string]string {
	e.t.Helper()
	out, err := e.c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		e.t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// wantErr asserts err unwraps to the typed error T.
func wantErr[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	return target
}

func i32(v int32) *int32 { return &v }
