package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Message attribute names set on every published message, so consumers and
// operators can filter without decoding the body.
const (
	// AttrEventType carries Envelope.Type.
	AttrEventType = "event_type"
	// AttrEventID carries Envelope.ID.
	AttrEventID = "event_id"
	// AttrCorrelationID carries Envelope.CorrelationID (when set).
	AttrCorrelationID = "correlation_id"
)

// ErrInvalidEnvelope means an envelope lacks its ID or Type, or its body is
// not an envelope.
var ErrInvalidEnvelope = errors.New("queue: invalid envelope")

// NewEnvelope returns an envelope with a fresh random (v4) UUID, the current
// UTC time and payload encoded as JSON.
func NewEnvelope(typ string, correlationID string, payload any) (Envelope, error) {
	if typ == "" {
		return Envelope{}, fmt.Errorf("new envelope: empty type: %w", ErrInvalidEnvelope)
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("new envelope %s: encode payload: %w", typ, err)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return Envelope{}, fmt.Errorf("new envelope %s: id: %w", typ, err)
	}
	return Envelope{
		ID:            id.String(),
		Type:          typ,
		Time:          time.Now().UTC(),
		CorrelationID: correlationID,
		Payload:       raw,
	}, nil
}

// Validate reports an envelope that cannot be published.
func (e Envelope) Validate() error {
	if e.ID == "" || e.Type == "" {
		return fmt.Errorf("envelope id %q type %q: %w", e.ID, e.Type, ErrInvalidEnvelope)
	}
	return nil
}

// attributes returns the message attributes for e.
func (e Envelope) attributes() map[string]string {
	a := map[string]string{AttrEventType: e.Type, AttrEventID: e.ID}
	if e.CorrelationID != "" {
		a[AttrCorrelationID] = e.CorrelationID
	}
	return a
}

// Message is one received message.
type Message struct {
	// ID is the queue's message ID (not the envelope ID).
	ID string
	// ReceiptHandle identifies this receipt for Delete and ChangeVisibility.
	ReceiptHandle string
	// Body is the message body, normally an Envelope in JSON.
	Body string
	// Attributes holds the string message attributes (event_type, event_id,
	// correlation_id, ...).
	Attributes map[string]string
	// ReceiveCount is how many times the message has been received,
	// this receipt included.
	ReceiveCount int
}

// Envelope decodes the message body.
func (m Message) Envelope() (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal([]byte(m.Body), &e); err != nil {
		return Envelope{}, fmt.Errorf("message %s: %w: %w", m.ID, ErrInvalidEnvelope, err)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, fmt.Errorf("message %s: %w", m.ID, err)
	}
	return e, nil
}

// Receiver is the consumer side of a queue, implemented by Consumer (SQS)
// and MemQueue. Safe for concurrent use.
//
// A received message stays hidden for the queue's visibility timeout; if it
// is not deleted by then it is delivered again, and after the queue's
// maximum number of receives it moves to the dead-letter queue. A cancelled
// context ends a long poll early with the context's error.
type Receiver interface {
	// Receive returns up to maxMessages (1..10) messages, waiting up to wait (at most
	// 20 s) for the first one; an empty slice when none arrived.
	Receive(ctx context.Context, queueName string, maxMessages int, wait time.Duration) ([]Message, error)
	// Delete acknowledges a message by its receipt handle.
	Delete(ctx context.Context, queueName, receipt string) error
	// ChangeVisibility hides a received message for timeout from now (0
	// makes it visible again at once, for an early retry).
	ChangeVisibility(ctx context.Context, queueName, receipt string, timeout time.Duration) error
}
