package kinds

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/shared/jobs"
	"motcua/shared/outbox"
	"motcua/shared/queue"
)

// BenchmarkReprocess measures items per second of whole jobs (plan not
// counted: from confirmation to the job's end) through the real connector
// and the embedded S3/SQS, with 1, 2 and 4 worker replicas, each next to
// its baseline measured in the same run:
//
//   - republish-outbox over MOTCUA_BENCH_ITEMS (10 000) stale outbox
//     markers; baseline: outbox.Repair, the sequential sweep behind
//     `motcua outbox repair`;
//   - redrive-dlq over as many messages in a dead-letter queue; baseline:
//     one SQS message-move task started and watched directly.
//
// Run: go test -run '^$' -bench Reprocess -benchtime 1x ./shared/jobs/kinds/
// (about a minute on a 2-core machine). Metrics: items/s, and x_baseline
// (the job's rate over its baseline's).
func BenchmarkReprocess(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("MOTCUA_BENCH_ITEMS")); err == nil && v > 0 {
		n = v
	}
	var outboxBase, redriveBase float64
	b.Run("republish-outbox/baseline=outbox.Repair", func(b *testing.B) {
		for range b.N {
			r := newRig(b, 1, func(r *rig) []jobs.Kind { return nil })
			seedOutbox(b, r, n)
			start := time.Now()
			res, err := outbox.Repair(context.Background(), r.store, r.pub, 0, nil, slog.New(slog.DiscardHandler))
			if err != nil || res.Published != n {
				b.Fatalf("repair: %+v %v", res, err)
			}
			outboxBase = float64(n) / time.Since(start).Seconds()
		}
		b.ReportMetric(outboxBase, "items/s")
	})
	for _, replicas := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("republish-outbox/replicas=%d", replicas), func(b *testing.B) {
			var rate float64
			for range b.N {
				r := newRig(b, replicas, func(r *rig) []jobs.Kind {
					return []jobs.Kind{&RepublishOutbox{Outbox: DefaultOutbox(r.store, r.pub)}}
				})
				seedOutbox(b, r, n)
				j, secs := r.run("republish-outbox", jobs.Scope{OlderThan: "0s"}, 0, 10*time.Minute)
				if j.Progress.Done != n || j.Status != jobs.StatusCompleted {
					b.Fatalf("%s %+v", j.Status, j.Progress)
				}
				rate = float64(n) / secs
			}
			b.ReportMetric(rate, "items/s")
			if outboxBase > 0 {
				b.ReportMetric(rate/outboxBase, "x_baseline")
			}
		})
	}
	b.Run("redrive-dlq/baseline=move-task", func(b *testing.B) {
		for range b.N {
			r := newRig(b, 1, func(r *rig) []jobs.Kind { return nil })
			seedDLQ(b, r, "bench-orders", n)
			k := &RedriveDLQ{SQS: r.sqs, Poll: 20 * time.Millisecond, Wait: 10 * time.Minute}
			start := time.Now()
			res, err := k.Apply(context.Background(), jobs.Scope{}, jobs.Item{Key: "bench-orders" + DLQSuffix})
			if err != nil || res.Outcome != jobs.OutcomeChanged {
				b.Fatalf("move: %+v %v", res, err)
			}
			redriveBase = float64(n) / time.Since(start).Seconds()
		}
		b.ReportMetric(redriveBase, "items/s")
	})
	for _, replicas := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("redrive-dlq/replicas=%d", replicas), func(b *testing.B) {
			var rate float64
			for range b.N {
				r := newRig(b, replicas, func(r *rig) []jobs.Kind {
					return []jobs.Kind{&RedriveDLQ{SQS: r.sqs, Poll: 20 * time.Millisecond}}
				})
				seedDLQ(b, r, "bench-orders", n)
				j, secs := r.run("redrive-dlq", jobs.Scope{Queue: "bench-orders"}, 0, 10*time.Minute)
				if j.Status != jobs.StatusCompleted || j.Progress.Done != 1 || r.depth("bench-orders") != n {
					b.Fatalf("%s %+v, %d moved", j.Status, j.Progress, r.depth("bench-orders"))
				}
				rate = float64(n) / secs
			}
			b.ReportMetric(rate, "items/s")
			if redriveBase > 0 {
				b.ReportMetric(rate/redriveBase, "x_baseline")
			}
		})
	}
}

// seedOutbox writes n stale outbox markers (16 writers) and waits until
// they are older than "now" at S3's one-second resolution.
func seedOutbox(b testing.TB, r *rig, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				env, err := queue.NewEnvelope("application.bench", "", map[string]int{"i": i})
				if err == nil {
					err = outbox.Stage(ctx, r.store, "application-events", env, outbox.Tie{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
}

// seedDLQ creates name and its DLQ and puts n messages in the DLQ.
func seedDLQ(b testing.TB, r *rig, name string, n int) {
	b.Helper()
	r.createQueue(name, 30, 3)
	ctx := context.Background()
	dlq := name + DLQSuffix
	u, err := r.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &dlq})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * 10; i < n; i += 80 {
				var entries []types.SendMessageBatchRequestEntry
				for j := i; j < min(i+10, n); j++ {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(`{"order":` + strconv.Itoa(j) + `}`)})
				}
				out, err := r.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: u.QueueUrl, Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("%d failed", len(out.Failed))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	if d := r.depth(dlq); d != n {
		b.Fatalf("DLQ holds %d, want %d", d, n)
	}
}
