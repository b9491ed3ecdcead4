package application_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/config"
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
	st, err := embedded.Start(ctx, embedded.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	awsCfg, err := st.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
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
	svc, err := application.NewService(application.Deps{
		Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue, EventsQueue: p.Config.EventsQueue,
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
}
