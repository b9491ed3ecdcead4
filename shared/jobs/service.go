package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// Defaults and limits applied by New to zero-valued Options fields.
const (
	// DefaultChunkSize is the number of items per chunk message.
	DefaultChunkSize = 10
	// MaxChunkSize bounds Options.ChunkSize.
	MaxChunkSize = 100
	// DefaultMaxItems bounds a plan; a bigger job must be split by scope.
	DefaultMaxItems = 100_000
	// DefaultPlanTTL is how long a dry run may be confirmed.
	DefaultPlanTTL = 24 * time.Hour
	// DefaultMaxAttempts is the receive count at which a failing item is
	// recorded as failed instead of retried (the queue's maxReceiveCount).
	DefaultMaxAttempts = 3
	// MaxRate bounds a job's rate (items or messages per second; SQS's own
	// limit for message-move tasks is 500).
	MaxRate = 500
	// PlanPageSize is the number of items per stored plan page.
	PlanPageSize = 1000
	// SampleSize is the number of sample items a dry run shows.
	SampleSize = 20
	// MaxReasonLen bounds the free-text reason (characters).
	MaxReasonLen = 500
	// progressRetries bounds CAS attempts on the job document (many
	// workers update it).
	progressRetries = 200
)

// Envelope types on the jobs queue.
const (
	// TypeDispatch publishes the next window of chunks.
	TypeDispatch = "reprocess.dispatch"
	// TypeChunk applies a range of items.
	TypeChunk = "reprocess.chunk"
)

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// ValidID reports whether id has the shape of a job id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Options configures a Service.
type Options struct {
	// Queue is the queue of dispatch and chunk messages (DefaultQueue).
	Queue string
	// ChunkSize is the number of items per chunk (DefaultChunkSize).
	ChunkSize int
	// MaxItems bounds a plan (DefaultMaxItems).
	MaxItems int
	// PlanTTL is how long a dry run may be confirmed (DefaultPlanTTL).
	PlanTTL time.Duration
	// MaxAttempts is the receive count of a chunk at which an item whose
	// Apply keeps failing is recorded as failed (DefaultMaxAttempts).
	MaxAttempts int
	// Log receives operator logs; discarded when nil.
	Log *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx ends (pacing); a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// AfterApply, when set, runs after an item's Apply and before its
	// done-marker is written (tests inject crashes here).
	AfterApply func(job string, index int)
}

// Service runs jobs. Safe for concurrent use by any number of processes:
// all coordination goes through the store's CAS and create-once writes.
type Service struct {
	store docstore.Store
	pub   queue.Publisher
	kinds *Registry
	opts  Options

	planMu    sync.Mutex
	planCache map[string][]Item
}

// New returns a Service keeping jobs in store and fanning work out on pub.
func New(store docstore.Store, pub queue.Publisher, kinds *Registry, opts Options) *Service {
	if opts.Queue == "" {
		opts.Queue = DefaultQueue
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	opts.ChunkSize = min(opts.ChunkSize, MaxChunkSize)
	if opts.MaxItems <= 0 {
		opts.MaxItems = DefaultMaxItems
	}
	if opts.PlanTTL <= 0 {
		opts.PlanTTL = DefaultPlanTTL
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	return &Service{store: store, pub: pub, kinds: kinds, opts: opts, planCache: map[string][]Item{}}
}

// Kinds returns the registry of kinds.
func (s *Service) Kinds() *Registry { return s.kinds }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StartRequest asks for a job.
type StartRequest struct {
	// Kind is the kind's name.
	Kind string `json:"kind"`
	// Scope narrows what it touches.
	Scope Scope `json:"scope"`
	// Rate bounds items (messages for redrive-dlq) per second; 0 = no bound.
	Rate float64 `json:"rate,omitempty"`
	// Reason is the officer's reason, kept in the audit.
	Reason string `json:"reason,omitempty"`
	// Confirm, when set, is the id of a dry run to execute instead of
	// planning a new one (Kind, when given, must match it).
	Confirm string `json:"confirm,omitempty"`
}

// newID returns a sortable job id: UTC time plus 6 random hex digits.
func newID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Plan plans a job as a dry run: the kind lists its items (nothing
// changes), the plan and its summary are stored, and the job is returned in
// StatusPlanned. schedule names the schedule starting it ("" for people).
func (s *Service) Plan(ctx context.Context, by Actor, req StartRequest, schedule string) (Job, error) {
	k, ok := s.kinds.Get(req.Kind)
	if !ok {
		return Job{}, ErrUnknownKind.WithParam("kind").With("kinds", s.kinds.Names())
	}
	if math.IsNaN(req.Rate) || req.Rate < 0 || req.Rate > MaxRate {
		return Job{}, scopeError("rate", fmt.Sprintf("Tốc độ phải từ 0 đến %d mục mỗi giây.", MaxRate),
			fmt.Sprintf("rate must be between 0 and %d per second.", MaxRate))
	}
	if utf8.RuneCountInString(req.Reason) > MaxReasonLen {
		return Job{}, scopeError("reason", fmt.Sprintf("Lý do dài tối đa %d ký tự.", MaxReasonLen),
			fmt.Sprintf("reason is at most %d characters.", MaxReasonLen))
	}
	if err := k.Check(req.Scope); err != nil {
		return Job{}, err
	}
	now := s.opts.Now().UTC()
	j := Job{ID: newID(now), Kind: k.Name(), Scope: req.Scope, Rate: req.Rate, Reason: strings.TrimSpace(req.Reason),
		Schedule: schedule, Status: StatusPlanned, Created: Stamp{By: by, At: now}, ChunkSize: s.opts.ChunkSize}
	sum, err := s.storePlan(ctx, k, j)
	if err != nil {
		return Job{}, err
	}
	j.Plan, j.Progress.Total = sum, sum.Total
	if _, err := docstore.PutJSON(ctx, s.store, jobKey(j.ID), j, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		return Job{}, fmt.Errorf("store job %s: %w", j.ID, err)
	}
	if _, err := s.store.Put(ctx, indexKey(now, j.ID), []byte("{}"), docstore.PutOptions{IfNoneMatch: true}); err != nil {
		return Job{}, fmt.Errorf("index job %s: %w", j.ID, err)
	}
	s.audit(ctx, j, "planned", by, now)
	s.opts.Log.InfoContext(ctx, "job planned (dry run)", "job", j.ID, "kind", j.Kind, "by", by.Subject,
		"total", sum.Total, "actions", sum.Actions, "schedule", schedule)
	return j, nil
}

// storePlan runs the kind's Plan and stores its items in pages.
func (s *Service) storePlan(ctx context.Context, k Kind, j Job) (PlanSummary, error) {
	sum := PlanSummary{Actions: map[string]int{}, Samples: []Item{}}
	var page []Item
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		if _, err := docstore.PutJSON(ctx, s.store, planKey(j.ID, sum.Pages), page, docstore.PutOptions{IfNoneMatch: true}); err != nil {
			return fmt.Errorf("store plan page %d of %s: %w", sum.Pages, j.ID, err)
		}
		sum.Pages++
		page = page[:0]
		return nil
	}
	errTooMany := errors.New("too many")
	err := k.Plan(ctx, j.Scope, func(it Item) error {
		if sum.Total >= s.opts.MaxItems {
			return errTooMany
		}
		sum.Total++
		sum.Actions[it.Action]++
		if len(sum.Samples) < SampleSize {
			sum.Samples = append(sum.Samples, it)
		}
		page = append(page, it)
		if len(page) == PlanPageSize {
			return flush()
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		s.deletePrefix(ctx, Prefix+j.ID+"/")
		return sum, ErrTooManyItems.With("max_items", s.opts.MaxItems)
	}
	if err != nil {
		s.deletePrefix(ctx, Prefix+j.ID+"/")
		return sum, err
	}
	return sum, flush()
}

// deletePrefix removes what an aborted plan wrote (best effort).
func (s *Service) deletePrefix(ctx context.Context, prefix string) {
	_ = s.listKeys(ctx, prefix, func(key string) error { return s.store.Delete(ctx, key, "") })
}

// Start plans a dry run, or executes one when req.Confirm is set.
func (s *Service) Start(ctx context.Context, by Actor, req StartRequest) (Job, error) {
	if req.Confirm != "" {
		return s.Confirm(ctx, by, req.Confirm, req.Kind)
	}
	return s.Plan(ctx, by, req, "")
}

// Get returns job id.
func (s *Service) Get(ctx context.Context, id string) (Job, error) {
	if !ValidID(id) {
		return Job{}, ErrNotFound.WithParam("job")
	}
	var j Job
	if _, err := docstore.GetJSON(ctx, s.store, jobKey(id), &j); err != nil {
		if errors.Is(err, docstore.ErrNotFound) {
			return Job{}, ErrNotFound.WithParam("job")
		}
		return Job{}, fmt.Errorf("read job %s: %w", id, err)
	}
	return j, nil
}

// List returns up to limit jobs, newest first, starting after page token
// next; it returns the token of the following page ("" at the end).
func (s *Service) List(ctx context.Context, limit int, next string) ([]Job, string, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	page, err := s.store.List(ctx, IndexPrefix, next, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(page.Entries))
	for _, e := range page.Entries {
		name := strings.TrimPrefix(e.Key, IndexPrefix)
		_, id, ok := strings.Cut(name, "-")
		if !ok {
			continue
		}
		j, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, j)
	}
	return out, page.Next, nil
}

// update applies mutate to job id with CAS, retrying lost races.
func (s *Service) update(ctx context.Context, id string, mutate func(j *Job) error) (Job, error) {
	var j Job
	err := docstore.Update(ctx, s.store, jobKey(id), &j, func() error { return mutate(&j) }, progressRetries)
	if errors.Is(err, docstore.ErrNotFound) {
		return Job{}, ErrNotFound.WithParam("job")
	}
	return j, err
}

// Confirm executes dry run id: the job becomes running and its first
// dispatch message is published. Confirming a job already running is not
// an error (the same job is returned; a dispatch that could not be
// published before is published now). kind, when not empty, must match.
func (s *Service) Confirm(ctx context.Context, by Actor, id, kind string) (Job, error) {
	if !ValidID(id) {
		return Job{}, ErrNotFound.WithParam("confirm")
	}
	now := s.opts.Now().UTC()
	already := false
	j, err := s.update(ctx, id, func(j *Job) error {
		already = false
		if kind != "" && kind != j.Kind {
			return ErrKindMismatch.With("dry_run_kind", j.Kind)
		}
		switch j.Status {
		case StatusPlanned:
		case StatusRunning, StatusCancelling:
			already = true
			return docstore.ErrUnchanged
		default:
			return ErrNotPlanned.With("current_status", j.Status)
		}
		if now.Sub(j.Created.At) > s.opts.PlanTTL {
			return ErrPlanExpired.With("planned_at", j.Created.At)
		}
		j.Confirmed = &Stamp{By: by, At: now}
		j.StartedAt = &now
		j.Status, j.Generation, j.Dispatched = StatusRunning, 1, 0
		if j.Progress.Total == 0 {
			j.Status, j.FinishedAt = StatusCompleted, &now
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	if already {
		if j, err = s.Get(ctx, id); err != nil {
			return Job{}, err
		}
		if j.Status == StatusRunning && j.Dispatched == 0 && j.Progress.Total > 0 {
			return j, s.publish(ctx, TypeDispatch, message{Type: "dispatch", Job: id, Generation: j.Generation})
		}
		return j, nil
	}
	s.audit(ctx, j, "confirmed", by, now)
	s.opts.Log.InfoContext(ctx, "job confirmed", "job", j.ID, "kind", j.Kind, "by", by.Subject, "total", j.Progress.Total, "rate", j.Rate)
	if j.Status == StatusCompleted {
		s.audit(ctx, j, "finished", by, now)
		return j, nil
	}
	if err := s.publish(ctx, TypeDispatch, message{Type: "dispatch", Job: id, Generation: j.Generation}); err != nil {
		return j, fmt.Errorf("job %s confirmed but its dispatch was not queued (confirm again to retry): %w", id, err)
	}
	return j, nil
}

// Cancel stops job id: items not applied yet are recorded as skipped. A
// dry run is simply closed. Cancelling a cancelled job is not an error.
func (s *Service) Cancel(ctx context.Context, by Actor, id string) (Job, error) {
	now := s.opts.Now().UTC()
	changed := false
	j, err := s.update(ctx, id, func(j *Job) error {
		changed = false
		switch j.Status {
		case StatusCancelled, StatusCancelling:
			return docstore.ErrUnchanged
		case StatusCompleted:
			return ErrFinished.With("current_status", j.Status)
		case StatusPlanned:
			j.Status, j.FinishedAt = StatusCancelled, &now
		default:
			j.Status = StatusCancelling
		}
		j.Cancelled, changed = &Stamp{By: by, At: now}, true
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	if !changed {
		return s.Get(ctx, id)
	}
	s.audit(ctx, j, "cancelled", by, now)
	s.opts.Log.InfoContext(ctx, "job cancel requested", "job", id, "by", by.Subject, "finished", j.Progress.Finished(), "total", j.Progress.Total)
	if j.Status == StatusCancelling {
		// Settle at once if every item is already accounted for.
		return s.settle(ctx, id)
	}
	return j, nil
}

// Resume re-dispatches a running (or cancelling) job from its first item:
// finished items are passed over by their done-markers, so only lost work
// is redone. Use it when chunk messages were dead-lettered.
func (s *Service) Resume(ctx context.Context, by Actor, id string) (Job, error) {
	now := s.opts.Now().UTC()
	j, err := s.update(ctx, id, func(j *Job) error {
		if j.Status != StatusRunning && j.Status != StatusCancelling {
			return ErrFinished.With("current_status", j.Status)
		}
		j.Generation++
		j.Dispatched, j.LastWindow = 0, 0
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	s.audit(ctx, j, "resumed", by, now)
	return j, s.publish(ctx, TypeDispatch, message{Type: "dispatch", Job: id, Generation: j.Generation})
}

// publish sends one message on the jobs queue.
func (s *Service) publish(ctx context.Context, typ string, m message) error {
	env, err := queue.NewEnvelope(typ, m.Job, m)
	if err != nil {
		return err
	}
	return s.pub.Publish(ctx, s.opts.Queue, env)
}

// auditRecord is one immutable audit entry.
type auditRecord struct {
	Action   string    `json:"action"`
	Job      string    `json:"job"`
	Kind     string    `json:"kind"`
	By       Actor     `json:"by"`
	At       time.Time `json:"at"`
	Scope    Scope     `json:"scope"`
	Rate     float64   `json:"rate,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Schedule string    `json:"schedule,omitempty"`
	Status   Status    `json:"status"`
	Plan     struct {
		Total   int            `json:"total"`
		Actions map[string]int `json:"actions"`
	} `json:"plan"`
	Progress Progress `json:"progress"`
}

// AuditKey returns the key of a job's audit record for action.
func AuditKey(jobID, action string) string { return AuditPrefix + jobID + "/" + action + ".json" }

// audit writes one record per job and action, once. A failure is logged:
// the action itself is already durable in the job document, which also
// carries who confirmed and cancelled it.
func (s *Service) audit(ctx context.Context, j Job, action string, by Actor, at time.Time) {
	r := auditRecord{Action: action, Job: j.ID, Kind: j.Kind, By: by, At: at, Scope: j.Scope, Rate: j.Rate,
		Reason: j.Reason, Schedule: j.Schedule, Status: j.Status, Progress: j.Progress}
	r.Plan.Total, r.Plan.Actions = j.Plan.Total, j.Plan.Actions
	key := AuditKey(j.ID, action)
	if action == "resumed" {
		key = AuditKey(j.ID, fmt.Sprintf("resumed-%d", j.Generation))
	}
	_, err := docstore.PutJSON(ctx, s.store, key, r, docstore.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		s.opts.Log.ErrorContext(ctx, "audit record not written", "job", j.ID, "action", action, "error", err.Error())
	}
	s.opts.Log.InfoContext(ctx, "audit", "job", j.ID, "kind", j.Kind, "action", action, "by", by.Subject, "status", string(j.Status),
		"done", j.Progress.Done, "failed", j.Progress.Failed, "skipped", j.Progress.Skipped, "total", j.Progress.Total)
}

// listKeys calls fn for every key under prefix.
func (s *Service) listKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	next := ""
	for {
		page, err := s.store.List(ctx, prefix, next, 1000)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, e := range page.Entries {
			if err := fn(e.Key); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}

// count returns the number of keys under prefix.
func (s *Service) count(ctx context.Context, prefix string) (int, error) {
	n := 0
	err := s.listKeys(ctx, prefix, func(string) error { n++; return nil })
	return n, err
}

// planPage returns page p of job id's plan (cached: plans never change).
func (s *Service) planPage(ctx context.Context, id string, p int) ([]Item, error) {
	key := planKey(id, p)
	s.planMu.Lock()
	items, ok := s.planCache[key]
	s.planMu.Unlock()
	if ok {
		return items, nil
	}
	if _, err := docstore.GetJSON(ctx, s.store, key, &items); err != nil {
		return nil, fmt.Errorf("read plan page %d of %s: %w", p, id, err)
	}
	s.planMu.Lock()
	if len(s.planCache) >= 64 {
		clear(s.planCache)
	}
	s.planCache[key] = items
	s.planMu.Unlock()
	return items, nil
}

// item returns item idx of job id's plan.
func (s *Service) item(ctx context.Context, id string, idx int) (Item, error) {
	items, err := s.planPage(ctx, id, idx/PlanPageSize)
	if err != nil {
		return Item{}, err
	}
	if i := idx % PlanPageSize; i < len(items) {
		return items[i], nil
	}
	return Item{}, fmt.Errorf("job %s has no item %d", id, idx)
}
