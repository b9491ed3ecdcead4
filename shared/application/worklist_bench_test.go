package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
)

// BenchmarkWorkQueue compares the first page (50) of an agency's open
// applications read from the index with the baseline the index replaces:
// reading every application document and filtering, over the same 3 000
// applications (2 500 of the agency). Compare ns/op of the two sub-benchmarks.
func BenchmarkWorkQueue(b *testing.B) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(b, store)
	seedAgencies(b, store, 2500)
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			res, err := p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{Limit: 50})
			if err != nil || len(res.Items) != 50 {
				b.Fatal(err, len(res.Items))
			}
		}
	})
	b.Run("scan_baseline", func(b *testing.B) {
		for b.Loop() {
			var open []application.Application
			next := ""
			for {
				page, err := store.List(ctx, "applications/", next, 1000)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range page.Entries {
					var a application.Application
					if _, err := docstore.GetJSON(ctx, store, e.Key, &a); err != nil {
						b.Fatal(err)
					}
					if strings.EqualFold(a.Agency.Code, "STP") && a.Status != application.StatusRejected && a.Status != application.StatusReturned && a.Status != application.StatusCancelled {
						open = append(open, a)
					}
				}
				if page.Next == "" {
					break
				}
				next = page.Next
			}
			slices.SortFunc(open, func(x, y application.Application) int { return x.DueAt.Compare(y.DueAt) })
			if len(open) < 50 {
				b.Fatal(len(open))
			}
		}
	})
}

// BenchmarkCountsBump moves applications of ONE agency from received into
// a finished status (returned, rejected, cancelled: each move counted in
// the agency's counts document) with 32 concurrent callers, through one
// process or spread over two and four (each with its own S3 client) on
// the embedded S3 with fsync on. One op is one SyncIndex of a move.
// Reports the bumps that gave up (a count lost until reindex), the counts
// document's PUTs and lost compare-and-swaps per bump, and the CPU of the
// whole process (callers and embedded S3) per op:
//
//	go test ./shared/application -run '^$' -bench CountsBump -benchtime 600x
func BenchmarkCountsBump(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) {
			ctx := context.Background()
			procs := countsProcesses(b, n, true)
			apps, to := finishedApps("STP", b.N)
			for i, a := range apps {
				if err := application.SyncIndex(ctx, procs[i%n], a); err != nil {
					b.Fatal(err)
				}
			}
			var next, gaveUp atomic.Int64
			b.SetParallelism(16)
			begin, cpu0 := time.Now(), benchCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					a := apps[i]
					a.Status, a.Version = to[i], 3
					if err := application.SyncIndex(ctx, procs[i%n], a); err != nil {
						if !errors.Is(err, docstore.ErrPrecondition) {
							b.Error(err)
						}
						gaveUp.Add(1)
					}
				}
			})
			b.StopTimer()
			var puts, lost int64
			for _, p := range procs {
				puts += p.puts.Load()
				lost += p.lost.Load()
			}
			b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "bumps/s")
			b.ReportMetric(float64((benchCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(gaveUp.Load()), "gave-up")
			b.ReportMetric(float64(puts)/float64(b.N), "counts-puts/op")
			b.ReportMetric(float64(lost)/float64(b.N), "cas-lost/op")
		})
	}
}

// benchCPU is the CPU time (user + system) this process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
