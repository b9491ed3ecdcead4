package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxBatchBytes is the largest SendMessageBatch payload a Batcher sends:
// the sum over the entries of the body length plus, per message attribute,
// the lengths of its name, data type and value (how SQS counts it). It is
// the 256 KiB limit of LocalStack, the embedded SQS server and AWS before
// August 2025 (AWS now accepts 1 MiB); a single envelope larger than this
// is sent alone with SendMessage.
const MaxBatchBytes = 262144

// DefaultMaxInFlight is how many SendMessageBatch requests a Batcher keeps
// in flight per queue at most (BatcherOptions.MaxInFlight).
const DefaultMaxInFlight = 4

// BatcherOptions tunes a Batcher. The zero value is the default.
type BatcherOptions struct {
	// MaxInFlight bounds the SendMessageBatch requests in flight per queue
	// (default DefaultMaxInFlight). A second request starts only when a
	// full batch (10 entries or MaxBatchBytes) is waiting.
	MaxInFlight int
}

// BatcherStats counts what a Batcher sent, for tests and operators.
type BatcherStats struct {
	// Requests is the number of SendMessageBatch requests made.
	Requests int64
	// Entries is the number of envelopes those requests carried.
	Entries int64
	// Direct is the number of envelopes sent alone with SendMessage
	// (too large for a batch, or retried after a rejected entry).
	Direct int64
}

// Batcher is a Publisher over SQS that coalesces concurrent Publish calls to
// the same queue into SendMessageBatch requests (group commit, as the
// embedded S3 server does with its writes).
//
// No timer is involved: a Publish that finds its queue idle sends at once,
// alone, in its own goroutine. Calls arriving while a request to that queue
// is in flight wait and go together in the next request (up to 10 entries
// and MaxBatchBytes), sent as soon as the previous one returns; when a full
// batch is waiting another request starts at once (up to MaxInFlight).
//
// Each Publish returns only when its own entry was acknowledged (nil) or
// failed: an entry the queue rejects fails only its caller (a rejection
// that is not the sender's fault is retried once alone with SendMessage,
// with the SDK's retries); a failed request fails every caller in it, and
// the outbox resends (consumers de-duplicate on Envelope.ID). Messages carry
// the same body and message attributes as SQSPublisher's.
//
// Cancellation: a caller whose context ends while it waits returns its
// context's error at once and its entry is dropped if not yet sent; an
// entry already in a request may still be delivered (at least once). A
// request is cancelled only when the contexts of all its callers ended, so
// one caller's cancellation never fails the others. The caller that sends
// a request waits for its answer even if its own context ends meanwhile.
//
// PublishBatch is SQSPublisher.PublishBatch. Safe for concurrent use.
type Batcher struct {
	pub         *SQSPublisher
	maxInFlight int

	mu     sync.Mutex
	queues map[string]*batchQueue // by queue URL

	requests, entries, direct atomic.Int64
}

var _ Publisher = (*Batcher)(nil)

// NewBatcher returns a Batcher sending through pub's client.
func NewBatcher(pub *SQSPublisher, opts BatcherOptions) *Batcher {
	n := opts.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	return &Batcher{pub: pub, maxInFlight: n, queues: map[string]*batchQueue{}}
}

// Stats returns the counts so far.
func (b *Batcher) Stats() BatcherStats {
	return BatcherStats{Requests: b.requests.Load(), Entries: b.entries.Load(), Direct: b.direct.Load()}
}

// batchQueue is the waiting room of one queue URL.
type batchQueue struct {
	name, url string

	mu       sync.Mutex
	pending  []*batchReq
	bytes    int // sum of pending sizes
	inflight int // requests being sent; 0 implies pending is empty
}

// batchReq is one Publish waiting for its entry's answer.
type batchReq struct {
	ctx  context.Context
	id   string // envelope ID, for errors
	body string
	attr map[string]types.MessageAttributeValue
	size int
	done chan error // buffered: the sender never blocks on it
}

// Publish sends env to queueName, sharing a SendMessageBatch request with
// concurrent calls to the same queue; ErrNoSuchQueue when the queue does
// not exist.
func (b *Batcher) Publish(ctx context.Context, queueName string, env Envelope) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("queue %s: publish: %w", queueName, err)
	}
	body, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("queue %s: publish %s: encode: %w", queueName, env.ID, err)
	}
	attrs := messageAttributes(env)
	size := entrySize(body, attrs)
	if size > MaxBatchBytes {
		b.direct.Add(1)
		return b.pub.Publish(ctx, queueName, env)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("queue %s: publish %s: %w", queueName, env.ID, err)
	}
	url, err := b.pub.urls.get(ctx, queueName)
	if err != nil {
		return err
	}
	q := b.queue(queueName, url)
	r := &batchReq{ctx: ctx, id: env.ID, body: string(body), attr: attrs, size: size, done: make(chan error, 1)}

	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.bytes += size
	switch {
	case q.inflight == 0:
		// Idle: lead. pending was empty, so the batch is r alone.
		q.inflight++
		batch := q.take()
		q.mu.Unlock()
		b.send(q, batch)
		b.finish(q)
	case q.inflight < b.maxInFlight && q.full():
		q.inflight++
		q.mu.Unlock()
		go b.drain(q)
	default:
		q.mu.Unlock()
	}

	select {
	case err = <-r.done:
	case <-ctx.Done():
		select {
		case err = <-r.done: // answered meanwhile: the answer wins
		default:
			q.mu.Lock()
			if i := slices.Index(q.pending, r); i >= 0 {
				q.pending = slices.Delete(q.pending, i, i+1)
				q.bytes -= r.size
			}
			q.mu.Unlock()
			return fmt.Errorf("queue %s: publish %s: %w", queueName, env.ID, context.Cause(ctx))
		}
	}
	var rej *entryRejected
	if errors.As(err, &rej) && !rej.senderFault && ctx.Err() == nil {
		// A transient rejection of this entry alone: SendMessage gets the
		// SDK's retries, as a plain Publish would.
		b.direct.Add(1)
		if err2 := b.pub.Publish(ctx, queueName, env); err2 != nil {
			return errors.Join(err, err2)
		}
		return nil
	}
	return err
}

// PublishBatch sends envs in batches of 10 (SQSPublisher.PublishBatch).
func (b *Batcher) PublishBatch(ctx context.Context, queueName string, envs []Envelope) error {
	return b.pub.PublishBatch(ctx, queueName, envs)
}

func (b *Batcher) queue(name, url string) *batchQueue {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[url]
	if q == nil {
		q = &batchQueue{name: name, url: url}
		b.queues[url] = q
	}
	return q
}

// full reports whether a whole batch is waiting. The caller holds q.mu.
func (q *batchQueue) full() bool {
	return len(q.pending) >= maxBatch || q.bytes >= MaxBatchBytes
}

// take removes the next batch from the front of pending: at least one
// entry, at most 10 and MaxBatchBytes. The caller holds q.mu.
func (q *batchQueue) take() []*batchReq {
	n, bytes := splitBatch(q.pending, func(r *batchReq) int { return r.size })
	batch := slices.Clone(q.pending[:n])
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	q.bytes -= bytes
	return batch
}

// splitBatch returns how many items from the front of items form the next
// SendMessageBatch (at least one when items is not empty; at most 10 and,
// beyond the first, MaxBatchBytes in total) and their total size.
func splitBatch[T any](items []T, size func(T) int) (n, bytes int) {
	for n < len(items) && n < maxBatch {
		s := size(items[n])
		if n > 0 && bytes+s > MaxBatchBytes {
			break
		}
		bytes += s
		n++
	}
	return n, bytes
}

// finish is called by a sender after its request: it keeps the queue going
// in a new goroutine if entries are waiting (the caller that led returns
// with its own answer), or marks one request fewer in flight.
func (b *Batcher) finish(q *batchQueue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) > 0 && (q.inflight == 1 || q.full()) {
		go b.drain(q)
		return
	}
	q.inflight--
}

// drain sends batches from q until nothing waits, then releases its
// in-flight slot. It runs in a goroutine of its own (no caller waits on it
// except through their entries).
func (b *Batcher) drain(q *batchQueue) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 || (q.inflight > 1 && !q.full()) {
			// Another request in flight will pick up a partial batch.
			q.inflight--
			q.mu.Unlock()
			return
		}
		batch := q.take()
		q.mu.Unlock()
		b.send(q, batch)
	}
}

// send makes one SendMessageBatch request for batch and answers each
// entry's caller.
func (b *Batcher) send(q *batchQueue, batch []*batchReq) {
	entries := make([]types.SendMessageBatchRequestEntry, len(batch))
	for i, r := range batch {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(r.body),
			MessageAttributes: r.attr,
		}
	}
	ctx, release := batchContext(batch)
	b.requests.Add(1)
	b.entries.Add(int64(len(batch)))
	out, err := sendBatchSafely(ctx, b.pub.client, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	release()
	for i, err := range batchResults(out, err, len(batch)) {
		r := batch[i]
		if err == nil {
			r.done <- nil
			continue
		}
		var re *requestError
		if errors.As(err, &re) && errors.Is(re.cause, ErrNoSuchQueue) {
			b.pub.urls.forget(q.name)
		}
		r.done <- fmt.Errorf("queue %s: publish %s (batch of %d): %w", q.name, r.id, len(batch), err)
	}
}

// sendBatchSafely calls SendMessageBatch, turning a panic into an error: a
// sender serves its queue's waiting callers and must not leave the queue
// marked busy forever.
func sendBatchSafely(ctx context.Context, client *sqs.Client, in *sqs.SendMessageBatchInput) (out *sqs.SendMessageBatchOutput, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("queue: SendMessageBatch panicked: %v", p)
		}
	}()
	return client.SendMessageBatch(ctx, in)
}

// entryRejected is an entry in the Failed list of a SendMessageBatch
// answer, or missing from the answer.
type entryRejected struct {
	code, message string
	senderFault   bool
}

func (e *entryRejected) Error() string {
	fault := "server"
	if e.senderFault {
		fault = "sender"
	}
	return fmt.Sprintf("entry rejected (%s fault): %s: %s", fault, e.code, e.message)
}

// requestError is the failure of a whole SendMessageBatch request, given to
// every entry in it.
type requestError struct{ cause error }

func (e *requestError) Error() string { return e.cause.Error() }
func (e *requestError) Unwrap() error { return e.cause }

// batchResults maps a SendMessageBatch answer to one result per entry (the
// entries' Ids are their indexes): nil when acknowledged, *entryRejected
// when listed in Failed or not listed at all, and *requestError (wrapping
// ErrNoSuchQueue when the queue is gone) for every entry when the request
// failed.
func batchResults(out *sqs.SendMessageBatchOutput, err error, n int) []error {
	res := make([]error, n)
	if err != nil {
		re := &requestError{cause: mapErr(err)}
		for i := range res {
			res[i] = re
		}
		return res
	}
	seen := make([]bool, n)
	for _, s := range out.Successful {
		if i, ok := entryIndex(s.Id, n); ok {
			seen[i] = true
		}
	}
	for _, f := range out.Failed {
		if i, ok := entryIndex(f.Id, n); ok {
			seen[i] = true
			res[i] = &entryRejected{code: aws.ToString(f.Code), message: aws.ToString(f.Message), senderFault: f.SenderFault}
		}
	}
	for i := range res {
		if !seen[i] {
			res[i] = &entryRejected{code: "NotAcknowledged", message: "entry missing from the SendMessageBatch answer"}
		}
	}
	return res
}

func entryIndex(id *string, n int) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	return i, err == nil && i >= 0 && i < n
}

// entrySize is how SQS counts an entry against MaxBatchBytes.
func entrySize(body []byte, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// batchContext returns the context of a request carrying batch: it keeps
// the first caller's values and is cancelled only once every caller's
// context has ended (so one caller giving up does not fail the others).
// release frees it once the request returned.
func batchContext(batch []*batchReq) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(batch[0].ctx))
	var left atomic.Int32
	left.Store(int32(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, r := range batch {
		if r.ctx.Done() == nil {
			continue // never ends: the request is not cancelled on its account
		}
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
		cancel(nil)
	}
}
