package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/infra/embedded"
)

// deadline bounds every wait in these tests; it is generous on purpose.
const deadline = 20 * time.Second

// startSQSBackend starts the embedded stack (queues of infra/resources.json
// already provisioned) and returns an AWS config pointing at it.
func startSQSBackend(t *testing.T) aws.Config {
	t.Helper()
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatalf("embedded AWS config: %v", err)
	}
	return cfg
}

// deleteCounter counts the messages deleted through a client: successful
// DeleteMessage calls and the successful entries of DeleteMessageBatch.
type deleteCounter struct {
	base    http.RoundTripper
	n       atomic.Int64
	batches atomic.Int64 // DeleteMessageBatch calls
}

func (d *deleteCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	switch req.Header.Get("X-Amz-Target") {
	case "AmazonSQS.DeleteMessage":
		d.n.Add(1)
	case "AmazonSQS.DeleteMessageBatch":
		b, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil {
			return resp, nil
		}
		var out struct{ Successful []json.RawMessage }
		if json.Unmarshal(b, &out) == nil {
			d.n.Add(int64(len(out.Successful)))
			d.batches.Add(1)
		}
	}
	return resp, err
}

// fakeGateway serves /system/functions and /function/NAME.
type fakeGateway struct {
	mu        sync.Mutex
	fns       []functionStatus
	handlers  map[string]http.HandlerFunc
	listCalls atomic.Int64
	listAuth  atomic.Value // last Authorization header of /system/functions
	srv       *httptest.Server
}

func startFakeGateway(t *testing.T) *fakeGateway {
	g := &fakeGateway{handlers: map[string]http.HandlerFunc{}, fns: []functionStatus{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/system/functions" {
			g.listCalls.Add(1)
			g.listAuth.Store(r.Header.Get("Authorization"))
			g.mu.Lock()
			b, _ := json.Marshal(g.fns)
			g.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/function/")
		g.mu.Lock()
		h := g.handlers[name]
		g.mu.Unlock()
		if !ok || h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) setFunctions(fns ...functionStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fns = append([]functionStatus{}, fns...)
}

func (g *fakeGateway) handle(name string, h http.HandlerFunc) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handlers[name] = h
}

// waitListCalls waits until the connector listed the functions n more times.
func (g *fakeGateway) waitListCalls(t *testing.T, n int64) {
	t.Helper()
	target := g.listCalls.Load() + n
	waitFor(t, "function list refreshed", func() bool { return g.listCalls.Load() >= target })
}

func topicFn(name, topic string, annotations ...string) functionStatus {
	a := map[string]string{TopicAnnotation: topic}
	for i := 0; i+1 < len(annotations); i += 2 {
		a[annotations[i]] = annotations[i+1]
	}
	return functionStatus{Name: name, Annotations: a, Labels: map[string]string{"faas_function": name}}
}

type harness struct {
	t       *testing.T
	sqs     *sqs.Client
	deletes *deleteCounter
	gw      *fakeGateway
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg := startSQSBackend(t)
	dc := &deleteCounter{base: http.DefaultTransport}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.HTTPClient = &http.Client{Transport: dc} })
	return &harness{t: t, sqs: client, deletes: dc, gw: startFakeGateway(t)}
}

// start runs a connector until the returned stop is called (or the test
// ends); stop returns Run's error.
func (h *harness) start(mod func(*Options)) (stop func() error) {
	h.t.Helper()
	opts := Options{
		GatewayURL:      h.gw.srv.URL,
		SQS:             h.sqs,
		WaitTime:        time.Second,
		RefreshInterval: 200 * time.Millisecond,
		ShutdownGrace:   10 * time.Second,
		Logger:          slog.New(slog.NewJSONHandler(h.t.Output(), nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(deadline + opts.ShutdownGrace):
				runErr = errors.New("Run did not return")
			}
		})
		return runErr
	}
	h.t.Cleanup(func() { _ = stop() })
	return stop
}

// createQueue creates name and name-dlq, with a redrive policy after
// maxReceive receives; it returns both URLs.
func (h *harness) createQueue(name string, visibility, maxReceive int) (string, string) {
	h.t.Helper()
	ctx := context.Background()
	dlq, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		h.t.Fatalf("create dlq: %v", err)
	}
	attrs, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		h.t.Fatalf("dlq arn: %v", err)
	}
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": strconv.Itoa(maxReceive)})
	q, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": strconv.Itoa(visibility),
		"RedrivePolicy":     string(policy),
	}})
	if err != nil {
		h.t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)
}

func (h *harness) queueURL(name string) string {
	h.t.Helper()
	out, err := h.sqs.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		h.t.Fatalf("queue url %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// send puts a message with String attributes on a queue; it returns its ID.
func (h *harness) send(url, body string, attrs map[string]types.MessageAttributeValue) string {
	h.t.Helper()
	out, err := h.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: attrs})
	if err != nil {
		h.t.Fatalf("send: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// receive reads one message directly (not through the connector), waiting
// up to the deadline; it fails the test if none arrives.
func (h *harness) receive(url string) types.Message {
	h.t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		out, err := h.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), WaitTimeSeconds: 1, MaxNumberOfMessages: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			h.t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) > 0 {
			return out.Messages[0]
		}
	}
	h.t.Fatalf("no message on %s within %s", url, deadline)
	return types.Message{}
}

// messagesLeft is the number of messages on a queue, visible or not.
func (h *harness) messagesLeft(url string) int {
	h.t.Helper()
	out, err := h.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		h.t.Fatalf("queue attributes: %v", err)
	}
	a, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	b, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return a + b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorded is one request seen by a fake function or callback.
type recorded struct {
	method, query string
	header        http.Header
	body          []byte
}

// recorder collects requests.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) add(req *http.Request) recorded {
	b, _ := io.ReadAll(req.Body)
	rec := recorded{method: req.Method, query: req.URL.RawQuery, header: req.Header.Clone(), body: b}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return rec
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded{}, r.reqs...)
}

func (r *recorder) count() int { return len(r.all()) }
