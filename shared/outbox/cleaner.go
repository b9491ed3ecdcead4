package outbox

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"motcua/shared/docstore"
)

// Cleaner deletes the markers of published events in the background, so a
// request answers as soon as its event is sent instead of waiting for one
// more durable write. Deletes are grouped without a timer: when the cleaner
// is idle a marker's delete goes at once, and the markers queued while a
// round is in flight go together in the next round. When the store is a
// docstore.BatchDeleter (S3Store, MemStore) a round is one DeleteMany
// request (S3 DeleteObjects, up to docstore.MaxDeleteMany markers);
// otherwise it is up to cleanerBatch concurrent single deletes. A marker whose
// delete is lost (the process stops first, or the queue is full) is
// published once more by Repair after its olderThan: consumers de-duplicate
// on the envelope ID, so the cost is a duplicate event, never a lost one.
// Safe for concurrent use.
type Cleaner struct {
	store docstore.Store
	log   *slog.Logger

	mu      sync.Mutex
	pending []string
	running bool
}

const (
	// cleanerBatch is how many single deletes a Cleaner issues at once
	// when the store cannot delete in batches.
	cleanerBatch = 64
	// cleanerMaxPending bounds the queue; beyond it markers are left to
	// Repair.
	cleanerMaxPending = 16384
	// cleanerTimeout bounds one delete (or one DeleteMany).
	cleanerTimeout = 10 * time.Second
)

// NewCleaner returns a Cleaner deleting markers from store; log (nil:
// slog.Default()) receives failed deletes.
func NewCleaner(store docstore.Store, log *slog.Logger) *Cleaner {
	if log == nil {
		log = slog.Default()
	}
	return &Cleaner{store: store, log: log}
}

// Delete queues the deletion of the marker of event eventID, whose event
// was published. It never blocks.
func (c *Cleaner) Delete(eventID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) >= cleanerMaxPending {
		c.log.Warn("outbox cleaner full: marker left for repair (its event will be published again)", "event_id", eventID)
		return
	}
	c.pending = append(c.pending, eventID)
	if !c.running {
		c.running = true
		go c.run()
	}
}

func (c *Cleaner) run() {
	bd, many := c.store.(docstore.BatchDeleter)
	size := cleanerBatch
	if many {
		size = docstore.MaxDeleteMany
	}
	for {
		c.mu.Lock()
		n := min(len(c.pending), size)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch := append([]string(nil), c.pending[:n]...)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		if many {
			c.deleteMany(bd, batch)
			continue
		}
		var wg sync.WaitGroup
		for _, id := range batch {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), cleanerTimeout)
				defer cancel()
				if err := c.store.Delete(ctx, Key(id), ""); err != nil {
					c.log.Warn("outbox marker not deleted: left for repair (its event will be published again)", "event_id", id, "error", err.Error())
				}
			})
		}
		wg.Wait()
	}
}

// deleteMany deletes the markers of ids in one DeleteMany and logs those
// left for repair.
func (c *Cleaner) deleteMany(bd docstore.BatchDeleter, ids []string) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = Key(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanerTimeout)
	defer cancel()
	failed, _ := bd.DeleteMany(ctx, keys) // a whole failure lists every key in failed
	for i, id := range ids {
		if err := failed[keys[i]]; err != nil {
			c.log.Warn("outbox marker not deleted: left for repair (its event will be published again)", "event_id", id, "error", err.Error())
		}
	}
}

// Drain waits until every delete queued so far is done (for tests and
// graceful shutdown), or ctx ends.
func (c *Cleaner) Drain(ctx context.Context) error {
	for {
		c.mu.Lock()
		idle := !c.running && len(c.pending) == 0
		c.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
