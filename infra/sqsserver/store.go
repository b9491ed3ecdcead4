package sqsserver

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Database layout (bbolt):
//
//	"queues"          queue name -> JSON queueRecord
//	"msgs-<uid>"      8-byte big-endian seq -> 8-byte version + JSON msgRecord
//
// The message bucket is named by the queue's unique id, so a queue deleted
// and re-created under the same name never sees the old queue's messages.
var queuesBucket = []byte("queues")

// queueRecord is the persisted form of a queue.
type queueRecord struct {
	UID      string            `json:"uid"`
	Name     string            `json:"name"`
	Attrs    map[string]string `json:"attrs"`
	Created  int64             `json:"created"`  // unix seconds
	Modified int64             `json:"modified"` // unix seconds
}

// msgRecord is the persisted form of a message.
type msgRecord struct {
	ID        string             `json:"id"`
	Body      string             `json:"body"`
	MD5Body   string             `json:"md5b"`
	Attrs     map[string]msgAttr `json:"attrs,omitempty"`
	SysAttrs  map[string]msgAttr `json:"sys,omitempty"`
	SentAt    int64              `json:"sent"`          // unix ms
	VisibleAt int64              `json:"vis"`           // unix ms
	Receives  int64              `json:"rc"`            // ApproximateReceiveCount
	FirstRecv int64              `json:"frt,omitempty"` // unix ms
	Token     string             `json:"tok,omitempty"` // current receipt token
	SenderID  string             `json:"snd"`
	DLQSource string             `json:"dlqsrc,omitempty"`
}

func msgBucketName(uid string) []byte { return []byte("msgs-" + uid) }

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// encodeMsg encodes a message record with its version prefix.
func encodeMsg(ver uint64, r *msgRecord) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", r.ID, err)
	}
	out := make([]byte, 8+len(js))
	binary.BigEndian.PutUint64(out, ver)
	copy(out[8:], js)
	return out, nil
}

// decodeMsg decodes a value written by encodeMsg.
func decodeMsg(v []byte) (uint64, *msgRecord, error) {
	if len(v) < 8 {
		return 0, nil, errors.New("message record too short")
	}
	var r msgRecord
	if err := json.Unmarshal(v[8:], &r); err != nil {
		return 0, nil, fmt.Errorf("decode message record: %w", err)
	}
	return binary.BigEndian.Uint64(v[:8]), &r, nil
}

// putMsgIfNewer writes a message update unless the message was deleted in the
// meantime (key gone) or a newer version is already stored. Updates computed
// concurrently may reach the committer out of order; the version makes the
// last state win and keeps deleted messages deleted.
func putMsgIfNewer(b *bolt.Bucket, seq uint64, ver uint64, val []byte) error {
	if b == nil {
		return nil
	}
	k := seqKey(seq)
	old := b.Get(k)
	if old == nil {
		return nil
	}
	if len(old) >= 8 && binary.BigEndian.Uint64(old[:8]) >= ver {
		return nil
	}
	if err := b.Put(k, val); err != nil {
		return fmt.Errorf("put message %d: %w", seq, err)
	}
	return nil
}

// commitReq is one unit of work for the group committer.
type commitReq struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// committer groups concurrent write transactions into one bbolt transaction
// (one fsync) without adding latency: a request that arrives while the disk
// is idle commits at once; requests that arrive during a commit are grouped
// into the next one. If a grouped transaction fails, each request is retried
// on its own so one bad request cannot fail its neighbours.
type committer struct {
	db   *bolt.DB
	reqs chan commitReq
	stop chan struct{}
	wg   sync.WaitGroup
}

const maxGroup = 256

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan commitReq), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// errStopped is returned for work submitted after the committer stopped.
var errStopped = errors.New("sqsserver: server closed")

// do runs fn in a write transaction and returns once it is durable.
func (c *committer) do(fn func(tx *bolt.Tx) error) error {
	r := commitReq{fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-c.stop:
		return errStopped
	}
	return <-r.done
}

func (c *committer) loop() {
	defer c.wg.Done()
	batch := make([]commitReq, 0, maxGroup)
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < maxGroup {
				select {
				case r2 := <-c.reqs:
					batch = append(batch, r2)
				default:
					break drain
				}
			}
			c.commit(batch)
		case <-c.stop:
			// Finish what is queued so no caller waits forever.
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

func (c *committer) commit(batch []commitReq) {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, r := range batch {
			if err := r.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		r.done <- c.db.Update(r.fn)
	}
}

// close stops the committer after it has finished queued work.
func (c *committer) close() {
	close(c.stop)
	c.wg.Wait()
}
