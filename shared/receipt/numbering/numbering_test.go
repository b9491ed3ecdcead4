package numbering_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
	"motcua/shared/receipt/numbering"
)

// marker is the minimal per-payment record of the issuing protocol the
// issuer uses: created first, then given its number once the receipt is
// stored.
type marker struct {
	Ref    string                `json:"ref"`
	Series string                `json:"series"`
	Done   *numbering.Allocation `json:"done,omitempty"`
}

type stored struct {
	Ref    string `json:"ref"`
	Number uint32 `json:"number"`
}

// issueOnce runs the issuing protocol for one payment on store: claim the
// series, allocate, store the receipt create-once (a duplicate of the same
// payment and number is fine), record the number on the marker, complete.
// Any error means "crashed here; deliver again".
func issueOnce(ctx context.Context, store docstore.Store, al *numbering.Allocator, series, ref string) error {
	mkey := "receipts/by-payment/" + ref + ".json"
	var m marker
	if _, err := docstore.GetJSON(ctx, store, mkey, &m); errors.Is(err, docstore.ErrNotFound) {
		m = marker{Ref: ref, Series: series}
		if _, err := docstore.PutJSON(ctx, store, mkey, m, docstore.PutOptions{IfNoneMatch: true}); err != nil && !errors.Is(err, docstore.ErrConflict) {
			return err
		}
		if _, err := docstore.GetJSON(ctx, store, mkey, &m); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	a := numbering.Allocation{}
	if m.Done != nil {
		a = *m.Done
	} else {
		var err error
		a, err = al.Allocate(ctx, m.Series, ref, time.Now(), time.Time{}, func(ctx context.Context) (numbering.Allocation, bool, error) {
			var cur marker
			if _, err := docstore.GetJSON(ctx, store, mkey, &cur); err != nil {
				return numbering.Allocation{}, false, err
			}
			if cur.Done != nil {
				return *cur.Done, true, nil
			}
			return numbering.Allocation{}, false, nil
		})
		if err != nil {
			return err
		}
	}
	rkey := fmt.Sprintf("receipts/%s/%08d.json", a.Series, a.Number)
	if _, err := docstore.PutJSON(ctx, store, rkey, stored{Ref: ref, Number: a.Number}, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		if !errors.Is(err, docstore.ErrConflict) {
			return err
		}
		var s stored
		if _, err := docstore.GetJSON(ctx, store, rkey, &s); err != nil {
			return err
		}
		if s.Ref != ref {
			return fmt.Errorf("number %d stored for %s and allocated to %s", a.Number, s.Ref, ref)
		}
	}
	if m.Done == nil {
		var cur marker
		err := docstore.Update(ctx, store, mkey, &cur, func() error {
			if cur.Done != nil {
				if cur.Done.Number != a.Number {
					return fmt.Errorf("payment %s has numbers %d and %d", ref, cur.Done.Number, a.Number)
				}
				return docstore.ErrUnchanged
			}
			cur.Done = &a
			return nil
		}, 64)
		if err != nil {
			return err
		}
	}
	return al.Complete(ctx, a.Series, ref)
}

// runCrashTest delivers payments (plus duplicate deliveries) to workers
// concurrent issuers over a store that crashes at random, redelivering
// every failed attempt, then checks the series is exactly 1..payments with
// each payment once.
func runCrashTest(t *testing.T, base docstore.Store, payments, workers int, rate float64) {
	t.Helper()
	runCrashTestProcesses(t, base, payments, workers, 1, rate)
}

// runCrashTestProcesses is runCrashTest with procs allocators over the
// same store (procs processes sharing the bucket), worker i using
// allocator i%procs.
func runCrashTestProcesses(t *testing.T, base docstore.Store, payments, workers, procs int, rate float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cs := &docstoretest.CrashStore{Store: base, Rate: rate}
	als := make([]*numbering.Allocator, procs)
	for i := range als {
		als[i] = numbering.New(cs)
	}
	const series = "BL26T"

	queue := make(chan string, payments*4)
	var outstanding sync.WaitGroup
	for i := range payments {
		ref := fmt.Sprintf("MC%012d", i)
		outstanding.Add(1)
		queue <- ref
		if i%5 == 0 { // 20% delivered twice
			outstanding.Add(1)
			queue <- ref
		}
	}
	var attempts, failures atomic.Int64
	// The first unexpected error (errors of different concrete types may
	// come from different workers, so no atomic.Value).
	var fatalMu sync.Mutex
	var fatal error
	var wg sync.WaitGroup
	for w := range workers {
		al := als[w%procs]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range queue {
				attempts.Add(1)
				err := issueOnce(ctx, cs, al, series, ref)
				switch {
				case err == nil:
					outstanding.Done()
				case errors.Is(err, docstoretest.ErrCrash) || errors.Is(err, numbering.ErrContention) || errors.Is(err, docstore.ErrPrecondition):
					failures.Add(1)
					queue <- ref // redelivered
				default:
					fatalMu.Lock()
					if fatal == nil {
						fatal = err
					}
					fatalMu.Unlock()
					outstanding.Done()
				}
			}
		}()
	}
	outstanding.Wait()
	close(queue)
	wg.Wait()
	if fatal != nil {
		t.Fatal(fatal)
	}

	c, err := numbering.New(base).Get(ctx, series)
	if err != nil {
		t.Fatal(err)
	}
	if int(c.Last) != payments {
		t.Errorf("last number = %d, want %d (gap or duplicate)", c.Last, payments)
	}
	if len(c.InFlight) != 0 {
		t.Errorf("%d allocations still in flight: %v", len(c.InFlight), c.Pending())
	}
	seen := map[string]uint32{}
	var prevAt time.Time
	for n := 1; n <= payments; n++ {
		var s stored
		if _, err := docstore.GetJSON(ctx, base, fmt.Sprintf("receipts/%s/%08d.json", series, n), &s); err != nil {
			t.Fatalf("number %d: %v (gap)", n, err)
		}
		if other, dup := seen[s.Ref]; dup {
			t.Fatalf("payment %s has numbers %d and %d", s.Ref, other, n)
		}
		seen[s.Ref] = uint32(n)
		var m marker
		if _, err := docstore.GetJSON(ctx, base, "receipts/by-payment/"+s.Ref+".json", &m); err != nil || m.Done == nil || m.Done.Number != uint32(n) {
			t.Fatalf("marker of %s = %+v, %v; want number %d", s.Ref, m.Done, err, n)
		}
		if m.Done.At.Before(prevAt) {
			t.Fatalf("number %d issued at %v, before number %d (%v)", n, m.Done.At, n-1, prevAt)
		}
		prevAt = m.Done.At
	}
	if len(seen) != payments {
		t.Fatalf("%d payments numbered, want %d", len(seen), payments)
	}
	var st numbering.Stats
	for _, al := range als {
		s := al.Stats()
		st.Writes += s.Writes
		st.Lost += s.Lost
		st.Batches += s.Batches
		st.Requests += s.Requests
	}
	t.Logf("%d payments, %d workers, %d allocators: %d attempts, %d failed and redelivered, %d injected crashes; %d calls in %d batches, %d counter writes (%d lost)",
		payments, workers, procs, attempts.Load(), failures.Load(), cs.Crashes(), st.Requests, st.Batches, st.Writes, st.Lost)
	if cs.Crashes() == 0 {
		t.Fatal("no crash was injected: the test proves nothing")
	}
}

// TestAllocate_gapless_16_workers_with_crashes_memstore is the proof on the
// in-memory store: 2 000 payments, 16 issuers, 5% of store calls crash.
func TestAllocate_gapless_16_workers_with_crashes_memstore(t *testing.T) {
	runCrashTest(t, docstore.NewMemStore("motcua-data"), 2000, 16, 0.05)
}

// TestAllocate_gapless_16_workers_with_crashes_embedded_s3 is the same proof
// through the real AWS SDK against the embedded S3 server (real conditional
// writes, fsync).
func TestAllocate_gapless_16_workers_with_crashes_embedded_s3(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runCrashTest(t, docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-data"), n, 16, 0.05)
}

// TestAllocate_gapless_2_processes_with_crashes_memstore is the proof with
// two allocators (two processes, each with its own group commit) sharing
// the store: batches of one process lose compare-and-swaps to the other's.
func TestAllocate_gapless_2_processes_with_crashes_memstore(t *testing.T) {
	runCrashTestProcesses(t, docstore.NewMemStore("motcua-data"), 2000, 32, 2, 0.05)
}

// TestAllocate_gapless_2_processes_with_crashes_embedded_s3 is the same
// through the real AWS SDK against the embedded S3 server.
func TestAllocate_gapless_2_processes_with_crashes_embedded_s3(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runCrashTestProcesses(t, docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-data"), n, 32, 2, 0.05)
}

func TestAllocate(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		run  func(t *testing.T, al *numbering.Allocator)
	}{
		{"first_number_is_1_and_numbers_follow", func(t *testing.T, al *numbering.Allocator) {
			for i, ref := range []string{"A", "B", "C"} {
				a, err := al.Allocate(ctx, "BL26T", ref, t0, time.Time{}, nil)
				if err != nil || a.Number != uint32(i+1) {
					t.Fatalf("%s: %+v %v", ref, a, err)
				}
			}
		}},
		{"retry_of_same_payment_gets_same_number_and_token", func(t *testing.T, al *numbering.Allocator) {
			a1, _ := al.Allocate(ctx, "BL26T", "A", t0, time.Time{}, nil)
			a2, err := al.Allocate(ctx, "BL26T", "A", t0.Add(time.Hour), time.Time{}, nil)
			if err != nil || a1 != a2 {
				t.Fatalf("%+v vs %+v, %v", a1, a2, err)
			}
		}},
		{"issued_payment_is_not_renumbered", func(t *testing.T, al *numbering.Allocator) {
			want := numbering.Allocation{Series: "BL26T", Number: 7}
			a, err := al.Allocate(ctx, "BL26T", "A", t0, time.Time{}, func(context.Context) (numbering.Allocation, bool, error) { return want, true, nil })
			if err != nil || a != want {
				t.Fatalf("%+v %v", a, err)
			}
			c, _ := al.Get(ctx, "BL26T")
			if c.Last != 0 {
				t.Fatalf("counter moved to %d", c.Last)
			}
		}},
		{"complete_removes_in_flight_entry", func(t *testing.T, al *numbering.Allocator) {
			al.Allocate(ctx, "BL26T", "A", t0, time.Time{}, nil)
			if err := al.Complete(ctx, "BL26T", "A"); err != nil {
				t.Fatal(err)
			}
			if err := al.Complete(ctx, "BL26T", "A"); err != nil {
				t.Fatal(err)
			}
			c, _ := al.Get(ctx, "BL26T")
			if len(c.InFlight) != 0 || c.Last != 1 {
				t.Fatalf("%+v", c)
			}
		}},
		{"issue_time_never_goes_back", func(t *testing.T, al *numbering.Allocator) {
			al.Allocate(ctx, "BL26T", "A", t0, time.Time{}, nil)
			b, _ := al.Allocate(ctx, "BL26T", "B", t0.Add(-time.Minute), time.Time{}, nil)
			if !b.At.Equal(t0) {
				t.Fatalf("B at %v, want %v", b.At, t0)
			}
		}},
		{"issue_time_capped_at_year_end", func(t *testing.T, al *numbering.Allocator) {
			end := time.Date(2026, 12, 31, 16, 59, 59, 0, time.UTC)
			a, _ := al.Allocate(ctx, "BL26T", "A", end.Add(5*time.Second), end, nil)
			if !a.At.Equal(end) {
				t.Fatalf("at %v, want %v", a.At, end)
			}
		}},
		{"series_are_independent", func(t *testing.T, al *numbering.Allocator) {
			al.Allocate(ctx, "BL25T", "A", t0, time.Time{}, nil)
			al.Allocate(ctx, "BL25T", "B", t0, time.Time{}, nil)
			a, _ := al.Allocate(ctx, "BL26T", "C", t0, time.Time{}, nil)
			if a.Number != 1 {
				t.Fatalf("new series starts at %d", a.Number)
			}
			s, _ := al.Series(ctx)
			if len(s) != 2 || s[0] != "BL25T" || s[1] != "BL26T" {
				t.Fatalf("series %v", s)
			}
		}},
		{"bad_series_refused", func(t *testing.T, al *numbering.Allocator) {
			if _, err := al.Allocate(ctx, "../x", "A", t0, time.Time{}, nil); !errors.Is(err, numbering.ErrInvalidSeries) {
				t.Fatalf("err %v", err)
			}
		}},
		{"full_series_refused", func(t *testing.T, al *numbering.Allocator) {
			store := docstore.NewMemStore("b")
			docstore.PutJSON(ctx, store, numbering.Key("BL26T"), numbering.Counter{Series: "BL26T", Last: numbering.MaxNumber}, docstore.PutOptions{})
			if _, err := numbering.New(store).Allocate(ctx, "BL26T", "A", t0, time.Time{}, nil); !errors.Is(err, numbering.ErrSeriesFull) {
				t.Fatalf("err %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, numbering.New(docstore.NewMemStore("motcua-data")))
		})
	}
}
