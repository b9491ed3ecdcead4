package dvcqg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// StatePrefix holds one sync state per application: dvcqg/sync/<code>.json.
const StatePrefix = "dvcqg/sync/"

// StateKey returns the key of an application's sync state.
func StateKey(code application.Code) string { return StatePrefix + code.String() + ".json" }

// State is an application's sync state: how far its sequence was
// acknowledged by the portal. The stats read it for the sync share
// (applications with Synced / applications received).
type State struct {
	// Code is the application code.
	Code string `json:"code"`
	// Synced is true once the portal acknowledged the application record.
	Synced bool `json:"synced"`
	// Sent counts the acknowledged messages of the sequence.
	Sent int `json:"sent"`
	// Steps counts the timeline steps whose messages were all acknowledged.
	Steps int `json:"steps"`
	// LastStatus is the portal status last acknowledged.
	LastStatus string `json:"lastStatus,omitempty"`
	// FirstSeenAt is when the first event of the application arrived.
	FirstSeenAt time.Time `json:"firstSeenAt"`
	// SyncedAt is when the record was first acknowledged; LastSyncedAt the
	// last acknowledgement.
	SyncedAt     *time.Time `json:"syncedAt,omitempty"`
	LastSyncedAt *time.Time `json:"lastSyncedAt,omitempty"`
	// LeaseUntil keeps other deliveries off while one sends (UTC).
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
	// Failures counts failed sends since the last success; LastError is the last.
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"lastError,omitempty"`
	// Version grows by one on every write.
	Version int `json:"version"`
}

// FieldLookup returns the field code (MaLinhVuc) of a procedure; nil or a
// failure leaves it empty.
type FieldLookup func(ctx context.Context, procedureCode string) (string, error)

// Syncer sends applications' sequences to the portal. Safe for concurrent use.
//
// The sequence of an application is its timeline: MessagesFor(step) for
// each step, in order. An event names its step (the timeline entry with
// its envelope id); handling it sends every message of the sequence up to
// and including that step that was not acknowledged yet, one at a time,
// recording progress in the State after each acknowledgement. So:
//
//   - order holds per application: message k goes only after 0..k-1 were
//     acknowledged, whatever order the events arrive in (a later event
//     sends the earlier steps first; the earlier event then finds them
//     done);
//   - a duplicate event finds its step done and sends nothing;
//   - two deliveries for one application never send at once: a lease in
//     the State (CAS) makes the second answer "retry later";
//   - a failure stops the sequence there; the event is redelivered by the
//     queue and resumes from the first unacknowledged message, and after
//     the queue's maxReceiveCount it goes to the dead-letter queue;
//   - a crash between the portal's acknowledgement and the State write
//     resends that one message (at least once; DongBoHoSoMC updates are
//     idempotent on MaHoSo, a repeated progress step is harmless).
type Syncer struct {
	store  docstore.Store
	apps   *application.Repository
	portal Portal
	field  FieldLookup
	lease  time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu    sync.Mutex
	turns map[string]*turn // per application: deliveries of this process take turns
}

// turn lets one delivery of an application at a time into Handle within
// the process (a channel used as a lock, so a waiter can give up with its
// context); waiters counts the deliveries holding or waiting for it.
type turn struct {
	ch      chan struct{}
	waiters int
}

// take waits for code's turn (or ctx) and returns its release.
func (s *Syncer) take(ctx context.Context, code string) (func(), error) {
	s.mu.Lock()
	if s.turns == nil {
		s.turns = map[string]*turn{}
	}
	t := s.turns[code]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		s.turns[code] = t
	}
	t.waiters++
	s.mu.Unlock()
	leave := func() {
		s.mu.Lock()
		if t.waiters--; t.waiters == 0 {
			delete(s.turns, code)
		}
		s.mu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// DefaultLease is how long one delivery may hold an application's sequence.
const DefaultLease = 50 * time.Second

// NewSyncer returns a Syncer; field, now and log may be nil.
func NewSyncer(store docstore.Store, portal Portal, field FieldLookup, now func() time.Time, log *slog.Logger) (*Syncer, error) {
	if store == nil || portal == nil {
		return nil, errors.New("dvcqg.NewSyncer: store and portal are required")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Syncer{store: store, apps: application.NewRepository(store), portal: portal, field: field, lease: DefaultLease, now: now, log: log}, nil
}

// Errors of Handle.
var (
	// ErrBadEvent: the event names no application that exists.
	ErrBadEvent = errors.New("dvcqg: unusable event")
	// ErrBusy: another delivery is sending this application's sequence.
	ErrBusy = errors.New("dvcqg: application being synced by another delivery")
)

// Result is what one event did.
type Result struct {
	// Code is the application.
	Code string `json:"code"`
	// Sent counts the messages sent by this delivery.
	Sent int `json:"sent"`
	// Duplicate is true when the event's step was already acknowledged.
	Duplicate bool `json:"duplicate"`
	// Acknowledged is the sequence position now acknowledged.
	Acknowledged int `json:"acknowledged"`
}

// Handle syncs the application env names up to env's step.
func (s *Syncer) Handle(ctx context.Context, env queue.Envelope) (Result, error) {
	if !strings.HasPrefix(env.Type, "application.") {
		return Result{}, nil // not ours (dvcqg-events only carries application events)
	}
	var pl application.EventPayload
	if err := json.Unmarshal(env.Payload, &pl); err != nil {
		return Result{}, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
	}
	code, err := application.ParseCode(pl.Code)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	// Deliveries of one application in this process take turns before the
	// state's lease (which still keeps other processes off): the second
	// finds the first's progress instead of its lease, so it ends as a
	// duplicate or goes on from there, not as a 503 and a redelivery.
	release, err := s.take(ctx, code.String())
	if err != nil {
		return Result{}, err
	}
	defer release()
	a, _, err := s.apps.Get(ctx, code)
	if errors.Is(err, docstore.ErrNotFound) || errors.Is(err, application.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: application %s not found", ErrBadEvent, code)
	}
	if err != nil {
		return Result{}, err
	}
	if len(a.Timeline) == 0 {
		return Result{}, fmt.Errorf("%w: application %s has no timeline", ErrBadEvent, code)
	}
	pos := len(a.Timeline) - 1 // an event not in the timeline: catch up with everything
	for i, e := range a.Timeline {
		if e.EventID == env.ID {
			pos = i
			break
		}
	}
	field := ""
	if s.field != nil {
		if f, err := s.field(ctx, a.ProcedureCode); err == nil {
			field = f
		} else {
			s.log.WarnContext(ctx, "field code unavailable", "procedure", a.ProcedureCode, "error", err.Error())
		}
	}
	var seq []Message
	stepEnd := make([]int, pos+1) // sequence length after each step
	for i := 0; i <= pos; i++ {
		seq = append(seq, MessagesFor(a, i, field)...)
		stepEnd[i] = len(seq)
	}
	res := Result{Code: a.Code}

	st, etag, err := s.claim(ctx, code, len(seq))
	if errors.Is(err, errDone) {
		res.Duplicate, res.Acknowledged = true, st.Sent
		return res, nil
	}
	if err != nil {
		return res, err
	}
	for k := st.Sent; k < len(seq); k++ {
		sendErr := s.portal.Send(ctx, seq[k])
		now := s.now().UTC()
		if sendErr != nil {
			st.Failures++
			st.LastError = sendErr.Error()
		} else {
			st.Sent = k + 1
			st.Failures, st.LastError = 0, ""
			st.LastSyncedAt = &now
			if seq[k].Service == ServiceSyncApplication && !st.Synced {
				st.Synced, st.SyncedAt = true, &now
			}
			switch d := seq[k].Data.(type) {
			case Record:
				st.LastStatus = d.TrangThaiHoSo
			case Progress:
				st.LastStatus = d.TrangThai
			}
			for st.Steps <= pos && stepEnd[st.Steps] <= st.Sent {
				st.Steps++
			}
			res.Sent++
		}
		last := sendErr != nil || k == len(seq)-1
		if last {
			st.LeaseUntil = nil
		}
		st.Version++
		etag, err = docstore.PutJSON(context.WithoutCancel(ctx), s.store, StateKey(code), st, docstore.PutOptions{IfMatch: etag})
		if err != nil {
			return res, fmt.Errorf("dvcqg: record progress of %s: %w", code, err)
		}
		if sendErr != nil {
			s.log.WarnContext(ctx, "portal sync failed; the event will be redelivered", "code", a.Code, "position", k, "service", seq[k].Service, "failures", st.Failures, "error", sendErr.Error())
			return res, sendErr
		}
	}
	res.Acknowledged = st.Sent
	s.log.InfoContext(ctx, "portal sync acknowledged", "code", a.Code, "sent", res.Sent, "acknowledged", st.Sent, "status", st.LastStatus)
	return res, nil
}

var errDone = errors.New("dvcqg: already acknowledged")

// claim reads (or creates) the state and takes the lease unless the
// sequence up to target is acknowledged (errDone) or another delivery
// holds the lease (ErrBusy).
func (s *Syncer) claim(ctx context.Context, code application.Code, target int) (State, string, error) {
	key := StateKey(code)
	for attempt := 0; attempt < 6; attempt++ {
		now := s.now().UTC()
		var st State
		etag, err := docstore.GetJSON(ctx, s.store, key, &st)
		create := errors.Is(err, docstore.ErrNotFound)
		if err != nil && !create {
			return State{}, "", err
		}
		if create {
			st = State{Code: code.String(), FirstSeenAt: now}
		}
		if st.Sent >= target {
			return st, etag, errDone
		}
		if st.LeaseUntil != nil && now.Before(*st.LeaseUntil) {
			return st, etag, ErrBusy
		}
		until := now.Add(s.lease)
		st.LeaseUntil = &until
		st.Version++
		opts := docstore.PutOptions{IfMatch: etag}
		if create {
			opts = docstore.PutOptions{IfNoneMatch: true}
		}
		tag, err := docstore.PutJSON(ctx, s.store, key, st, opts)
		if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict) {
			continue
		}
		if err != nil {
			return State{}, "", err
		}
		return st, tag, nil
	}
	return State{}, "", ErrBusy
}
