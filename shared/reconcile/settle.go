package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
)

// Outcome classifies one settlement line or one payment of a run.
type Outcome string

// Settlement outcomes.
const (
	// OutcomeOK: paid here and at the bank, same amount.
	OutcomeOK Outcome = "ok"
	// OutcomeCallbackLost: paid at the bank but not here; the run confirms
	// it through the domain (payment.confirmed, then the receipt).
	OutcomeCallbackLost Outcome = "callback_lost"
	// OutcomeMissingAtBank: paid here in the file's period but absent from
	// the file; flagged for staff.
	OutcomeMissingAtBank Outcome = "missing_at_bank"
	// OutcomeAmountMismatch: the bank settled another amount than ours;
	// flagged, never confirmed.
	OutcomeAmountMismatch Outcome = "amount_mismatch"
	// OutcomeUnknownReference: the file names a reference we never issued.
	OutcomeUnknownReference Outcome = "unknown_reference"
	// OutcomeDuplicateAtBank: the file settles a reference a second time
	// (money to refund); flagged.
	OutcomeDuplicateAtBank Outcome = "duplicate_at_bank"
)

// SettlementOutcomes lists the settlement outcomes in report order.
var SettlementOutcomes = []string{string(OutcomeOK), string(OutcomeCallbackLost), string(OutcomeMissingAtBank),
	string(OutcomeAmountMismatch), string(OutcomeUnknownReference), string(OutcomeDuplicateAtBank)}

// Actions recorded on report items.
const (
	// ActionNone: nothing to do.
	ActionNone = "none"
	// ActionConfirmed: the payment was confirmed through the domain.
	ActionConfirmed = "confirmed"
	// ActionFlagged: staff must look at it.
	ActionFlagged = "flagged"
	// ActionFailed: the action failed (see Error); rerun the file.
	ActionFailed = "failed"
)

// Item is one line of a report.
type Item struct {
	// Outcome classifies it.
	Outcome Outcome `json:"outcome"`
	// Action is what the run did (none, confirmed, flagged, failed).
	Action string `json:"action"`
	// Reference is the payment reference.
	Reference string `json:"reference"`
	// Line is the settlement file line (0 for missing_at_bank).
	Line int `json:"line,omitempty"`
	// Date is the settlement date of the line.
	Date string `json:"date,omitempty"`
	// BankAmountVND is the amount in the file.
	BankAmountVND int64 `json:"bank_amount_vnd,omitempty"`
	// BankTransactionID is the bank's transaction id in the file.
	BankTransactionID string `json:"bank_transaction_id,omitempty"`
	// AmountVND is our amount.
	AmountVND int64 `json:"amount_vnd,omitempty"`
	// ApplicationCode is the application the payment is for.
	ApplicationCode string `json:"application_code,omitempty"`
	// Method is the payment method.
	Method payment.Method `json:"method,omitempty"`
	// StateBefore and StateAfter are the payment's state around the run.
	StateBefore payment.State `json:"state_before,omitempty"`
	StateAfter  payment.State `json:"state_after,omitempty"`
	// ProviderTransactionNo is the transaction number we recorded.
	ProviderTransactionNo string `json:"provider_transaction_no,omitempty"`
	// Error says why the action failed.
	Error string `json:"error,omitempty"`
}

// Report is the result of a settlement run, stored as ReportKey(RunID).
type Report struct {
	// Kind is "settlement".
	Kind string `json:"kind"`
	// RunID identifies the run.
	RunID string `json:"run_id"`
	// ReportKey is where the report is stored.
	ReportKey string `json:"report_key"`
	// Source is the settlement file's key.
	Source string `json:"source"`
	// StartedAt and FinishedAt bound the run.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// From and To are the period (YYYY-MM-DD, Vietnam time) whose paid
	// payments must appear in the file.
	From string `json:"from"`
	To   string `json:"to"`
	// Method limits missing_at_bank to one method ("" all).
	Method payment.Method `json:"method,omitempty"`
	// Lines is the number of transactions in the file.
	Lines int `json:"lines"`
	// Counts counts items per outcome.
	Counts map[string]int `json:"counts"`
	// Failed counts items whose action failed.
	Failed int `json:"failed"`
	// Items are the findings, by line then reference.
	Items []Item `json:"items"`
}

// RunOptions narrows a settlement run.
type RunOptions struct {
	// Method limits missing_at_bank to payments of this method (a VNPAY
	// settlement file knows nothing of VietQR transfers); "" checks all.
	Method payment.Method
	// From and To override the period checked for missing_at_bank
	// (YYYY-MM-DD); default the file's first and last dates.
	From, To string
}

// RunSettlement reads the settlement file at key, reconciles it and stores
// the report. A bad file fails with *SettlementError before anything
// changes.
func (r *Reconciler) RunSettlement(ctx context.Context, key string, ro RunOptions) (*Report, error) {
	obj, err := r.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read settlement %s: %w", key, err)
	}
	lines, err := ParseSettlement(bytes.NewReader(obj.Body))
	if err != nil {
		return nil, fmt.Errorf("settlement %s: %w", key, err)
	}
	return r.Reconcile(ctx, key, lines, ro)
}

// Reconcile matches parsed settlement lines against our payments, confirms
// the lost callbacks, stores the report and returns it. An item whose
// action failed is counted in Report.Failed (the run goes on; rerunning is
// safe); an error is returned only when the run as a whole failed.
func (r *Reconciler) Reconcile(ctx context.Context, source string, lines []SettlementLine, ro RunOptions) (*Report, error) {
	now := r.opts.Now()
	rep := &Report{Kind: "settlement", RunID: newRunID(now), Source: source, StartedAt: now.UTC(),
		Method: ro.Method, Lines: len(lines), From: ro.From, To: ro.To}
	for _, l := range lines {
		if ro.From == "" && (rep.From == "" || l.Date < rep.From) {
			rep.From = l.Date
		}
		if ro.To == "" && (rep.To == "" || l.Date > rep.To) {
			rep.To = l.Date
		}
	}
	for _, d := range []string{rep.From, rep.To} {
		if _, err := time.Parse(DateLayout, d); d != "" && err != nil {
			return nil, fmt.Errorf("reconcile: period date %q is not YYYY-MM-DD", d)
		}
	}

	// A reference settled twice: the first line is matched, the others
	// are duplicates at the bank.
	first := map[string]int{}
	items := make([]Item, len(lines))
	for i, l := range lines {
		if _, dup := first[l.Reference]; dup {
			items[i] = Item{Outcome: OutcomeDuplicateAtBank, Action: ActionFlagged}
			continue
		}
		first[l.Reference] = i
	}
	forEach(ctx, len(lines), r.opts.Workers, func(ctx context.Context, i int) {
		if items[i].Outcome == OutcomeDuplicateAtBank {
			items[i] = r.describe(ctx, lines[i], items[i])
			return
		}
		items[i] = r.matchLine(ctx, lines[i])
	})

	missing, err := r.missingAtBank(ctx, first, rep.From, rep.To, ro.Method)
	if err != nil {
		return nil, err
	}
	items = append(items, missing...)
	rep.Items = items
	rep.Counts = countOutcomes(items, func(it Item) string { return string(it.Outcome) }, SettlementOutcomes)
	for _, it := range items {
		if it.Action == ActionFailed {
			rep.Failed++
		}
	}
	rep.FinishedAt = r.opts.Now().UTC()
	if rep.ReportKey, err = r.saveReport(ctx, rep.RunID, rep); err != nil {
		return rep, err
	}
	r.opts.Log.Info("settlement reconciled", "run_id", rep.RunID, "source", source, "lines", rep.Lines,
		"counts", rep.Counts, "failed", rep.Failed)
	return rep, nil
}

// describe fills an item with the line and the payment as found.
func (r *Reconciler) describe(ctx context.Context, l SettlementLine, it Item) Item {
	it.Reference, it.Line, it.Date = l.Reference, l.Line, l.Date
	it.BankAmountVND, it.BankTransactionID = l.AmountVND, l.BankTransactionID
	if p, err := r.payments.Get(ctx, l.Reference); err == nil {
		fillPayment(&it, p)
		it.StateAfter = p.State
	}
	return it
}

func fillPayment(it *Item, p payment.Payment) {
	it.AmountVND, it.ApplicationCode, it.Method, it.StateBefore = p.AmountVND, p.ApplicationCode, p.Method, p.State
	if p.Provider != nil {
		it.ProviderTransactionNo = p.Provider.TransactionNo
	}
}

// matchLine classifies one settlement line and confirms a lost callback.
func (r *Reconciler) matchLine(ctx context.Context, l SettlementLine) Item {
	it := Item{Reference: l.Reference, Line: l.Line, Date: l.Date, BankAmountVND: l.AmountVND,
		BankTransactionID: l.BankTransactionID, Action: ActionNone}
	p, err := r.payments.Get(ctx, l.Reference)
	switch {
	case errors.Is(err, docstore.ErrNotFound):
		it.Outcome, it.Action = OutcomeUnknownReference, ActionFlagged
		return it
	case err != nil:
		it.Outcome, it.Action, it.Error = OutcomeUnknownReference, ActionFailed, "lookup failed: "+err.Error()
		return it
	}
	fillPayment(&it, p)
	it.StateAfter = p.State
	switch {
	case p.AmountVND != l.AmountVND:
		it.Outcome, it.Action = OutcomeAmountMismatch, ActionFlagged
	case p.State == payment.StatePaid:
		it.Outcome = OutcomeOK
	default:
		it.Outcome = OutcomeCallbackLost
		c := Confirmation{Ref: p.Ref, Provider: providerOf(p.Method), TransactionNo: l.BankTransactionID,
			AmountVND: l.AmountVND, PaidAt: settlementTime(l.Date),
			Note: fmt.Sprintf("settlement file line %d (%s)", l.Line, l.Date)}
		after, err := r.payments.Confirm(ctx, c)
		if err != nil {
			it.Action, it.Error = ActionFailed, "confirm failed: "+err.Error()
			r.opts.Log.Error("confirm lost callback", "ref", p.Ref, "err", err)
			return it
		}
		it.Action, it.StateAfter = ActionConfirmed, after.State
		r.opts.Log.Info("confirmed lost callback", "ref", p.Ref, "application", p.ApplicationCode, "line", l.Line)
	}
	if it.Outcome == OutcomeAmountMismatch {
		r.opts.Log.Warn("settlement amount mismatch", "ref", p.Ref, "ours", p.AmountVND, "bank", l.AmountVND, "line", l.Line)
	}
	return it
}

// missingAtBank lists payments paid here in [from, to] (Vietnam dates) that
// the file does not name.
func (r *Reconciler) missingAtBank(ctx context.Context, inFile map[string]int, from, to string, method payment.Method) ([]Item, error) {
	if from == "" || to == "" {
		return nil, nil
	}
	var (
		mu  sync.Mutex
		out []Item
	)
	err := r.payments.List(ctx, func(p payment.Payment) error {
		if p.State != payment.StatePaid || p.PaidAt == nil {
			return nil
		}
		if method != "" && p.Method != method {
			return nil
		}
		if _, ok := inFile[p.Ref]; ok {
			return nil
		}
		d := p.PaidAt.In(vnpay.GMT7).Format(DateLayout)
		if d < from || d > to {
			return nil
		}
		it := Item{Outcome: OutcomeMissingAtBank, Action: ActionFlagged, Reference: p.Ref, Date: d}
		fillPayment(&it, p)
		it.StateAfter = p.State
		mu.Lock()
		out = append(out, it)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list paid payments: %w", err)
	}
	sortBy(out, func(it Item) string { return it.Reference })
	return out, nil
}

// providerOf is the provider confirming a payment of method m.
func providerOf(m payment.Method) string {
	if m == payment.MethodVietQR {
		return payment.ProviderBank
	}
	return payment.ProviderVNPay
}

// settlementTime is noon (Vietnam time) of a settlement date: the best
// "paid at" a file gives.
func settlementTime(date string) time.Time {
	t, err := time.ParseInLocation(DateLayout, date, vnpay.GMT7)
	if err != nil {
		return time.Time{}
	}
	return t.Add(12 * time.Hour)
}
