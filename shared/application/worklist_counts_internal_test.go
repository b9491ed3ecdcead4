package application

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
)

// faultCounts wraps a store to hold and fail the writes of counts
// documents: the first Get of one is held until release is closed (held
// is closed once it waits), and fail decides each counts Put (1-based).
type faultCounts struct {
	docstore.Store
	held, release chan struct{}
	holdOnce      sync.Once

	mu   sync.Mutex
	puts int
	fail func(n int) (write bool, err error) // write: do the real Put first
}

func (f *faultCounts) Get(ctx context.Context, key string) (docstore.Object, error) {
	if strings.HasSuffix(key, "/counts.json") && f.release != nil {
		first := false
		f.holdOnce.Do(func() { first = true })
		if first {
			close(f.held)
			<-f.release
		}
	}
	return f.Store.Get(ctx, key)
}

func (f *faultCounts) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if !strings.HasSuffix(key, "/counts.json") {
		return f.Store.Put(ctx, key, body, opts)
	}
	f.mu.Lock()
	f.puts++
	n := f.puts
	f.mu.Unlock()
	if f.fail != nil {
		if write, err := f.fail(n); err != nil {
			if write {
				if _, werr := f.Store.Put(ctx, key, body, opts); werr != nil {
					return "", werr
				}
			}
			return "", err
		}
	}
	return f.Store.Put(ctx, key, body, opts)
}

func storedCounts(t *testing.T, store docstore.Store, agency string) agencyCounts {
	t.Helper()
	var c agencyCounts
	if _, err := docstore.GetJSON(context.Background(), store, IndexCountsKey(agency), &c); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		t.Fatal(err)
	}
	return c
}

// waitRound waits until the open round of agency's counts in store holds n
// callers' deltas.
func waitRound(t *testing.T, store docstore.Store, agency string, n int) {
	t.Helper()
	k := countsSlotKey{store: store, key: IndexCountsKey(agency)}
	for deadline := time.Now().Add(10 * time.Second); ; {
		countsGroups.mu.Lock()
		got := 0
		if s := countsGroups.slots[k]; s != nil && s.open != nil {
			got = len(s.open.items)
		}
		countsGroups.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("open round holds %d callers, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

var returned = []countDelta{{StatusReturned, +1}}

func TestCounts_waiting_bumps_share_one_write_and_its_failure(t *testing.T) {
	ctx := context.Background()
	injected := errors.New("injected: S3 500")
	store := &faultCounts{Store: docstore.NewMemStore("motcua-data"), held: make(chan struct{}), release: make(chan struct{}),
		fail: func(n int) (bool, error) {
			if n == 2 {
				return false, injected
			}
			return false, nil
		}}
	leader := make(chan error, 1)
	go func() { leader <- countsGroups.bump(ctx, store, "STP", returned) }()
	<-store.held // the leader reads the document: the next callers wait together
	const k = 5
	errs := make(chan error, k)
	for range k {
		go func() { errs <- countsGroups.bump(ctx, store, "STP", returned) }()
	}
	waitRound(t, store, "STP", k)
	close(store.release)
	if err := <-leader; err != nil {
		t.Fatalf("leader: %v", err)
	}
	for range k {
		if err := <-errs; !errors.Is(err, injected) {
			t.Fatalf("a caller of the failed write got %v, want the write's error", err)
		}
	}
	if store.puts != 2 {
		t.Fatalf("%d counts PUTs, want 2 (the leader's, then one for the %d waiting)", store.puts, k)
	}
	if c := storedCounts(t, store, "STP"); c.Counts[StatusReturned] != 1 {
		t.Fatalf("counts = %v, want returned 1 (the failed write's bumps are lost, as a failed bump always was)", c.Counts)
	}
	// The document is not stuck: the next bump lands.
	if err := countsGroups.bump(ctx, store, "STP", returned); err != nil {
		t.Fatal(err)
	}
	if c := storedCounts(t, store, "STP"); c.Counts[StatusReturned] != 2 {
		t.Fatalf("counts = %v, want returned 2", c.Counts)
	}
}

func TestCounts_a_lost_answer_is_not_applied_twice(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{
		// The PUT landed, its answer was lost and the SDK's retry of it
		// was refused: the ETag moved.
		{"retried_put_refused_412", docstore.ErrPrecondition},
		{"retried_put_conflict_409", docstore.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &faultCounts{Store: docstore.NewMemStore("motcua-data"), fail: func(n int) (bool, error) {
				if n <= 2 {
					return true, tc.err
				}
				return false, nil
			}}
			if err := countsGroups.bump(ctx, store, "STP", returned); err != nil { // creates the document
				t.Fatal(err)
			}
			if err := countsGroups.bump(ctx, store, "STP", []countDelta{{StatusReturned, -1}, {StatusCancelled, +1}}); err != nil {
				t.Fatal(err)
			}
			c := storedCounts(t, store, "STP")
			if c.Counts[StatusReturned] != 0 || c.Counts[StatusCancelled] != 1 || len(c.Batches) != 2 {
				t.Fatalf("counts = %+v, want returned 0, cancelled 1, two write IDs", c)
			}
		})
	}
}

func TestCounts_a_cancelled_waiting_caller_leaves_its_round(t *testing.T) {
	ctx := context.Background()
	store := &faultCounts{Store: docstore.NewMemStore("motcua-data"), held: make(chan struct{}), release: make(chan struct{})}
	leader := make(chan error, 1)
	go func() { leader <- countsGroups.bump(ctx, store, "STP", returned) }()
	<-store.held
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- countsGroups.bump(cctx, store, "STP", returned) }()
	stays := make(chan error, 1)
	go func() { stays <- countsGroups.bump(ctx, store, "STP", []countDelta{{StatusRejected, +1}}) }()
	waitRound(t, store, "STP", 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(store.release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	if err := <-stays; err != nil {
		t.Fatal(err)
	}
	if c := storedCounts(t, store, "STP"); c.Counts[StatusReturned] != 1 || c.Counts[StatusRejected] != 1 {
		t.Fatalf("counts = %v, want returned 1 (the cancelled caller's bump dropped), rejected 1", c.Counts)
	}
	countsGroups.mu.Lock()
	left := len(countsGroups.slots)
	countsGroups.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d slots left after every caller returned", left)
	}
}

func TestSyncIndex_a_failed_counts_write_fails_the_sync(t *testing.T) {
	ctx := context.Background()
	injected := errors.New("injected: S3 500")
	store := &faultCounts{Store: docstore.NewMemStore("motcua-data"), fail: func(int) (bool, error) { return false, injected }}
	a := Application{Code: "STP-260302-0001", Agency: Agency{Code: "STP"}, Status: StatusReturned, ProcedureCode: "STP.01",
		DueAt: time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC), Version: 5}
	if err := SyncIndex(ctx, store, a); !errors.Is(err, injected) {
		t.Fatalf("SyncIndex = %v, want the counts write's error", err)
	}
}

func TestCounts_a_write_lost_to_another_process_retries_the_whole_batch(t *testing.T) {
	ctx := context.Background()
	mem := docstore.NewMemStore("motcua-data")
	var store *faultCounts
	store = &faultCounts{Store: mem, held: make(chan struct{}), release: make(chan struct{}),
		fail: func(n int) (bool, error) {
			if n == 2 {
				// Another process (its own store, its own slot) writes
				// between this batch's read and its PUT: the PUT's If-Match
				// is stale and S3 refuses it.
				if err := countsGroups.bump(ctx, mem, "STP", []countDelta{{StatusRejected, +1}}); err != nil {
					t.Error(err)
				}
			}
			return false, nil
		}}
	leader := make(chan error, 1)
	go func() { leader <- countsGroups.bump(ctx, store, "STP", returned) }()
	<-store.held
	const k = 7
	errs := make(chan error, k)
	for range k {
		go func() { errs <- countsGroups.bump(ctx, store, "STP", returned) }()
	}
	waitRound(t, store, "STP", k)
	close(store.release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	for range k {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if store.puts != 3 {
		t.Fatalf("%d counts PUTs, want 3 (leader; the batch's, refused; the batch's again)", store.puts)
	}
	if c := storedCounts(t, store, "STP"); c.Counts[StatusReturned] != 1+k || c.Counts[StatusRejected] != 1 {
		t.Fatalf("counts = %v, want returned %d, rejected 1 (the other process's)", c.Counts, 1+k)
	}
}
