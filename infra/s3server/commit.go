package s3server

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write (PUT, DELETE, bucket create/delete) is a
// function run inside a bolt write transaction by the committer.
// A write that arrives while the committer is idle commits at once, alone;
// writes that arrive while a commit (and its fsync) is in progress queue up
// and share the next transaction, so N concurrent writers pay for one fsync
// instead of N. Nothing waits for a batch to fill: there is no delay.
//
// Contract for a commit function:
//   - It may run more than once (a failed group is retried one function at
//     a time), so it must reset any result it reports through its closure
//     and must not have effects outside tx.
//   - An expected refusal (no such bucket, failed precondition) is reported
//     through the closure with a nil return, and only after checking,
//     before changing anything: it must not abort the neighbours' writes.
//   - A non-nil return means the transaction is broken (a bolt error); the
//     group is rolled back and each function is retried in a transaction of
//     its own, so only the culprit fails.
//
// A caller is answered only after its transaction has committed (fsynced
// unless Options.NoSync).

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// maxGroupBytes bounds the payload bytes one transaction carries, so a burst
// of large objects is not copied into one huge transaction.
const maxGroupBytes = 32 << 20

// errClosed is returned for writes submitted after the server closed.
var errClosed = errors.New("s3server: server closed")

// commitReq is one write waiting for a commit.
type commitReq struct {
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

// committer runs write functions in group-committed bolt transactions. It
// has no goroutine of its own: the writer that finds it idle commits at
// once, in its own goroutine (no hand-off, so a lone write pays nothing
// extra); writers arriving meanwhile queue, and when that commit is done the
// first of them is woken to commit everything queued, as one transaction.
type committer struct {
	db *bolt.DB

	mu      sync.Mutex
	idle    *sync.Cond // signalled when busy turns false
	pending []*commitReq
	busy    bool // a leader is committing
	closed  bool
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// do runs fn in a write transaction and returns once that transaction is
// durably committed, or the error that stopped it. size is the number of
// payload bytes fn writes (a hint for grouping).
func (c *committer) do(size int, fn func(tx *bolt.Tx) error) error {
	r := &commitReq{fn: fn, size: size, wake: make(chan wakeMsg, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
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
func (c *committer) lead() {
	n, bytes := 0, 0
	for n < len(c.pending) && n < maxGroup && (n == 0 || bytes < maxGroupBytes) {
		bytes += c.pending[n].size
		n++
	}
	group := make([]*commitReq, n)
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
func (c *committer) commit(group []*commitReq) {
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

// run calls fn, turning a panic into an error: the committer goroutine
// serves every writer and must not die with one bad request.
func run(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("s3server: write panicked: %v", p)
		}
	}()
	return fn(tx)
}

// close refuses new writes and returns once the writes already accepted
// are committed.
func (c *committer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.busy {
		c.idle.Wait()
	}
}
