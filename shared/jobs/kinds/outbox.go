// Package kinds holds motcua's reprocessing job kinds (see shared/jobs):
// republish-outbox, reconcile-payments and redrive-dlq. Each is a small
// jobs.Kind over the domain code that already does the work, reached
// through one adapter per domain so that code can move without the kinds
// changing.
package kinds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/outbox"
	"motcua/shared/outbox/checks"
	"motcua/shared/queue"
)

// Outbox is what republish-outbox needs from the event outbox.
// Implementations are safe for concurrent use.
type Outbox interface {
	// Stale calls emit for every outbox marker last written before cutoff,
	// in key order, without reading it.
	Stale(ctx context.Context, cutoff time.Time, emit func(eventID string, written time.Time) error) error
	// Repair publishes (and deletes) the marker of eventID, or discards it
	// when the state change it announced never happened. found is false
	// when the marker is gone (flushed meanwhile).
	Repair(ctx context.Context, eventID string) (published, found bool, queueName string, err error)
}

// StoreOutbox adapts shared/outbox (the logic behind `motcua outbox
// repair`) to Outbox: the one place that knows where the outbox lives and
// which checks tie a marker to its state change.
type StoreOutbox struct {
	Store     docstore.Store
	Publisher queue.Publisher
	// Written are the checks of tied markers by tie kind (as for
	// outbox.Repair); DefaultOutbox registers every check motcua has
	// (shared/outbox/checks, the registry motcua outbox repair uses too).
	Written map[string]outbox.Written
}

var _ Outbox = StoreOutbox{}

// DefaultOutbox is the outbox with every tie check motcua has: the one
// registry in shared/outbox/checks, shared with motcua outbox repair.
func DefaultOutbox(store docstore.Store, pub queue.Publisher) StoreOutbox {
	return StoreOutbox{Store: store, Publisher: pub, Written: checks.Written(store)}
}

// Stale lists markers under outbox.Prefix by their LastModified.
func (o StoreOutbox) Stale(ctx context.Context, cutoff time.Time, emit func(string, time.Time) error) error {
	next := ""
	for {
		page, err := o.Store.List(ctx, outbox.Prefix, next, 1000)
		if err != nil {
			return fmt.Errorf("list outbox: %w", err)
		}
		for _, e := range page.Entries {
			id, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, outbox.Prefix), ".json")
			if !ok || strings.Contains(id, "/") || !e.LastModified.Before(cutoff) {
				continue
			}
			if err := emit(id, e.LastModified); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}

// Repair does for one marker what outbox.Repair does for each: an untied
// marker is published; a tied one is published when its check says the
// change was written and discarded otherwise; a tie without a check is an
// error (left for staff, like outbox.Repair).
func (o StoreOutbox) Repair(ctx context.Context, eventID string) (bool, bool, string, error) {
	var m outbox.Marker
	etag, err := docstore.GetJSON(ctx, o.Store, outbox.Key(eventID), &m)
	if err != nil {
		if errors.Is(err, docstore.ErrNotFound) {
			return false, false, "", nil
		}
		return false, true, "", err
	}
	tie := outbox.Tie{}
	switch {
	case m.Tie != nil && m.Tie.Kind != "":
		tie = *m.Tie
	case m.ApplicationCode != "":
		tie = outbox.Tie{Kind: application.OutboxKind, ID: m.ApplicationCode}
	}
	if tie.Kind != "" {
		check := o.Written[tie.Kind]
		if check == nil {
			return false, true, m.Queue, fmt.Errorf("%w: marker %s tied to %q", errNoCheck, eventID, tie.Kind)
		}
		written, err := check(ctx, tie.ID, eventID)
		if err != nil {
			return false, true, m.Queue, err
		}
		if !written {
			// Only the marker version checked: a retried request may
			// have staged it again since (outbox.Restage).
			err := outbox.DiscardIfMatch(ctx, o.Store, eventID, etag)
			if errors.Is(err, docstore.ErrPrecondition) {
				return false, false, m.Queue, nil // its request handles it
			}
			return false, true, m.Queue, err
		}
	}
	return true, true, m.Queue, outbox.Flush(ctx, o.Store, o.Publisher, m.Queue, m.Envelope)
}

// errNoCheck: a marker's tie kind has no registered check.
var errNoCheck = errors.New("no outbox check registered")

// DefaultOutboxAge is republish-outbox's default threshold: younger
// markers belong to requests still running.
const DefaultOutboxAge = 2 * time.Minute

// RepublishOutbox is the "republish-outbox" kind: events whose outbox
// marker is older than scope.olderThan (default 2m) are published again
// (or discarded when their state change never happened). Consumers
// de-duplicate on the event id, so a republished event is harmless.
type RepublishOutbox struct {
	Outbox Outbox
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

var _ jobs.Kind = (*RepublishOutbox)(nil)

// Name returns "republish-outbox".
func (k *RepublishOutbox) Name() string { return "republish-outbox" }

func (k *RepublishOutbox) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Check accepts olderThan (0 to 30 days) and limit.
func (k *RepublishOutbox) Check(s jobs.Scope) error {
	if _, err := olderThan(s, DefaultOutboxAge); err != nil {
		return err
	}
	return only(s, "olderThan", "limit")
}

// Plan lists the stale markers.
func (k *RepublishOutbox) Plan(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	age, _ := olderThan(s, DefaultOutboxAge)
	n := 0
	errLimit := errors.New("limit")
	err := k.Outbox.Stale(ctx, k.now().Add(-age), func(id string, written time.Time) error {
		if s.Limit > 0 && n >= s.Limit {
			return errLimit
		}
		n++
		return emit(jobs.Item{Key: id, Action: "republish", Note: "outbox marker written " + written.UTC().Format(time.RFC3339)})
	})
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// Apply repairs one marker.
func (k *RepublishOutbox) Apply(ctx context.Context, _ jobs.Scope, it jobs.Item) (jobs.Result, error) {
	published, found, q, err := k.Outbox.Repair(ctx, it.Key)
	switch {
	case errors.Is(err, errNoCheck):
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: err.Error()}, nil
	case err != nil:
		return jobs.Result{}, err
	case !found:
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: "marker gone: already published"}, nil
	case published:
		return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: "republished to " + q}, nil
	default:
		return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: "discarded: the state change it announced was never written"}, nil
	}
}

// olderThan parses scope.olderThan (default def; 0 to 30 days).
func olderThan(s jobs.Scope, def time.Duration) (time.Duration, error) {
	if s.OlderThan == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s.OlderThan)
	if err != nil || d < 0 || d > 30*24*time.Hour {
		return 0, jobs.ScopeError("scope.olderThan", "olderThan phải là khoảng thời gian từ 0 đến 720h, ví dụ \"2m\".",
			"olderThan must be a duration from 0 to 720h, e.g. \"2m\".")
	}
	return d, nil
}

// only refuses scope fields a kind does not use, naming the first one.
func only(s jobs.Scope, allowed ...string) error {
	set := map[string]bool{
		"from": s.From != "", "to": s.To != "", "agency": s.Agency != "", "series": s.Series != "",
		"queue": s.Queue != "", "limit": s.Limit != 0, "olderThan": s.OlderThan != "", "mode": s.Mode != "", "file": s.File != "",
	}
	if s.Limit < 0 {
		return jobs.ScopeError("scope.limit", "limit không được âm.", "limit must not be negative.")
	}
	for _, name := range []string{"from", "to", "agency", "series", "queue", "limit", "olderThan", "mode", "file"} {
		if set[name] && !contains(allowed, name) {
			return jobs.ScopeError("scope."+name, "Loại tác vụ này không dùng trường "+name+".",
				"This kind of job does not use "+name+".")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
