package kinds

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/shared/jobs"
)

// TestRedriveDLQ_end_to_end: a consumer fails until it is "fixed", its
// messages land in the DLQ after maxReceiveCount, a redrive-dlq job moves
// them back with an SQS message-move task, and then they succeed — through
// the real connector, the embedded SQS and the jobs worker.
func TestRedriveDLQ_end_to_end(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded stack and the connector")
	}
	r := newRig(t, 2, func(r *rig) []jobs.Kind { return []jobs.Kind{&RedriveDLQ{SQS: r.sqs, Poll: 20 * time.Millisecond}} })
	const queueName, n = "orders-e2e", 25
	qurl := r.createQueue(queueName, 1, 2)
	var fixed atomic.Bool
	var mu sync.Mutex
	succeeded := map[string]int{}
	r.handle("orders", map[string]string{"topic": queueName}, func(w http.ResponseWriter, req *http.Request) {
		if !fixed.Load() {
			http.Error(w, "bug", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		succeeded[req.Header.Get("X-Message-Attr-order")]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	ctx := context.Background()
	for i := range n {
		_, err := r.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &qurl, MessageBody: aws.String(`{"n":1}`),
			MessageAttributes: map[string]types.MessageAttributeValue{"order": {DataType: aws.String("String"), StringValue: aws.String(fmt.Sprint(i))}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, time.Minute, "every message dead-lettered", func() bool { return r.depth(queueName+DLQSuffix) == n })

	// The dry run sees the DLQ; nothing moves until it is confirmed.
	fixed.Store(true)
	j, secs := r.run("redrive-dlq", jobs.Scope{Queue: queueName}, 100, time.Minute)
	if j.Status != jobs.StatusCompleted || j.Progress.Done != 1 || j.Plan.Total != 1 {
		t.Fatalf("job %s %+v plan %d", j.Status, j.Progress, j.Plan.Total)
	}
	waitUntil(t, time.Minute, "every redriven message consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(succeeded) == n
	})
	if d := r.depth(queueName + DLQSuffix); d != 0 {
		t.Fatalf("%d messages left in the DLQ", d)
	}
	for k, c := range succeeded {
		if c != 1 {
			t.Fatalf("order %s consumed %d times", k, c)
		}
	}
	t.Logf("redrove %d messages in %.2fs", n, secs)
	// Nothing left: a second job plans nothing.
	again, _ := r.run("redrive-dlq", jobs.Scope{Queue: queueName}, 0, time.Minute)
	if again.Plan.Total != 0 {
		t.Fatalf("second run planned %d items", again.Plan.Total)
	}
}

func waitUntil(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
