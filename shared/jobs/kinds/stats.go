package kinds

import (
	"context"
	"fmt"
	"time"

	"motcua/shared/jobs"
	"motcua/shared/stats"
)

// StatsRebuilder is what rebuild-stats needs from shared/stats.
type StatsRebuilder interface {
	// Rebuild recomputes every indicator from the documents (idempotent,
	// safe while events are applied).
	Rebuild(ctx context.Context) (stats.RebuildResult, error)
}

var _ StatsRebuilder = (*stats.Service)(nil)

// RebuildStats is the "rebuild-stats" kind: the indicators recomputed from
// the applications, ratings and feedback (stats.Service.Rebuild). It is one
// item: the rebuild reads every document itself, 32 at a time, and is
// idempotent, so a redelivery or a second job only recomputes the same
// numbers. No scope.
type RebuildStats struct {
	Stats StatsRebuilder
}

var _ jobs.Kind = (*RebuildStats)(nil)

// Name returns "rebuild-stats".
func (k *RebuildStats) Name() string { return "rebuild-stats" }

// Check refuses every scope field.
func (k *RebuildStats) Check(s jobs.Scope) error { return only(s) }

// Plan emits the one rebuild.
func (k *RebuildStats) Plan(_ context.Context, _ jobs.Scope, emit func(jobs.Item) error) error {
	return emit(jobs.Item{Key: "indicators", Action: "rebuild", Note: "recompute every indicator from the documents and replace the aggregates"})
}

// Apply runs the rebuild.
func (k *RebuildStats) Apply(ctx context.Context, _ jobs.Scope, _ jobs.Item) (jobs.Result, error) {
	r, err := k.Stats.Rebuild(ctx)
	if err != nil {
		return jobs.Result{}, err
	}
	return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf(
		"read %d applications, %d ratings, %d feedback; wrote %d shards, %d months; removed %d stale in %s",
		r.Applications, r.Ratings, r.Feedback, r.Shards, r.Months, r.Removed, r.Duration.Round(time.Millisecond))}, nil
}
