package queue_test

import (
	"context"
	"errors"
	"testing"

	"motcua/shared/queue"
)

func TestFanout_copies_to_subscribers(t *testing.T) {
	ctx := context.Background()
	mem := queue.NewMemQueue("events", "a", "b", "other")
	f := queue.NewFanout(mem, map[string][]string{"events": {"a", "b"}})
	env, err := queue.NewEnvelope("x.happened", "c1", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Publish(ctx, "events", env); err != nil {
		t.Fatal(err)
	}
	if err := f.PublishBatch(ctx, "other", []queue.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"events": 1, "a": 1, "b": 1, "other": 1} {
		got := mem.Published(q)
		if len(got) != want {
			t.Fatalf("%s got %d envelopes, want %d", q, len(got), want)
		}
		if got[0].ID != env.ID {
			t.Errorf("%s got envelope %s, want the same id %s", q, got[0].ID, env.ID)
		}
	}
}

func TestFanout_reports_a_failed_subscriber(t *testing.T) {
	mem := queue.NewMemQueue("events", "a") // "b" missing
	f := queue.NewFanout(mem, map[string][]string{"events": {"a", "b"}})
	env, _ := queue.NewEnvelope("x.happened", "", nil)
	err := f.Publish(context.Background(), "events", env)
	if !errors.Is(err, queue.ErrNoSuchQueue) {
		t.Fatalf("err = %v, want ErrNoSuchQueue for subscriber b", err)
	}
	if len(mem.Published("events")) != 1 || len(mem.Published("a")) != 1 {
		t.Fatal("the reachable queues still get the envelope (a retry is de-duplicated by consumers)")
	}
}

func TestDefaultRoutes_are_consumer_queues(t *testing.T) {
	for src, subs := range queue.DefaultRoutes {
		if len(subs) == 0 {
			t.Errorf("%s: empty route", src)
		}
	}
	if got := queue.DefaultRoutes["payment-events"]; len(got) == 0 {
		t.Fatal("payment-events has no subscribers: stats and notifications would miss payments")
	}
}
