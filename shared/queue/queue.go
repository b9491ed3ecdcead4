// Package queue is motcua's message port: events and jobs on SQS-compatible
// queues, each message an Envelope in JSON.
//
// Delivery is at least once: a consumer may see a message more than once and
// must be idempotent on Envelope.ID. Publish returns nil only once the queue
// acknowledged the message (durable on the queue side).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNoSuchQueue means the named queue does not exist.
var ErrNoSuchQueue = errors.New("queue: no such queue")

// Envelope is the body of every motcua message.
type Envelope struct {
	// ID is unique per logical event; consumers de-duplicate on it.
	ID string `json:"id"`
	// Type is a dotted event name, e.g. "application.submitted".
	Type string `json:"type"`
	// Time is when the event happened (UTC).
	Time time.Time `json:"time"`
	// CorrelationID ties the event to the call that caused it (X-Call-Id).
	CorrelationID string `json:"correlationId,omitempty"`
	// Payload is the event's data.
	Payload json.RawMessage `json:"payload"`
}

// Publisher sends envelopes to named queues. Safe for concurrent use.
type Publisher interface {
	// Publish sends one envelope to the queue called queueName.
	Publish(ctx context.Context, queueName string, env Envelope) error
	// PublishBatch sends up to any number of envelopes (split in batches of
	// 10); on partial failure it returns an error naming the failed IDs and
	// the caller may safely resend all of them (consumers de-duplicate).
	PublishBatch(ctx context.Context, queueName string, envs []Envelope) error
}
