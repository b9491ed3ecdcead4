package stats

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
)

// TestPusher_merges_parts_pushed_while_a_write_runs: the parts pushed while
// one write of a document is in flight go out together in the next write,
// with the newest Rev per name, and every caller gets its write's outcome.
func TestPusher_merges_parts_pushed_while_a_write_runs(t *testing.T) {
	p := &pusher{slots: map[pushKey]*pushSlot{}}
	store := docstore.NewMemStore("t")
	var mu sync.Mutex
	var writes []map[string]Part
	release := make(chan struct{})
	write := func(parts map[string]Part) error {
		mu.Lock()
		first := len(writes) == 0
		cp := map[string]Part{}
		for k, v := range parts {
			cp[k] = v
		}
		writes = append(writes, cp)
		mu.Unlock()
		if first {
			<-release
		}
		if _, bad := parts["bad"]; bad {
			return errors.New("write failed")
		}
		return nil
	}
	ctx := context.Background()
	errs := make(chan error, 8)
	go func() { errs <- p.push(ctx, store, "k", "a", Part{Rev: 1}, write) }()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(writes) == 1 })
	pushes := []struct {
		name string
		rev  int64
	}{{"a", 3}, {"b", 1}, {"a", 2}, {"c", 5}}
	for _, x := range pushes {
		go func() { errs <- p.push(ctx, store, "k", x.name, Part{Rev: x.rev}, write) }()
	}
	waitUntil(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		r := p.slots[pushKey{store, "k"}].open
		return r != nil && len(r.parts) == 3 && r.parts["a"].Rev == 3
	})
	// Another document and another store are not merged with this one.
	if err := p.push(ctx, store, "other", "a", Part{Rev: 9}, func(map[string]Part) error { return nil }); err != nil {
		t.Fatal(err)
	}
	close(release)
	for range 1 + len(pushes) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(writes) != 2 {
		t.Fatalf("%d writes, want 2 (the first, then the four pushes merged): %v", len(writes), writes)
	}
	if w := writes[1]; len(w) != 3 || w["a"].Rev != 3 || w["b"].Rev != 1 || w["c"].Rev != 5 {
		t.Fatalf("merged write %v, want a@3 b@1 c@5", w)
	}

	// A failed write fails every caller it carried.
	if err := p.push(ctx, store, "k", "bad", Part{Rev: 1}, write); err == nil {
		t.Fatal("push of a failing write succeeded")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}
