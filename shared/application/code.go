package application

import (
	"context"
	"fmt"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/workdays"
)

// codeRetries bounds the compare-and-swap attempts of AllocateCode; with
// docstore's jittered backoff (capped near 128 ms) this rides out hundreds
// of simultaneous submissions to one agency.
const codeRetries = 400

// counter is the per-agency daily counter document.
type counter struct {
	Last int `json:"last"`
}

// CounterKey returns the key of the counter of agency on day (yyMMdd).
func CounterKey(agency, day string) string {
	return "counters/applications/" + agency + "/" + day + ".json"
}

// AllocateCode returns a new application code {agency}-{yyMMdd}-{NNNN}
// (NNNN widens past 9999), the day taken in Asia/Ho_Chi_Minh at now. The
// number comes from a per-agency daily counter document advanced with
// compare-and-swap, so concurrent callers in any number of processes never
// get the same code. Within one process, concurrent callers for the same
// counter are grouped: one of them advances the counter by the size of the
// group in a single compare-and-swap and hands the numbers out (group
// commit), which keeps a burst of submissions from turning into a storm of
// lost CAS races. Numbers taken by a request that later fails are skipped.
func AllocateCode(ctx context.Context, store docstore.Store, agency string, now time.Time) (Code, error) {
	day := now.In(workdays.Location).Format("060102")
	if _, err := ParseCode(agency + "-" + day + "-0001"); err != nil {
		return Code{}, fmt.Errorf("allocate code: agency code %q cannot make an application code", agency)
	}
	n, err := defaultAllocator.next(ctx, store, CounterKey(agency, day))
	if err != nil {
		return Code{}, fmt.Errorf("allocate code %s/%s: %w", agency, day, err)
	}
	code, err := ParseCode(fmt.Sprintf("%s-%s-%04d", agency, day, n))
	if err != nil {
		return Code{}, fmt.Errorf("allocate code %s/%s: %w", agency, day, err)
	}
	return code, nil
}

// allocTimeout bounds one group's compare-and-swap loop.
const allocTimeout = 30 * time.Second

type allocResult struct {
	n   int
	err error
}

type allocKey struct {
	store docstore.Store
	key   string
}

// allocGroup is the waiting callers of one counter.
type allocGroup struct {
	waiting []chan allocResult
	leading bool
}

// allocator groups concurrent allocations per counter document.
type allocator struct {
	mu     sync.Mutex
	groups map[allocKey]*allocGroup
}

var defaultAllocator = &allocator{groups: map[allocKey]*allocGroup{}}

func (a *allocator) next(ctx context.Context, store docstore.Store, key string) (int, error) {
	k := allocKey{store: store, key: key}
	ch := make(chan allocResult, 1)
	a.mu.Lock()
	g := a.groups[k]
	if g == nil {
		g = &allocGroup{}
		a.groups[k] = g
	}
	g.waiting = append(g.waiting, ch)
	lead := !g.leading
	g.leading = true
	a.mu.Unlock()
	if lead {
		go a.lead(context.WithoutCancel(ctx), k, g)
	}
	select {
	case r := <-ch:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// lead advances the counter for every caller waiting, batch after batch,
// until none is left.
func (a *allocator) lead(ctx context.Context, k allocKey, g *allocGroup) {
	for {
		a.mu.Lock()
		batch := g.waiting
		g.waiting = nil
		if len(batch) == 0 {
			g.leading = false
			delete(a.groups, k)
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, allocTimeout)
		var c counter
		err := docstore.Upsert(cctx, k.store, k.key, &c, func() error {
			c.Last += len(batch)
			return nil
		}, codeRetries)
		cancel()
		first := c.Last - len(batch) + 1
		for i, ch := range batch {
			if err != nil {
				ch <- allocResult{err: err}
				continue
			}
			ch <- allocResult{n: first + i}
		}
	}
}
