package application

import (
	"context"
	"sync"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/platform"
)

// TestAllocator_processes_over_one_embedded_S3_never_share_a_code runs
// several allocators (one per simulated process, each with its own S3
// client) over one embedded S3 bucket, in waves of concurrent and lone
// allocations for two agencies across a day boundary: no code is ever
// handed out twice, and a lone process's codes are consecutive.
func TestAllocator_processes_over_one_embedded_S3_never_share_a_code(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded S3 concurrency test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const procs = 5
	stores := make([]docstore.Store, procs)
	allocs := make([]*allocator, procs)
	for i := range procs {
		p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		stores[i], allocs[i] = p.Store, newAllocator(16)
	}
	day1 := time.Date(2026, 3, 2, 16, 59, 0, 0, time.UTC) // 23:59 in Hanoi
	day2 := day1.Add(2 * time.Minute)                     // next day in Hanoi
	var mu sync.Mutex
	seen := map[string]int{}
	take := func(p int, agency string, now time.Time) {
		c, err := allocs[p].allocate(ctx, stores[p], agency, now)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if q, dup := seen[c.String()]; dup {
			t.Errorf("%s handed out by process %d and process %d", c, q, p)
		}
		seen[c.String()] = p
	}
	for _, now := range []time.Time{day1, day2} {
		for wave := range 3 {
			var wg sync.WaitGroup
			for p := range procs {
				for i := range 40 {
					agency := "STP"
					if i%3 == 0 {
						agency = "SYT"
					}
					wg.Go(func() { take(p, agency, now) })
				}
			}
			wg.Wait()
			// A lone process between bursts draws on its block first.
			for range 5 {
				take(wave%procs, "STP", now)
			}
		}
	}
	if want := 2 * 3 * (procs*40 + 5); len(seen) != want {
		t.Fatalf("%d distinct codes, want %d", len(seen), want)
	}
}

// TestAllocator_lone_process_hands_out_consecutive_numbers: without other
// processes the block allocator leaves no gaps, whatever the block size.
func TestAllocator_lone_process_hands_out_consecutive_numbers(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	a := newAllocator(8)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	got := make([]string, 100)
	for i := range 60 {
		wg.Go(func() {
			c, err := a.allocate(ctx, store, "STP", now)
			if err != nil {
				t.Error(err)
			}
			got[i] = c.String()
		})
	}
	wg.Wait()
	for i := 60; i < 100; i++ {
		c, err := a.allocate(ctx, store, "STP", now)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = c.String()
	}
	seen := map[string]bool{}
	for _, c := range got {
		seen[c] = true
	}
	var last counter
	if _, err := docstore.GetJSON(ctx, store, CounterKey("STP", "260302"), &last); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if c := "STP-260302-" + pad(i); !seen[c] {
			t.Errorf("missing %s", c)
		}
	}
	if last.Last < 100 || last.Last > 100+8 {
		t.Errorf("counter at %d after 100 codes with blocks of at most 8", last.Last)
	}
}

func pad(i int) string {
	s := "000" + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
	return s[len(s)-4:]
}
