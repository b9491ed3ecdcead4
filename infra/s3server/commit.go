package s3server

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write (PUT, DELETE, bucket create/delete) is a
// function run by one committer goroutine inside a bolt write transaction.
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

// commitReq is one write waiting for the committer.
type commitReq struct {
	fn   func(tx *bolt.Tx) error
	size int
	done chan error
}

// committer runs write functions in group-committed bolt transactions.
type committer struct {
	db   *bolt.DB
	reqs chan commitReq
	stop chan struct{}
	wg   sync.WaitGroup
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan commitReq), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// do runs fn in a write transaction and returns once that transaction is
// durably committed, or the error that stopped it. size is the number of
// payload bytes fn writes (a hint for grouping).
func (c *committer) do(size int, fn func(tx *bolt.Tx) error) error {
	r := commitReq{fn: fn, size: size, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-c.stop:
		return errClosed
	}
	return <-r.done
}

func (c *committer) loop() {
	defer c.wg.Done()
	group := make([]commitReq, 0, maxGroup)
	for {
		select {
		case r := <-c.reqs:
			group = append(group[:0], r)
			bytes := r.size
		drain:
			for len(group) < maxGroup && bytes < maxGroupBytes {
				select {
				case r2 := <-c.reqs:
					group = append(group, r2)
					bytes += r2.size
				default:
					break drain
				}
			}
			c.commit(group)
			clear(group) // drop references to request bodies
		case <-c.stop:
			// Finish what is already handed over so no caller hangs.
			for {
				select {
				case r := <-c.reqs:
					c.commit([]commitReq{r})
				default:
					return
				}
			}
		}
	}
}

// commit runs group in one transaction; if that fails, it retries each
// function in a transaction of its own so one bad write cannot fail or lose
// the others.
func (c *committer) commit(group []commitReq) {
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
			r.done <- err
		}
		return
	}
	for _, r := range group {
		r.done <- c.db.Update(func(tx *bolt.Tx) error { return run(r.fn, tx) })
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

// close stops the committer once the writes handed to it are committed.
func (c *committer) close() {
	close(c.stop)
	c.wg.Wait()
}
