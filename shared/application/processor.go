package application

// The Processor behind the process-application function: staff actions on
// stored applications (read with ETag, check the agency, apply the state
// machine of transitions.go, audit record + outbox, write with If-Match),
// the staff view and the internal audit trail of staff steps.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"motcua/shared/docstore"
	"motcua/shared/outbox"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// AuditRecord is the internal record of one staff step: who did it and
// with which parameters. It is never shown to citizens.
type AuditRecord struct {
	// EventID ties the record to the timeline entry (and the event).
	EventID string `json:"eventId"`
	// Code is the application code.
	Code string `json:"code"`
	// Action is the step taken.
	Action ActionName `json:"action"`
	// From and To are the statuses before and after.
	From Status `json:"from"`
	To   Status `json:"to"`
	// At is when it happened.
	At time.Time `json:"at"`
	// Officer is the officer's id (token subject).
	Officer string `json:"officer"`
	// Agency is the officer's agency code.
	Agency string `json:"agency"`
	// Reason, Missing, Result, Delivery and Note are the action's parameters.
	Reason   string    `json:"reason,omitempty"`
	Missing  []string  `json:"missing,omitempty"`
	Result   *Result   `json:"result,omitempty"`
	Delivery *Delivery `json:"delivery,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// AuditPrefix returns the key prefix of an application's audit records.
func AuditPrefix(code Code) string { return "audit/applications/" + code.String() + "/" }

// AuditKey returns the key of the audit record of one step.
func AuditKey(code Code, eventID string) string { return AuditPrefix(code) + eventID + ".json" }

// auditReaders bounds the audit records AuditTrail reads at once.
const auditReaders = 8

// AuditTrail returns the audit records of a's steps in timeline order. Records
// whose event is not in a's timeline (the write they were staged for lost
// its race or failed) are left out.
func AuditTrail(ctx context.Context, store docstore.Store, a Application) ([]AuditRecord, error) {
	var out []AuditRecord
	next := ""
	for {
		page, err := store.List(ctx, AuditPrefix(a.ID()), next, 1000)
		if err != nil {
			return nil, fmt.Errorf("audit trail %s: %w", a.Code, err)
		}
		// The records of a page are read side by side, auditReaders at a time.
		recs := make([]AuditRecord, len(page.Entries))
		errs := make([]error, len(page.Entries))
		sem := make(chan struct{}, auditReaders)
		var wg sync.WaitGroup
		for i, e := range page.Entries {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				_, errs[i] = docstore.GetJSON(ctx, store, e.Key, &recs[i])
			})
		}
		wg.Wait()
		for i, r := range recs {
			if err := errs[i]; err != nil {
				if errors.Is(err, docstore.ErrNotFound) {
					continue
				}
				return nil, fmt.Errorf("audit trail %s: %w", a.Code, err)
			}
			if hasEvent(a, r.EventID) {
				out = append(out, r)
			}
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	pos := make(map[string]int, len(a.Timeline))
	for i, e := range a.Timeline {
		if e.EventID != "" {
			pos[e.EventID] = i
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return pos[out[i].EventID] < pos[out[j].EventID] })
	return out, nil
}

// ProcessInput is the body of a staff action.
type ProcessInput struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=64"`
	Action
}

// StaffApplication is an Application as sent to staff: its JSON leaves
// out pinHash and pinSalt altogether.
type StaffApplication struct {
	Application
}

// MarshalJSON encodes the application without its PIN members, in one
// pass: the outer pinHash and pinSalt fields hide the application's own
// (encoding/json keeps the shallowest field of a name) and, empty, are
// left out by omitempty.
func (s StaffApplication) MarshalJSON() ([]byte, error) {
	type plain Application // drops methods, so no recursion
	return json.Marshal(struct {
		plain
		PINHash string `json:"pinHash,omitempty"`
		PINSalt string `json:"pinSalt,omitempty"`
	}{plain: plain(s.Application.InAPIZone())})
}

// ProcessResult is the answer to a staff action.
type ProcessResult struct {
	// Application is the application after the step (without PIN data).
	Application StaffApplication `json:"application"`
	// Event is the timeline entry added.
	Event Event `json:"event"`
}

// StaffView is the staff's full view of an application.
type StaffView struct {
	// Application is the stored application without PIN data.
	Application StaffApplication `json:"application"`
	// Audit is the internal trail of staff steps.
	Audit []AuditRecord `json:"audit"`
	// AllowedActions are the actions possible from the current status.
	AllowedActions []ActionName `json:"allowedActions"`
}

// Processor applies staff actions to stored applications. Safe for
// concurrent use.
type Processor struct {
	repo    *Repository
	store   docstore.Store
	uploads docstore.Store // result documents (WithResults); nil: complete is refused
	pub     queue.Publisher
	queue   string
	cal     *workdays.Calendar
	now     func() time.Time
	log     *slog.Logger
	cleaner *outbox.Cleaner // deletes the markers of published events in batches
}

// NewProcessor returns a Processor over the data bucket store, publishing
// events to queueName through pub. now and log may be nil.
func NewProcessor(store docstore.Store, pub queue.Publisher, queueName string, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) (*Processor, error) {
	if store == nil || pub == nil || queueName == "" || cal == nil {
		return nil, errors.New("application.NewProcessor: store, publisher, queue name and calendar are required")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Processor{repo: NewRepository(store), store: store, pub: pub, queue: queueName, cal: cal, now: now, log: log,
		cleaner: outbox.NewCleaner(store, log)}, nil
}

// Drain waits until the outbox markers of published events are deleted
// (tests and graceful shutdown), or ctx ends.
func (p *Processor) Drain(ctx context.Context) error { return p.cleaner.Drain(ctx) }

// View returns the staff view of an application of the officer's agency.
func (p *Processor) View(ctx context.Context, claims staffauth.Claims, raw string) (StaffView, error) {
	code, err := ParseCode(raw)
	if err != nil {
		return StaffView{}, err
	}
	a, _, err := p.repo.Get(ctx, code)
	if err != nil {
		return StaffView{}, err
	}
	if err := staffauth.Authorize(claims, a.Agency.Code); err != nil {
		return StaffView{}, err
	}
	trail, err := AuditTrail(ctx, p.store, a)
	if err != nil {
		return StaffView{}, err
	}
	for i := range trail {
		trail[i].At = APITime(trail[i].At)
	}
	v := StaffView{Application: StaffApplication{a.Redacted()}, Audit: trail, AllowedActions: []ActionName{}}
	if v.Audit == nil {
		v.Audit = []AuditRecord{}
	}
	for _, name := range Actions {
		if AllowedFor(a, name) && !transitions[name].citizen {
			v.AllowedActions = append(v.AllowedActions, name)
		}
	}
	return v, nil
}

// Process applies one staff action: read the application with its ETag,
// check the officer's agency (403), apply the transition, stage the
// audit record and the event (outbox), write with If-Match, then publish.
// A write that loses its race to another officer is not retried: the
// answer is ErrConcurrentUpdate (409, with the status now stored), since
// the officer decided on a state that is gone. Nothing acknowledged is
// lost and no update is lost. correlationID goes into the event.
func (p *Processor) Process(ctx context.Context, claims staffauth.Claims, in ProcessInput, correlationID string) (ProcessResult, error) {
	return p.ProcessOnce(ctx, claims, in, correlationID, "")
}

// staffEventSpace is the UUID namespace of the event IDs of staff actions
// that carry a request key (ProcessOnce).
var staffEventSpace = uuid.MustParse("6f1d3c52-8a4e-4d0b-9a57-2f3e8c1b7d40")

// StaffEventID returns the event ID of the staff action an officer asked
// for with request key requestKey (ProcessOnce): the same for every run of
// that request.
func StaffEventID(officer, requestKey string) string {
	return uuid.NewSHA1(staffEventSpace, []byte("process-application\x00"+officer+"\x00"+requestKey)).String()
}

// ProcessOnce is Process for a request that may run again after its first
// run was cut short (the process killed after the application write but
// before the answer was recorded: the Idempotency-Key's lock is then taken
// over by the client's retry). requestKey names the request (the
// Idempotency-Key and a digest of the body; "" for none): the step's event
// ID is derived from it and the officer (StaffEventID), so a run that finds
// that event in the timeline already answers 200 with the application as
// stored and that step (publishing the event again if its outbox marker is
// still there; consumers de-duplicate on the ID), instead of refusing the
// step as an illegal transition. The audit record and the marker of such a
// step are written over an earlier run's (which never reached the
// application), and are not deleted when the write fails: a same-key run
// may still be using them; AuditTrail and the outbox repair ignore them if
// the step never lands.
func (p *Processor) ProcessOnce(ctx context.Context, claims staffauth.Claims, in ProcessInput, correlationID, requestKey string) (ProcessResult, error) {
	code, err := ParseCode(in.Code)
	if err != nil {
		return ProcessResult{}, err
	}
	// complete checks the uploaded result document: a read of the uploads
	// bucket that needs only the code and the key asked for, so it runs
	// while the application is read; its answer counts only after the
	// agency and the transition are checked, as before.
	var resultSize int64
	var resultErr error
	var resultRead sync.WaitGroup
	if in.Name == ActComplete && in.Result != nil {
		key := strings.TrimSpace(in.Result.DocumentKey)
		resultRead.Go(func() { resultSize, resultErr = p.checkResult(ctx, code, key) })
	}
	a, etag, err := p.repo.Get(ctx, code)
	resultRead.Wait()
	if err != nil {
		return ProcessResult{}, err
	}
	if err := staffauth.Authorize(claims, a.Agency.Code); err != nil {
		return ProcessResult{}, err
	}
	// The audit trail and events name the agency as the catalog spells it,
	// not as the token does (staffauth.Authorize compares case-insensitively).
	claims.Agency = a.Agency.Code
	eventID := ""
	if requestKey != "" {
		eventID = StaffEventID(claims.Subject, requestKey)
		if hasEvent(a, eventID) {
			return p.replayStep(ctx, a, eventID), nil
		}
	}
	from := a.Status
	ev, err := ApplyWith(p.cal, &a, in.Action, StaffActor(claims), p.now())
	if err != nil {
		return ProcessResult{}, err
	}
	if in.Name == ActComplete {
		if a.Result.DocumentKey != strings.TrimSpace(in.Result.DocumentKey) { // ApplyWith trims it the same way
			resultSize, resultErr = p.checkResult(ctx, code, a.Result.DocumentKey)
		}
		if resultErr != nil {
			return ProcessResult{}, resultErr
		}
		a.Result.Size = resultSize
	}
	probe := a
	probe.Version++ // the version UpdateIfMatch will write
	env, err := NewEvent(EventType(in.Name), correlationID, probe, ev.At)
	if err != nil {
		return ProcessResult{}, fmt.Errorf("process %s %s: %w", in.Name, code, err)
	}
	if eventID != "" {
		env.ID = eventID
	}
	ev.EventID = env.ID
	a.Timeline[len(a.Timeline)-1].EventID = env.ID
	checked, _ := in.Action.check() // already validated by ApplyWith
	rec := AuditRecord{EventID: env.ID, Code: a.Code, Action: in.Name, From: from, To: a.Status, At: ev.At,
		Officer: claims.Subject, Agency: claims.Agency, Reason: checked.Reason, Missing: checked.Missing,
		Result: checked.Result, Delivery: checked.Delivery, Note: checked.Note}
	// The audit record and the outbox marker are independent create-once
	// writes that must both be durable before the application write: they
	// go out together.
	// A keyed step writes over an earlier run's records (Restage: a fresh
	// marker the outbox repair will not take for an old, unwritten one).
	once := eventID != ""
	var auditErr error
	var staged sync.WaitGroup
	staged.Go(func() {
		_, auditErr = docstore.PutJSON(ctx, p.store, AuditKey(a.ID(), env.ID), rec, docstore.PutOptions{IfNoneMatch: !once})
	})
	var stageErr error
	if once {
		stageErr = outbox.Restage(ctx, p.store, p.queue, env, outbox.Tie{Kind: OutboxKind, ID: a.Code})
	} else {
		stageErr = StageOutbox(ctx, p.store, p.queue, env, a.Code)
	}
	staged.Wait()
	if auditErr != nil || stageErr != nil {
		if !once {
			p.discardStaged(ctx, a.ID(), env.ID, auditErr == nil, stageErr == nil)
		}
		if auditErr != nil {
			return ProcessResult{}, fmt.Errorf("process %s %s: audit: %w", in.Name, code, auditErr)
		}
		return ProcessResult{}, fmt.Errorf("process %s %s: %w", in.Name, code, stageErr)
	}
	if _, err := p.repo.updateIfMatch(ctx, &a, etag, false); err != nil {
		if !once {
			p.discardStaged(ctx, a.ID(), env.ID, true, true)
		}
		if errors.Is(err, docstore.ErrPrecondition) {
			cur, _, gerr := p.repo.Get(context.WithoutCancel(ctx), code)
			status := from
			if gerr == nil {
				status = cur.Status
				if once && hasEvent(cur, eventID) {
					// Another run of the same request wrote this step.
					return p.replayStep(ctx, cur, eventID), nil
				}
			}
			p.log.InfoContext(ctx, "staff action lost a concurrent update", "code", code, "action", string(in.Name), "current_status", string(status))
			return ProcessResult{}, fmt.Errorf("process %s %s: %w: %w", in.Name, code, withStatus(ErrConcurrentUpdate, status), err)
		}
		return ProcessResult{}, fmt.Errorf("process %s %s: %w", in.Name, code, err)
	}
	// The work-queue index and the event follow the write; neither needs
	// the other, so they run side by side (a failure of either is repaired
	// as before: the next write or reindex, the outbox sweep). The event's
	// marker is deleted in the background, grouped with other requests'
	// (outbox.Cleaner; a lost delete only means a duplicate event later).
	var indexed sync.WaitGroup
	written := a
	indexed.Go(func() { indexAfterWrite(ctx, p.store, written) })
	if err := outbox.Send(context.WithoutCancel(ctx), p.pub, p.cleaner, p.queue, env); err != nil {
		p.log.WarnContext(ctx, "staff action: event left in outbox for repair", "code", code, "event_id", env.ID, "error", err.Error())
	}
	indexed.Wait()
	p.log.InfoContext(ctx, "staff action applied", "code", code, "action", string(in.Name), "from", string(from), "to", string(a.Status), "agency", claims.Agency)
	ev.At = APITime(ev.At)
	return ProcessResult{Application: StaffApplication{a.Redacted()}, Event: ev}, nil
}

// replayStep answers a step that an earlier run of the same request
// wrote: the application as stored and the step's timeline entry. The
// earlier run may have stopped before the event was published or the
// work-queue index synced: a marker still there is published (and then
// deleted), and the index is synced again.
func (p *Processor) replayStep(ctx context.Context, a Application, eventID string) ProcessResult {
	var ev Event
	for _, e := range a.Timeline {
		if e.EventID == eventID {
			ev = e
		}
	}
	var m outbox.Marker
	if _, err := docstore.GetJSON(ctx, p.store, OutboxKey(eventID), &m); err == nil && m.Envelope.ID == eventID {
		if err := outbox.Send(context.WithoutCancel(ctx), p.pub, p.cleaner, m.Queue, m.Envelope); err != nil {
			p.log.WarnContext(ctx, "staff action replay: event left in outbox for repair", "code", a.Code, "event_id", eventID, "error", err.Error())
		}
	}
	indexAfterWrite(ctx, p.store, a)
	p.log.InfoContext(ctx, "staff action already applied by an earlier run of the request", "code", a.Code, "event_id", eventID)
	ev.At = APITime(ev.At)
	return ProcessResult{Application: StaffApplication{a.Redacted()}, Event: ev}
}

// discardStaged removes what was staged (audit record, outbox marker) for
// a step whose write did not happen; failures only leave records that
// AuditTrail and RepairOutbox already ignore.
func (p *Processor) discardStaged(ctx context.Context, code Code, eventID string, audit, outbox bool) {
	ctx = context.WithoutCancel(ctx)
	if audit {
		if err := p.store.Delete(ctx, AuditKey(code, eventID), ""); err != nil {
			p.log.WarnContext(ctx, "staff action: stale audit record left", "code", code, "event_id", eventID, "error", err.Error())
		}
	}
	if outbox {
		if err := DiscardOutbox(ctx, p.store, eventID); err != nil {
			p.log.WarnContext(ctx, "staff action: stale outbox marker left", "code", code, "event_id", eventID, "error", err.Error())
		}
	}
}
