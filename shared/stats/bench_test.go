package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/rating"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// benchStore holds a generated province: apps applications (random paths
// of the real state machine, a third of the returned ones rated) and fb
// feedback items, built once per size.
var benchStores sync.Map

func benchStore(b *testing.B, apps, fb int) *docstore.MemStore {
	key := fmt.Sprint(apps, fb)
	if s, ok := benchStores.Load(key); ok {
		return s.(*docstore.MemStore)
	}
	ctx := context.Background()
	cal, err := workdays.Default()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	store := docstore.NewMemStore("bench")
	for i := range apps {
		snaps := genApp(rng, cal, i)
		last := snaps[len(snaps)-1]
		if _, err := docstore.PutJSON(ctx, store, application.Key(last.a.ID()), last.a, docstore.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		if last.r != nil {
			if _, err := docstore.PutJSON(ctx, store, rating.Key(last.r.Code), last.r, docstore.PutOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range fb {
		snaps := genFeedback(rng, i)
		last := snaps[len(snaps)-1]
		if _, err := docstore.PutJSON(ctx, store, stats.FeedbackKey(last.ID), last, docstore.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	benchStores.Store(key, store)
	return store
}

// peakHeap watches the heap in use while fn runs (every 5 ms: ReadMemStats
// stops the world) and returns its highest value above the heap in use
// before fn started.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
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

// BenchmarkRebuild rebuilds every indicator from 100 000 applications and
// 10 000 feedback items in the in-memory store (the documents are
// generated once, outside the timing). Reports peak heap growth.
//
//	go test -run '^$' -bench Rebuild -benchtime 3x ./shared/stats
func BenchmarkRebuild(b *testing.B) {
	for _, size := range []struct{ apps, fb int }{{10_000, 1_000}, {100_000, 10_000}} {
		b.Run(fmt.Sprintf("apps_%d_feedback_%d", size.apps, size.fb), func(b *testing.B) {
			store := benchStore(b, size.apps, size.fb)
			svc := newService(b, store, time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC))
			var peak uint64
			b.ResetTimer()
			for b.Loop() {
				p := peakHeap(func() {
					if _, err := svc.Rebuild(context.Background()); err != nil {
						b.Fatal(err)
					}
				})
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size.apps+size.fb)/(b.Elapsed().Seconds()/float64(b.N)), "docs/s")
		})
	}
}

// BenchmarkQuery is a typical GET: a year for the whole province over the
// 100 000-application aggregates (twelve month summaries read and summed,
// the figures computed), against reading one month summary alone.
func BenchmarkQuery(b *testing.B) {
	store := benchStore(b, 100_000, 10_000)
	svc := newService(b, store, time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := svc.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("baseline_read_one_month_summary", func(b *testing.B) {
		for b.Loop() {
			if _, err := stats.ReadSummary(ctx, store, "2026-03"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("year_whole_province", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Report(ctx, stats.Query{Period: "year", From: "2026-01", To: "2026-12"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("quarter_one_agency_one_field", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Report(ctx, stats.Query{Period: "quarter", From: "2026-04", To: "2026-06", Agency: "STNMT", Field: "Đất đai"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEvent is the incremental cost of one event on the
// 100 000-application aggregates: re-read the application (and its rating),
// replace its contribution in its shards and summaries. The baseline is
// the bare read of the application and its rating.
func BenchmarkEvent(b *testing.B) {
	store := benchStore(b, 100_000, 10_000)
	svc := newService(b, store, time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := svc.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	repo := application.NewRepository(store)
	b.Run("baseline_read_document", func(b *testing.B) {
		i := 0
		for b.Loop() {
			code := fmt.Sprintf("R-260101-%04d", i%100_000)
			c, _ := application.ParseCode(code)
			if _, _, err := repo.Get(ctx, c); err != nil {
				b.Fatal(err)
			}
			_, _ = rating.Get(ctx, store, code)
			i++
		}
	})
	b.Run("application_event_unchanged", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := svc.RefreshApplication(ctx, fmt.Sprintf("R-260101-%04d", i%100_000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("application_event_changed", func(b *testing.B) {
		// Each iteration bumps one application's version so its entry is
		// rewritten (shard + summary CAS writes).
		i := 0
		for b.Loop() {
			code := fmt.Sprintf("R-260101-%04d", i%100_000)
			b.StopTimer()
			c, _ := application.ParseCode(code)
			if _, err := repo.Update(ctx, c, func(*application.Application) error { return nil }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := svc.RefreshApplication(ctx, code); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
