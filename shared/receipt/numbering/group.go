package numbering

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit: the Allocate and Complete calls of one process on one
// series wait in the series' waitRoom; whoever finds it idle starts a
// committer goroutine that takes every waiting request (up to maxBatch) and
// serves them with one read and one compare-and-swap write of the counter,
// then takes what arrived meanwhile, until nothing waits. No timer: a call
// on an idle series is written at once, alone.

// request is one Allocate or Complete call waiting for its answer.
type request struct {
	ctx      context.Context
	complete bool
	ref      string
	now      time.Time
	yearEnd  time.Time
	issued   IssuedFunc
	done     chan result // buffered: the committer never blocks on it

	// State of the current attempt, touched by the committer only.
	answered bool       // done has its answer
	found    bool       // issued reported a durable number
	checkA   Allocation // that number
	checkErr error      // issued failed
	writes   bool       // the answer waits for this attempt's write
	a        Allocation // the answer once the write succeeds
}

type result struct {
	a   Allocation
	err error
}

// answer gives r its result (once).
func (r *request) answer(a Allocation, err error) {
	if r.answered {
		return
	}
	r.answered = true
	r.done <- result{a, err}
}

// waitRoom holds the requests waiting for one series' committer.
type waitRoom struct {
	mu      sync.Mutex
	pending []*request
	busy    bool // a committer runs; false implies pending is empty
}

// counters are the Allocator's running totals (Stats).
type counters struct {
	reads, writes, lost, batches, requests, allocated, completed atomic.Int64
}

// Stats counts an Allocator's work so far, for benchmarks and operators.
type Stats struct {
	// Reads and Writes are the counter reads and compare-and-swap writes
	// (Writes includes the ones that lost).
	Reads  int64 `json:"reads"`
	Writes int64 `json:"writes"`
	// Lost is the writes that lost a compare-and-swap race (to another
	// process) and were retried.
	Lost int64 `json:"lost"`
	// Batches is the groups of requests served together; Requests the
	// Allocate and Complete calls they carried.
	Batches  int64 `json:"batches"`
	Requests int64 `json:"requests"`
	// Allocated is the new numbers written; Completed the in-flight
	// entries removed.
	Allocated int64 `json:"allocated"`
	Completed int64 `json:"completed"`
}

// Stats returns the totals so far.
func (al *Allocator) Stats() Stats {
	s := &al.stats
	return Stats{Reads: s.reads.Load(), Writes: s.writes.Load(), Lost: s.lost.Load(), Batches: s.batches.Load(),
		Requests: s.requests.Load(), Allocated: s.allocated.Load(), Completed: s.completed.Load()}
}

func (al *Allocator) room(series string) *waitRoom {
	al.mu.Lock()
	defer al.mu.Unlock()
	w := al.series[series]
	if w == nil {
		w = &waitRoom{}
		al.series[series] = w
	}
	return w
}

// submit queues r for series and waits for its answer or its context.
func (al *Allocator) submit(ctx context.Context, series string, r *request) (Allocation, error) {
	if !seriesRE.MatchString(series) {
		return Allocation{}, fmt.Errorf("%w: %q", ErrInvalidSeries, series)
	}
	if err := ctx.Err(); err != nil {
		return Allocation{}, err
	}
	r.ctx, r.done = ctx, make(chan result, 1)
	w := al.room(series)
	w.mu.Lock()
	w.pending = append(w.pending, r)
	lead := !w.busy
	w.busy = true
	w.mu.Unlock()
	if lead {
		go al.drain(series, w)
	}
	select {
	case res := <-r.done:
		return res.a, res.err
	case <-ctx.Done():
	}
	w.mu.Lock()
	if i := slices.Index(w.pending, r); i >= 0 {
		// Not taken yet: it never will be.
		w.pending = slices.Delete(w.pending, i, i+1)
		w.mu.Unlock()
		return Allocation{}, context.Cause(ctx)
	}
	w.mu.Unlock()
	select {
	case res := <-r.done: // answered meanwhile: the answer wins
		return res.a, res.err
	default:
		// In a batch being written: the batch goes on without this call.
		return Allocation{}, context.Cause(ctx)
	}
}

// take removes up to n requests from the front of w.pending. The caller
// holds w.mu.
func (w *waitRoom) take(n int) []*request {
	n = min(n, len(w.pending))
	batch := slices.Clone(w.pending[:n])
	rest := copy(w.pending, w.pending[n:])
	clear(w.pending[rest:])
	w.pending = w.pending[:rest]
	return batch
}

// drain serves w's requests in batches until none waits, then marks w
// idle. It runs in a goroutine of its own.
func (al *Allocator) drain(series string, w *waitRoom) {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.busy = false
			w.mu.Unlock()
			return
		}
		batch := w.take(al.maxBatch)
		w.mu.Unlock()
		al.stats.batches.Add(1)
		al.stats.requests.Add(int64(len(batch)))
		al.commitSafely(series, w, batch)
	}
}

// commitSafely is commit turning a panic into every unanswered caller's
// error: the committer serves other callers and must not leave the series
// marked busy with requests that never get an answer.
func (al *Allocator) commitSafely(series string, w *waitRoom, batch []*request) {
	defer func() {
		if p := recover(); p != nil {
			failAll(batch, fmt.Errorf("numbering %s: committer panicked: %v", series, p))
		}
	}()
	al.commit(series, w, &batch)
}

// commit serves batch (and, on a retry, the requests that arrived
// meanwhile) with one read and one compare-and-swap write per attempt and
// answers every request; *b grows with the requests that join a retry.
func (al *Allocator) commit(series string, w *waitRoom, b *[]*request) {
	batch := *b
	ctx, release := batchContext(batch)
	defer func() { release() }()
	var lastErr error
	for attempt := 0; attempt < al.maxAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				failAll(batch, err)
				return
			}
			// Requests that arrived meanwhile join the retry: they would
			// only race it otherwise.
			w.mu.Lock()
			more := w.take(max(al.maxBatch-len(batch), 0))
			w.mu.Unlock()
			if len(more) > 0 {
				al.stats.requests.Add(int64(len(more)))
				batch = append(batch, more...)
				*b = batch
				release()
				ctx, release = batchContext(batch)
			}
		}
		live := batch[:0:0]
		for _, r := range batch {
			if r.answered {
				continue
			}
			if err := r.ctx.Err(); err != nil {
				r.answer(Allocation{}, err) // its caller returned already
				continue
			}
			r.found, r.checkErr, r.writes = false, nil, false
			live = append(live, r)
		}
		if len(live) == 0 {
			return
		}
		err := al.attempt(ctx, series, live)
		if err == nil {
			return
		}
		if !lost(err) {
			failAll(live, err)
			return
		}
		al.stats.lost.Add(1)
		lastErr = err
	}
	failAll(batch, ErrContention.WithCause(lastErr))
}

// attempt is one read-check-write round for live (none answered yet). A
// nil error means every request is answered; a lost compare-and-swap
// (lost(err)) leaves the unanswered ones for the next attempt; any other
// error is for the caller to give to every unanswered request.
func (al *Allocator) attempt(ctx context.Context, series string, live []*request) error {
	al.stats.reads.Add(1)
	c, etag, err := al.read(ctx, series)
	if err != nil {
		return err
	}
	// 1. Against the counter as read: an entry already in flight is the
	// answer (durable: it is in the stored counter); Completes of entries
	// that are not there are done.
	var checks []*request
	for _, r := range live {
		_, inFlight := c.InFlight[r.ref]
		switch {
		case r.complete && (!inFlight || etag == ""):
			r.answer(Allocation{}, nil)
		case r.complete:
		case inFlight:
			r.answer(c.InFlight[r.ref], nil)
		case r.issued != nil:
			checks = append(checks, r)
		}
	}
	// 2. The Issued checks, between this read and this attempt's write,
	// concurrently.
	runChecks(checks)
	// 3. The new counter, in arrival order: removals of entries present
	// when read, then numbers for the rest.
	next := Counter{Series: c.Series, Last: c.Last, LastAt: c.LastAt, Version: c.Version,
		InFlight: make(map[string]Allocation, len(c.InFlight)+len(live))}
	if next.Series == "" {
		next.Series = series
	}
	for ref, a := range c.InFlight {
		next.InFlight[ref] = a
	}
	removed, added := 0, 0
	for _, r := range live {
		if r.answered || !r.complete {
			continue
		}
		if _, ok := c.InFlight[r.ref]; ok {
			delete(next.InFlight, r.ref)
			removed++
		}
		r.writes = true
	}
	for _, r := range live {
		if r.answered || r.complete {
			continue
		}
		switch {
		case r.checkErr != nil:
			r.answer(Allocation{}, fmt.Errorf("allocate %s/%s: %w", series, r.ref, r.checkErr))
			continue
		case r.found:
			r.answer(r.checkA, nil)
			continue
		}
		if a, ok := next.InFlight[r.ref]; ok {
			// A second call for the same payment in this batch.
			r.a, r.writes = a, true
			continue
		}
		if next.Last >= MaxNumber {
			r.answer(Allocation{}, ErrSeriesFull)
			continue
		}
		token, err := NewToken()
		if err != nil {
			r.answer(Allocation{}, err)
			continue
		}
		at := r.now.UTC().Truncate(time.Second)
		if next.LastAt.After(at) {
			at = next.LastAt
		}
		if !r.yearEnd.IsZero() && at.After(r.yearEnd) {
			at = r.yearEnd.UTC()
		}
		a := Allocation{Series: series, Number: next.Last + 1, At: at, Token: token}
		next.InFlight[r.ref] = a
		next.Last, next.LastAt = a.Number, a.At
		r.a, r.writes = a, true
		added++
	}
	if removed == 0 && added == 0 {
		return nil // every request answered from the counter as read
	}
	al.stats.writes.Add(1)
	if err := al.write(ctx, next, etag); err != nil {
		if !lost(err) {
			err = fmt.Errorf("write counter %s (batch of %d): %w", series, len(live), err)
		}
		return err
	}
	al.stats.allocated.Add(int64(added))
	al.stats.completed.Add(int64(removed))
	for _, r := range live {
		if r.writes {
			r.answer(r.a, nil)
		}
	}
	return nil
}

// runChecks runs the requests' Issued checks, concurrently when there are
// several; a check that panics fails its own request.
func runChecks(checks []*request) {
	check := func(r *request) {
		defer func() {
			if p := recover(); p != nil {
				r.checkErr = fmt.Errorf("issued check panicked: %v", p)
			}
		}()
		r.checkA, r.found, r.checkErr = r.issued(r.ctx)
	}
	if len(checks) == 1 {
		check(checks[0])
		return
	}
	var wg sync.WaitGroup
	for _, r := range checks {
		wg.Go(func() { check(r) })
	}
	wg.Wait()
}

// failAll gives err to every request of batch not answered yet.
func failAll(batch []*request, err error) {
	for _, r := range batch {
		r.answer(Allocation{}, err)
	}
}

// batchContext returns the context of a batch's storage requests: it keeps
// the first caller's values and is cancelled only once every caller's
// context has ended (one caller giving up never fails the others). release
// frees it.
func batchContext(batch []*request) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(batch[0].ctx))
	for _, r := range batch {
		if r.ctx.Done() == nil {
			// This caller's context never ends: neither does the batch's.
			return ctx, func() { cancel(errors.New("numbering: batch done")) }
		}
	}
	var left atomic.Int32
	left.Store(int32(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, r := range batch {
		stops = append(stops, context.AfterFunc(r.ctx, func() {
			if left.Add(-1) == 0 {
				cancel(context.Cause(r.ctx))
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(errors.New("numbering: batch done"))
	}
}
