package book

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"motcua/shared/payment"
)

// RepairResult counts what RepairPending did.
type RepairResult struct {
	// Completed is the number of in-flight receipts issued to the end.
	Completed int `json:"completed"`
	// Pending is the number of in-flight entries younger than olderThan,
	// left to the worker still handling them.
	Pending int `json:"pending"`
	// Corrections lists in-flight replacements and adjustments: staff
	// completes them by sending the same request again.
	Corrections []string `json:"corrections,omitempty"`
	// Failed lists the entries that could not be completed, with why.
	Failed []string `json:"failed,omitempty"`
}

// RepairPending completes every number allocated to a payment more than
// olderThan ago and not yet completed — a payment whose payment.confirmed
// went to the dead-letter queue after a crash, say — so a number once
// allocated always ends as a stored receipt. Safe to run at any time, also
// while issue-receipt runs: it is the same idempotent issuing.
func (b *Book) RepairPending(ctx context.Context, olderThan time.Duration) (RepairResult, error) {
	var res RepairResult
	series, err := b.num.Series(ctx)
	if err != nil {
		return res, err
	}
	cutoff := b.now().Add(-olderThan)
	for _, s := range series {
		c, err := b.num.Get(ctx, s)
		if err != nil {
			return res, err
		}
		for _, p := range c.Pending() {
			if p.At.After(cutoff) {
				res.Pending++
				continue
			}
			if strings.HasPrefix(p.Ref, "replace-") || strings.HasPrefix(p.Ref, "adjust-") {
				res.Corrections = append(res.Corrections, fmt.Sprintf("%s-%08d %s", s, p.Number, p.Ref))
				continue
			}
			if !payment.ValidRef(p.Ref) {
				res.Failed = append(res.Failed, fmt.Sprintf("%s-%08d: unknown key %q", s, p.Number, p.Ref))
				continue
			}
			if _, _, err := b.IssueForPayment(ctx, p.Ref, "repair"); err != nil {
				res.Failed = append(res.Failed, fmt.Sprintf("%s-%08d payment %s: %v", s, p.Number, p.Ref, err))
				continue
			}
			res.Completed++
		}
	}
	if len(res.Failed) > 0 {
		return res, errors.New("receipt repair: some in-flight numbers could not be completed")
	}
	return res, nil
}
