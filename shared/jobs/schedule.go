package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"
	"github.com/robfig/cron/v3"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

// scheduleParser reads the same five-field expressions (and @descriptors)
// as the connector's cron scheduler and OpenFaaS's cron-connector.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// slotTolerance lets a call arriving slightly early (clock skew between
// connectors) still claim the slot it was fired for.
const slotTolerance = 30 * time.Second

// Schedule is one scheduled job: a kind and scope started on a cron
// expression, by the schedule's own actor ("cron:<name>").
type Schedule struct {
	// Name identifies the schedule (its function's name).
	Name string
	// Spec is the cron expression (UTC), e.g. "*/15 * * * *".
	Spec string
	// Request is the job to start; {yesterday} and {today} in
	// Scope.File are replaced by Vietnam dates (YYYY-MM-DD).
	Request StartRequest
}

// Validate checks the schedule.
func (sc Schedule) Validate() error {
	var errs []error
	if sc.Name == "" || strings.ContainsAny(sc.Name, "/ ") {
		errs = append(errs, fmt.Errorf("schedule name %q: 1+ characters, no / or space", sc.Name))
	}
	if _, err := scheduleParser.Parse(sc.Spec); err != nil {
		errs = append(errs, fmt.Errorf("schedule %q: %w", sc.Spec, err))
	}
	if sc.Request.Kind == "" {
		errs = append(errs, errors.New("schedule kind: required"))
	}
	return errors.Join(errs...)
}

// Slot returns the activation of spec that a call at now runs: the latest
// one not after now (plus a small tolerance).
func Slot(spec string, now time.Time) (time.Time, error) {
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return time.Time{}, err
	}
	limit := now.Add(slotTolerance)
	// Walk forward from a day back (weekly/monthly specs: further).
	for _, back := range []time.Duration{25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		var last time.Time
		for t := s.Next(now.Add(-back)); !t.IsZero() && !t.After(limit); t = s.Next(t) {
			last = t
		}
		if !last.IsZero() {
			return last.UTC(), nil
		}
	}
	return now.UTC().Truncate(time.Minute), nil
}

// scheduleLock is the create-once lock of one slot.
type scheduleLock struct {
	Schedule string    `json:"schedule"`
	Slot     time.Time `json:"slot"`
	LockedAt time.Time `json:"lockedAt"`
	Job      string    `json:"job,omitempty"`
}

// RunScheduled runs the slot of sc due at now: it takes the slot's
// create-once lock (so two overlapping runs of one schedule never both
// execute), plans the job and confirms it at once. ran is false when the
// slot was already taken. A crash after the lock loses only that slot; the
// next one runs.
func (s *Service) RunScheduled(ctx context.Context, sc Schedule) (j Job, ran bool, err error) {
	if err := sc.Validate(); err != nil {
		return Job{}, false, err
	}
	now := s.opts.Now().UTC()
	slot, err := Slot(sc.Spec, now)
	if err != nil {
		return Job{}, false, err
	}
	key := SchedulePrefix + sc.Name + "/" + slot.Format("20060102T1504Z") + ".json"
	_, err = docstore.PutJSON(ctx, s.store, key, scheduleLock{Schedule: sc.Name, Slot: slot, LockedAt: now}, docstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, docstore.ErrConflict) {
		s.opts.Log.InfoContext(ctx, "scheduled run skipped: slot already taken", "schedule", sc.Name, "slot", slot)
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("lock schedule %s slot %s: %w", sc.Name, slot, err)
	}
	req := sc.Request
	req.Confirm = ""
	vn := time.FixedZone("ICT", 7*3600)
	req.Scope.File = strings.NewReplacer("{today}", now.In(vn).Format("2006-01-02"),
		"{yesterday}", now.In(vn).AddDate(0, 0, -1).Format("2006-01-02")).Replace(req.Scope.File)
	if req.Reason == "" {
		req.Reason = "scheduled (" + sc.Spec + ")"
	}
	by := Actor{Subject: "cron:" + sc.Name}
	j, err = s.Plan(ctx, by, req, sc.Name)
	if err != nil {
		// Nothing ran: free the slot so a retry (say, once the settlement
		// file has arrived) can run it.
		if derr := s.store.Delete(ctx, key, ""); derr != nil {
			s.opts.Log.WarnContext(ctx, "schedule lock not released", "schedule", sc.Name, "slot", slot, "error", derr.Error())
		}
		return Job{}, false, err
	}
	if j, err = s.Confirm(ctx, by, j.ID, j.Kind); err != nil {
		return j, true, err
	}
	_, _ = docstore.PutJSON(ctx, s.store, key, scheduleLock{Schedule: sc.Name, Slot: slot, LockedAt: now, Job: j.ID}, docstore.PutOptions{})
	return j, true, nil
}

// CronHTTP is a scheduled function: the cron connector (ours or
// OpenFaaS's cron-connector) POSTs to it on its schedule.
type CronHTTP struct {
	svc   *Service
	sched Schedule
	log   *slog.Logger
}

// NewCronHTTP returns the adapter running sc on svc.
func NewCronHTTP(svc *Service, sc Schedule, log *slog.Logger) (*CronHTTP, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if _, ok := svc.Kinds().Get(sc.Request.Kind); !ok {
		return nil, fmt.Errorf("schedule %s: unknown kind %q", sc.Name, sc.Request.Kind)
	}
	if log == nil {
		log = slog.Default()
	}
	return &CronHTTP{svc: svc, sched: sc, log: log}, nil
}

// CronResult is a scheduled call's answer.
type CronResult struct {
	// Schedule and Spec name the schedule.
	Schedule string `json:"schedule"`
	Spec     string `json:"spec"`
	// Ran is false when this slot had already run.
	Ran bool `json:"ran"`
	// Job is the job started (when Ran).
	Job *View `json:"job,omitempty"`
}

// Serve runs the due slot: 200 with ran true (and the job) or false (the
// slot already ran). Anyone reaching the function can only trigger the
// configured job, at most once per slot.
func (c *CronHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	j, ran, err := c.svc.RunScheduled(ctx, c.sched)
	if err != nil {
		return httpx.FromError(ctx, c.log, err)
	}
	out := CronResult{Schedule: c.sched.Name, Spec: c.sched.Spec, Ran: ran}
	if ran {
		v := ViewOf(j, time.Now())
		out.Job = &v
	}
	// 200 either way: whether this call or an overlapping one ran the
	// slot, the schedule did its work once.
	return httpx.JSON(http.StatusOK, out)
}
