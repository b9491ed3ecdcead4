package application_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/workdays"
)

// BenchmarkSubmitHTTP files applications through the submit-application
// HTTP layer (Idempotency-Key, peppered PIN hash, code block, outbox, index, send)
// against the embedded S3/SQS with fsync on, 50 concurrent submitters, in
// one process, to profile what a submission costs:
//
//	go test ./shared/application -run '^$' -bench SubmitHTTP -cpuprofile /tmp/submit.prof
//	go tool pprof -top -nodecount 40 /tmp/submit.prof
//
// The gateway-to-storage numbers come from `motcua-bench` (-applications).
func BenchmarkSubmitHTTP(b *testing.B) {
	ctx := context.Background()
	st := embedded.StartDurableForTest(b) // fsync on: the benchmark measures durable writes
	awsCfg, err := st.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// s3Reqs and sqsReqs count the requests (attempts) the clients send,
	// reported per submission (s3req/op, sqsreq/op).
	var s3Reqs, sqsReqs atomic.Int64
	awsCfg.APIOptions = append(awsCfg.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("motcua-bench-count",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				switch awsmiddleware.GetServiceID(ctx) {
				case "S3":
					s3Reqs.Add(1)
				case "SQS":
					sqsReqs.Add(1)
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
	// MOTCUA_SQS_BATCH=false in the environment measures without the
	// coalescing of SQS sends (queue.Batcher), for an A/B in one run.
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", config.KeyUploadsBucket: "motcua-uploads",
		config.KeyEventsQueue: "application-events", "MOTCUA_S3_PATH_STYLE": "true",
		platform.SQSBatchKey: os.Getenv(platform.SQSBatchKey)}, awsCfg)
	if err != nil {
		b.Fatal(err)
	}
	cal, err := workdays.Default()
	if err != nil {
		b.Fatal(err)
	}
	// MOTCUA_BENCH_MARKER_BATCH=false hides the store's DeleteMany, so the
	// outbox cleaner deletes markers one request each (the A side of an
	// A/B in one run).
	store := p.Store
	if os.Getenv("MOTCUA_BENCH_MARKER_BATCH") == "false" {
		store = struct{ docstore.Store }{p.Store}
	}
	svc, err := application.NewService(application.Deps{
		Store: store, Uploads: p.Uploads, Publisher: p.Queue, EventsQueue: p.Config.EventsQueue,
		Procedures: fakeProcedures{"X.HT.004": testProcedure()}, Calendar: cal, Log: quiet,
		Guard: guardtest.Guard(b, p.Store, citizenguard.WithLogger(quiet)),
	})
	if err != nil {
		b.Fatal(err)
	}
	h := application.NewHTTP(svc, idempotency.New(p.Store, "idempotency/submit-application", 0), quiet)
	body, err := json.Marshal(validInput())
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(25) // 50 submitters on 2 cores
	s3Reqs.Store(0)
	sqsReqs.Store(0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{
				"Content-Type": {"application/json"}, "Idempotency-Key": {uuid.NewString()}}}
			if r := h.Serve(ctx, req); r.StatusCode != http.StatusCreated {
				b.Fatalf("status %d: %s", r.StatusCode, r.Body)
			}
		}
	})
	b.StopTimer()
	_ = svc.Drain(ctx)
	b.ReportMetric(float64(s3Reqs.Load())/float64(b.N), "s3req/op")
	b.ReportMetric(float64(sqsReqs.Load())/float64(b.N), "sqsreq/op")
}
