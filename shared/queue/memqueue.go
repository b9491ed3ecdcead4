package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults of queues made by NewMemQueue (those of infra/resources.json's
// event queues).
const (
	// DefaultMemVisibility is the visibility timeout of NewMemQueue's queues.
	DefaultMemVisibility = 30 * time.Second
	// DefaultMemMaxReceives is the maxReceiveCount of NewMemQueue's queues.
	DefaultMemMaxReceives = 5
)

// MemQueue is an in-memory Publisher and Receiver for unit tests, with SQS's
// semantics (visibility timeout, receive counts, redrive to <name>-dlq). It
// records every envelope published, per queue, for assertions. Safe for
// concurrent use.
type MemQueue struct {
	mu        sync.Mutex
	queues    map[string]*memQ
	published map[string][]Envelope
	// failNext makes the next publishes fail, for tests of error paths.
	failNext []error
}

type memQ struct {
	visibility time.Duration
	maxRecv    int
	msgs       []*memMsg
}

type memMsg struct {
	id, body, receipt string
	attrs             map[string]string
	visibleAt         time.Time
	receives          int
}

var (
	_ Publisher = (*MemQueue)(nil)
	_ Receiver  = (*MemQueue)(nil)
)

// NewMemQueue returns a MemQueue holding the named queues, each with
// DefaultMemVisibility, DefaultMemMaxReceives and a <name>-dlq.
func NewMemQueue(names ...string) *MemQueue {
	m := &MemQueue{queues: map[string]*memQ{}, published: map[string][]Envelope{}}
	for _, n := range names {
		m.CreateQueue(n, DefaultMemVisibility, DefaultMemMaxReceives)
	}
	return m
}

// CreateQueue creates (or reconfigures) a queue; maxReceiveCount > 0 also
// creates <name>-dlq and redrives to it.
func (m *MemQueue) CreateQueue(name string, visibility time.Duration, maxReceiveCount int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.queues[name]
	if !ok {
		q = &memQ{}
		m.queues[name] = q
	}
	q.visibility, q.maxRecv = visibility, maxReceiveCount
	if maxReceiveCount > 0 {
		if _, ok := m.queues[name+"-dlq"]; !ok {
			m.queues[name+"-dlq"] = &memQ{visibility: visibility}
		}
	}
}

// FailNextPublish makes the next Publish or PublishBatch call return err
// (wrapped) without sending; calls queue up.
func (m *MemQueue) FailNextPublish(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failNext = append(m.failNext, err)
}

// Published returns every envelope published to queueName, in order.
func (m *MemQueue) Published(queueName string) []Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published[queueName])
}

// Publish enqueues one envelope.
func (m *MemQueue) Publish(ctx context.Context, queueName string, env Envelope) error {
	return m.PublishBatch(ctx, queueName, []Envelope{env})
}

// PublishBatch enqueues envs atomically (all or none).
func (m *MemQueue) PublishBatch(ctx context.Context, queueName string, envs []Envelope) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("queue %s: publish: %w", queueName, err)
	}
	bodies := make([]string, len(envs))
	for i, e := range envs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("queue %s: publish: %w", queueName, err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("queue %s: publish %s: encode: %w", queueName, e.ID, err)
		}
		bodies[i] = string(b)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.failNext) > 0 {
		err := m.failNext[0]
		m.failNext = m.failNext[1:]
		return fmt.Errorf("queue %s: publish: %w", queueName, err)
	}
	q, ok := m.queues[queueName]
	if !ok {
		return fmt.Errorf("queue %s: publish: %w", queueName, ErrNoSuchQueue)
	}
	for i, e := range envs {
		q.msgs = append(q.msgs, &memMsg{id: uuid.NewString(), body: bodies[i], attrs: e.attributes()})
		m.published[queueName] = append(m.published[queueName], e)
	}
	return nil
}

// Receive returns up to maxMessages visible messages, polling until one is
// available or wait passed.
func (m *MemQueue) Receive(ctx context.Context, queueName string, maxMessages int, wait time.Duration) ([]Message, error) {
	n := min(maxBatch, max(maxMessages, 1))
	deadline := time.Now().Add(min(max(wait, 0), maxWait))
	for {
		msgs, err := m.receiveOnce(queueName, n)
		if err != nil || len(msgs) > 0 || !time.Now().Before(deadline) {
			return msgs, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("queue %s: receive: %w", queueName, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (m *MemQueue) receiveOnce(queueName string, n int) ([]Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.queues[queueName]
	if !ok {
		return nil, fmt.Errorf("queue %s: receive: %w", queueName, ErrNoSuchQueue)
	}
	now := time.Now()
	out := []Message{}
	kept := q.msgs[:0]
	for _, msg := range q.msgs {
		if len(out) == n || now.Before(msg.visibleAt) {
			kept = append(kept, msg)
			continue
		}
		if q.maxRecv > 0 && msg.receives >= q.maxRecv {
			if dlq, ok := m.queues[queueName+"-dlq"]; ok {
				msg.receives, msg.visibleAt, msg.receipt = 0, time.Time{}, ""
				dlq.msgs = append(dlq.msgs, msg)
				continue
			}
		}
		msg.receives++
		msg.visibleAt = now.Add(q.visibility)
		msg.receipt = msg.id + "#" + uuid.NewString()
		out = append(out, Message{ID: msg.id, ReceiptHandle: msg.receipt, Body: msg.body, Attributes: cloneMap(msg.attrs), ReceiveCount: msg.receives})
		kept = append(kept, msg)
	}
	clear(q.msgs[len(kept):])
	q.msgs = kept
	return out, nil
}

// find returns the in-flight message with receipt, or nil (a stale or
// unknown receipt, which SQS also tolerates on delete).
func (m *MemQueue) find(queueName, receipt, op string) (*memQ, int, error) {
	q, ok := m.queues[queueName]
	if !ok {
		return nil, -1, fmt.Errorf("queue %s: %s: %w", queueName, op, ErrNoSuchQueue)
	}
	if !strings.Contains(receipt, "#") {
		return nil, -1, fmt.Errorf("queue %s: %s: %w", queueName, op, errors.New("receipt handle is invalid"))
	}
	for i, msg := range q.msgs {
		if msg.receipt == receipt {
			return q, i, nil
		}
	}
	return q, -1, nil
}

// Delete acknowledges a message; a stale receipt is not an error.
func (m *MemQueue) Delete(ctx context.Context, queueName, receipt string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, i, err := m.find(queueName, receipt, "delete")
	if err != nil || i < 0 {
		return err
	}
	q.msgs = slices.Delete(q.msgs, i, i+1)
	return nil
}

// ChangeVisibility hides a received message for timeout from now.
func (m *MemQueue) ChangeVisibility(ctx context.Context, queueName, receipt string, timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, i, err := m.find(queueName, receipt, "change visibility")
	if err != nil {
		return err
	}
	if i < 0 {
		return fmt.Errorf("queue %s: change visibility: message not in flight", queueName)
	}
	q.msgs[i].visibleAt = time.Now().Add(max(timeout, 0))
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
