// Package boltcommit group-commits bbolt write transactions for motcua's
// embedded S3 and SQS servers: every write is a function run inside a bolt
// write transaction, and a caller is answered only after its transaction
// has committed (written and fsynced, unless the DB was opened with
// NoSync).
//
// A write that arrives while the committer is idle commits at once, alone,
// in its caller's goroutine (no hand-off to a committer goroutine, so a lone
// write pays nothing extra). Writes that arrive while a commit (and its
// fsync) is in progress queue up, and when that commit is done the first of
// them is woken to commit everything queued as one transaction: N
// concurrent writers pay for one fsync instead of N. Nothing waits for a
// batch to fill: there is no delay.
//
// Contract for a write function:
//   - It may run more than once (a failed group is retried one function at
//     a time), so it must reset any result it reports through its closure
//     and must not have effects outside tx.
//   - An expected refusal (no such bucket, failed precondition) is reported
//     through the closure with a nil return, and only after checking,
//     before changing anything: it must not abort the neighbours' writes.
//   - A non-nil return (or a panic) means the transaction is broken; the
//     group is rolled back and each function is retried in a transaction of
//     its own, so only the culprit fails.
//   - It must not take locks another writer may hold while waiting in Do:
//     it may run in any writer's goroutine.
package boltcommit

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// MaxGroup bounds how many writes share one transaction.
const MaxGroup = 256

// MaxGroupBytes bounds the payload bytes one transaction carries (the size
// hints given to Do), so a burst of large writes is not copied into one
// huge transaction.
const MaxGroupBytes = 32 << 20

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("boltcommit: closed")

// request is one write waiting for a commit.
type request struct {
	fn   func(tx *bolt.Tx) error
	size int
	// wake receives either the write's result or, once, the leader role.
	wake chan wakeMsg
}

// wakeMsg tells a waiting writer its result, or that it now leads.
type wakeMsg struct {
	err  error
	lead bool
}

// Committer runs write functions in group-committed bolt transactions. It
// has no goroutine of its own. It is safe for concurrent use.
type Committer struct {
	db *bolt.DB

	mu      sync.Mutex
	idle    *sync.Cond // signalled when busy turns false
	pending []*request
	busy    bool // a leader is committing
	closed  bool
}

// New returns a Committer writing to db.
func New(db *bolt.DB) *Committer {
	c := &Committer{db: db}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// Do runs fn in a write transaction and returns once that transaction is
// durably committed, or the error that stopped it (ErrClosed after Close).
// size is the number of payload bytes fn writes (a hint for grouping; 0 if
// small).
func (c *Committer) Do(size int, fn func(tx *bolt.Tx) error) error {
	r := &request{fn: fn, size: size, wake: make(chan wakeMsg, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending = append(c.pending, r)
	if c.busy {
		c.mu.Unlock()
		m := <-r.wake
		if !m.lead {
			return m.err
		}
		c.mu.Lock()
	} else {
		c.busy = true
	}
	c.lead() // unlocks c.mu
	return (<-r.wake).err
}

// lead commits the queued writes as one group, then hands the leader role
// to the first writer queued meanwhile, or marks the committer idle. The
// caller holds c.mu and is at the head of c.pending; lead unlocks c.mu.
func (c *Committer) lead() {
	n, bytes := 0, 0
	for n < len(c.pending) && n < MaxGroup && (n == 0 || bytes < MaxGroupBytes) {
		bytes += c.pending[n].size
		n++
	}
	group := make([]*request, n)
	copy(group, c.pending)
	rest := copy(c.pending, c.pending[n:])
	clear(c.pending[rest:]) // drop references to request bodies
	c.pending = c.pending[:rest]
	c.mu.Unlock()

	c.commit(group)

	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].wake <- wakeMsg{lead: true}
	} else {
		c.busy = false
		c.idle.Broadcast()
	}
	c.mu.Unlock()
}

// commit runs group in one transaction; if that fails, it retries each
// function in a transaction of its own so one bad write cannot fail or lose
// the others.
func (c *Committer) commit(group []*request) {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, r := range group {
			if err := run(r.fn, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, r := range group {
			r.wake <- wakeMsg{err: err}
		}
		return
	}
	for _, r := range group {
		r.wake <- wakeMsg{err: c.db.Update(func(tx *bolt.Tx) error { return run(r.fn, tx) })}
	}
}

// run calls fn, turning a panic into an error: the leader commits its
// neighbours' writes too, and a panic escaping it (net/http recovers it per
// connection) would fail them and leave the committer busy for ever.
func run(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltcommit: write panicked: %v", p)
		}
	}()
	return fn(tx)
}

// Close refuses new writes and returns once the writes already accepted
// are committed. It is idempotent.
func (c *Committer) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.busy {
		c.idle.Wait()
	}
}
