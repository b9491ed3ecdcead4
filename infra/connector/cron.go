package connector

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
)

// OpenFaaS cron-connector convention: a function whose topic annotation is
// CronTopic and whose ScheduleAnnotation holds a five-field cron
// expression is invoked (POST /function/NAME, empty body) on that schedule.
const (
	// CronTopic is the topic of scheduled functions.
	CronTopic = "cron-function"
	// ScheduleAnnotation holds the cron expression, e.g. "*/15 * * * *".
	ScheduleAnnotation = "schedule"
	// HeaderConnector names the caller, as OpenFaaS's connectors do.
	HeaderConnector = "X-Connector"
	// HeaderCronSchedule carries the schedule that fired.
	HeaderCronSchedule = "X-Cron-Schedule"
	// cronCallTimeout bounds one scheduled invocation.
	cronCallTimeout = 2 * time.Minute
)

// cronParser parses standard five-field expressions and descriptors
// (@hourly, @every 5m), as OpenFaaS's cron-connector accepts.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a schedule annotation.
func ParseSchedule(spec string) (cron.Schedule, error) {
	return cronParser.Parse(strings.TrimSpace(spec))
}

// scheduler invokes scheduled functions; times are UTC, like OpenFaaS's
// cron-connector.
type scheduler struct {
	c       *Connector
	cron    *cron.Cron
	mu      sync.Mutex
	entries map[string]scheduled // by function name
}

type scheduled struct {
	spec string
	id   cron.EntryID
}

func newScheduler(c *Connector) *scheduler {
	return &scheduler{c: c, entries: map[string]scheduled{},
		cron: cron.New(cron.WithParser(cronParser), cron.WithLocation(time.UTC))}
}

// cronSpecFor returns a function's schedule when it is a cron function.
func cronSpecFor(f functionStatus) (string, bool) {
	topic, ok := f.Annotations[TopicAnnotation]
	if !ok {
		topic = f.Labels[TopicAnnotation]
	}
	for t := range strings.SplitSeq(topic, ",") {
		if strings.TrimSpace(t) == CronTopic {
			spec := strings.TrimSpace(f.Annotations[ScheduleAnnotation])
			return spec, spec != ""
		}
	}
	return "", false
}

// sync makes the scheduled entries match fns.
func (s *scheduler) sync(hard context.Context, fns []functionStatus) {
	want := map[string]string{}
	for _, f := range fns {
		if spec, ok := cronSpecFor(f); ok && f.Name != "" {
			want[f.Name] = spec
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, e := range s.entries {
		if spec, ok := want[name]; !ok || spec != e.spec {
			s.cron.Remove(e.id)
			delete(s.entries, name)
			s.c.log.Info("schedule removed", "function", name, "schedule", e.spec)
		}
	}
	for name, spec := range want {
		if _, ok := s.entries[name]; ok {
			continue
		}
		sched, err := ParseSchedule(spec)
		if err != nil {
			s.c.log.Error("bad schedule annotation; function not scheduled", "function", name, "schedule", spec, "error", err)
			continue
		}
		id := s.cron.Schedule(sched, cron.FuncJob(func() { s.invoke(hard, name, spec) }))
		s.entries[name] = scheduled{spec: spec, id: id}
		s.c.log.Info("scheduled", "function", name, "schedule", spec, "next", sched.Next(time.Now()).UTC().Format(time.RFC3339))
	}
}

// invoke calls one scheduled function through the gateway.
func (s *scheduler) invoke(hard context.Context, function, spec string) {
	callID := uuid.NewString()
	log := s.c.log.With("function", function, "call_id", callID, "schedule", spec)
	ctx, cancel := context.WithTimeout(hard, cronCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.functionURL(function, ""), http.NoBody)
	if err != nil {
		log.Error("build scheduled request failed", "error", err)
		return
	}
	req.Header.Set(HeaderConnector, "cron-connector")
	req.Header.Set(HeaderCronSchedule, spec)
	req.Header.Set(HeaderCallID, callID)
	start := time.Now()
	resp, err := s.c.http.Do(req)
	if err != nil {
		log.Error("scheduled call failed", "error", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	level := slog.LevelInfo
	if resp.StatusCode >= 300 {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "scheduled call", "status", resp.StatusCode, "duration_ms", time.Since(start).Milliseconds())
}

// stop stops scheduling and waits up to grace for running invocations.
func (s *scheduler) stop(grace time.Duration) {
	done := s.cron.Stop().Done()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.c.log.Warn("scheduled calls still running at shutdown")
	}
}
