package main

// The indicators scenario (-stats): the stats function on the embedded
// stack, every read and write through the real AWS SDK over HTTP.
//
// Seed (not timed): n generated applications (channels, settled early /
// on time / late or still open, fees paid or not, some returned and
// rated) and n/10 feedback items are written to the data bucket.
//
// Rebuild: stats.Service.Rebuild over the bucket (what `motcua stats
// rebuild` and the reprocessing job run), wall time and peak heap growth.
//
// Query: GET /function/stats?period=year through the gateway (a typical
// public query), next to GET /function/procedures?code= (a catalog read
// through the same gateway) as the baseline.
//
// Event: POST of one application event to /function/stats through the
// gateway (the connector's delivery: the application and its rating are
// re-read, the contribution replaced), next to the bare S3 GET of the
// application and its rating as the baseline.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/gateway"
	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/delivery"
	"motcua/shared/docstore"
	"motcua/shared/rating"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// statsOptions are the indicators scenario's flags.
type statsOptions struct {
	enabled bool
	apps    int
	n       int
}

// register adds the scenario's flags to fs.
func (o *statsOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "stats", false, "run the indicators scenario (rebuild time and memory, query and per-event latency)")
	fs.IntVar(&o.apps, "stats-apps", 20000, "generated applications (feedback items: a tenth of it)")
	fs.IntVar(&o.n, "stats-n", 300, "timed queries and events")
}

// validate checks the flags when the scenario is enabled.
func (o statsOptions) validate() error {
	if o.enabled && (o.apps < 10 || o.n < 1) {
		return fmt.Errorf("-stats-apps must be at least 10 and -stats-n at least 1")
	}
	return nil
}

// StatsReport is the indicators scenario's result.
type StatsReport struct {
	Applications int     `json:"applications"`
	Feedback     int     `json:"feedback"`
	SeedSeconds  float64 `json:"seed_seconds"`
	// RebuildSeconds and RebuildPeakHeapMiB are the rebuild's wall time and
	// peak heap growth.
	RebuildSeconds float64 `json:"rebuild_seconds"`
	// RebuildReadingSeconds is the part spent listing and reading documents.
	RebuildReadingSeconds float64 `json:"rebuild_reading_seconds"`
	RebuildPeakHeapMiB    float64 `json:"rebuild_peak_heap_mib"`
	// Query and Event are the two latency pairs (A baseline, B stats).
	Query Pair `json:"query"`
	Event Pair `json:"event"`
}

// seedAgencies are the generated applications' agencies and procedures
// (seed catalog procedures, so field and level resolve).
var seedProcedures = []struct{ code, agency string }{
	{"T.TP.001", "STP"}, {"X.HT.004", "UBND-X-VIETHUNG"}, {"X.HT.005", "UBND-X-VIETHUNG"},
}

// genApplication returns a synthetic application filed in 2026.
func genApplication(rng *rand.Rand, cal *workdays.Calendar, i int) (application.Application, *rating.Rating) {
	p := seedProcedures[rng.IntN(len(seedProcedures))]
	at := time.Date(2026, time.Month(1+rng.IntN(10)), 1+rng.IntN(28), 1+rng.IntN(8), 0, 0, 0, time.UTC)
	due := cal.AddWorkingDays(at, 5).UTC()
	a := application.Application{
		Code: fmt.Sprintf("%s-%s-%05d", p.agency, at.Format("060102"), i), ProcedureCode: p.code,
		Agency: application.Agency{Code: p.agency}, Channel: []application.Channel{"online", "online", "direct", "postal"}[rng.IntN(4)],
		Status: application.StatusProcessing, SubmittedAt: at, DueAt: due, Version: 1 + rng.IntN(8),
		Fee:      application.Fee{PaymentState: application.PaymentNotRequired},
		Timeline: []application.Event{{At: at, Status: application.StatusSubmitted, Actor: "citizen"}},
	}
	if rng.IntN(3) == 0 {
		a.Fee = application.Fee{AmountVND: 50000, PaymentState: application.PaymentUnpaid}
		if rng.IntN(2) == 0 {
			paid := at.Add(time.Hour)
			a.Fee.PaymentState, a.Fee.PaidAt, a.Fee.PaymentMethod = application.PaymentPaid, &paid, "vnpay"
		}
	}
	if rng.IntN(5) == 0 {
		return a, nil
	}
	settled := at.Add(time.Duration(1+rng.IntN(10*24)) * time.Hour)
	a.SettledAt, a.Settlement, a.Status = &settled, workdays.Settlement(due, settled), application.StatusProcessed
	if rng.IntN(2) == 0 {
		return a, nil
	}
	ret := settled.Add(time.Hour)
	a.Status = application.StatusReturned
	a.Timeline = append(a.Timeline, application.Event{At: ret, Status: application.StatusReturned, Note: "Trả kết quả trực tuyến"})
	if rng.IntN(2) == 0 {
		return a, &rating.Rating{Code: a.Code, AgencyCode: p.agency, ProcedureCode: p.code, Overall: 1 + rng.IntN(5), At: ret.Add(time.Hour)}
	}
	return a, nil
}

// genFeedbackItem returns a synthetic feedback item document.
func genFeedbackItem(rng *rand.Rand, i int) map[string]any {
	at := time.Date(2026, time.Month(1+rng.IntN(10)), 1+rng.IntN(28), 2, 0, 0, 0, time.UTC)
	it := map[string]any{"id": fmt.Sprintf("PAKN-BENCH-%06d", i), "version": 2, "fieldName": "Hộ tịch",
		"agency": map[string]string{"code": seedProcedures[rng.IntN(3)].agency}, "receivedAt": at, "status": "received"}
	if rng.IntN(3) > 0 {
		it["firstAnsweredAt"], it["status"] = at.Add(time.Duration(rng.IntN(30*24))*time.Hour), "answered"
	}
	return it
}

func benchStats(ctx context.Context, a *app.App, o statsOptions, stderr io.Writer) (*StatsReport, error) {
	store := docstore.NewS3Store(a.S3(), nil, appDataBucket)
	cal, err := workdays.Default()
	if err != nil {
		return nil, err
	}
	rep := &StatsReport{Applications: o.apps, Feedback: o.apps / 10}
	client := &http.Client{Transport: gateway.NewTransport(), Timeout: 60 * time.Second}
	get := func(ctx context.Context, url string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, res.StatusCode)
		}
		return nil
	}
	// The procedures function seeds the catalog on its first call.
	if err := get(ctx, a.GatewayURL()+"/function/procedures?code=T.TP.001"); err != nil {
		return nil, err
	}

	progress(stderr, "stats: seeding %d applications and %d feedback items", rep.Applications, rep.Feedback)
	rng := rand.New(rand.NewPCG(7, 66))
	type doc struct {
		key string
		v   any
	}
	docs := make([]doc, 0, rep.Applications*2+rep.Feedback)
	var codes []string
	for i := range rep.Applications {
		ap, r := genApplication(rng, cal, i)
		docs = append(docs, doc{application.Key(ap.ID()), ap})
		codes = append(codes, ap.Code)
		if r != nil {
			docs = append(docs, doc{rating.Key(r.Code), r})
		}
	}
	for i := range rep.Feedback {
		it := genFeedbackItem(rng, i)
		docs = append(docs, doc{stats.FeedbackKey(it["id"].(string)), it})
	}
	begin := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var seedErr error
	var once sync.Once
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(docs)); i = next.Add(1) - 1 {
				if _, err := docstore.PutJSON(ctx, store, docs[i].key, docs[i].v, docstore.PutOptions{}); err != nil {
					once.Do(func() { seedErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if seedErr != nil {
		return nil, seedErr
	}
	rep.SeedSeconds = time.Since(begin).Seconds()

	progress(stderr, "stats: rebuilding from the bucket")
	svc, err := stats.NewService(store, catalog.NewCatalog(store), cal, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	var rebuildErr error
	var res stats.RebuildResult
	peak := heapPeak(func() { res, rebuildErr = svc.Rebuild(ctx) })
	if rebuildErr != nil {
		return nil, rebuildErr
	}
	rep.RebuildSeconds, rep.RebuildReadingSeconds, rep.RebuildPeakHeapMiB = res.Duration.Seconds(), res.Reading.Seconds(), float64(peak)/(1<<20)

	progress(stderr, "stats: %d queries and %d events through the gateway", o.n, o.n)
	base, err := series(ctx, o.n, func(ctx context.Context) error {
		return get(ctx, a.GatewayURL()+"/function/procedures?code=T.TP.001")
	})
	if err != nil {
		return nil, err
	}
	q, err := series(ctx, o.n, func(ctx context.Context) error {
		return get(ctx, a.GatewayURL()+"/function/stats?period=year&year=2026")
	})
	if err != nil {
		return nil, err
	}
	rep.Query = Pair{Name: "typical query: a year, whole province", LabelA: "GET procedures?code= (gateway)", LabelB: "GET stats?period=year (gateway)",
		A: ptr(summarize(base)), B: ptr(summarize(q))}

	i := 0
	read, err := series(ctx, o.n, func(ctx context.Context) error {
		code := codes[(i*7919)%len(codes)]
		i++
		var ap application.Application
		if _, err := docstore.GetJSON(ctx, store, "applications/"+code+".json", &ap); err != nil {
			return err
		}
		_, _ = rating.Get(ctx, store, code)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The stats function takes deliveries from the queue connector only:
	// sign each event with the stack's delivery secret, as the connector does.
	secret, err := a.Runner().Secret(delivery.SecretName)
	if err != nil {
		return nil, fmt.Errorf("delivery secret: %w", err)
	}
	deliverySecrets := delivery.ParseSecrets(string(secret))
	j := 0
	ev, err := series(ctx, o.n, func(ctx context.Context) error {
		code := codes[(j*7919)%len(codes)]
		j++
		body := fmt.Sprintf(`{"id":%q,"type":"application.returned","payload":{"code":%q}}`, uuid.NewString(), code)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.GatewayURL()+"/function/stats", bytes.NewReader([]byte(body)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		delivery.Sign(req.Header, deliverySecrets, time.Now(), []byte(body))
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("POST stats: %d", res.StatusCode)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Event = Pair{Name: "one application event (re-read + replace contribution)", LabelA: "S3 GET application + rating", LabelB: "POST stats event (gateway)",
		A: ptr(summarize(read)), B: ptr(summarize(ev))}
	return rep, nil
}

// series runs fn n times one after the other and returns the latencies.
func series(ctx context.Context, n int, fn func(context.Context) error) ([]time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := fn(ctx); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(start))
	}
	return ds, nil
}

// heapPeak runs fn and returns the peak growth of the heap in use, sampled
// every 10 ms.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// printStats writes the scenario's table.
func printStats(w io.Writer, r *StatsReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "### Indicators (%d applications, %d feedback items; seeded in %.1f s)\n\n", r.Applications, r.Feedback, r.SeedSeconds)
	fmt.Fprintf(w, "- rebuild from the bucket: %.2f s (%.2f s of it reading the documents), peak heap growth %.1f MiB\n\n",
		r.RebuildSeconds, r.RebuildReadingSeconds, r.RebuildPeakHeapMiB)
	fmt.Fprintln(w, "| measurement | baseline | stats | n | baseline p50 | baseline p99 | stats p50 | stats p99 | ratio p50 | ratio p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range []Pair{r.Query, r.Event} {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f× | %.2f× |\n", p.Name, p.LabelA, p.LabelB, p.B.N,
			p.A.P50Ms, p.A.P99Ms, p.B.P50Ms, p.B.P99Ms, p.B.P50Ms/max(p.A.P50Ms, 0.001), p.B.P99Ms/max(p.A.P99Ms, 0.001))
	}
	fmt.Fprintln(w)
}
