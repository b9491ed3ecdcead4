package connector

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// maxDeletesPerBatch is SQS's limit of entries in one DeleteMessageBatch.
const maxDeletesPerBatch = 10

// acker deletes the finished messages of one queue with DeleteMessageBatch:
// the deliveries that finish while a batch is on the wire are deleted
// together by the next one (group commit, no timer: a lone delivery is
// deleted at once, as with DeleteMessage). A delivery's delete still
// completes before the delivery ends, so nothing about acknowledgement
// changes but the number of requests. Safe for concurrent use.
type acker struct {
	sqs sqsAPI
	url string

	mu      sync.Mutex
	pending []*ackReq
	running bool // a flush loop is draining pending
}

// ackReq is one message waiting for its delete.
type ackReq struct {
	handle *string
	done   chan error // buffered: the flusher never blocks
}

// ackerFor returns the queue's acker (one per queue URL).
func (c *Connector) ackerFor(url string) *acker {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	if c.ackers == nil {
		c.ackers = map[string]*acker{}
	}
	a, ok := c.ackers[url]
	if !ok {
		a = &acker{sqs: c.sqs, url: url}
		c.ackers[url] = a
	}
	return a
}

// delete deletes the message with receipt handle h and returns the outcome
// of its entry; ctx bounds the wait (the batch call itself is bounded by
// ackTimeout).
func (a *acker) delete(ctx context.Context, h *string) error {
	r := &ackReq{handle: h, done: make(chan error, 1)}
	a.mu.Lock()
	a.pending = append(a.pending, r)
	if !a.running {
		a.running = true
		go a.loop()
	}
	a.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop sends batches until nothing is pending, then exits.
func (a *acker) loop() {
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		n := min(len(a.pending), maxDeletesPerBatch)
		batch := make([]*ackReq, n)
		copy(batch, a.pending)
		a.pending = append(a.pending[:0], a.pending[n:]...)
		a.mu.Unlock()
		a.flush(batch)
	}
}

// flush deletes one batch and answers each of its requests.
func (a *acker) flush(batch []*ackReq) {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
	for i, r := range batch {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: r.handle}
	}
	out, err := a.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(a.url), Entries: entries})
	if err != nil {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	answered := make([]bool, len(batch))
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(batch) && !answered[i] {
			answered[i] = true
			batch[i].done <- fmt.Errorf("delete entry refused: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	for _, s := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(s.Id)); err == nil && i >= 0 && i < len(batch) && !answered[i] {
			answered[i] = true
			batch[i].done <- nil
		}
	}
	for i, r := range batch {
		if !answered[i] {
			r.done <- fmt.Errorf("delete entry %d missing from the batch answer", i)
		}
	}
}
