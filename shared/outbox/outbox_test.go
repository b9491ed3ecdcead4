package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/outbox"
	"motcua/shared/queue"
)

func TestRepair(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	q := queue.NewMemQueue("events")
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	env := func(typ string) queue.Envelope {
		e, err := queue.NewEnvelope(typ, "", map[string]string{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	untied, written, never, legacy, orphan := env("a.untied"), env("a.written"), env("a.never"), env("a.legacy"), env("a.orphan")
	for _, s := range []struct {
		e   queue.Envelope
		tie outbox.Tie
	}{{untied, outbox.Tie{}}, {written, outbox.Tie{Kind: "receipt", ID: "R1"}}, {never, outbox.Tie{Kind: "receipt", ID: "R2"}}, {orphan, outbox.Tie{Kind: "nobody", ID: "X"}}} {
		if err := outbox.Stage(ctx, store, "events", s.e, s.tie); err != nil {
			t.Fatal(err)
		}
	}
	// A marker from before Tie existed, tied by applicationCode.
	if _, err := docstore.PutJSON(ctx, store, outbox.Key(legacy.ID), outbox.Marker{Queue: "events", Envelope: legacy, ApplicationCode: "STP-261203-0001", CreatedAt: time.Now()}, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var asked []string
	checks := map[string]outbox.Written{
		"receipt": func(_ context.Context, id, eventID string) (bool, error) {
			asked = append(asked, id)
			return id == "R1" && eventID == written.ID, nil
		},
		"application": func(_ context.Context, id, _ string) (bool, error) { return id == "STP-261203-0001", nil },
	}
	if res, err := outbox.Repair(ctx, store, q, time.Hour, checks, quiet); err != nil || res.Pending != 5 {
		t.Fatalf("young markers: %+v %v, want 5 pending and nothing done", res, err)
	}
	res, err := outbox.Repair(ctx, store, q, -time.Second, checks, quiet)
	if err == nil || res.Published != 3 || res.Discarded != 1 || res.Failed != 1 {
		t.Fatalf("repair = %+v, %v; want 3 published (untied, written, legacy), 1 discarded, 1 failed (no check)", res, err)
	}
	got := map[string]bool{}
	for _, m := range q.Published("events") {
		got[m.Type] = true
	}
	if !got["a.untied"] || !got["a.written"] || !got["a.legacy"] || got["a.never"] {
		t.Fatalf("published %v", got)
	}
	if _, err := store.Get(ctx, outbox.Key(orphan.ID)); err != nil {
		t.Fatalf("a marker without a check must stay for an operator: %v", err)
	}
	if _, err := store.Get(ctx, outbox.Key(never.ID)); !errors.Is(err, docstore.ErrNotFound) {
		t.Fatalf("discarded marker still there: %v", err)
	}
}

// TestRepair_keeps_a_marker_staged_again_while_it_checked: a sweep that
// found the change unwritten must not delete the marker a retried request
// staged again meanwhile (Restage), or that retry's event could be lost.
func TestRepair_keeps_a_marker_staged_again_while_it_checked(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	q := queue.NewMemQueue("events")
	e, err := queue.NewEnvelope("a.retried", "", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	tie := outbox.Tie{Kind: "receipt", ID: "R1"}
	if err := outbox.Stage(ctx, store, "events", e, tie); err != nil {
		t.Fatal(err)
	}
	checks := map[string]outbox.Written{"receipt": func(ctx context.Context, _, _ string) (bool, error) {
		// The retry stages the marker again while the sweep checks.
		return false, outbox.Restage(ctx, store, "events", e, tie)
	}}
	res, err := outbox.Repair(ctx, store, q, -time.Second, checks, nil)
	if err != nil || res.Discarded != 0 || res.Pending != 1 {
		t.Fatalf("repair = %+v, %v; want the marker left pending", res, err)
	}
	var m outbox.Marker
	if _, err := docstore.GetJSON(ctx, store, outbox.Key(e.ID), &m); err != nil || time.Since(m.CreatedAt) > time.Minute {
		t.Fatalf("restaged marker: %+v %v", m, err)
	}
}

// TestSend_and_Cleaner: Send publishes and leaves the marker to the
// cleaner, which deletes it in the background; Drain waits for it. Both
// paths: DeleteMany when the store is a BatchDeleter, single deletes when
// it is not.
func TestSend_and_Cleaner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*docstore.MemStore) docstore.Store
	}{
		{"batch_deleter", func(m *docstore.MemStore) docstore.Store { return m }},
		{"single_deletes", func(m *docstore.MemStore) docstore.Store { return struct{ docstore.Store }{m} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			mem := docstore.NewMemStore("motcua-data")
			store := tc.store(mem)
			q := queue.NewMemQueue("events")
			c := outbox.NewCleaner(store, nil)
			const n = 200
			for i := range n {
				e, err := queue.NewEnvelope("a.sent", "", map[string]int{"i": i})
				if err != nil {
					t.Fatal(err)
				}
				if err := outbox.Stage(ctx, store, "events", e, outbox.Tie{}); err != nil {
					t.Fatal(err)
				}
				if err := outbox.Send(ctx, q, c, "events", e); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if keys, _ := store.List(ctx, outbox.Prefix, "", 10); len(keys.Entries) != 0 || len(q.Published("events")) != n {
				t.Fatalf("%d markers left, %d published", len(keys.Entries), len(q.Published("events")))
			}
		})
	}
}

// gatedStore records each DeleteMany; the first one waits for gate (after
// closing started), and the key failKey is refused.
type gatedStore struct {
	*docstore.MemStore
	started, gate chan struct{}
	failKey       string

	mu    sync.Mutex
	calls [][]string
}

func (g *gatedStore) DeleteMany(ctx context.Context, keys []string) (map[string]error, error) {
	g.mu.Lock()
	first := len(g.calls) == 0
	g.calls = append(g.calls, slices.Clone(keys))
	g.mu.Unlock()
	if first {
		close(g.started)
		<-g.gate
	}
	del := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == g.failKey })
	failed, err := g.MemStore.DeleteMany(ctx, del)
	if len(del) < len(keys) {
		if failed == nil {
			failed = map[string]error{}
		}
		failed[g.failKey] = errors.New("AccessDenied: injected")
	}
	return failed, err
}

// TestCleaner_groups_without_timer: an idle cleaner deletes a marker at
// once, alone; what queues while that round is in flight goes in the next
// rounds, docstore.MaxDeleteMany keys at most each. A key the store refuses
// is logged and left for Repair; the others are deleted.
func TestCleaner_groups_without_timer(t *testing.T) {
	ctx := context.Background()
	store := &gatedStore{MemStore: docstore.NewMemStore("motcua-data"), started: make(chan struct{}), gate: make(chan struct{})}
	var logs bytes.Buffer
	var logMu sync.Mutex
	c := outbox.NewCleaner(store, slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)))
	const queued = docstore.MaxDeleteMany + 500
	ids := make([]string, 1+queued)
	for i := range ids {
		ids[i] = fmt.Sprintf("ev-%05d", i)
		if _, err := store.Put(ctx, outbox.Key(ids[i]), []byte(`{}`), docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	store.failKey = outbox.Key(ids[7])
	c.Delete(ids[0])
	<-store.started // the first round is in flight with one key
	for _, id := range ids[1:] {
		c.Delete(id)
	}
	close(store.gate)
	if err := c.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	sizes := make([]int, len(store.calls))
	for i, call := range store.calls {
		sizes[i] = len(call)
	}
	store.mu.Unlock()
	if want := []int{1, docstore.MaxDeleteMany, queued - docstore.MaxDeleteMany}; !slices.Equal(sizes, want) {
		t.Fatalf("DeleteMany sizes = %v, want %v", sizes, want)
	}
	if keys := store.Keys(); !slices.Equal(keys, []string{outbox.Key(ids[7])}) {
		t.Fatalf("markers left = %v, want only the refused one", keys)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), ids[7]) || strings.Count(logs.String(), "left for repair") != 1 {
		t.Fatalf("log = %s, want one warning naming %s", logs.String(), ids[7])
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
