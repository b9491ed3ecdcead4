package application

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/outbox"
	"motcua/shared/queue"
)

// The outbox lives in shared/outbox; these forward to it with an
// application's tie, so the application code keeps reading as before.

// OutboxPrefix is the key prefix of outbox markers (outbox.Prefix).
const OutboxPrefix = outbox.Prefix

// OutboxKind is the Tie kind of markers tied to an application.
const OutboxKind = "application"

// OutboxKey returns the key of the marker of envelope id.
func OutboxKey(eventID string) string { return outbox.Key(eventID) }

// StageOutbox stages env before the write of application code whose
// timeline will carry an Event with EventID == env.ID ("" when the change
// is already durable). See outbox.Stage.
func StageOutbox(ctx context.Context, store docstore.Store, queueName string, env queue.Envelope, code string) error {
	var tie outbox.Tie
	if code != "" {
		tie = outbox.Tie{Kind: OutboxKind, ID: code}
	}
	return outbox.Stage(ctx, store, queueName, env, tie)
}

// FlushOutbox is outbox.Flush.
func FlushOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	return outbox.Flush(ctx, store, pub, queueName, env)
}

// DiscardOutbox is outbox.Discard.
func DiscardOutbox(ctx context.Context, store docstore.Store, eventID string) error {
	return outbox.Discard(ctx, store, eventID)
}

// PublishWithOutbox is outbox.Publish.
func PublishWithOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	return outbox.Publish(ctx, store, pub, queueName, env)
}

// RepairResult counts what RepairOutbox did.
type RepairResult = outbox.RepairResult

// OutboxWritten is the outbox check of markers tied to applications: the
// application's timeline holds an entry with the event's ID. When it does,
// the check also re-syncs the application's work-queue index (SyncIndex;
// a failure is logged): a marker left behind means its request stopped
// somewhere after the marker, possibly before or during the index writes,
// so repairing the event repairs the index too.
func OutboxWritten(store docstore.Store) outbox.Written {
	repo := NewRepository(store)
	return func(ctx context.Context, id, eventID string) (bool, error) {
		code, err := ParseCode(id)
		if err != nil {
			return false, nil
		}
		a, _, err := repo.Get(ctx, code)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !hasEvent(a, eventID) {
			return false, nil
		}
		indexAfterWrite(ctx, store, a)
		return true, nil
	}
}

// RepairOutbox sweeps the outbox (outbox.Repair) with the application
// check registered.
func RepairOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, olderThan time.Duration, log *slog.Logger) (RepairResult, error) {
	return outbox.Repair(ctx, store, pub, olderThan, map[string]outbox.Written{OutboxKind: OutboxWritten(store)}, log)
}

func hasEvent(a Application, id string) bool {
	for _, e := range a.Timeline {
		if e.EventID == id {
			return true
		}
	}
	return false
}
