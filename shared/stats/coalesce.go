package stats

import (
	"context"
	"reflect"
	"sync"

	"motcua/shared/docstore"
)

// Every event of an agency's month ends in the same two documents (its
// AgencyParts and the month Summary), so concurrent events of one process
// would otherwise queue on them through compare-and-swap conflicts and
// jittered retries. A pusher coalesces them: the parts pushed to one
// document while a write of it is in flight are merged (the newest Rev per
// name wins, as the write itself would decide) and written together by one
// caller in one read-modify-write. Each caller returns only once a write
// that holds its part succeeded (or with that write's error), so an event
// is still acknowledged only after its contribution reached the summary;
// across processes the writes stay ETag compare-and-swap.

// pushKey names one document of one store.
type pushKey struct {
	store docstore.Store
	key   string
}

// pushRound is the set of parts one write of a document will carry.
type pushRound struct {
	parts map[string]Part
	err   error
	done  chan struct{} // closed once the write ran
}

// pushSlot serialises the writes of one document within the process.
type pushSlot struct {
	token chan struct{} // held by the caller writing a round
	open  *pushRound    // collecting parts; nil when none
}

// pusher holds the slots of every document pushed to.
type pusher struct {
	mu    sync.Mutex
	slots map[pushKey]*pushSlot
}

var pushers = &pusher{slots: map[pushKey]*pushSlot{}}

// push has write(parts) run with (name, pt) among the parts, merged with
// those of concurrent callers for the same document, and returns the
// outcome of the write that carried it. write must apply each part only
// if it is newer than the stored one (it is given the newest Rev per name).
func (p *pusher) push(ctx context.Context, store docstore.Store, key, name string, pt Part, write func(map[string]Part) error) error {
	if t := reflect.TypeOf(store); t == nil || !t.Comparable() {
		return write(map[string]Part{name: pt})
	}
	k := pushKey{store: store, key: key}
	p.mu.Lock()
	s := p.slots[k]
	if s == nil {
		s = &pushSlot{token: make(chan struct{}, 1)}
		p.slots[k] = s
	}
	r := s.open
	if r == nil {
		r = &pushRound{parts: map[string]Part{}, done: make(chan struct{})}
		s.open = r
	}
	if cur, ok := r.parts[name]; !ok || pt.Rev > cur.Rev {
		r.parts[name] = pt
	}
	p.mu.Unlock()

	select {
	case <-r.done: // another caller wrote the round holding this part
		return r.err
	case s.token <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.token }()
	select {
	case <-r.done:
		return r.err
	default:
	}
	p.mu.Lock()
	if s.open == r {
		s.open = nil // later parts go to the next round
	}
	p.mu.Unlock()
	r.err = write(r.parts)
	close(r.done)
	return r.err
}
