package reconcile

import (
	"context"
	"fmt"

	"motcua/shared/payment"
)

// PendingSettled: the payment was no longer pending (nor paid with an
// unfinished follow-up) when checked; nothing was done.
const PendingSettled = "already_settled"

// NeedsCheck reports whether CheckPending would check p when its
// threshold has passed: pending, or paid with an unfinished follow-up.
func NeedsCheck(p payment.Payment) bool {
	return p.State == payment.StatePending || p.State == payment.StatePaid && !p.Applied
}

// CheckPayment re-checks one payment exactly as CheckPending checks each of
// its payments (querydr, confirm, expire or finish), for callers that fan
// the work out themselves (the reprocess jobs). A payment that no longer
// needs a check is returned with Outcome PendingSettled. Idempotent.
func (r *Reconciler) CheckPayment(ctx context.Context, ref string) (PendingItem, error) {
	p, err := r.payments.Get(ctx, ref)
	if err != nil {
		return PendingItem{}, fmt.Errorf("reconcile payment %s: %w", ref, err)
	}
	if !NeedsCheck(p) {
		return PendingItem{Outcome: PendingSettled, Reference: p.Ref, ApplicationCode: p.ApplicationCode, Method: p.Method,
			AmountVND: p.AmountVND, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, StateAfter: p.State}, nil
	}
	return r.checkOne(ctx, p, r.opts.Now()), nil
}

// MatchLine reconciles one settlement line exactly as RunSettlement does
// (confirming a lost callback through the domain), for callers that fan
// the work out themselves. Idempotent: a line already confirmed is ok.
func (r *Reconciler) MatchLine(ctx context.Context, l SettlementLine) Item {
	return r.matchLine(ctx, l)
}
