package numbering

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"motcua/shared/docstore"
)

// gateStore holds every counter write until the test lets it through
// (one token of pass per write) and can fail or pre-empt it.
type gateStore struct {
	docstore.Store
	pass chan struct{}
	// before runs ahead of a counter write (under no lock), e.g. to write
	// the counter as another process would; its error fails the write.
	before func(n int) error
	writes atomic.Int32
}

func (g *gateStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if !strings.HasPrefix(key, Prefix) {
		return g.Store.Put(ctx, key, body, opts)
	}
	n := int(g.writes.Add(1))
	if g.pass != nil {
		select {
		case <-g.pass:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if g.before != nil {
		if err := g.before(n); err != nil {
			return "", err
		}
	}
	return g.Store.Put(ctx, key, body, opts)
}

// waiting is how many calls wait in series' room (not yet taken).
func waiting(al *Allocator, series string) int {
	w := al.room(series)
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// waitFor polls cond for up to 10 s (the test's own progress, never a
// timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

type outcome struct {
	ref string
	a   Allocation
	err error
}

// allocAsync starts Allocate(ref) and returns where its outcome arrives.
func allocAsync(ctx context.Context, al *Allocator, ref string, issued IssuedFunc) chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		a, err := al.Allocate(ctx, "BL26T", ref, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), time.Time{}, issued)
		ch <- outcome{ref, a, err}
	}()
	return ch
}

func completeAsync(ctx context.Context, al *Allocator, ref string) chan outcome {
	ch := make(chan outcome, 1)
	go func() { ch <- outcome{ref: ref, err: al.Complete(ctx, "BL26T", ref)} }()
	return ch
}

// startBatch waits until n calls are queued behind the leader's write.
func startBatch(t *testing.T, al *Allocator, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d queued calls", n), func() bool { return waiting(al, "BL26T") == n })
}

func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"calls_waiting_behind_a_write_share_the_next_write", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			var rest []chan outcome
			for i := range 10 {
				rest = append(rest, allocAsync(ctx, al, fmt.Sprintf("P%d", i), nil))
			}
			startBatch(t, al, 10)
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			numbers := map[uint32]string{}
			var all []outcome
			for _, ch := range append(rest, lead) {
				o := <-ch
				if o.err != nil {
					t.Fatalf("%s: %v", o.ref, o.err)
				}
				if prev, dup := numbers[o.a.Number]; dup {
					t.Fatalf("number %d given to %s and %s", o.a.Number, prev, o.ref)
				}
				numbers[o.a.Number] = o.ref
				all = append(all, o)
			}
			if numbers[1] != "L" || len(numbers) != 11 {
				t.Fatalf("numbers %v", numbers)
			}
			st := al.Stats()
			if st.Writes != 2 || st.Reads != 2 || st.Batches != 2 || st.Requests != 11 || st.Allocated != 11 {
				t.Fatalf("stats %+v, want 2 reads and writes for 11 calls", st)
			}
			c, _ := al.Get(ctx, "BL26T")
			if c.Last != 11 || len(c.InFlight) != 11 {
				t.Fatalf("counter %+v", c)
			}
			for _, p := range c.Pending() {
				if p.Allocation != all[slicesIndex(all, p.Ref)].a {
					t.Fatalf("%s: stored %+v, answered %+v", p.Ref, p.Allocation, all[slicesIndex(all, p.Ref)].a)
				}
			}
		}},
		{"issued_checks_run_between_the_batch_read_and_write_concurrently", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			// Each check waits until all 8 run at once: checks run one at
			// a time would never get there.
			var arrived atomic.Int32
			var reads atomic.Int64
			var rest []chan outcome
			for i := range 8 {
				issued := func(context.Context) (Allocation, bool, error) {
					reads.Store(al.Stats().Reads)
					arrived.Add(1)
					for deadline := time.Now().Add(10 * time.Second); arrived.Load() < 8; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							return Allocation{}, false, errors.New("the checks of a batch did not run concurrently")
						}
					}
					if i == 3 {
						return Allocation{Series: "BL26T", Number: 99}, true, nil // already issued
					}
					return Allocation{}, false, nil
				}
				rest = append(rest, allocAsync(ctx, al, fmt.Sprintf("P%d", i), issued))
			}
			startBatch(t, al, 8)
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			<-lead
			for i, ch := range rest {
				o := <-ch
				if o.err != nil || (i == 3) != (o.a.Number == 99) {
					t.Fatalf("%s: %+v %v", o.ref, o.a, o.err)
				}
			}
			if reads.Load() != 2 || al.Stats().Writes != 2 {
				t.Fatalf("checks ran after read %d, %d writes; want after the second read, 2 writes", reads.Load(), al.Stats().Writes)
			}
			if c, _ := al.Get(ctx, "BL26T"); c.Last != 8 {
				t.Fatalf("last %d, want 8 (the issued payment takes no number)", c.Last)
			}
		}},
		{"complete_and_allocate_of_one_payment_in_one_batch", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			g.pass <- struct{}{}
			first, err := al.Allocate(ctx, "BL26T", "A", time.Now(), time.Time{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			lead := allocAsync(ctx, al, "B", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 2 })
			done := completeAsync(ctx, al, "A")
			again := allocAsync(ctx, al, "A", func(context.Context) (Allocation, bool, error) {
				return first, true, nil // the caller recorded it before Complete
			})
			late := allocAsync(ctx, al, "C", nil)
			waitFor(t, "3 queued calls", func() bool { return waiting(al, "BL26T") == 3 })
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			for _, ch := range []chan outcome{lead, done, again, late} {
				if o := <-ch; o.err != nil {
					t.Fatalf("%s: %v", o.ref, o.err)
				} else if o.ref == "A" && o.a.Number != 0 && o.a != first {
					t.Fatalf("A renumbered: %+v, was %+v", o.a, first)
				}
			}
			c, _ := al.Get(ctx, "BL26T")
			if _, ok := c.InFlight["A"]; ok || c.Last != 3 || len(c.InFlight) != 2 {
				t.Fatalf("counter %+v, want A completed, B and C in flight, last 3", c)
			}
		}},
		{"complete_of_a_payment_allocated_in_the_same_batch_keeps_it", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			a := allocAsync(ctx, al, "A", nil)
			waitFor(t, "A queued", func() bool { return waiting(al, "BL26T") == 1 })
			done := completeAsync(ctx, al, "A")
			startBatch(t, al, 2)
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			for _, ch := range []chan outcome{lead, a, done} {
				if o := <-ch; o.err != nil {
					t.Fatalf("%s: %v", o.ref, o.err)
				}
			}
			if c, _ := al.Get(ctx, "BL26T"); c.InFlight["A"].Number != 2 {
				t.Fatalf("A's fresh entry was removed by a Complete that came before it: %+v", c)
			}
		}},
		{"two_calls_for_one_payment_in_one_batch_get_one_number", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			x, y := allocAsync(ctx, al, "A", nil), allocAsync(ctx, al, "A", nil)
			startBatch(t, al, 2)
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			<-lead
			ox, oy := <-x, <-y
			if ox.err != nil || oy.err != nil || ox.a != oy.a || ox.a.Number != 2 {
				t.Fatalf("%+v %+v", ox, oy)
			}
		}},
		{"failed_write_fails_every_caller_and_leaves_no_gap", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			boom := errors.New("disk on fire")
			g.before = func(n int) error {
				if n == 2 {
					return boom
				}
				return nil
			}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			var rest []chan outcome
			for i := range 5 {
				rest = append(rest, allocAsync(ctx, al, fmt.Sprintf("P%d", i), nil))
			}
			rest = append(rest, completeAsync(ctx, al, "L"))
			startBatch(t, al, 6)
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			if o := <-lead; o.err != nil || o.a.Number != 1 {
				t.Fatalf("leader: %+v", o)
			}
			for _, ch := range rest {
				if o := <-ch; !errors.Is(o.err, boom) {
					t.Fatalf("%s: %+v, want the write's error", o.ref, o)
				}
			}
			g.pass <- struct{}{}
			a, err := al.Allocate(ctx, "BL26T", "P0", time.Now(), time.Time{}, nil)
			if err != nil || a.Number != 2 {
				t.Fatalf("after the failure: %+v %v, want number 2", a, err)
			}
		}},
		{"lost_compare_and_swap_retries_the_whole_batch", func(t *testing.T) {
			mem := docstore.NewMemStore("b")
			other := New(mem) // another process
			g := &gateStore{Store: mem}
			g.before = func(n int) error {
				if n == 1 {
					_, err := other.Allocate(ctx, "BL26T", "X", time.Now(), time.Time{}, nil)
					return err
				}
				return nil
			}
			al := New(g)
			var checks atomic.Int32
			a, err := al.Allocate(ctx, "BL26T", "A", time.Now(), time.Time{}, func(context.Context) (Allocation, bool, error) {
				checks.Add(1)
				return Allocation{}, false, nil
			})
			if err != nil || a.Number != 2 || checks.Load() != 2 {
				t.Fatalf("%+v %v after %d checks; want number 2 after 2 checks (the retry re-checks)", a, err, checks.Load())
			}
			if st := al.Stats(); st.Lost != 1 || st.Reads != 2 {
				t.Fatalf("stats %+v", st)
			}
		}},
		{"cancelled_waiting_call_is_dropped_and_others_go_on", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			cctx, cancel := context.WithCancel(ctx)
			gone := allocAsync(cctx, al, "GONE", nil)
			stay := allocAsync(ctx, al, "STAY", nil)
			startBatch(t, al, 2)
			cancel()
			if o := <-gone; !errors.Is(o.err, context.Canceled) {
				t.Fatalf("cancelled call: %+v", o)
			}
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			if o := <-lead; o.err != nil || o.a.Number != 1 {
				t.Fatalf("leader %+v", o)
			}
			if o := <-stay; o.err != nil || o.a.Number != 2 {
				t.Fatalf("other caller %+v", o)
			}
			if c, _ := al.Get(ctx, "BL26T"); c.Last != 2 {
				t.Fatalf("last %d: the dropped call took a number", c.Last)
			}
		}},
		{"cancelled_call_inside_a_batch_does_not_fail_the_batch", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			cctx, cancel := context.WithCancel(ctx)
			lead := allocAsync(cctx, al, "L", nil) // its write blocks: cancel it there
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			stay := allocAsync(ctx, al, "STAY", nil)
			waitFor(t, "1 queued call", func() bool { return waiting(al, "BL26T") == 1 })
			cancel()
			if o := <-lead; !errors.Is(o.err, context.Canceled) {
				t.Fatalf("cancelled leader: %+v", o)
			}
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			o := <-stay
			if o.err != nil {
				t.Fatalf("other caller: %v", o.err)
			}
			// The leader's write was cancelled with it (its batch had no
			// one else), so STAY is 1; had it landed, the next call for L
			// would get its number from the in-flight entry.
			c, _ := al.Get(ctx, "BL26T")
			if int(c.Last) != len(c.InFlight) || c.InFlight["STAY"] != o.a {
				t.Fatalf("counter %+v, STAY %+v", c, o.a)
			}
		}},
		{"batch_write_survives_one_caller_cancelling", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			lead := allocAsync(ctx, al, "L", nil)
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			cctx, cancel := context.WithCancel(ctx)
			gone := allocAsync(cctx, al, "GONE", nil)
			stay := allocAsync(ctx, al, "STAY", nil)
			startBatch(t, al, 2)
			g.pass <- struct{}{} // the leader's write; GONE and STAY are now one batch
			<-lead
			waitFor(t, "the batch's write", func() bool { return g.writes.Load() >= 2 })
			cancel() // GONE leaves while its batch is being written
			if o := <-gone; !errors.Is(o.err, context.Canceled) {
				t.Fatalf("cancelled call: %+v", o)
			}
			g.pass <- struct{}{}
			if o := <-stay; o.err != nil {
				t.Fatalf("other caller: %v", o.err)
			}
			// GONE's number was written with the batch: it is in flight, and
			// GONE's retry gets it (as after a crash).
			c, _ := al.Get(ctx, "BL26T")
			g.pass <- struct{}{}
			again, err := al.Allocate(ctx, "BL26T", "GONE", time.Now(), time.Time{}, nil)
			if err != nil || c.Last != 3 || again != c.InFlight["GONE"] {
				t.Fatalf("counter %+v; retry %+v %v", c, again, err)
			}
		}},
		{"numbers_and_issue_times_ascend_together_in_a_batch", func(t *testing.T) {
			g := &gateStore{Store: docstore.NewMemStore("b"), pass: make(chan struct{}, 100)}
			al := New(g)
			t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			lead := make(chan outcome, 1)
			go func() {
				a, err := al.Allocate(ctx, "BL26T", "L", t0.Add(time.Hour), time.Time{}, nil)
				lead <- outcome{"L", a, err}
			}()
			waitFor(t, "the leader's write", func() bool { return g.writes.Load() >= 1 })
			var rest []chan outcome
			for i := range 6 {
				ch := make(chan outcome, 1)
				go func() {
					a, err := al.Allocate(ctx, "BL26T", fmt.Sprint(i), t0.Add(time.Duration(i%3)*time.Hour), time.Time{}, nil)
					ch <- outcome{fmt.Sprint(i), a, err}
				}()
				rest = append(rest, ch)
			}
			waitFor(t, "6 queued calls", func() bool { return waiting(al, "BL26T") == 6 })
			g.pass <- struct{}{}
			g.pass <- struct{}{}
			at := map[uint32]time.Time{}
			for _, ch := range append(rest, lead) {
				o := <-ch
				if o.err != nil {
					t.Fatal(o.err)
				}
				at[o.a.Number] = o.a.At
			}
			for n := uint32(2); n <= 7; n++ {
				if at[n].Before(at[n-1]) || at[n].Before(t0.Add(time.Hour)) {
					t.Fatalf("number %d at %v, number %d at %v", n, at[n], n-1, at[n-1])
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func slicesIndex(all []outcome, ref string) int {
	for i, o := range all {
		if o.ref == ref {
			return i
		}
	}
	return -1
}
