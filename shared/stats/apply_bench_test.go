package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/infra/embedded"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// countingHTTP counts the S3 requests by method.
type countingHTTP struct {
	next aws.HTTPClient
	n    sync.Map // method -> *atomic.Int64
}

func (c *countingHTTP) Do(r *http.Request) (*http.Response, error) {
	v, _ := c.n.LoadOrStore(r.Method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	return c.next.Do(r)
}

// BenchmarkApplyConcurrent is the stats consumer's storage work as the
// connector drives it: 4 (the connector's default) or 16
// (com.openfaas.queue.concurrency of stats in stack.yml) events at once, each applying one application's contribution to
// the aggregates on the embedded S3 with fsync on (one op = one event; the
// applications of one agency group share parts and summaries, as a busy
// agency's month does). Reports the S3 requests per event by method:
//
//	go test ./shared/stats -run '^$' -bench ApplyConcurrent -benchtime 1000x
func BenchmarkApplyConcurrent(b *testing.B) {
	for _, inflight := range []int{4, 16} {
		b.Run(fmt.Sprintf("inflight_%d", inflight), func(b *testing.B) { benchApply(b, inflight) })
	}
}

func benchApply(b *testing.B, inflight int) {
	ctx := context.Background()
	st := embedded.StartDurableForTest(b) // fsync on: the benchmark measures durable writes
	awsCfg, err := st.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	counter := &countingHTTP{next: awsCfg.HTTPClient}
	awsCfg.HTTPClient = counter
	store := docstore.NewS3Store(s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true }), nil, "motcua-data")
	cal, err := workdays.Default()
	if err != nil {
		b.Fatal(err)
	}
	ix := catalog.NewIndex(fixtureProcs)
	rng := rand.New(rand.NewPCG(13, 2026))
	cs := make([]stats.Contribution, b.N)
	for i := range cs {
		snaps := genApp(rng, cal, i)
		last := snaps[len(snaps)-1]
		last.a.SubmittedAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // one month
		p, _ := ix.Get(last.a.ProcedureCode)
		cs[i] = stats.ApplicationContribution(last.a, stats.ProcedureOf(p), last.r)
	}
	counter.n.Clear()
	var next atomic.Int64
	b.SetParallelism(max(1, inflight/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := stats.Apply(ctx, store, cs[next.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	total := int64(0)
	counter.n.Range(func(k, v any) bool {
		n := v.(*atomic.Int64).Load()
		total += n
		b.ReportMetric(float64(n)/float64(b.N), "S3_"+strings.ToUpper(k.(string))+"/op")
		return true
	})
	b.ReportMetric(float64(total)/float64(b.N), "requests/op")
}
