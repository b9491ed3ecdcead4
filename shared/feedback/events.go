package feedback

import (
	"context"
	"errors"
	"time"

	"motcua/shared/docstore"
	sharedoutbox "motcua/shared/outbox"
	"motcua/shared/queue"
)

// DefaultEventsQueue is the queue feedback.* events go to.
const DefaultEventsQueue = "feedback-events"

// EventType returns the event type of an action: feedback.<past tense>.
func EventType(action string) string {
	switch action {
	case ActionReceive:
		return "feedback.received"
	case ActionAssign:
		return "feedback.assigned"
	case ActionReassign:
		return "feedback.reassigned"
	case ActionRequestInfo:
		return "feedback.info_requested"
	case ActionProvideInfo:
		return "feedback.info_provided"
	case ActionAnswer:
		return "feedback.answered"
	case ActionRefuse:
		return "feedback.refused"
	case ActionClose:
		return "feedback.closed"
	case ActionPublish:
		return "feedback.published"
	case ActionRate:
		return "feedback.rated"
	case ActionReopen:
		return "feedback.reopened"
	}
	return "feedback." + action
}

// EventPayload is the payload of feedback.* events: what the indicators
// need, without personal data (consumers read the item for more).
type EventPayload struct {
	// ID is the item id.
	ID string `json:"id"`
	// Version is the item's version after the step.
	Version int `json:"version"`
	// Kind is regulation or conduct.
	Kind string `json:"kind"`
	// FieldCode is the field.
	FieldCode string `json:"fieldCode"`
	// AgencyCode is the agency responsible after the step.
	AgencyCode string `json:"agencyCode"`
	// PreviousAgencyCode is the agency before a reassign.
	PreviousAgencyCode string `json:"previousAgencyCode,omitempty"`
	// Status is the status after the step.
	Status Status `json:"status"`
	// At is when the step happened.
	At time.Time `json:"at"`
	// ReceivedAt is the intake time.
	ReceivedAt time.Time `json:"receivedAt"`
	// Due holds the deadlines after the step.
	Due Due `json:"due"`
	// AnsweredAt and AnsweredInTime describe the latest answer.
	AnsweredAt     *time.Time `json:"answeredAt,omitempty"`
	AnsweredInTime *bool      `json:"answeredInTime,omitempty"`
	// RefusalReason is duplicate or out_of_scope on a refusal.
	RefusalReason string `json:"refusalReason,omitempty"`
	// Rating is the score of the latest answer (0 when unrated).
	Rating int `json:"rating,omitempty"`
	// ReopenCount counts reopens.
	ReopenCount int `json:"reopenCount"`
	// Published is true once the answer is public.
	Published bool `json:"published"`
}

// newEvent builds the envelope of the step action on it (its state after
// the step); previousAgency is set on reassign.
func newEvent(action, correlationID string, it Item, previousAgency string) (queue.Envelope, error) {
	p := EventPayload{
		ID: it.ID, Version: it.Version, Kind: it.Kind, FieldCode: it.FieldCode, AgencyCode: it.Agency.Code,
		PreviousAgencyCode: previousAgency, Status: it.Status, At: it.UpdatedAt, ReceivedAt: it.ReceivedAt,
		Due: it.Due, AnsweredAt: it.AnsweredAt, AnsweredInTime: it.AnsweredInTime,
		ReopenCount: it.ReopenCount, Published: it.Published,
	}
	if it.Refusal != nil {
		p.RefusalReason = it.Refusal.Reason
	}
	if it.Rating != nil {
		p.Rating = it.Rating.Score
	}
	return queue.NewEnvelope(EventType(action), correlationID, p)
}

// outbox is the one place feedback uses shared/outbox: a marker tied to
// the item (Tie{OutboxKind, id}) is staged before the item write, flushed
// after it succeeded, discarded after it failed; the repair sweep asks
// EventWritten whether a left-behind marker's step was written.
type outbox struct {
	store docstore.Store
	pub   queue.Publisher
	queue string
}

func (o outbox) stage(ctx context.Context, id ID, env queue.Envelope) error {
	return sharedoutbox.Stage(ctx, o.store, o.queue, env, sharedoutbox.Tie{Kind: OutboxKind, ID: id.String()})
}

func (o outbox) flush(ctx context.Context, env queue.Envelope) error {
	return sharedoutbox.Flush(ctx, o.store, o.pub, o.queue, env)
}

func (o outbox) discard(ctx context.Context, env queue.Envelope) error {
	return sharedoutbox.Discard(ctx, o.store, env.ID)
}

// OutboxKind is the outbox tie kind of feedback items.
const OutboxKind = "feedback"

// EventWritten returns the outbox repair check of feedback items: whether
// item id's timeline carries the event eventID (the state change the
// marker announced was written). An unknown item is false, not an error.
func EventWritten(store docstore.Store) sharedoutbox.Written {
	r := repo{store: store}
	return func(ctx context.Context, raw, eventID string) (bool, error) {
		id, err := ParseID(raw)
		if err != nil {
			return false, nil
		}
		it, _, err := r.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, s := range it.Timeline {
			if s.EventID == eventID {
				return true, nil
			}
		}
		return false, nil
	}
}
