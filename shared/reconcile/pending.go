package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
)

// Pending-check outcomes.
const (
	// PendingConfirmed: the provider says paid (same amount); confirmed.
	PendingConfirmed = "confirmed"
	// PendingExpired: unpaid at the provider and past its expiry; expired.
	PendingExpired = "expired"
	// PendingStill: unpaid at the provider but not expired yet; left alone.
	PendingStill = "still_pending"
	// PendingAmountMismatch: the provider says paid with another amount;
	// flagged, not confirmed.
	PendingAmountMismatch = "amount_mismatch"
	// PendingError: the status query or the action failed; retried next run.
	PendingError = "error"
	// PendingRepaired: a paid payment whose follow-up (application update,
	// payment.confirmed) had not completed; Finish completed it.
	PendingRepaired = "repaired"
)

// PendingOutcomes lists the pending-check outcomes in report order.
var PendingOutcomes = []string{PendingConfirmed, PendingExpired, PendingStill, PendingAmountMismatch, PendingError, PendingRepaired}

// PendingItem is the finding about one pending payment.
type PendingItem struct {
	// Outcome is one of PendingOutcomes.
	Outcome string `json:"outcome"`
	// Reference, ApplicationCode, Method, AmountVND describe the payment.
	Reference       string         `json:"reference"`
	ApplicationCode string         `json:"application_code,omitempty"`
	Method          payment.Method `json:"method"`
	AmountVND       int64          `json:"amount_vnd"`
	// CreatedAt and ExpiresAt are the payment's.
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// ProviderStatus is what the provider answered (vnp_TransactionStatus,
	// "not_found", or "" when not asked).
	ProviderStatus string `json:"provider_status,omitempty"`
	// ProviderAmountVND is the amount the provider reported.
	ProviderAmountVND int64 `json:"provider_amount_vnd,omitempty"`
	// StateAfter is the payment's state after the check.
	StateAfter payment.State `json:"state_after"`
	// Error explains PendingError.
	Error string `json:"error,omitempty"`
}

// PendingReport is the result of CheckPending, stored as ReportKey(RunID).
type PendingReport struct {
	// Kind is "pending".
	Kind string `json:"kind"`
	// RunID identifies the run.
	RunID string `json:"run_id"`
	// ReportKey is where the report is stored.
	ReportKey string `json:"report_key"`
	// StartedAt and FinishedAt bound the run.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// OlderThan is the threshold: payments created before StartedAt minus
	// it were checked.
	OlderThan string `json:"older_than"`
	// Checked is the number of payments checked.
	Checked int `json:"checked"`
	// Counts counts items per outcome.
	Counts map[string]int `json:"counts"`
	// Items are the findings, by reference.
	Items []PendingItem `json:"items"`
}

// CheckPending re-checks every pending payment created more than olderThan
// ago: VNPAY payments are queried (querydr) when a Querier is set and
// confirmed through the domain when paid; a payment unpaid (or unknown) at
// the provider is expired once past its ExpiresAt. VietQR payments have no
// status query: they are expired when past ExpiresAt (a transfer arriving
// later still confirms an expired payment through the bank webhook or a
// settlement run). Paid payments whose follow-up did not complete
// (Applied false) for as long are finished (PendingRepaired). The report
// is stored and returned.
func (r *Reconciler) CheckPending(ctx context.Context, olderThan time.Duration) (*PendingReport, error) {
	if olderThan < 0 {
		return nil, fmt.Errorf("reconcile: negative threshold %s", olderThan)
	}
	now := r.opts.Now()
	rep := &PendingReport{Kind: "pending", RunID: newRunID(now), StartedAt: now.UTC(), OlderThan: olderThan.String()}
	cutoff := now.Add(-olderThan)
	var (
		mu      sync.Mutex
		pending []payment.Payment
	)
	err := r.payments.List(ctx, func(p payment.Payment) error {
		stuck := p.State == payment.StatePaid && !p.Applied && p.PaidAt != nil && p.PaidAt.Before(cutoff)
		if stuck || p.State == payment.StatePending && p.CreatedAt.Before(cutoff) {
			mu.Lock()
			pending = append(pending, p)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending payments: %w", err)
	}
	items := make([]PendingItem, len(pending))
	forEach(ctx, len(pending), r.opts.Workers, func(ctx context.Context, i int) {
		items[i] = r.checkOne(ctx, pending[i], now)
	})
	sortBy(items, func(it PendingItem) string { return it.Reference })
	rep.Items, rep.Checked = items, len(items)
	rep.Counts = countOutcomes(items, func(it PendingItem) string { return it.Outcome }, PendingOutcomes)
	rep.FinishedAt = r.opts.Now().UTC()
	if rep.ReportKey, err = r.saveReport(ctx, rep.RunID, rep); err != nil {
		return rep, err
	}
	r.opts.Log.Info("pending payments checked", "run_id", rep.RunID, "checked", rep.Checked, "counts", rep.Counts)
	return rep, nil
}

// checkOne settles one pending payment.
func (r *Reconciler) checkOne(ctx context.Context, p payment.Payment, now time.Time) PendingItem {
	it := PendingItem{Reference: p.Ref, ApplicationCode: p.ApplicationCode, Method: p.Method,
		AmountVND: p.AmountVND, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, StateAfter: p.State}
	fail := func(what string, err error) PendingItem {
		it.Outcome, it.Error = PendingError, what+": "+err.Error()
		r.opts.Log.Error("pending check", "ref", p.Ref, "step", what, "err", err)
		return it
	}
	if p.State == payment.StatePaid {
		if err := r.payments.Finish(ctx, p.Ref); err != nil {
			return fail("finish", err)
		}
		it.Outcome = PendingRepaired
		return it
	}
	if p.Method == payment.MethodVNPay && r.opts.Querier != nil {
		res, err := r.opts.Querier.QueryStatus(ctx, vnpay.Query{TxnRef: p.Ref, TransactionDate: p.CreatedAt,
			OrderInfo: "Doi soat " + p.Ref, IPAddr: r.opts.ServerIP})
		switch {
		case errors.Is(err, vnpay.ErrTransactionNotFound):
			it.ProviderStatus = "not_found"
		case err != nil:
			return fail("querydr", err)
		default:
			it.ProviderStatus, it.ProviderAmountVND = res.TransactionStatus, res.AmountVND
			if res.Paid() {
				if res.AmountVND != p.AmountVND {
					it.Outcome = PendingAmountMismatch
					r.opts.Log.Warn("querydr amount mismatch", "ref", p.Ref, "ours", p.AmountVND, "vnpay", res.AmountVND)
					return it
				}
				after, err := r.payments.Confirm(ctx, Confirmation{Ref: p.Ref, Provider: payment.ProviderVNPay,
					TransactionNo: res.TransactionNo, BankCode: res.BankCode, AmountVND: res.AmountVND,
					PaidAt: res.PayDate, Note: "querydr"})
				if err != nil {
					return fail("confirm", err)
				}
				it.Outcome, it.StateAfter = PendingConfirmed, after.State
				return it
			}
		}
	}
	if now.Before(p.ExpiresAt) {
		it.Outcome = PendingStill
		return it
	}
	after, err := r.payments.Expire(ctx, p.Ref, "reconciliation: not paid at the provider by "+p.ExpiresAt.UTC().Format(time.RFC3339))
	if err != nil {
		return fail("expire", err)
	}
	it.StateAfter = after.State
	if after.State == payment.StateExpired {
		it.Outcome = PendingExpired
	} else {
		it.Outcome = PendingStill // settled meanwhile by a callback
	}
	return it
}
