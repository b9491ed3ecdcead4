package jobs

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// counterKind plans n items "c-0000".."c-(n-1)" and applies each by
// creating marker "applied/<key>" once; every apply is recorded.
type counterKind struct {
	store   docstore.Store
	n       int
	mu      sync.Mutex
	applied map[string]int
	// failKey fails transiently on every attempt; permKey fails for good.
	failKey, permKey string
	// block, when set, is waited on before each apply (cancel tests).
	block chan struct{}
}

func (k *counterKind) Name() string { return "counter" }
func (k *counterKind) Check(s Scope) error {
	if s.Queue != "" {
		return ScopeError("scope.queue", "Không dùng queue.", "queue is not used by this kind.")
	}
	return nil
}
func (k *counterKind) Plan(ctx context.Context, s Scope, emit func(Item) error) error {
	n := k.n
	if s.Limit > 0 {
		n = min(n, s.Limit)
	}
	for i := range n {
		key := fmt.Sprintf("c-%04d", i)
		if _, err := k.store.Head(ctx, "applied/"+key); err == nil {
			continue // already done: not planned
		}
		if err := emit(Item{Key: key, Action: "apply", Note: "create " + key}); err != nil {
			return err
		}
	}
	return nil
}
func (k *counterKind) Apply(ctx context.Context, s Scope, it Item) (Result, error) {
	if k.block != nil {
		<-k.block
	}
	k.mu.Lock()
	k.applied[it.Key]++
	k.mu.Unlock()
	switch it.Key {
	case k.failKey:
		return Result{}, errors.New("backend unavailable")
	case k.permKey:
		return Result{Outcome: OutcomeFailed, Detail: "refused by the domain"}, nil
	}
	_, err := k.store.Put(ctx, "applied/"+it.Key, []byte("{}"), docstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, docstore.ErrConflict) {
		return Result{Outcome: OutcomeSkipped, Detail: "already applied"}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: OutcomeChanged, Detail: "created"}, nil
}

type fixture struct {
	store *docstore.MemStore
	q     *queue.MemQueue
	kind  *counterKind
	svc   *Service
	admin Actor
}

func newFixture(t *testing.T, n int, opts Options) *fixture {
	t.Helper()
	store := docstore.NewMemStore("test")
	q := queue.NewMemQueue()
	q.CreateQueue(DefaultQueue, time.Hour, 3)
	k := &counterKind{store: store, n: n, applied: map[string]int{}}
	if opts.Sleep == nil {
		opts.Sleep = func(context.Context, time.Duration) error { return nil }
	}
	return &fixture{store: store, q: q, kind: k, svc: New(store, q, NewRegistry(k), opts), admin: Actor{Subject: "admin1", Agency: "STP"}}
}

// drain delivers queue messages to the service until the queue is empty.
// redeliverFailed makes failed deliveries visible again at once.
func (f *fixture) drain(t *testing.T, svc *Service) (delivered int) {
	t.Helper()
	ctx := context.Background()
	for range 100000 {
		msgs, err := f.q.Receive(ctx, DefaultQueue, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return delivered
		}
		for _, m := range msgs {
			delivered++
			if err := svc.Handle(ctx, []byte(m.Body), m.ReceiveCount); err != nil {
				if err := f.q.ChangeVisibility(ctx, DefaultQueue, m.ReceiptHandle, 0); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := f.q.Delete(ctx, DefaultQueue, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("queue never drained")
	return delivered
}

func (f *fixture) plan(t *testing.T, scope Scope) Job {
	t.Helper()
	j, err := f.svc.Plan(context.Background(), f.admin, StartRequest{Kind: "counter", Scope: scope}, "")
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return j
}

func (f *fixture) run(t *testing.T, scope Scope) Job {
	t.Helper()
	j := f.plan(t, scope)
	if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, "counter"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	f.drain(t, f.svc)
	got, err := f.svc.Get(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func reportRows(t *testing.T, svc *Service, id string) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := svc.WriteReport(context.Background(), id, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v", err)
	}
	return rows[1:]
}

func TestDryRun_changes_nothing_and_execution_follows_its_plan(t *testing.T) {
	f := newFixture(t, 2345, Options{ChunkSize: 7})
	j := f.plan(t, Scope{})
	if j.Status != StatusPlanned || j.Plan.Total != 2345 || j.Plan.Pages != 3 || len(j.Plan.Samples) != SampleSize || j.Plan.Actions["apply"] != 2345 {
		t.Fatalf("dry run = %+v", j.Plan)
	}
	if len(f.kind.applied) != 0 || len(f.q.Published(DefaultQueue)) != 0 {
		t.Fatalf("dry run applied %d items and published %d messages", len(f.kind.applied), len(f.q.Published(DefaultQueue)))
	}
	for _, row := range reportRows(t, f.svc, j.ID) {
		if row[4] != "not_run" {
			t.Fatalf("dry-run report row %v", row)
		}
	}
	if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.drain(t, f.svc)
	got, _ := f.svc.Get(context.Background(), j.ID)
	if got.Status != StatusCompleted || got.Progress != (Progress{Total: 2345, Done: 2345}) || got.FinishedAt == nil {
		t.Fatalf("after run: %s %+v", got.Status, got.Progress)
	}
	rows := reportRows(t, f.svc, j.ID)
	if len(rows) != 2345 {
		t.Fatalf("report has %d rows", len(rows))
	}
	for i, row := range rows {
		if want := fmt.Sprintf("c-%04d", i); row[1] != want || row[4] != "changed" {
			t.Fatalf("row %d = %v, want %s changed", i, row, want)
		}
	}
	for key, n := range f.kind.applied {
		if n != 1 {
			t.Fatalf("%s applied %d times", key, n)
		}
	}
	for _, action := range []string{"planned", "confirmed", "finished"} {
		if _, err := f.store.Head(context.Background(), AuditKey(j.ID, action)); err != nil {
			t.Errorf("audit %s: %v", action, err)
		}
	}
}

func TestRunning_twice_changes_nothing_the_second_time(t *testing.T) {
	f := newFixture(t, 50, Options{})
	first := f.run(t, Scope{})
	second := f.run(t, Scope{})
	if first.Progress.Done != 50 || second.Progress.Total != 0 || second.Status != StatusCompleted {
		t.Fatalf("first %+v, second %s %+v", first.Progress, second.Status, second.Progress)
	}
	if len(f.kind.applied) != 50 {
		t.Fatalf("applied %d distinct items", len(f.kind.applied))
	}
}

func TestRedelivered_messages_apply_nothing_twice(t *testing.T) {
	f := newFixture(t, 95, Options{})
	j := f.plan(t, Scope{})
	if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Deliver every message twice (at-least-once delivery at its worst).
	ctx := context.Background()
	for {
		msgs, _ := f.q.Receive(ctx, DefaultQueue, 10, 0)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			for range 2 {
				if err := f.svc.Handle(ctx, []byte(m.Body), m.ReceiveCount); err != nil {
					t.Fatal(err)
				}
			}
			_ = f.q.Delete(ctx, DefaultQueue, m.ReceiptHandle)
		}
	}
	got, _ := f.svc.Get(ctx, j.ID)
	if got.Status != StatusCompleted || got.Progress != (Progress{Total: 95, Done: 95}) {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	for key, n := range f.kind.applied {
		if n != 1 {
			t.Fatalf("%s applied %d times", key, n)
		}
	}
}

func TestCrash_between_apply_and_marker_is_resumed(t *testing.T) {
	errCrash := errors.New("worker killed")
	crashed := false
	f := newFixture(t, 30, Options{})
	// A worker "dies" after applying item 13 but before its done-marker:
	// the panic unwinds without acknowledging, like SIGKILL.
	crashing := New(f.store, f.q, NewRegistry(f.kind), Options{
		Sleep: func(context.Context, time.Duration) error { return nil },
		AfterApply: func(_ string, idx int) {
			if idx == 13 && !crashed {
				crashed = true
				panic(errCrash)
			}
		},
	})
	j := f.plan(t, Scope{})
	if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for {
		msgs, _ := f.q.Receive(ctx, DefaultQueue, 10, 0)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			func() {
				defer func() {
					if r := recover(); r != nil {
						_ = f.q.ChangeVisibility(ctx, DefaultQueue, m.ReceiptHandle, 0) // redelivered after the "restart"
					}
				}()
				if err := crashing.Handle(ctx, []byte(m.Body), m.ReceiveCount); err == nil {
					_ = f.q.Delete(ctx, DefaultQueue, m.ReceiptHandle)
				}
			}()
		}
	}
	got, _ := f.svc.Get(ctx, j.ID)
	if !crashed || got.Status != StatusCompleted || got.Progress.Finished() != 30 {
		t.Fatalf("crashed %v; %s %+v", crashed, got.Status, got.Progress)
	}
	// Item 13 ran twice (apply is idempotent: the second saw it done);
	// every other item once; no marker missing or doubled.
	if f.kind.applied["c-0013"] != 2 {
		t.Fatalf("c-0013 applied %d times, want 2 (crash + resume)", f.kind.applied["c-0013"])
	}
	if got.Progress.Done != 29 || got.Progress.Skipped != 1 {
		t.Fatalf("progress %+v, want 29 changed + 1 skipped (already applied before the crash)", got.Progress)
	}
}

func TestFailures_are_retried_then_reported_with_their_reason(t *testing.T) {
	f := newFixture(t, 20, Options{ChunkSize: 5})
	f.kind.failKey, f.kind.permKey = "c-0003", "c-0011"
	got := f.run(t, Scope{})
	if got.Status != StatusCompleted || got.Progress != (Progress{Total: 20, Done: 18, Failed: 2}) {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	if n := f.kind.applied["c-0003"]; n != DefaultMaxAttempts {
		t.Fatalf("transient failure tried %d times, want %d", n, DefaultMaxAttempts)
	}
	rows := reportRows(t, f.svc, got.ID)
	if rows[3][4] != "failed" || !strings.Contains(rows[3][5], "backend unavailable") || rows[11][5] != "refused by the domain" {
		t.Fatalf("rows %v / %v", rows[3], rows[11])
	}
}

func TestCancel_skips_items_not_yet_applied(t *testing.T) {
	f := newFixture(t, 40, Options{ChunkSize: 5})
	j := f.plan(t, Scope{})
	ctx := context.Background()
	if _, err := f.svc.Confirm(ctx, f.admin, j.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Apply the dispatch and two chunks, then cancel.
	msgs, _ := f.q.Receive(ctx, DefaultQueue, 1, 0)
	if err := f.svc.Handle(ctx, []byte(msgs[0].Body), 1); err != nil {
		t.Fatal(err)
	}
	_ = f.q.Delete(ctx, DefaultQueue, msgs[0].ReceiptHandle)
	msgs, _ = f.q.Receive(ctx, DefaultQueue, 2, 0)
	for _, m := range msgs {
		if err := f.svc.Handle(ctx, []byte(m.Body), 1); err != nil {
			t.Fatal(err)
		}
		_ = f.q.Delete(ctx, DefaultQueue, m.ReceiptHandle)
	}
	c, err := f.svc.Cancel(ctx, Actor{Subject: "admin2"}, j.ID)
	if err != nil || c.Status != StatusCancelling {
		t.Fatalf("cancel: %s %v", c.Status, err)
	}
	f.drain(t, f.svc)
	got, _ := f.svc.Get(ctx, j.ID)
	if got.Status != StatusCancelled || got.Progress != (Progress{Total: 40, Done: 10, Skipped: 30}) || got.Cancelled.By.Subject != "admin2" {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	if len(f.kind.applied) != 10 {
		t.Fatalf("applied %d items after cancel, want 10", len(f.kind.applied))
	}
	if _, err := f.svc.Cancel(ctx, f.admin, j.ID); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.admin, j.ID, ""); !errors.Is(err, ErrNotPlanned) {
		t.Fatalf("confirm after cancel: %v", err)
	}
}

func TestRate_paces_dispatch_windows(t *testing.T) {
	var slept []time.Duration
	f := newFixture(t, 100, Options{Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	j, err := f.svc.Plan(context.Background(), f.admin, StartRequest{Kind: "counter", Rate: 25}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.drain(t, f.svc)
	got, _ := f.svc.Get(context.Background(), j.ID)
	if got.Status != StatusCompleted || got.Progress.Done != 100 {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	// 100 items at 25/s: 4 windows of 1 s, a pause after each but the last.
	if len(slept) != 3 {
		t.Fatalf("paused %d times (%v), want 3", len(slept), slept)
	}
	chunks := 0
	for _, e := range f.q.Published(DefaultQueue) {
		if e.Type == TypeChunk {
			chunks++
		}
	}
	if chunks != 12 { // 25 items per window in chunks of 10: 10+10+5, four times
		t.Fatalf("%d chunks, want 12", chunks)
	}
}

func TestStart_refuses_bad_requests(t *testing.T) {
	f := newFixture(t, 5, Options{MaxItems: 3})
	ctx := context.Background()
	tests := []struct {
		name string
		req  StartRequest
		want error
	}{
		{"unknown_kind", StartRequest{Kind: "nope"}, ErrUnknownKind},
		{"negative_rate", StartRequest{Kind: "counter", Rate: -1}, ErrBadScope},
		{"rate_above_max", StartRequest{Kind: "counter", Rate: MaxRate + 1}, ErrBadScope},
		{"scope_field_not_for_kind", StartRequest{Kind: "counter", Scope: Scope{Queue: "x"}}, ErrBadScope},
		{"too_many_items", StartRequest{Kind: "counter"}, ErrTooManyItems},
		{"reason_too_long", StartRequest{Kind: "counter", Reason: strings.Repeat("ư", MaxReasonLen+1)}, ErrBadScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Plan(ctx, f.admin, tt.req, "")
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if keys := f.store.Keys(); len(keys) != 0 {
		t.Fatalf("refused requests wrote %v", keys)
	}
}

func TestConfirm_rules(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFixture(t, 3, Options{Now: clock})
	ctx := context.Background()
	j := f.plan(t, Scope{})
	if _, err := f.svc.Confirm(ctx, f.admin, j.ID, "other-kind"); !errors.Is(err, ErrKindMismatch) {
		t.Fatalf("kind mismatch: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.admin, "20261203T000000Z-000000", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	now = now.Add(DefaultPlanTTL + time.Minute)
	if _, err := f.svc.Confirm(ctx, f.admin, j.ID, ""); !errors.Is(err, ErrPlanExpired) {
		t.Fatalf("stale dry run: %v", err)
	}
	j2 := f.plan(t, Scope{})
	a, err := f.svc.Confirm(ctx, f.admin, j2.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.Confirm(ctx, f.admin, j2.ID, "")
	if err != nil || b.Status != StatusRunning || *b.Confirmed != *a.Confirmed {
		t.Fatalf("second confirm: %v %+v", err, b)
	}
	// The second confirm re-sends the dispatch (the first may have been
	// lost); the duplicate dispatch and its chunks change nothing.
	f.drain(t, f.svc)
	got, _ := f.svc.Get(ctx, j2.ID)
	if got.Status != StatusCompleted || got.Progress.Done != 3 {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	for key, n := range f.kind.applied {
		if n != 1 {
			t.Fatalf("%s applied %d times", key, n)
		}
	}
}

func TestList_newest_first(t *testing.T) {
	f := newFixture(t, 1, Options{})
	var ids []string
	for range 3 {
		ids = append(ids, f.plan(t, Scope{}).ID)
		time.Sleep(2 * time.Millisecond)
	}
	got, _, err := f.svc.List(context.Background(), 2, "")
	if err != nil || len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[1] {
		t.Fatalf("list = %v, %v", got, err)
	}
}

// drainConcurrently runs workers goroutines delivering messages until the
// job is terminal.
func (f *fixture) drainConcurrently(t *testing.T, id string, workers int, during func()) Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				msgs, _ := f.q.Receive(ctx, DefaultQueue, 1, 10*time.Millisecond)
				for _, m := range msgs {
					if f.svc.Handle(ctx, []byte(m.Body), m.ReceiveCount) == nil {
						_ = f.q.Delete(ctx, DefaultQueue, m.ReceiptHandle)
					} else {
						_ = f.q.ChangeVisibility(ctx, DefaultQueue, m.ReceiptHandle, 0)
					}
				}
			}
		}()
	}
	if during != nil {
		during()
	}
	var j Job
	for ctx.Err() == nil {
		j, _ = f.svc.Get(ctx, id)
		if j.Status.Terminal() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return j
}

func TestConcurrent_workers_count_exactly(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cancel bool
	}{{"to_completion", false}, {"cancelled_midway", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 500, Options{ChunkSize: 5, AfterApply: func(string, int) { time.Sleep(200 * time.Microsecond) }})
			j := f.plan(t, Scope{})
			if _, err := f.svc.Confirm(context.Background(), f.admin, j.ID, ""); err != nil {
				t.Fatal(err)
			}
			got := f.drainConcurrently(t, j.ID, 4, func() {
				if tt.cancel {
					for {
						cur, _ := f.svc.Get(context.Background(), j.ID)
						if cur.Progress.Finished() >= 50 {
							break
						}
						time.Sleep(time.Millisecond)
					}
					if _, err := f.svc.Cancel(context.Background(), f.admin, j.ID); err != nil {
						t.Error(err)
					}
				}
			})
			want := StatusCompleted
			if tt.cancel {
				want = StatusCancelled
			}
			if got.Status != want || got.Progress.Finished() != 500 || got.Progress.Done != len(f.kind.applied) {
				t.Fatalf("%s %+v, %d applied", got.Status, got.Progress, len(f.kind.applied))
			}
			if tt.cancel && got.Progress.Skipped == 0 {
				t.Fatal("nothing skipped after cancel")
			}
		})
	}
}

func TestRunScheduled_once_per_slot(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 15, 10, 0, time.UTC)
	f := newFixture(t, 3, Options{Now: func() time.Time { return now }})
	sc := Schedule{Name: "every-15", Spec: "*/15 * * * *", Request: StartRequest{Kind: "counter"}}
	ctx := context.Background()
	j, ran, err := f.svc.RunScheduled(ctx, sc)
	if err != nil || !ran || j.Status != StatusRunning || j.Schedule != "every-15" || j.Created.By.Subject != "cron:every-15" {
		t.Fatalf("first run: %v %v %+v", ran, err, j)
	}
	now = now.Add(4 * time.Minute) // an overlapping run of the same slot
	if _, ran, err := f.svc.RunScheduled(ctx, sc); err != nil || ran {
		t.Fatalf("second run of the slot: ran %v, %v", ran, err)
	}
	now = now.Add(11 * time.Minute) // 08:30:10: the next slot
	if _, ran, err := f.svc.RunScheduled(ctx, sc); err != nil || !ran {
		t.Fatalf("next slot: ran %v, %v", ran, err)
	}
	// A failed plan frees its slot.
	bad := Schedule{Name: "bad", Spec: "*/15 * * * *", Request: StartRequest{Kind: "counter", Scope: Scope{Queue: "x"}}}
	for range 2 {
		if _, ran, err := f.svc.RunScheduled(ctx, bad); !errors.Is(err, ErrBadScope) || ran {
			t.Fatalf("bad schedule: ran %v, %v", ran, err)
		}
	}
}

func TestSlot(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		name, spec, now, want string
	}{
		{"on_time", "*/15 * * * *", "2026-12-03T08:15:02Z", "2026-12-03T08:15:00Z"},
		{"late", "*/15 * * * *", "2026-12-03T08:29:00Z", "2026-12-03T08:15:00Z"},
		{"slightly_early", "*/15 * * * *", "2026-12-03T08:29:45Z", "2026-12-03T08:30:00Z"},
		{"daily", "0 19 * * *", "2026-12-04T03:00:00Z", "2026-12-03T19:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Slot(tt.spec, at(tt.now))
			if err != nil || !got.Equal(at(tt.want)) {
				t.Fatalf("Slot = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestWorkerHTTP_refuses_unsigned_deliveries(t *testing.T) {
	f := newFixture(t, 3, Options{})
	secret := [][]byte{[]byte("delivery-secret-0123456789abcdef")}
	w := NewWorkerHTTP(f.svc, func() ([][]byte, error) { return secret, nil }, nil)
	body := []byte(`{"id":"e1","type":"reprocess.chunk","payload":{"job":"20261203T080000Z-abcdef","from":0,"to":1}}`)
	unsigned := handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{}}
	if r := w.Serve(context.Background(), unsigned); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d %s", r.StatusCode, r.Body)
	}
	signed := handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{}}
	delivery.Sign(http.Header(signed.Header), secret, time.Now(), body)
	if r := w.Serve(context.Background(), signed); r.StatusCode != http.StatusOK {
		t.Fatalf("signed: %d %s", r.StatusCode, r.Body)
	}
}
