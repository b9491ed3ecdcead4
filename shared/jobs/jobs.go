// Package jobs is motcua's staff batch-reprocessing framework: a job of some
// kind (redrive a dead-letter queue, republish stale outbox events, re-check
// payments, ...) is planned, shown as a dry run, confirmed by an admin, then
// fanned out as chunks of items on a queue (reprocess-jobs) and applied by
// any number of worker replicas.
//
// Life of a job (all state in the document store, under Prefix):
//
//  1. Start plans it: the Kind lists the items it would touch within the
//     Scope. The plan (every item, in pages) and a summary (counts per
//     action, samples) are stored; the job is StatusPlanned — a dry run
//     that changed nothing.
//  2. Confirm (the dry run's id, by an admin) makes it StatusRunning and
//     publishes one dispatch message. Execution uses exactly the stored plan
//     ("dry run == execution plan"); an item whose work was done meanwhile
//     is skipped by its Kind.
//  3. Dispatch messages publish chunk messages at the job's rate (a chain
//     of dispatch messages guarded by a CAS cursor in the job document, so
//     a redelivered dispatch publishes nothing twice in a way that matters).
//  4. A worker applies each item of a chunk once: an item done-marker is
//     created once (If-None-Match: *) after Apply, so a redelivered chunk,
//     a second worker or a resumed job never applies a finished item again;
//     Apply itself is idempotent, so a crash between Apply and the marker
//     only repeats harmless work. Progress counters in the job document are
//     updated with CAS; the markers are the truth and are recounted after
//     any duplicate and before the job is declared finished.
//  5. Cancel stops it: items not applied yet are recorded as skipped.
//
// Every action is audited (who, when, with which parameters, what changed)
// under AuditPrefix. A Kind is a small interface registered in a Registry:
// adding a kind never changes this package.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Storage layout in the data bucket.
const (
	// Prefix holds one folder per job: job.json, plan/, items/, outcomes/.
	Prefix = "jobs/"
	// IndexPrefix holds one empty marker per job, newest first.
	IndexPrefix = "jobs-index/"
	// AuditPrefix holds one immutable record per audited action.
	AuditPrefix = "audit/jobs/"
	// SchedulePrefix holds the create-once locks of scheduled runs.
	SchedulePrefix = "jobs-schedule/"
)

// DefaultQueue is the queue chunks and dispatch messages travel on.
const DefaultQueue = "reprocess-jobs"

// Status is a job's state.
type Status string

// Job states.
const (
	// StatusPlanned: a dry run; nothing was changed. Confirm executes it.
	StatusPlanned Status = "planned"
	// StatusRunning: confirmed; items are being applied.
	StatusRunning Status = "running"
	// StatusCancelling: cancel requested; remaining items are skipped.
	StatusCancelling Status = "cancelling"
	// StatusCompleted: every item was applied, skipped or failed.
	StatusCompleted Status = "completed"
	// StatusCancelled: cancelled; every item is accounted for.
	StatusCancelled Status = "cancelled"
)

// Terminal reports whether no more work happens for a job in state s.
func (s Status) Terminal() bool { return s == StatusCompleted || s == StatusCancelled }

// Outcome is what happened to one item.
type Outcome string

// Item outcomes.
const (
	// OutcomeChanged: the item's work was done (something changed).
	OutcomeChanged Outcome = "changed"
	// OutcomeSkipped: nothing to do (already done, gone, or cancelled).
	OutcomeSkipped Outcome = "skipped"
	// OutcomeFailed: the work failed for good; Detail says why.
	OutcomeFailed Outcome = "failed"
)

// Scope narrows what a job touches. Each Kind reads the fields it needs
// and refuses the ones it does not understand (Kind.Check).
type Scope struct {
	// From and To bound a date range (YYYY-MM-DD, Vietnam time, inclusive).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Agency limits the job to one agency's documents.
	Agency string `json:"agency,omitempty"`
	// Series limits the job to one receipt series.
	Series string `json:"series,omitempty"`
	// Queue names a queue (its dead-letter queue for redrive-dlq).
	Queue string `json:"queue,omitempty"`
	// Limit, when > 0, bounds how many things the job moves or touches.
	Limit int `json:"limit,omitempty"`
	// OlderThan is a Go duration ("2m", "30m"): only things older than it.
	OlderThan string `json:"olderThan,omitempty"`
	// Mode selects a variant of a kind (reconcile-payments: pending or
	// settlement).
	Mode string `json:"mode,omitempty"`
	// File names a file already in the bucket (a settlement file).
	File string `json:"file,omitempty"`
}

// Item is one unit of work of a job, fixed at planning time.
type Item struct {
	// Key identifies the thing the item acts on (an event id, a payment
	// reference, a queue name, a settlement line).
	Key string `json:"key"`
	// Action says what would be done ("publish", "check", "move", ...).
	Action string `json:"action"`
	// Note describes it for people (no personal data).
	Note string `json:"note,omitempty"`
	// Data is what the kind needs at Apply time beyond Key (e.g. a
	// settlement line), fixed at planning; not shown in reports.
	Data json.RawMessage `json:"data,omitempty"`
}

// Result is what Apply did to one item.
type Result struct {
	// Outcome is changed, skipped or failed.
	Outcome Outcome `json:"outcome"`
	// Detail says what changed, why nothing did, or why it failed.
	Detail string `json:"detail,omitempty"`
}

// Kind is one kind of job. Implementations are safe for concurrent use.
//
// Plan and Apply must agree: Plan lists every item the job would act on and
// changes nothing; Apply does one item's work and is idempotent — applying
// an item whose work is already done returns OutcomeSkipped (or
// OutcomeChanged with the same effect) and changes nothing more. Apply
// returns an error only for a transient failure worth retrying (the chunk
// is redelivered; on the last attempt the item is recorded as failed with
// the error's text); a permanent failure is a Result with OutcomeFailed.
type Kind interface {
	// Name is the kind's stable name, e.g. "republish-outbox".
	Name() string
	// Check validates a scope for this kind; a *fault.Error naming the bad
	// fields (see ScopeError) when it is unusable.
	Check(s Scope) error
	// Plan calls emit for every item within s, in a stable order.
	Plan(ctx context.Context, s Scope, emit func(Item) error) error
	// Apply does the work of one planned item.
	Apply(ctx context.Context, s Scope, it Item) (Result, error)
}

// SelfPaced is implemented by kinds that apply the job's rate themselves
// (redrive-dlq hands it to SQS as MaxNumberOfMessagesPerSecond) instead of
// having the framework pace their items.
type SelfPaced interface {
	// SelfPaced returns true when the kind paces itself.
	SelfPaced() bool
}

// Registry maps kind names to kinds. Safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// NewRegistry returns a registry holding kinds.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: map[string]Kind{}}
	for _, k := range kinds {
		r.Register(k)
	}
	return r
}

// Register adds k, replacing a kind of the same name.
func (r *Registry) Register(k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[k.Name()] = k
}

// Get returns the kind called name.
func (r *Registry) Get(name string) (Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered kind names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Actor is who acts on a job: an officer from a verified staff token, or a
// schedule ("cron:<name>").
type Actor struct {
	// Subject is the officer id or "cron:<schedule>".
	Subject string `json:"subject"`
	// Agency is the officer's agency ("" for schedules).
	Agency string `json:"agency,omitempty"`
}

// Stamp records one action on a job.
type Stamp struct {
	// By is who did it.
	By Actor `json:"by"`
	// At is when (UTC).
	At time.Time `json:"at"`
}

// Progress counts a job's items.
type Progress struct {
	// Total is the number of planned items.
	Total int `json:"total"`
	// Done counts items whose work changed something.
	Done int `json:"done"`
	// Failed counts items that failed for good.
	Failed int `json:"failed"`
	// Skipped counts items with nothing to do (or cancelled).
	Skipped int `json:"skipped"`
}

// Finished is the number of items accounted for.
func (p Progress) Finished() int { return p.Done + p.Failed + p.Skipped }

// PlanSummary describes a dry run.
type PlanSummary struct {
	// Total is the number of items.
	Total int `json:"total"`
	// Actions counts the items per action.
	Actions map[string]int `json:"actions"`
	// Samples are the first items, to show what would be done.
	Samples []Item `json:"samples"`
	// Pages is the number of stored plan pages.
	Pages int `json:"pages"`
}

// Job is the stored state of one job (Prefix + id + "/job.json").
type Job struct {
	// ID is sortable by creation time: 20261203T074500Z-a1b2c3.
	ID string `json:"id"`
	// Kind is the kind's name.
	Kind string `json:"kind"`
	// Scope is what the job was asked to touch.
	Scope Scope `json:"scope"`
	// Rate bounds items (or, for self-paced kinds, messages) per second; 0
	// means as fast as the workers go.
	Rate float64 `json:"rate,omitempty"`
	// Reason is the officer's free-text reason, for the audit.
	Reason string `json:"reason,omitempty"`
	// Schedule names the schedule that started it ("" for people).
	Schedule string `json:"schedule,omitempty"`
	// Status is the job's state.
	Status Status `json:"status"`
	// Plan summarises the dry run.
	Plan PlanSummary `json:"plan"`
	// Progress counts finished items.
	Progress Progress `json:"progress"`
	// Created, Confirmed, Cancelled record who did what when.
	Created   Stamp  `json:"created"`
	Confirmed *Stamp `json:"confirmed,omitempty"`
	Cancelled *Stamp `json:"cancelled,omitempty"`
	// StartedAt and FinishedAt bound the execution.
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// ChunkSize is the number of items per chunk message.
	ChunkSize int `json:"chunkSize"`
	// Generation increases on every resume; older dispatch messages are
	// ignored.
	Generation int `json:"generation"`
	// Dispatched is how many items have been published as chunks in this
	// generation (the dispatch chain's CAS cursor).
	Dispatched int `json:"dispatched"`
	// LastWindow is the number of items the latest dispatch published.
	LastWindow int `json:"lastWindow"`
}

// View is a job as the API shows it: the stored job plus derived rate and
// ETA.
type View struct {
	Job
	// RatePerSecond is finished items per second since the start.
	RatePerSecond float64 `json:"ratePerSecond"`
	// ETASeconds estimates the seconds left (-1 unknown).
	ETASeconds float64 `json:"etaSeconds"`
	// Links are the job's API addresses.
	Links map[string]string `json:"links,omitempty"`
}

// ViewOf derives rate and ETA at now.
func ViewOf(j Job, now time.Time) View {
	v := View{Job: j, ETASeconds: -1}
	if j.StartedAt != nil {
		end := now
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		if el := end.Sub(*j.StartedAt).Seconds(); el > 0 {
			v.RatePerSecond = float64(j.Progress.Finished()) / el
		}
		left := j.Progress.Total - j.Progress.Finished()
		switch {
		case j.Status.Terminal() || left <= 0:
			v.ETASeconds = 0
		case v.RatePerSecond > 0:
			v.ETASeconds = float64(left) / v.RatePerSecond
		}
	}
	return v
}

// itemRecord is an item's done-marker (Prefix + id + "/items/NNNNNNNN.json").
type itemRecord struct {
	Index   int       `json:"index"`
	Item    Item      `json:"item"`
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
}

func jobKey(id string) string            { return Prefix + id + "/job.json" }
func planKey(id string, page int) string { return fmt.Sprintf("%s%s/plan/%06d.json", Prefix, id, page) }
func itemsPrefix(id string) string       { return Prefix + id + "/items/" }
func itemKey(id string, idx int) string  { return fmt.Sprintf("%s%08d.json", itemsPrefix(id), idx) }
func outcomePrefix(id string, o Outcome) string {
	return Prefix + id + "/outcomes/" + string(o) + "/"
}
func outcomeKey(id string, o Outcome, idx int) string {
	return fmt.Sprintf("%s%08d", outcomePrefix(id, o), idx)
}

// indexKey orders jobs newest first: the inverted creation time.
func indexKey(created time.Time, id string) string {
	return fmt.Sprintf("%s%013d-%s", IndexPrefix, int64(1)<<42-created.UnixMilli(), id)
}

// message is a body on the jobs queue.
type message struct {
	// Type is "dispatch" or "chunk".
	Type string `json:"type"`
	// Job is the job id.
	Job string `json:"job"`
	// Generation is the job's generation when published.
	Generation int `json:"gen"`
	// Cursor is the first item a dispatch publishes.
	Cursor int `json:"cursor,omitempty"`
	// From and To bound a chunk's items [From, To).
	From int `json:"from,omitempty"`
	To   int `json:"to,omitempty"`
}

func (m message) encode() (json.RawMessage, error) { return json.Marshal(m) }

type rateKey struct{}

// RateFrom returns the rate of the job whose item is being applied (0 = no
// bound); self-paced kinds read it in Apply.
func RateFrom(ctx context.Context) float64 {
	r, _ := ctx.Value(rateKey{}).(float64)
	return r
}

func withRate(ctx context.Context, rate float64) context.Context {
	return context.WithValue(ctx, rateKey{}, rate)
}
