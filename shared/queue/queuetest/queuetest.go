// Package queuetest is the contract suite of the queue port (Publisher and
// Receiver). The SQS adapters run it against the embedded SQS server and
// LocalStack; MemQueue runs it too, so the fake behaves like the real thing.
package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"motcua/shared/queue"
)

// QueueSpec describes a queue a case needs.
type QueueSpec struct {
	// VisibilityTimeout hides a received message this long (whole seconds).
	VisibilityTimeout time.Duration
	// MaxReceiveCount, when > 0, gives the queue a dead-letter queue named
	// <name>-dlq that receives a message after this many receives.
	MaxReceiveCount int
}

// Env is one adapter under test.
type Env struct {
	// Publisher sends to the queues.
	Publisher queue.Publisher
	// Receiver reads from the same queues.
	Receiver queue.Receiver
	// CreateQueue creates the named queue (and its DLQ) or fails t.
	CreateQueue func(t *testing.T, name string, spec QueueSpec)
	// Redriver moves dead letters back (RunRedrive); nil for adapters
	// without message move tasks, which do not run RunRedrive.
	Redriver queue.Redriver
}

// Run runs the contract suite; newEnv is called once per case. Queue names
// are random per case, so envs may share one server.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	cases := []struct {
		name string
		fn   func(t *testing.T, env Env, q string)
	}{
		{"publish_receive_delete", testPublishReceiveDelete},
		{"envelope_round_trip", testEnvelopeRoundTrip},
		{"batch_of_25", testBatch},
		{"concurrent_publishes", testConcurrentPublishes},
		{"unknown_queue", testUnknownQueue},
		{"in_flight_message_is_hidden_then_redelivered", testVisibility},
		{"visibility_timeout_expiry_redelivers", testExpiry},
		{"redrive_to_dlq_after_max_receives", testRedrive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newEnv(t), name(t))
		})
	}
}

func name(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "contract-" + hex.EncodeToString(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return c
}

func envelope(t *testing.T, typ string, payload any) queue.Envelope {
	t.Helper()
	e, err := queue.NewEnvelope(typ, "call-"+name(t), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// receiveN receives until n messages arrived or the generous deadline
// passed.
func receiveN(t *testing.T, env Env, q string, n int) []queue.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got []queue.Message
	for len(got) < n && time.Now().Before(deadline) {
		msgs, err := env.Receiver.Receive(ctx(t), q, 10, time.Second)
		if err != nil {
			t.Fatalf("Receive(%s): %v", q, err)
		}
		got = append(got, msgs...)
	}
	if len(got) < n {
		t.Fatalf("received %d messages from %s, want %d", len(got), q, n)
	}
	return got
}

func assertEmpty(t *testing.T, env Env, q string) {
	t.Helper()
	msgs, err := env.Receiver.Receive(ctx(t), q, 10, time.Second)
	if err != nil {
		t.Fatalf("Receive(%s): %v", q, err)
	}
	if len(msgs) != 0 {
		t.Fatalf("queue %s delivered %d unexpected messages (first body %q)", q, len(msgs), msgs[0].Body)
	}
}

func testPublishReceiveDelete(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 60 * time.Second})
	e := envelope(t, "application.submitted", map[string]string{"soHoSo": "H01.1"})
	if err := env.Publisher.Publish(ctx(t), q, e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := receiveN(t, env, q, 1)[0]
	if m.ReceiptHandle == "" || m.ID == "" {
		t.Errorf("message lacks ID or receipt: %+v", m)
	}
	if m.ReceiveCount != 1 {
		t.Errorf("ReceiveCount = %d, want 1", m.ReceiveCount)
	}
	if err := env.Receiver.Delete(ctx(t), q, m.ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Even made visible again, a deleted message must not come back.
	_ = env.Receiver.ChangeVisibility(ctx(t), q, m.ReceiptHandle, 0)
	assertEmpty(t, env, q)
}

type payload struct {
	SoHoSo string `json:"soHoSo"`
	HoTen  string `json:"hoTen"`
	Amount int64  `json:"amount"`
}

func testEnvelopeRoundTrip(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 60 * time.Second})
	want := envelope(t, "payment.confirmed", payload{SoHoSo: "H01.2026.000042", HoTen: "Trần Thị Bích Ngọc", Amount: 150000})
	if err := env.Publisher.Publish(ctx(t), q, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := receiveN(t, env, q, 1)[0]
	got, err := m.Envelope()
	if err != nil {
		t.Fatalf("Envelope: %v", err)
	}
	if got.ID != want.ID || got.Type != want.Type || got.CorrelationID != want.CorrelationID || !got.Time.Equal(want.Time) {
		t.Errorf("envelope = %+v, want %+v", got, want)
	}
	var p payload
	if err := json.Unmarshal(got.Payload, &p); err != nil || p.HoTen != "Trần Thị Bích Ngọc" || p.Amount != 150000 {
		t.Errorf("payload = %+v, %v", p, err)
	}
	wantAttrs := map[string]string{queue.AttrEventType: want.Type, queue.AttrEventID: want.ID, queue.AttrCorrelationID: want.CorrelationID}
	for k, v := range wantAttrs {
		if m.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
}

func testBatch(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 60 * time.Second})
	const n = 25
	envs := make([]queue.Envelope, n)
	want := map[string]bool{}
	for i := range envs {
		envs[i] = envelope(t, "receipt.requested", map[string]int{"seq": i})
		want[envs[i].ID] = true
	}
	if err := env.Publisher.PublishBatch(ctx(t), q, envs); err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}
	got := map[string]bool{}
	for _, m := range receiveN(t, env, q, n) {
		e, err := m.Envelope()
		if err != nil {
			t.Fatal(err)
		}
		if got[e.ID] {
			t.Errorf("envelope %s delivered twice while in flight", e.ID)
		}
		got[e.ID] = true
		if err := env.Receiver.Delete(ctx(t), q, m.ReceiptHandle); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("received ids %v, want %v", got, want)
	}
	assertEmpty(t, env, q)
	if err := env.Publisher.PublishBatch(ctx(t), q, nil); err != nil {
		t.Errorf("PublishBatch(nil): %v", err)
	}
}

// testConcurrentPublishes has 30 goroutines publish at once (a Batcher
// groups them): each envelope arrives exactly once, with its attributes.
func testConcurrentPublishes(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 120 * time.Second})
	const n = 30
	envs := make([]queue.Envelope, n)
	for i := range envs {
		envs[i] = envelope(t, "application.submitted", map[string]int{"seq": i})
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range envs {
		wg.Go(func() { errs[i] = env.Publisher.Publish(ctx(t), q, envs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	want := map[string]queue.Envelope{}
	for _, e := range envs {
		want[e.ID] = e
	}
	for _, m := range receiveN(t, env, q, n) {
		e, err := m.Envelope()
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[e.ID]
		if !ok {
			t.Fatalf("envelope %s unexpected or delivered twice", e.ID)
		}
		delete(want, e.ID)
		if string(e.Payload) != string(w.Payload) || m.Attributes[queue.AttrEventID] != w.ID ||
			m.Attributes[queue.AttrEventType] != w.Type || m.Attributes[queue.AttrCorrelationID] != w.CorrelationID {
			t.Errorf("envelope %s: payload %s attributes %v, want %s", e.ID, e.Payload, m.Attributes, w.Payload)
		}
	}
	assertEmpty(t, env, q)
}

func testUnknownQueue(t *testing.T, env Env, q string) {
	e := envelope(t, "x.y", nil)
	if err := env.Publisher.Publish(ctx(t), q, e); !errors.Is(err, queue.ErrNoSuchQueue) {
		t.Errorf("Publish to unknown queue: %v, want ErrNoSuchQueue", err)
	}
	if err := env.Publisher.PublishBatch(ctx(t), q, []queue.Envelope{e}); !errors.Is(err, queue.ErrNoSuchQueue) {
		t.Errorf("PublishBatch to unknown queue: %v, want ErrNoSuchQueue", err)
	}
	if _, err := env.Receiver.Receive(ctx(t), q, 1, 0); !errors.Is(err, queue.ErrNoSuchQueue) {
		t.Errorf("Receive from unknown queue: %v, want ErrNoSuchQueue", err)
	}
	if err := env.Publisher.Publish(ctx(t), q, queue.Envelope{Type: "no.id"}); err == nil {
		t.Error("Publish of an envelope without ID succeeded")
	}
}

func testVisibility(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 120 * time.Second})
	e := envelope(t, "application.submitted", nil)
	if err := env.Publisher.Publish(ctx(t), q, e); err != nil {
		t.Fatal(err)
	}
	first := receiveN(t, env, q, 1)[0]
	assertEmpty(t, env, q) // hidden for 120 s
	if err := env.Receiver.ChangeVisibility(ctx(t), q, first.ReceiptHandle, 0); err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	again := receiveN(t, env, q, 1)[0]
	if again.ID != first.ID || again.ReceiveCount != 2 {
		t.Fatalf("redelivered %s count %d, want %s count 2", again.ID, again.ReceiveCount, first.ID)
	}
	if err := env.Receiver.Delete(ctx(t), q, again.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
}

func testExpiry(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: time.Second})
	e := envelope(t, "application.submitted", nil)
	if err := env.Publisher.Publish(ctx(t), q, e); err != nil {
		t.Fatal(err)
	}
	first := receiveN(t, env, q, 1)[0]
	// Not deleted: it must come back once its 1 s visibility lapses.
	again := receiveN(t, env, q, 1)[0]
	if again.ID != first.ID || again.ReceiveCount < 2 {
		t.Fatalf("redelivered %s count %d, want %s count >= 2", again.ID, again.ReceiveCount, first.ID)
	}
}

func testRedrive(t *testing.T, env Env, q string) {
	env.CreateQueue(t, q, QueueSpec{VisibilityTimeout: 120 * time.Second, MaxReceiveCount: 2})
	e := envelope(t, "receipt.requested", nil)
	if err := env.Publisher.Publish(ctx(t), q, e); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		m := receiveN(t, env, q, 1)[0]
		if m.ReceiveCount != i {
			t.Fatalf("receive %d: ReceiveCount = %d", i, m.ReceiveCount)
		}
		// A failed attempt: give it back at once.
		if err := env.Receiver.ChangeVisibility(ctx(t), q, m.ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
	}
	// The third receive finds it over the limit and moves it to the DLQ.
	assertEmpty(t, env, q)
	dead := receiveN(t, env, q+"-dlq", 1)[0]
	got, err := dead.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID {
		t.Fatalf("DLQ holds %s, want %s", got.ID, e.ID)
	}
}
