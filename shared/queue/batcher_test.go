package queue_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/queue"
	"motcua/shared/queue/queuetest"
)

// countingClient counts the SQS requests going through it by action.
type countingClient struct {
	next aws.HTTPClient
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Header.Get("X-Amz-Target")]++
	c.mu.Unlock()
	return c.next.Do(r)
}

func (c *countingClient) count(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n["AmazonSQS."+action]
}

// TestBatcher_contract_embedded runs the contract suite with the Batcher as
// publisher, through the real AWS SDK, against the embedded SQS server.
func TestBatcher_contract_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.SQS(cfg)
	queuetest.Run(t, func(t *testing.T) queuetest.Env {
		env := queuetest.SQSEnv(t, client)
		env.Publisher = queue.NewBatcher(queue.NewSQSPublisher(client), queue.BatcherOptions{})
		return env
	})
}

// TestBatcher_concurrent_publishes_embedded has many goroutines publish at
// once to two queues through one Batcher (real SDK, embedded SQS): every
// message arrives exactly once with its body and attributes, and they went
// in fewer SendMessageBatch requests than messages.
func TestBatcher_concurrent_publishes_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	cfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingClient{next: cfg.HTTPClient, n: map[string]int{}}
	cfg.HTTPClient = counter
	client := awsx.SQS(cfg)
	env := queuetest.SQSEnv(t, client)
	queues := []string{"batch-a-" + fmt.Sprint(time.Now().UnixNano()), "batch-b-" + fmt.Sprint(time.Now().UnixNano())}
	for _, q := range queues {
		env.CreateQueue(t, q, queuetest.QueueSpec{VisibilityTimeout: 300 * time.Second})
	}
	b := queue.NewBatcher(queue.NewSQSPublisher(client), queue.BatcherOptions{})

	const perQueue = 150
	want := map[string]queue.Envelope{} // by envelope ID
	var jobs []struct {
		q   string
		env queue.Envelope
	}
	for i := range perQueue {
		for _, q := range queues {
			e, err := queue.NewEnvelope("application.submitted", fmt.Sprintf("call-%s-%d", q, i), map[string]any{"seq": i, "queue": q, "hoTen": "Nguyễn Văn Á"})
			if err != nil {
				t.Fatal(err)
			}
			want[e.ID] = e
			jobs = append(jobs, struct {
				q   string
				env queue.Envelope
			}{q, e})
		}
	}
	start := make(chan struct{})
	var failed atomic.Int64
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			<-start
			if err := b.Publish(ctx, j.q, j.env); err != nil {
				failed.Add(1)
				t.Errorf("publish %s to %s: %v", j.env.ID, j.q, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}

	got := map[string]int{}
	c := queue.NewConsumer(client)
	for _, q := range queues {
		n := 0
		deadline := time.Now().Add(60 * time.Second)
		for n < perQueue && time.Now().Before(deadline) {
			msgs, err := c.Receive(ctx, q, 10, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				n++
				e, err := m.Envelope()
				if err != nil {
					t.Fatal(err)
				}
				got[e.ID]++
				w, ok := want[e.ID]
				switch {
				case !ok:
					t.Errorf("unexpected envelope %s in %s", e.ID, q)
				case string(e.Payload) != string(w.Payload) || e.Type != w.Type || e.CorrelationID != w.CorrelationID || !e.Time.Equal(w.Time):
					t.Errorf("envelope %s = %+v, want %+v", e.ID, e, w)
				case m.Attributes[queue.AttrEventID] != w.ID || m.Attributes[queue.AttrEventType] != w.Type || m.Attributes[queue.AttrCorrelationID] != w.CorrelationID:
					t.Errorf("envelope %s attributes %v", e.ID, m.Attributes)
				}
			}
		}
		// Nothing more: every message was received once and is hidden,
		// so a duplicate would show up here.
		msgs, err := c.Receive(ctx, q, 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 0 {
			t.Errorf("%s delivered %d more messages than published", q, len(msgs))
		}
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("envelope %s received %d times, want 1", id, got[id])
		}
	}
	st := b.Stats()
	reqs := counter.count("SendMessageBatch")
	t.Logf("%d publishes in %d SendMessageBatch requests (%d SendMessage); stats %+v", len(jobs), reqs, counter.count("SendMessage"), st)
	if int64(reqs) != st.Requests || st.Entries != int64(len(jobs)) || counter.count("SendMessage") != 0 {
		t.Errorf("requests seen %d, stats %+v: want every publish in a counted batch", reqs, st)
	}
	if reqs >= len(jobs) {
		t.Errorf("%d publishes took %d requests: no batch formed", len(jobs), reqs)
	}
}

// BenchmarkFanoutPublish publishes application events (the event plus its 4
// fan-out copies) from 50 goroutines through the real SDK to the embedded
// SQS, with the Batcher and with one SendMessage per copy, and reports the
// SQS requests per event:
//
//	go test ./shared/queue -run '^$' -bench FanoutPublish -benchtime 2000x
func BenchmarkFanoutPublish(b *testing.B) {
	st, err := embedded.Start(context.Background(), embedded.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	for _, mode := range []string{"batcher", "send_message"} {
		b.Run(mode, func(b *testing.B) {
			cfg, err := st.AWSConfig(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			counter := &countingClient{next: cfg.HTTPClient, n: map[string]int{}}
			cfg.HTTPClient = counter
			sqsPub := queue.NewSQSPublisher(awsx.SQS(cfg))
			var pub queue.Publisher = sqsPub
			if mode == "batcher" {
				pub = queue.NewBatcher(sqsPub, queue.BatcherOptions{})
			}
			f := queue.NewFanout(pub, queue.DefaultRoutes)
			b.SetParallelism(25) // 50 publishers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e, err := queue.NewEnvelope("application.submitted", "call-bench", map[string]string{"soHoSo": "H01.2026.000001"})
					if err != nil {
						b.Fatal(err)
					}
					if err := f.Publish(context.Background(), "application-events", e); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.StopTimer()
			reqs := counter.count("SendMessageBatch") + counter.count("SendMessage")
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/event")
		})
	}
}
