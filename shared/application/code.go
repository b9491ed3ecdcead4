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
// numbers come from a per-agency daily counter document advanced with
// compare-and-swap, so callers in any number of processes never get the
// same code.
//
// A process reserves numbers in blocks: one compare-and-swap advances the
// counter by a whole block, and the block's numbers are then handed out
// from memory. Blocks adapt to the load: a block used up within
// blockGrowWithin makes the next one twice as large (up to maxBlock), a
// block that lasted longer than blockShrinkAfter makes it half as large
// (down to 1), so a quiet office keeps almost gapless codes and a burst
// costs one compare-and-swap per block instead of one per submission.
// Concurrent callers waiting for a new block are grouped behind one
// compare-and-swap (group commit). Numbers left in a block when the
// process stops, and numbers taken by a request that later fails, are
// skipped: codes are distinct and increasing per process, not gapless.
func AllocateCode(ctx context.Context, store docstore.Store, agency string, now time.Time) (Code, error) {
	return defaultAllocator.allocate(ctx, store, agency, now)
}

func (a *allocator) allocate(ctx context.Context, store docstore.Store, agency string, now time.Time) (Code, error) {
	day := now.In(workdays.Location).Format("060102")
	if _, err := ParseCode(agency + "-" + day + "-0001"); err != nil {
		return Code{}, fmt.Errorf("allocate code: agency code %q cannot make an application code", agency)
	}
	n, err := a.next(ctx, store, CounterKey(agency, day), day)
	if err != nil {
		return Code{}, fmt.Errorf("allocate code %s/%s: %w", agency, day, err)
	}
	code, err := ParseCode(fmt.Sprintf("%s-%s-%04d", agency, day, n))
	if err != nil {
		return Code{}, fmt.Errorf("allocate code %s/%s: %w", agency, day, err)
	}
	return code, nil
}

const (
	// allocTimeout bounds one block's compare-and-swap loop.
	allocTimeout = 30 * time.Second
	// maxBlock is the largest block of numbers one compare-and-swap
	// reserves: the most numbers a process that dies can leave unused.
	maxBlock = 64
	// blockGrowWithin: a block used up faster than this doubles the next.
	blockGrowWithin = 2 * time.Second
	// blockShrinkAfter: a block that lasted longer than this halves the next.
	blockShrinkAfter = time.Minute
)

type allocResult struct {
	n   int
	err error
}

type allocKey struct {
	store docstore.Store
	key   string
}

// allocBlock is one counter's state in this process: the reserved numbers
// not handed out yet ([next, end)), the size of the next block, and the
// callers waiting for it.
type allocBlock struct {
	day        string
	next, end  int
	size       int
	reservedAt time.Time
	waiting    []chan allocResult
	leading    bool
}

// allocator hands out numbers from per-process blocks of each counter.
type allocator struct {
	mu     sync.Mutex
	blocks map[allocKey]*allocBlock
	// maxBlock caps the block size (maxBlock when 0; tests lower it).
	maxBlock int
}

var defaultAllocator = newAllocator(maxBlock)

func newAllocator(maxSize int) *allocator {
	return &allocator{blocks: map[allocKey]*allocBlock{}, maxBlock: maxSize}
}

func (a *allocator) next(ctx context.Context, store docstore.Store, key, day string) (int, error) {
	k := allocKey{store: store, key: key}
	a.mu.Lock()
	b := a.blocks[k]
	if b == nil {
		a.forgetOtherDays(store, day)
		b = &allocBlock{day: day, size: 1}
		a.blocks[k] = b
	}
	if b.next < b.end {
		n := b.next
		b.next++
		a.mu.Unlock()
		return n, nil
	}
	ch := make(chan allocResult, 1)
	b.waiting = append(b.waiting, ch)
	lead := !b.leading
	b.leading = true
	a.mu.Unlock()
	if lead {
		go a.lead(context.WithoutCancel(ctx), k, b)
	}
	select {
	case r := <-ch:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// forgetOtherDays drops the idle blocks of store's counters of other days
// (their numbers are gaps now). Called with a.mu held.
func (a *allocator) forgetOtherDays(store docstore.Store, day string) {
	for k, b := range a.blocks {
		if k.store == store && b.day != day && !b.leading && len(b.waiting) == 0 {
			delete(a.blocks, k)
		}
	}
}

// lead reserves blocks for the callers waiting, block after block, until
// none is left waiting; numbers reserved beyond their need stay in the
// block for the next callers.
func (a *allocator) lead(ctx context.Context, k allocKey, b *allocBlock) {
	for {
		a.mu.Lock()
		for len(b.waiting) > 0 && b.next < b.end {
			b.waiting[0] <- allocResult{n: b.next}
			b.waiting = b.waiting[1:]
			b.next++
		}
		batch := b.waiting
		b.waiting = nil
		if len(batch) == 0 {
			b.leading = false
			a.mu.Unlock()
			return
		}
		now := time.Now()
		if !b.reservedAt.IsZero() {
			switch used := now.Sub(b.reservedAt); {
			case used < blockGrowWithin:
				b.size = min(2*b.size, a.maxBlock)
			case used > blockShrinkAfter:
				b.size = max(b.size/2, 1)
			}
		}
		size := max(b.size, len(batch))
		a.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, allocTimeout)
		var c counter
		err := docstore.Upsert(cctx, k.store, k.key, &c, func() error {
			c.Last += size
			return nil
		}, codeRetries)
		cancel()

		a.mu.Lock()
		if err != nil {
			for _, ch := range batch {
				ch <- allocResult{err: err}
			}
			a.mu.Unlock()
			continue
		}
		first := c.Last - size + 1
		for i, ch := range batch {
			ch <- allocResult{n: first + i}
		}
		b.next, b.end, b.reservedAt = first+len(batch), c.Last+1, now
		a.mu.Unlock()
	}
}
