package kinds

import (
	"context"
	"encoding/json"
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
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/connector"
	"motcua/infra/embedded"
	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/queue"
)

// rig is the jobs machinery end to end without the function processes:
// the embedded S3/SQS over the AWS SDK, the real queue connector, and a
// gateway that load-balances /function/reprocess-worker over `replicas`
// worker instances (each its own jobs.Service, as separate processes
// would be), with the connector's concurrency annotation set to replicas.
type rig struct {
	t     testing.TB
	sqs   *sqs.Client
	store docstore.Store
	pub   queue.Publisher
	reg   *jobs.Registry
	api   *jobs.Service // the admin side (plans, confirms)

	mu       sync.Mutex
	fns      []map[string]any
	handlers map[string]http.HandlerFunc
	gw       *httptest.Server
}

func newRig(t testing.TB, replicas int, kindsFor func(r *rig) []jobs.Kind) *rig {
	t.Helper()
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	s3c, sqsc, err := stack.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, sqs: sqsc, store: docstore.NewS3Store(s3c, nil, "motcua-data"), pub: queue.NewSQSPublisher(sqsc),
		handlers: map[string]http.HandlerFunc{}}
	r.reg = jobs.NewRegistry(kindsFor(r)...)
	opts := jobs.Options{Log: slog.New(slog.DiscardHandler)}
	r.api = jobs.New(r.store, r.pub, r.reg, opts)
	workers := make([]*jobs.WorkerHTTP, replicas)
	for i := range workers {
		workers[i] = jobs.NewWorkerHTTP(jobs.New(r.store, r.pub, r.reg, opts), nil, slog.New(slog.DiscardHandler))
	}
	var next atomic.Int64
	r.handle("reprocess-worker", map[string]string{"topic": jobs.DefaultQueue,
		connector.ConcurrencyAnnotation: strconv.Itoa(replicas)}, func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		hr := handler.Request{Body: b, Header: req.Header, Method: req.Method}
		hr.WithContext(req.Context())
		resp := workers[int(next.Add(1))%replicas].Serve(req.Context(), hr)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	})
	r.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/system/functions" {
			r.mu.Lock()
			b, _ := json.Marshal(r.fns)
			r.mu.Unlock()
			_, _ = w.Write(b)
			return
		}
		r.mu.Lock()
		h := r.handlers[strings.TrimPrefix(req.URL.Path, "/function/")]
		r.mu.Unlock()
		if h == nil {
			http.NotFound(w, req)
			return
		}
		h(w, req)
	}))
	t.Cleanup(r.gw.Close)
	c, err := connector.New(connector.Options{GatewayURL: r.gw.URL, SQS: sqsc, WaitTime: time.Second,
		RefreshInterval: 200 * time.Millisecond, ShutdownGrace: 5 * time.Second, RetryBaseDelay: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = c.Run(cctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// handle deploys a function behind the fake gateway.
func (r *rig) handle(name string, annotations map[string]string, h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fns = append(r.fns, map[string]any{"name": name, "annotations": annotations})
	r.handlers[name] = h
}

// createQueue creates name and name-dlq (redrive after maxReceive).
func (r *rig) createQueue(name string, visibility, maxReceive int) string {
	r.t.Helper()
	ctx := context.Background()
	dlq, err := r.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + DLQSuffix)})
	if err != nil {
		r.t.Fatal(err)
	}
	a, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		r.t.Fatal(err)
	}
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": a.Attributes["QueueArn"], "maxReceiveCount": strconv.Itoa(maxReceive)})
	q, err := r.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": strconv.Itoa(visibility), "RedrivePolicy": string(policy)}})
	if err != nil {
		r.t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

// depth returns a queue's visible + in-flight messages.
func (r *rig) depth(name string) int {
	ctx := context.Background()
	u, err := r.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		r.t.Fatal(err)
	}
	a, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		r.t.Fatal(err)
	}
	v, _ := strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
	f, _ := strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return v + f
}

// run plans, confirms and waits for a job; it returns the finished job and
// the seconds from confirmation to the end.
func (r *rig) run(kind string, scope jobs.Scope, rate float64, within time.Duration) (jobs.Job, float64) {
	r.t.Helper()
	ctx := context.Background()
	admin := jobs.Actor{Subject: "bench"}
	j, err := r.api.Plan(ctx, admin, jobs.StartRequest{Kind: kind, Scope: scope, Rate: rate}, "")
	if err != nil {
		r.t.Fatalf("plan: %v", err)
	}
	start := time.Now()
	if _, err := r.api.Confirm(ctx, admin, j.ID, ""); err != nil {
		r.t.Fatalf("confirm: %v", err)
	}
	deadline := time.Now().Add(within)
	for {
		got, err := r.api.Get(ctx, j.ID)
		if err != nil {
			r.t.Fatal(err)
		}
		if got.Status.Terminal() {
			return got, time.Since(start).Seconds()
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("job %s not finished after %s: %s %+v", j.ID, within, got.Status, got.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
