package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua/shared/docstore"
)

func TestLoadSequentialVersions(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	procs := seed(t)
	for want := 1; want <= 3; want++ {
		got, err := Load(ctx, store, procs)
		if err != nil || got != want {
			t.Fatalf("Load #%d = %d, %v", want, got, err)
		}
	}
	v, err := Current(ctx, store)
	if err != nil || v.Version != 3 || len(v.Procedures) != len(procs) {
		t.Fatalf("Current = v%d (%d procs), %v", v.Version, len(v.Procedures), err)
	}
	for n := 1; n <= 3; n++ {
		if _, err := store.Head(ctx, VersionKey(n)); err != nil {
			t.Fatalf("version %d missing: %v", n, err)
		}
	}
}

func TestLoadRejectsInvalidAndWritesNothing(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	bad := validProc()
	bad.Level = "galaxy"
	_, err := Load(context.Background(), store, []Procedure{bad})
	if !errors.Is(err, ErrInvalidCatalog) {
		t.Fatalf("err = %v", err)
	}
	if keys := store.Keys(); len(keys) != 0 {
		t.Fatalf("invalid load wrote %v", keys)
	}
}

func TestLoadConcurrentGetsDistinctVersionsAndConsistentPointer(t *testing.T) {
	procs := seed(t)
	for _, loaders := range []int{2, 5} {
		for round := 0; round < 20; round++ {
			t.Run(fmt.Sprintf("loaders_%d_round_%d", loaders, round), func(t *testing.T) {
				ctx := context.Background()
				store := docstore.NewMemStore("motcua-data")
				var wg sync.WaitGroup
				versions := make([]int, loaders)
				errs := make([]error, loaders)
				start := make(chan struct{})
				for i := 0; i < loaders; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						<-start
						versions[i], errs[i] = Load(ctx, store, procs)
					}(i)
				}
				close(start)
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				sort.Ints(versions)
				for i, v := range versions {
					if v != i+1 {
						t.Fatalf("versions = %v, want 1..%d", versions, loaders)
					}
				}
				p, _, err := readPointer(ctx, store)
				if err != nil || p.Version != loaders || p.Key != VersionKey(loaders) || p.Count != len(procs) {
					t.Fatalf("pointer = %+v, %v; want version %d", p, err, loaders)
				}
				v, err := Current(ctx, store)
				if err != nil || v.Version != loaders {
					t.Fatalf("current = v%d, %v", v.Version, err)
				}
			})
		}
	}
}

func TestLoadSkipsVersionLeftByCrashedLoader(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	if _, err := Load(ctx, store, seed(t)); err != nil {
		t.Fatal(err)
	}
	// A loader wrote v2 and died before moving the pointer.
	if _, err := store.Put(ctx, VersionKey(2), []byte(`{"version":2,"procedures":[]}`), docstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	n, err := Load(ctx, store, seed(t))
	if err != nil || n != 3 {
		t.Fatalf("Load = %d, %v; want 3", n, err)
	}
	if v, err := Current(ctx, store); err != nil || v.Version != 3 || len(v.Procedures) == 0 {
		t.Fatalf("current = v%d, %v", v.Version, err)
	}
}

func TestSeedConcurrentColdStartsCreateOnce(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	procs := seed(t)
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := Seed(ctx, store, procs)
			if err != nil {
				t.Error(err)
			}
			if ok {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("created %d times, want 1", created.Load())
	}
	if keys := store.Keys(); len(keys) != 2 || keys[0] != PointerKey || keys[1] != VersionKey(1) {
		t.Fatalf("keys = %v", keys)
	}
	// Seeding an existing catalog is a no-op; Load still moves on to v2.
	if ok, err := Seed(ctx, store, procs); ok || err != nil {
		t.Fatalf("second Seed = %v, %v", ok, err)
	}
	if n, err := Load(ctx, store, procs); n != 2 || err != nil {
		t.Fatalf("Load after seed = %d, %v", n, err)
	}
}

// countingStore records calls and can fail Heads, to observe the Catalog's
// refresh policy.
type countingStore struct {
	docstore.Store
	heads, gets atomic.Int32
	failHead    atomic.Bool
}

func (s *countingStore) Head(ctx context.Context, key string) (docstore.Entry, error) {
	s.heads.Add(1)
	if s.failHead.Load() {
		return docstore.Entry{}, errors.New("injected: storage unavailable")
	}
	return s.Store.Head(ctx, key)
}

func (s *countingStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCatalogRefreshesOnPointerChange(t *testing.T) {
	ctx := context.Background()
	mem := docstore.NewMemStore("motcua-data")
	store := &countingStore{Store: mem}
	clock := &fakeClock{t: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
	cat := NewCatalog(store, WithClock(clock.Now))

	if _, err := cat.Get(ctx, "X.HT.001"); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("empty store: err = %v, want ErrNotLoaded", err)
	}
	procs := seed(t)
	if _, err := Load(ctx, mem, procs); err != nil {
		t.Fatal(err)
	}
	p, err := cat.Get(ctx, "X.HT.001")
	if err != nil || p.Name != "Đăng ký khai sinh" {
		t.Fatalf("Get = %q, %v", p.Name, err)
	}

	// Within the interval: served from memory, no store calls at all.
	heads, gets := store.heads.Load(), store.gets.Load()
	for i := 0; i < 10; i++ {
		if _, err := cat.Search(ctx, Query{Text: "khai sinh"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(29 * time.Second)
	if _, err := cat.Get(ctx, "X.HT.001"); err != nil {
		t.Fatal(err)
	}
	if store.heads.Load() != heads || store.gets.Load() != gets {
		t.Fatal("catalog touched the store within the refresh interval")
	}

	// A new version is loaded; the reader picks it up after the interval.
	changed := append([]Procedure(nil), procs...)
	for i := range changed {
		if changed[i].Code == "X.HT.001" {
			changed[i].Name = "Đăng ký khai sinh (sửa đổi)"
		}
	}
	if _, err := Load(ctx, mem, changed); err != nil {
		t.Fatal(err)
	}
	if p, _ := cat.Get(ctx, "X.HT.001"); p.Name != "Đăng ký khai sinh" {
		t.Fatalf("reloaded before the interval: %q", p.Name)
	}
	clock.Advance(2 * time.Second)
	if p, _ := cat.Get(ctx, "X.HT.001"); p.Name != "Đăng ký khai sinh (sửa đổi)" {
		t.Fatalf("not reloaded after the interval: %q", p.Name)
	}
	if _, v, _ := cat.Index(ctx); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}

	// Unchanged pointer: a check costs one Head and no Get.
	clock.Advance(31 * time.Second)
	heads, gets = store.heads.Load(), store.gets.Load()
	if _, err := cat.Get(ctx, "X.HT.001"); err != nil {
		t.Fatal(err)
	}
	if store.heads.Load() != heads+1 || store.gets.Load() != gets {
		t.Fatalf("unchanged check: heads +%d gets +%d, want +1 +0", store.heads.Load()-heads, store.gets.Load()-gets)
	}

	// Storage down: the held version is served.
	store.failHead.Store(true)
	clock.Advance(31 * time.Second)
	if p, err := cat.Get(ctx, "X.HT.001"); err != nil || p.Name != "Đăng ký khai sinh (sửa đổi)" {
		t.Fatalf("during outage: %q, %v", p.Name, err)
	}
}

func TestCatalogConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	mem := docstore.NewMemStore("motcua-data")
	if _, err := Load(ctx, mem, seed(t)); err != nil {
		t.Fatal(err)
	}
	cat := NewCatalog(mem, WithRefreshInterval(0))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if i == 0 && j%5 == 0 {
					if _, err := Load(ctx, mem, seed(t)); err != nil {
						t.Error(err)
					}
				}
				if _, err := cat.Get(ctx, "T.TP.001"); err != nil {
					t.Error(err)
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestServiceSeedsEmptyStore(t *testing.T) {
	ctx := context.Background()
	t.Run("seed_if_empty", func(t *testing.T) {
		store := docstore.NewMemStore("motcua-data")
		svc := NewService(store, nil, ServiceOptions{SeedIfEmpty: true})
		page, err := svc.Search(ctx, Query{Text: "khai sinh"})
		if err != nil || page.Total != 1 {
			t.Fatalf("Search = %+v, %v", page, err)
		}
		if _, err := store.Head(ctx, PointerKey); err != nil {
			t.Fatalf("pointer not written: %v", err)
		}
	})
	t.Run("no_seed", func(t *testing.T) {
		store := docstore.NewMemStore("motcua-data")
		svc := NewService(store, nil, ServiceOptions{})
		if _, err := svc.Get(ctx, "X.HT.001"); !errors.Is(err, ErrNotLoaded) {
			t.Fatalf("err = %v, want ErrNotLoaded", err)
		}
		if keys := store.Keys(); len(keys) != 0 {
			t.Fatalf("wrote %v", keys)
		}
	})
	t.Run("bad_query_does_not_seed", func(t *testing.T) {
		store := docstore.NewMemStore("motcua-data")
		svc := NewService(store, nil, ServiceOptions{SeedIfEmpty: true})
		if _, err := svc.Search(ctx, Query{Level: "ward"}); !errors.Is(err, ErrInvalidQuery) {
			t.Fatalf("err = %v", err)
		}
		if keys := store.Keys(); len(keys) != 0 {
			t.Fatalf("wrote %v", keys)
		}
	})
}
