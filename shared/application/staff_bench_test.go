package application_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/config"
	"motcua/shared/idempotency"
	"motcua/shared/payment"
	"motcua/shared/platform"
	"motcua/shared/rating"
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

// staffBench is the stack of the staff and citizen benchmarks: the
// embedded S3/SQS with fsync on, the functions' own wiring of
// process-application (with results) and application-status (with result
// downloads), and n submitted applications.
type staffBench struct {
	ctx     context.Context
	counter *countingHTTP
	staff   *application.StaffHTTP
	status  *application.StatusHTTP
	toks    []string // a token per agency
	agency  []int    // the agency (index into toks) of each application
	codes   []string
	pins    []string
	p       *platform.Platform
	guard   *citizenguard.Guard
	// drains wait for background work of the services (outbox markers
	// deleted in batches), so it is counted with the ops that caused it.
	drains []func(context.Context) error
}

// drainer is a service with background work to wait for (Drain).
type drainer interface{ Drain(context.Context) error }

// addDrain registers v's Drain, when it has one (not every version of the
// services has: the benchmark compiles against older trees for A/B runs).
func (sb *staffBench) addDrain(v any) {
	if d, ok := v.(drainer); ok {
		sb.drains = append(sb.drains, d.Drain)
	}
}

func newStaffBench(b *testing.B, n int) *staffBench { return newStaffBenchAgencies(b, n, 1) }

// benchProcedure is the test procedure of agency k of a benchmark (k = 0
// is testProcedure's agency).
func benchProcedure(k int) catalog.Procedure {
	p := testProcedure()
	if k > 0 {
		p.Code = fmt.Sprintf("X.HT.%03d", 100+k)
		p.Agency.Code = fmt.Sprintf("UBND-X-BENCH%02d", k)
	}
	return p
}

// newStaffBenchAgencies is newStaffBench with the applications spread
// round-robin over agencies agencies (one procedure and one officer each),
// as the province's are over its agencies.
func newStaffBenchAgencies(b *testing.B, n, agencies int) *staffBench {
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
	guard := guardtest.Guard(b, p.Store, citizenguard.WithLogger(quiet))
	procs := fakeProcedures{}
	for k := range agencies {
		procs[benchProcedure(k).Code] = benchProcedure(k)
	}
	svc, err := application.NewService(application.Deps{
		Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue, EventsQueue: p.Config.EventsQueue,
		Procedures: procs, Calendar: cal, Log: quiet, Guard: guard,
	})
	if err != nil {
		b.Fatal(err)
	}
	// The functions' own wiring (functions/process-application,
	// functions/application-status).
	proc, err := application.NewProcessor(p.Store, p.Queue, p.Config.EventsQueue, cal, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	proc.WithResults(p.Uploads)
	verifier, err := staffauth.NewVerifier(p.Secrets)
	if err != nil {
		b.Fatal(err)
	}
	repo := application.NewRepository(p.Store)
	results, err := application.NewResultDownloads(repo, p.Uploads, p.Queue, p.Config.EventsQueue, nil)
	if err != nil {
		b.Fatal(err)
	}
	sb := &staffBench{
		ctx: ctx, counter: counter,
		staff: application.NewStaffHTTP(proc, idempotency.New(p.Store, "idempotency/process-application", idempotency.DefaultTTL),
			verifier.Verify, nil, quiet),
		status: application.NewStatusHTTP(application.NewAccess(repo, guard), cal, nil, quiet).WithResults(results),
		codes:  make([]string, n), pins: make([]string, n), agency: make([]int, n), p: p, guard: guard,
	}
	bodies := make([][]byte, agencies)
	for k := range agencies {
		sb.toks = append(sb.toks, "Bearer "+stafftest.Token(b, signer, fmt.Sprintf("officer-%d", k+1), benchProcedure(k).Agency.Code))
		in := validInput()
		in.ProcedureCode = benchProcedure(k).Code
		if bodies[k], err = json.Marshal(in); err != nil {
			b.Fatal(err)
		}
	}
	sb.addDrain(proc)
	sb.addDrain(results)
	sub := application.NewHTTP(svc, idempotency.New(p.Store, "idempotency/submit-application", 0), quiet)
	sb.parallel(16, n, func(i int) {
		sb.agency[i] = i % agencies
		r := sub.Serve(ctx, handler.Request{Method: http.MethodPost, Body: bodies[sb.agency[i]], Header: http.Header{
			"Content-Type": {"application/json"}, "Idempotency-Key": {uuid.NewString()}}})
		var out application.SubmitResult
		if r.StatusCode != http.StatusCreated || json.Unmarshal(r.Body, &out) != nil {
			panic(fmt.Sprintf("submit: %d %s", r.StatusCode, r.Body))
		}
		sb.codes[i], sb.pins[i] = out.Code, out.PIN
	})
	_ = svc.Drain(ctx)
	return sb
}

// parallel runs f(0) … f(n-1) on workers goroutines.
func (sb *staffBench) parallel(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// act applies one staff action (body without the code) to application i,
// as an officer of its agency.
func (sb *staffBench) act(i int, action string) []byte {
	return sb.staffPOST(i, "", `{"code":"`+sb.codes[i]+`",`+action+`}`)
}

func (sb *staffBench) staffPOST(i int, query, body string) []byte {
	req := handler.Request{Method: http.MethodPost, QueryString: query, Body: []byte(body), Header: http.Header{
		"Content-Type": {"application/json"}, "Authorization": {sb.toks[sb.agency[i]]}, "Idempotency-Key": {uuid.NewString()}}}
	r := sb.staff.Serve(sb.ctx, req)
	if r.StatusCode != http.StatusOK {
		panic(fmt.Sprintf("%s %s: %d %s", query, body, r.StatusCode, r.Body))
	}
	return r.Body
}

// results takes code from processing to returned as the province's
// results stage does: presigned result upload, the PUT itself (straight
// to the embedded S3, not counted: a client's request), complete, return.
func (sb *staffBench) results(i int) {
	code := sb.codes[i]
	pdf := []byte("%PDF-1.4\n% result of " + code + "\n%%EOF\n")
	var up application.ResultUpload
	if err := json.Unmarshal(sb.staffPOST(i, "op="+application.OpResultUpload, fmt.Sprintf(`{"code":%q,"size":%d}`, code, len(pdf))), &up); err != nil {
		panic(err)
	}
	req, err := http.NewRequestWithContext(sb.ctx, up.Method, up.URL, bytes.NewReader(pdf))
	if err != nil {
		panic(err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(pdf))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		panic(fmt.Sprintf("PUT result: %d", resp.StatusCode))
	}
	sb.act(i, fmt.Sprintf(`"action":"complete","result":{"documentKey":%q,"description":"Trích lục khai sinh"}`, up.DocumentKey))
	sb.act(i, `"action":"return","delivery":{"method":"online"}`)
}

// citizenReq is a citizen's POST of body from the citizen's own address
// (one per application i, as the province's citizens have).
func citizenReq(i int, query, body string) handler.Request {
	return handler.Request{Method: http.MethodPost, QueryString: query, Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)},
			"Idempotency-Key": {uuid.NewString()}}}
}

// citizen sends the status look-up (action "" or download-result) of
// application i from the citizen's own address, as the province's
// citizens do.
func (sb *staffBench) citizen(i int, action string) {
	req := citizenReq(i, "", `{"code":"`+sb.codes[i]+`","pin":"`+sb.pins[i]+`"}`)
	if action != "" {
		req.QueryString = "action=" + action
	}
	if r := sb.status.Serve(sb.ctx, req); r.StatusCode != http.StatusOK {
		panic(fmt.Sprintf("status %s %s: %d %s", action, sb.codes[i], r.StatusCode, r.Body))
	}
}

// measure runs op(i) for i in [0, b.N) with 32 concurrent callers on
// 2 cores, counting the storage requests, and reports them per op with
// the ops per second (unit rate).
func (sb *staffBench) measure(b *testing.B, rate string, op func(i int)) {
	var next atomic.Int64
	b.SetParallelism(16)
	sb.counter.mu.Lock()
	clear(sb.counter.n)
	sb.counter.mu.Unlock()
	sb.counter.on.Store(true)
	begin, cpu0 := time.Now(), cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(int(next.Add(1) - 1))
		}
	})
	for _, d := range sb.drains {
		_ = d(sb.ctx)
	}
	b.StopTimer()
	sb.counter.on.Store(false)
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), rate)
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	sb.counter.report(b, b.N)
}

// cpuTime is the CPU time (user + system) this process has used: the
// handlers, the SDK clients and the embedded S3/SQS servers alike.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	sb := newStaffBench(b, b.N)
	sb.measure(b, "apps/s", func(i int) {
		for _, a := range []string{"receive", "start", "require_payment"} {
			sb.act(i, `"action":"`+a+`"`)
		}
	})
}

// BenchmarkStaffResultsHTTP is the province's results stage for staff
// (one op: ?op=result-upload, the client's PUT of the PDF — not counted —,
// complete, return) on applications being processed, of one agency (every
// return counts in that agency's counts document: its contention shows)
// and spread over eight (as the province's are over its agencies).
//
//	go test ./shared/application -run '^$' -bench StaffResultsHTTP -benchtime 300x
func BenchmarkStaffResultsHTTP(b *testing.B) {
	for _, agencies := range []int{1, 8} {
		b.Run(fmt.Sprintf("agencies=%d", agencies), func(b *testing.B) {
			sb := newStaffBenchAgencies(b, b.N, agencies)
			sb.parallel(16, b.N, func(i int) {
				for _, a := range []string{"receive", "start"} {
					sb.act(i, `"action":"`+a+`"`)
				}
			})
			for _, d := range sb.drains {
				_ = d(sb.ctx)
			}
			sb.measure(b, "apps/s", func(i int) { sb.results(i) })
		})
	}
}

// BenchmarkStatusHTTP is the citizen's side of application-status (code
// and PIN through the citizen guard, each citizen from its own address):
// the look-up of a submitted application, and download-result of a
// returned one (the first download records the electronic delivery, as in
// the province's results stage). One op is one call.
//
//	go test ./shared/application -run '^$' -bench StatusHTTP -benchtime 300x -cpuprofile /tmp/status.prof
func BenchmarkStatusHTTP(b *testing.B) {
	b.Run("lookup", func(b *testing.B) {
		sb := newStaffBench(b, b.N)
		sb.measure(b, "calls/s", func(i int) { sb.citizen(i, "") })
	})
	b.Run("download", func(b *testing.B) {
		sb := newStaffBench(b, b.N)
		sb.parallel(16, b.N, func(i int) {
			for _, a := range []string{"receive", "start"} {
				sb.act(i, `"action":"`+a+`"`)
			}
			sb.results(i)
		})
		sb.measure(b, "calls/s", func(i int) { sb.citizen(i, application.OpDownloadResult) })
	})
}

// BenchmarkPayFeeHTTP is pay-fee's creation of a VietQR payment (the test fee, 4 000 đồng online, is below VNPAY's minimum) (code and
// PIN through the citizen guard, Idempotency-Key, the active-payment
// marker) for applications awaiting payment, each citizen from its own
// address. One op is one call.
//
//	go test ./shared/application -run '^$' -bench PayFeeHTTP -benchtime 300x
func BenchmarkPayFeeHTTP(b *testing.B) {
	sb := newStaffBench(b, b.N)
	sb.parallel(16, b.N, func(i int) {
		for _, a := range []string{"receive", "start", "require_payment"} {
			sb.act(i, `"action":"`+a+`"`)
		}
	})
	// The function's own wiring (functions/pay-fee) with a test merchant.
	svc, err := payment.NewService(payment.Deps{Store: sb.p.Store, Publisher: sb.p.Queue, Guard: sb.guard, Log: quiet}, payment.Config{
		TTL:         15 * time.Minute,
		VietQR:      &payment.VietQRConfig{BankBIN: "970436", AccountNumber: "0011001234567", AccountName: "VAN PHONG UBND TINH"},
		EventsQueue: "payment-events",
	})
	if err != nil {
		b.Fatal(err)
	}
	sb.addDrain(svc)
	h := payment.NewPayHTTP(svc, idempotency.New(sb.p.Store, "idempotency/pay-fee", idempotency.DefaultTTL), quiet)
	sb.measure(b, "calls/s", func(i int) {
		r := h.Serve(sb.ctx, citizenReq(i, "", `{"code":"`+sb.codes[i]+`","pin":"`+sb.pins[i]+`","method":"vietqr"}`))
		if r.StatusCode != http.StatusCreated {
			panic(fmt.Sprintf("pay-fee %s: %d %s", sb.codes[i], r.StatusCode, r.Body))
		}
	})
}

// BenchmarkRateHTTP is rate-application (code and PIN through the citizen
// guard, the rating written once, its event through the outbox) for
// returned applications, each citizen from its own address. One op is one
// call.
//
//	go test ./shared/application -run '^$' -bench RateHTTP -benchtime 300x
func BenchmarkRateHTTP(b *testing.B) {
	sb := newStaffBench(b, b.N)
	sb.parallel(16, b.N, func(i int) {
		for _, a := range []string{"receive", "start"} {
			sb.act(i, `"action":"`+a+`"`)
		}
		sb.results(i)
	})
	// The function's own wiring (functions/rate-application).
	svc, err := rating.NewService(sb.p.Store, application.NewAccess(application.NewRepository(sb.p.Store), sb.guard),
		sb.p.Queue, sb.p.Config.EventsQueue, nil, quiet)
	if err != nil {
		b.Fatal(err)
	}
	sb.addDrain(svc)
	h := rating.NewHTTP(svc, sb.guard.Client, quiet)
	sb.measure(b, "calls/s", func(i int) {
		r := h.Serve(sb.ctx, citizenReq(i, "", `{"code":"`+sb.codes[i]+`","pin":"`+sb.pins[i]+`","overall":5,"time":5,"attitude":4,"simplicity":5,"comment":"Cán bộ hướng dẫn tận tình."}`))
		if r.StatusCode/100 != 2 {
			panic(fmt.Sprintf("rate %s: %d %s", sb.codes[i], r.StatusCode, r.Body))
		}
	})
}
