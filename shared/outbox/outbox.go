// Package outbox ties a state change in the document store to the message
// announcing it, so a crash between the two is repaired, never lost: a
// marker holding the message is written (create once) BEFORE the change,
// the message is published after it and the marker deleted; a sweep
// (Repair) publishes markers left behind whose change was written and
// discards those whose change never happened.
//
// A marker may be tied to the record whose change it announces (Tie{Kind,
// ID}, e.g. an application by code); Repair asks the Written check
// registered for that kind whether the change is in the record. Untied
// markers announce changes already durable and are always published.
// Applications (shared/application), payments and receipts use it;
// consumers de-duplicate on the envelope ID, since a repaired message may
// arrive twice.
package outbox

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

// Prefix is the key prefix of outbox markers in the data bucket.
const Prefix = "outbox/"

// Tie names the record whose change a marker announces; the zero Tie means
// the change is already durable.
type Tie struct {
	// Kind selects the Written check, e.g. "application".
	Kind string `json:"kind"`
	// ID identifies the record within its kind, e.g. an application code.
	ID string `json:"id"`
}

// Marker is an event written to the store before it is published.
type Marker struct {
	// Queue is the queue name to publish to.
	Queue string `json:"queue"`
	// Envelope is the message itself (its ID is the marker's name).
	Envelope queue.Envelope `json:"envelope"`
	// Tie names the record whose change the event announces (nil: none).
	Tie *Tie `json:"tie,omitempty"`
	// ApplicationCode is the tie of markers written before Tie existed
	// (read as Tie{"application", code}); never written any more.
	ApplicationCode string `json:"applicationCode,omitempty"`
	// CreatedAt is when the marker was written.
	CreatedAt time.Time `json:"createdAt"`
}

// tie returns the marker's tie, reading the legacy member too.
func (m Marker) tie() (Tie, bool) {
	if m.Tie != nil && m.Tie.Kind != "" {
		return *m.Tie, true
	}
	if m.ApplicationCode != "" {
		return Tie{Kind: "application", ID: m.ApplicationCode}, true
	}
	return Tie{}, false
}

// Key returns the key of the marker of envelope id.
func Key(eventID string) string { return Prefix + eventID + ".json" }

// Stage writes the marker of env (create once) BEFORE the state change it
// announces; tie names the record whose change will carry the event (the
// zero Tie when the change is already durable). Staging the same marker
// twice is not an error.
func Stage(ctx context.Context, store docstore.Store, queueName string, env queue.Envelope, tie Tie) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("stage outbox: %w", err)
	}
	m := Marker{Queue: queueName, Envelope: env, CreatedAt: time.Now().UTC()}
	if tie.Kind != "" {
		m.Tie = &tie
	}
	_, err := docstore.PutJSON(ctx, store, Key(env.ID), m, docstore.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		return fmt.Errorf("stage outbox %s: %w", env.ID, err)
	}
	return nil
}

// Restage writes the marker of env again, unconditionally and with a
// fresh CreatedAt, before a retried state change (e.g. a submission taken
// over from a stale idempotency record) that the first marker may have
// been discarded for, or that Repair would find too old to leave alone.
func Restage(ctx context.Context, store docstore.Store, queueName string, env queue.Envelope, tie Tie) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("restage outbox: %w", err)
	}
	m := Marker{Queue: queueName, Envelope: env, CreatedAt: time.Now().UTC()}
	if tie.Kind != "" {
		m.Tie = &tie
	}
	if _, err := docstore.PutJSON(ctx, store, Key(env.ID), m, docstore.PutOptions{}); err != nil {
		return fmt.Errorf("restage outbox %s: %w", env.ID, err)
	}
	return nil
}

// Send publishes a staged event and leaves its marker to cleaner, which
// deletes it in the background (Flush deletes it before returning). If the
// publish fails the marker stays for Repair and the error is returned.
func Send(ctx context.Context, pub queue.Publisher, cleaner *Cleaner, queueName string, env queue.Envelope) error {
	if err := pub.Publish(ctx, queueName, env); err != nil {
		return fmt.Errorf("send outbox %s: publish: %w", env.ID, err)
	}
	cleaner.Delete(env.ID)
	return nil
}

// Flush publishes a staged event and then deletes its marker. If the
// publish fails the marker stays for Repair and the error is returned;
// callers whose state change is durable should log it and still report
// success. A failed delete after a good publish only means a duplicate
// message later.
func Flush(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	if err := pub.Publish(ctx, queueName, env); err != nil {
		return fmt.Errorf("flush outbox %s: publish: %w", env.ID, err)
	}
	if err := store.Delete(ctx, Key(env.ID), ""); err != nil {
		return fmt.Errorf("flush outbox %s: delete marker: %w", env.ID, err)
	}
	return nil
}

// Discard deletes a staged marker whose state change did not happen (e.g.
// a compare-and-swap write lost its race).
func Discard(ctx context.Context, store docstore.Store, eventID string) error {
	return DiscardIfMatch(ctx, store, eventID, "")
}

// DiscardIfMatch is Discard of the marker version read with ETag etag
// ("" for any version): a sweep that found a marker's change unwritten
// must not delete the marker a retried request has staged again since
// (Restage), or that retry's event could be lost. A marker changed since
// gives an error matching docstore.ErrPrecondition.
func DiscardIfMatch(ctx context.Context, store docstore.Store, eventID, etag string) error {
	if err := store.Delete(ctx, Key(eventID), etag); err != nil {
		return fmt.Errorf("discard outbox %s: %w", eventID, err)
	}
	return nil
}

// Publish publishes env to queueName through an untied marker (stage,
// publish, delete), for an event whose cause is already durable. For an
// event announcing a write still to come, Stage before the write, then
// Flush after it, or Discard if the write failed.
func Publish(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope) error {
	if err := Stage(ctx, store, queueName, env, Tie{}); err != nil {
		return err
	}
	return Flush(ctx, store, pub, queueName, env)
}

// Written reports whether the record id of one kind holds the change that
// event eventID announces. A record that does not exist answers false with
// a nil error; other errors make Repair retry the marker on its next sweep.
type Written func(ctx context.Context, id, eventID string) (bool, error)

// RepairResult counts what Repair did.
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

// Repair sweeps markers older than olderThan (leaving younger ones to the
// request still handling them): an untied marker is published; a tied one
// is published if written[kind] says its change happened and discarded
// otherwise; a marker of a kind without a check is left alone and counted
// as failed. Per-marker failures are counted and logged (log may be nil)
// and the sweep goes on; the error reports the first of them.
func Repair(ctx context.Context, store docstore.Store, pub queue.Publisher, olderThan time.Duration, written map[string]Written, log *slog.Logger) (RepairResult, error) {
	if log == nil {
		log = slog.Default()
	}
	var res RepairResult
	var firstErr error
	cutoff := time.Now().Add(-olderThan)
	next := ""
	for {
		page, err := store.List(ctx, Prefix, next, 1000)
		if err != nil {
			return res, fmt.Errorf("repair outbox: list: %w", err)
		}
		for _, e := range page.Entries {
			if !strings.HasSuffix(e.Key, ".json") {
				continue
			}
			var m Marker
			etag, err := docstore.GetJSON(ctx, store, e.Key, &m)
			if err != nil {
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
			done, err := repairOne(ctx, store, pub, m, etag, written)
			if errors.Is(err, docstore.ErrPrecondition) {
				res.Pending++ // staged again meanwhile: its request handles it
				continue
			}
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
func repairOne(ctx context.Context, store docstore.Store, pub queue.Publisher, m Marker, etag string, written map[string]Written) (bool, error) {
	if tie, ok := m.tie(); ok {
		check := written[tie.Kind]
		if check == nil {
			return false, fmt.Errorf("outbox marker %s tied to %q: no check registered", m.Envelope.ID, tie.Kind)
		}
		ok, err := check(ctx, tie.ID, m.Envelope.ID)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, DiscardIfMatch(ctx, store, m.Envelope.ID, etag)
		}
	}
	return true, Flush(ctx, store, pub, m.Queue, m.Envelope)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
