package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// OutboxPrefix is the key prefix of outbox markers in the data bucket.
const OutboxPrefix = "outbox/"

// OutboxMarker is an event written to the store before it is published, so
// a crash between a state change and its message is repaired by
// RepairOutbox instead of losing the message.
type OutboxMarker struct {
	// Queue is the queue name to publish to.
	Queue string `json:"queue"`
	// Envelope is the message itself (its ID is the marker's name).
	Envelope queue.Envelope `json:"envelope"`
	// ApplicationCode, when set, ties the event to a timeline entry of that
	// application with Event.EventID == Envelope.ID: RepairOutbox
	// publishes the event only if that entry was written (the state change
	// happened) and discards it otherwise.
	ApplicationCode string `json:"applicationCode,omitempty"`
	// CreatedAt is when the marker was written.
	CreatedAt time.Time `json:"createdAt"`
}

// OutboxKey returns the key of the marker of envelope id.
func OutboxKey(eventID string) string { return OutboxPrefix + eventID + ".json" }

// StageOutbox writes the marker of env (create once) BEFORE the state change
// it announces. Pass the application code whose timeline will carry an
// Event with EventID == env.ID, or "" when the state change is already
// durable. Writing the same marker twice is not an error.
func StageOutbox(ctx context.Context, store docstore.Store, queueName string, env queue.Envelope, code string) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("stage outbox: %w", err)
	}
	m := OutboxMarker{Queue: queueName, Envelope: env, ApplicationCode: code, CreatedAt: time.Now().UTC()}
	_, err := docstore.PutJSON(ctx, store, OutboxKey(env.ID), m, docstore.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		return fmt.Errorf("stage outbox %s: %w", env.ID, err)
	}
	return nil
}

// FlushOutbox publishes a staged event and then deletes its marker. If the
// publish fails the marker stays for RepairOutbox and the error is
// returned; callers whose state change is durable should log it and still
// report success. A failed delete after a good publish only means a
// duplicate message later (consumers de-duplicate on the envelope ID).
func FlushOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	if err := pub.Publish(ctx, queueName, env); err != nil {
		return fmt.Errorf("flush outbox %s: publish: %w", env.ID, err)
	}
	if err := store.Delete(ctx, OutboxKey(env.ID), ""); err != nil {
		return fmt.Errorf("flush outbox %s: delete marker: %w", env.ID, err)
	}
	return nil
}

// DiscardOutbox deletes a staged marker whose state change did not happen
// (e.g. UpdateIfMatch lost the race).
func DiscardOutbox(ctx context.Context, store docstore.Store, eventID string) error {
	if err := store.Delete(ctx, OutboxKey(eventID), ""); err != nil {
		return fmt.Errorf("discard outbox %s: %w", eventID, err)
	}
	return nil
}

// PublishWithOutbox publishes env to queueName through an outbox marker
// (stage, publish, delete), for an event whose cause is already durable.
// For an event announcing a write still to come, call StageOutbox before
// the write (with the application code, and the event's ID in the new
// timeline entry), then FlushOutbox after it, or DiscardOutbox if the
// write failed.
func PublishWithOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	if err := StageOutbox(ctx, store, queueName, env, ""); err != nil {
		return err
	}
	return FlushOutbox(ctx, store, pub, queueName, env)
}

// RepairResult counts what RepairOutbox did.
type RepairResult struct {
	// Published is the number of events (re)published.
	Published int `json:"published"`
	// Discarded is the number of markers whose state change never happened.
	Discarded int `json:"discarded"`
	// Pending is the number of markers younger than olderThan, left alone.
	Pending int `json:"pending"`
	// Failed is the number of markers that could not be handled (retried
	// on the next sweep).
	Failed int `json:"failed"`
}

// RepairOutbox sweeps outbox markers older than olderThan (leaving younger
// ones to the request still handling them), publishing each one's event
// and deleting the marker. A marker tied to an application is published
// only if the application's timeline holds the event; otherwise the write
// it announced never happened and the marker is discarded. Consumers
// de-duplicate on the envelope ID, so an event already published before a
// crash may arrive twice. Per-marker failures are counted and logged (log
// may be nil) and the sweep goes on; the error reports listing failures
// and the first per-marker failure.
func RepairOutbox(ctx context.Context, store docstore.Store, pub queue.Publisher, olderThan time.Duration, log *slog.Logger) (RepairResult, error) {
	if log == nil {
		log = slog.Default()
	}
	var res RepairResult
	var firstErr error
	repo := NewRepository(store)
	cutoff := time.Now().Add(-olderThan)
	next := ""
	for {
		page, err := store.List(ctx, OutboxPrefix, next, 1000)
		if err != nil {
			return res, fmt.Errorf("repair outbox: list: %w", err)
		}
		for _, e := range page.Entries {
			if !strings.HasSuffix(e.Key, ".json") {
				continue
			}
			var m OutboxMarker
			if _, err := docstore.GetJSON(ctx, store, e.Key, &m); err != nil {
				if errors.Is(err, docstore.ErrNotFound) {
					continue // flushed meanwhile
				}
				res.Failed++
				firstErr = cmpErr(firstErr, err)
				continue
			}
			if m.CreatedAt.After(cutoff) {
				res.Pending++
				continue
			}
			done, err := repairOne(ctx, store, repo, pub, m)
			if err != nil {
				res.Failed++
				firstErr = cmpErr(firstErr, err)
				log.WarnContext(ctx, "outbox repair failed", "event_id", m.Envelope.ID, "type", m.Envelope.Type, "error", err.Error())
				continue
			}
			if done {
				res.Published++
				log.InfoContext(ctx, "outbox event republished", "event_id", m.Envelope.ID, "type", m.Envelope.Type, "queue", m.Queue)
			} else {
				res.Discarded++
				log.InfoContext(ctx, "outbox marker discarded: state change never written", "event_id", m.Envelope.ID, "type", m.Envelope.Type)
			}
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	if firstErr != nil {
		return res, fmt.Errorf("repair outbox: %d marker(s) failed: %w", res.Failed, firstErr)
	}
	return res, nil
}

// repairOne publishes (true) or discards (false) one marker.
func repairOne(ctx context.Context, store docstore.Store, repo *Repository, pub queue.Publisher, m OutboxMarker) (bool, error) {
	if m.ApplicationCode != "" {
		code, perr := ParseCode(m.ApplicationCode)
		if perr != nil {
			return false, DiscardOutbox(ctx, store, m.Envelope.ID)
		}
		a, _, err := repo.Get(ctx, code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		if err != nil || !hasEvent(a, m.Envelope.ID) {
			return false, DiscardOutbox(ctx, store, m.Envelope.ID)
		}
	}
	return true, FlushOutbox(ctx, store, pub, m.Queue, m.Envelope)
}

func hasEvent(a Application, id string) bool {
	for _, e := range a.Timeline {
		if e.EventID == id {
			return true
		}
	}
	return false
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
