package application_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/config"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
	"motcua/shared/workdays"
)

// countingHTTP counts the storage requests (S3 by method, SQS by action)
// an AWS client makes while on is set.
type countingHTTP struct {
	next aws.HTTPClient
	on   atomic.Bool
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingHTTP) Do(r *http.Request) (*http.Response, error) {
	if c.on.Load() {
		k := "S3 " + r.Method
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			k = "SQS " + t[strings.LastIndexByte(t, '.')+1:]
		}
		c.mu.Lock()
		c.n[k]++
		c.mu.Unlock()
	}
	return c.next.Do(r)
}

// report adds one metric per request kind (per op) and their total.
func (c *countingHTTP) report(b *testing.B, ops int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	total := 0
	for k, v := range c.n {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.ReportMetric(float64(c.n[k])/float64(ops), strings.ReplaceAll(k, " ", "_")+"/op")
	}
	b.ReportMetric(float64(total)/float64(ops), "requests/op")
}

// BenchmarkStaffHTTP runs the province's staff intake (receive, start,
// require_payment; one op is one application's three calls) through the
// process-application HTTP layer (JWT check, Idempotency-Key, CAS write,
// audit record, outbox, work-queue index, fan-out) against the embedded
// S3/SQS with fsync on, 32 concurrent officers, in one process, and reports
// the storage requests per op by kind:
//
//	go test ./shared/application -run '^$' -bench StaffHTTP -benchtime 300x -cpuprofile /tmp/staff.prof
//	go tool pprof -top -nodecount 40 /tmp/staff.prof
func BenchmarkStaffHTTP(b *testing.B) {
	ctx := context.Background()
	st := embedded.StartDurableForTest(b) // fsync on: the benchmark measures durable writes
	awsCfg, err := st.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	counter := &countingHTTP{next: awsCfg.HTTPClient, n: map[string]int{}}
	awsCfg.HTTPClient = counter
	secrets := filepath.Join(b.TempDir(), "secrets")
	signer := stafftest.WriteKeys(b, secrets)
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", config.KeyUploadsBucket: "motcua-uploads",
		config.KeyEventsQueue: "application-events", "MOTCUA_S3_PATH_STYLE": "true", config.SecretsDirKey: secrets}, awsCfg)
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
	// The function's own wiring (functions/process-application).
	proc, err := application.NewProcessor(p.Store, p.Queue, p.Config.EventsQueue, cal, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := staffauth.NewVerifier(p.Secrets)
	if err != nil {
		b.Fatal(err)
	}
	staff := application.NewStaffHTTP(proc, idempotency.New(p.Store, "idempotency/process-application", idempotency.DefaultTTL),
		verifier.Verify, nil, quiet)
	tok := "Bearer " + stafftest.Token(b, signer, "officer-1", testProcedure().Agency.Code)

	codes := make([]string, b.N)
	sub := application.NewHTTP(svc, idempotency.New(p.Store, "idempotency/submit-application", 0), quiet)
	body, err := json.Marshal(validInput())
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				r := sub.Serve(ctx, handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{
					"Content-Type": {"application/json"}, "Idempotency-Key": {uuid.NewString()}}})
				var out application.SubmitResult
				if r.StatusCode != http.StatusCreated || json.Unmarshal(r.Body, &out) != nil {
					panic(fmt.Sprintf("submit: %d %s", r.StatusCode, r.Body))
				}
				codes[i] = out.Code
			}
		})
	}
	wg.Wait()
	_ = svc.Drain(ctx)

	act := func(code, action string) {
		req := handler.Request{Method: http.MethodPost, Body: []byte(`{"code":"` + code + `","action":"` + action + `"}`), Header: http.Header{
			"Content-Type": {"application/json"}, "Authorization": {tok}, "Idempotency-Key": {uuid.NewString()}}}
		if r := staff.Serve(ctx, req); r.StatusCode != http.StatusOK {
			panic(fmt.Sprintf("%s %s: %d %s", action, code, r.StatusCode, r.Body))
		}
	}
	next.Store(0)
	b.SetParallelism(16) // 32 officers on 2 cores
	counter.on.Store(true)
	begin := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code := codes[next.Add(1)-1]
			for _, a := range []string{"receive", "start", "require_payment"} {
				act(code, a)
			}
		}
	})
	b.StopTimer()
	counter.on.Store(false)
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "apps/s")
	counter.report(b, b.N)
}
