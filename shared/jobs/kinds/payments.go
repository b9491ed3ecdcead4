package kinds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/reconcile"
)

// Modes of reconcile-payments.
const (
	// ModePending re-checks pending payments (querydr).
	ModePending = "pending"
	// ModeSettlement matches a settlement file already in the bucket.
	ModeSettlement = "settlement"
	// ModeUnfinished finishes paid payments whose follow-up (application
	// update, payment.confirmed) did not complete — the process that
	// confirmed them died — soon after, without waiting for the pending
	// sweep's threshold.
	ModeUnfinished = "unfinished"
)

// DefaultPendingAge is the default threshold of a pending re-check.
const DefaultPendingAge = 30 * time.Minute

// DefaultUnfinishedAge is mode unfinished's default threshold: a payment
// document last written more recently belongs to a follow-up that may
// still be running (payment-callback's pool finishes one in well under a
// second; its bound is 30 s).
const DefaultUnfinishedAge = time.Minute

// UnfinishedWindow bounds how far back mode unfinished looks (by the
// payment document's last write): older unfinished payments are left to
// mode pending, which reads every payment.
const UnfinishedWindow = 48 * time.Hour

// Reconciler is what reconcile-payments needs from shared/reconcile.
type Reconciler interface {
	// CheckPayment re-checks one payment (querydr, confirm, expire, finish).
	CheckPayment(ctx context.Context, ref string) (reconcile.PendingItem, error)
	// MatchLine reconciles one settlement line.
	MatchLine(ctx context.Context, l reconcile.SettlementLine) reconcile.Item
}

var _ Reconciler = (*reconcile.Reconciler)(nil)

// ReconcilePayments is the "reconcile-payments" kind.
//
//	mode pending (default): payments pending (or paid with an unfinished
//	  follow-up) created in [from, to] (Vietnam dates, optional) and more
//	  than olderThan ago (default 30m), optionally of one agency; each is
//	  re-checked with querydr and confirmed, expired or finished.
//	mode settlement: every line of settlement file `file` (a key or a name
//	  under reconciliation/settlements/) is matched; lost callbacks are
//	  confirmed, mismatches flagged in the report.
//	mode unfinished: paid payments whose follow-up did not complete
//	  (Applied false), whose document was last written more than
//	  olderThan ago (default 1m) and less than UnfinishedWindow ago, are
//	  finished. Only documents written in the window are read, so it is
//	  cheap enough to run every minute (stack.yml: reprocess-cron-followup).
type ReconcilePayments struct {
	Store      docstore.Store
	Reconciler Reconciler
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

var _ jobs.Kind = (*ReconcilePayments)(nil)

// Name returns "reconcile-payments".
func (k *ReconcilePayments) Name() string { return "reconcile-payments" }

func (k *ReconcilePayments) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Check validates the scope of either mode.
func (k *ReconcilePayments) Check(s jobs.Scope) error {
	switch s.Mode {
	case "", ModePending:
		if _, err := olderThan(s, DefaultPendingAge); err != nil {
			return err
		}
		if _, _, err := dateRange(s); err != nil {
			return err
		}
		return only(s, "mode", "from", "to", "agency", "olderThan", "limit")
	case ModeUnfinished:
		if _, err := olderThan(s, DefaultUnfinishedAge); err != nil {
			return err
		}
		return only(s, "mode", "olderThan", "limit")
	case ModeSettlement:
		if s.File == "" {
			return jobs.ScopeError("scope.file", "Cần tên tệp đối soát (file).", "file is required in settlement mode.")
		}
		if _, err := settlementKey(s.File); err != nil {
			return err
		}
		return only(s, "mode", "file", "limit")
	}
	return jobs.ScopeError("scope.mode", "mode phải là pending, settlement hoặc unfinished.", "mode must be pending, settlement or unfinished.")
}

func settlementKey(file string) (string, error) {
	if strings.HasPrefix(file, reconcile.SettlementPrefix) {
		file = strings.TrimPrefix(file, reconcile.SettlementPrefix)
	}
	key, err := reconcile.SettlementKey(file)
	if err != nil || strings.ContainsAny(file, "/\\") {
		return "", jobs.ScopeError("scope.file", "Tên tệp đối soát chỉ gồm A-Z a-z 0-9 . _ - (tối đa 100 ký tự).",
			"file must be 1-100 of A-Z a-z 0-9 . _ -, under "+reconcile.SettlementPrefix+".")
	}
	return key, nil
}

// dateRange parses from/to as Vietnam dates; zero times when absent.
func dateRange(s jobs.Scope) (time.Time, time.Time, error) {
	var from, to time.Time
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", s.From, &from}, {"to", s.To, &to}} {
		if f.v == "" {
			continue
		}
		t, err := time.ParseInLocation(reconcile.DateLayout, f.v, vnpay.GMT7)
		if err != nil {
			return from, to, jobs.ScopeError("scope."+f.name, f.name+" phải có dạng YYYY-MM-DD.", f.name+" must be YYYY-MM-DD.")
		}
		*f.dst = t
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, jobs.ScopeError("scope.to", "to phải không trước from.", "to must not be before from.")
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // inclusive: up to the end of that day
	}
	return from, to, nil
}

// Plan lists the payments or settlement lines.
func (k *ReconcilePayments) Plan(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	if s.Mode == ModeSettlement {
		return k.planSettlement(ctx, s, emit)
	}
	if s.Mode == ModeUnfinished {
		return k.planUnfinished(ctx, s, emit)
	}
	age, _ := olderThan(s, DefaultPendingAge)
	from, to, _ := dateRange(s)
	cutoff := k.now().Add(-age)
	return planPayments(ctx, k.Store, s, func(_ context.Context, p payment.Payment) (bool, error) {
		return reconcile.NeedsCheck(p) && p.CreatedAt.Before(cutoff) && within(p.CreatedAt, from, to), nil
	}, func(p payment.Payment) jobs.Item {
		action := "check"
		if p.State == payment.StatePaid {
			action = "finish"
		}
		note := fmt.Sprintf("%s %s %d VND, created %s", p.State, p.Method, p.AmountVND, p.CreatedAt.UTC().Format(time.RFC3339))
		return jobs.Item{Key: p.Ref, Action: action, Note: note}
	}, emit)
}

// within reports whether t falls in the scope's [from, to) window; a zero
// bound is open.
func within(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// planPayments is the listing both payment kinds share: every stored
// payment of the scope's agency (application code prefix, any case) that
// keep accepts, sorted by reference, at most s.Limit of them, emitted as
// item makes it. keep runs concurrently (reconcile.ListPayments).
func planPayments(ctx context.Context, store docstore.Store, s jobs.Scope,
	keep func(context.Context, payment.Payment) (bool, error), item func(payment.Payment) jobs.Item,
	emit func(jobs.Item) error) error {
	var (
		mu    sync.Mutex
		found []payment.Payment
	)
	prefix := strings.ToUpper(s.Agency) + "-"
	err := reconcile.ListPayments(ctx, store, func(p payment.Payment) error {
		if s.Agency != "" && !strings.HasPrefix(strings.ToUpper(p.ApplicationCode), prefix) {
			return nil
		}
		ok, err := keep(ctx, p)
		if err != nil || !ok {
			return err
		}
		mu.Lock()
		found = append(found, p)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Ref < found[j].Ref })
	for i, p := range found {
		if s.Limit > 0 && i >= s.Limit {
			break
		}
		if err := emit(item(p)); err != nil {
			return err
		}
	}
	return nil
}

// planUnfinished lists the payment documents last written in
// [now-UnfinishedWindow, now-olderThan) and emits those paid with
// Applied false, in reference order.
func (k *ReconcilePayments) planUnfinished(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	age, _ := olderThan(s, DefaultUnfinishedAge)
	now := k.now()
	cutoff, since := now.Add(-age), now.Add(-UnfinishedWindow)
	repo := payment.NewRepository(k.Store)
	n := 0
	next := ""
	for {
		page, err := k.Store.List(ctx, payment.Prefix+"MC", next, 1000)
		if err != nil {
			return fmt.Errorf("list payments: %w", err)
		}
		for _, e := range page.Entries {
			ref, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, payment.Prefix), ".json")
			if !ok || strings.Contains(ref, "/") || !e.LastModified.Before(cutoff) || e.LastModified.Before(since) {
				continue
			}
			p, _, err := repo.Get(ctx, ref)
			if errors.Is(err, payment.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if p.State != payment.StatePaid || p.Applied {
				continue
			}
			if s.Limit > 0 && n >= s.Limit {
				return nil
			}
			n++
			note := fmt.Sprintf("paid %s %d VND, follow-up unfinished since %s", p.Method, p.AmountVND, e.LastModified.UTC().Format(time.RFC3339))
			if err := emit(jobs.Item{Key: p.Ref, Action: "finish", Note: note}); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}

func (k *ReconcilePayments) planSettlement(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	key, err := settlementKey(s.File)
	if err != nil {
		return err
	}
	obj, err := k.Store.Get(ctx, key)
	if errors.Is(err, docstore.ErrNotFound) {
		return jobs.ScopeError("scope.file", "Không tìm thấy tệp đối soát "+key+".", "No settlement file "+key+" in the bucket.")
	}
	if err != nil {
		return err
	}
	lines, err := reconcile.ParseSettlement(bytes.NewReader(obj.Body))
	if err != nil {
		var se *reconcile.SettlementError
		if errors.As(err, &se) {
			return jobs.ScopeError("scope.file", "Tệp đối soát không hợp lệ; không có gì thay đổi.",
				fmt.Sprintf("The settlement file is not valid (%d problem(s)); nothing was changed.", len(se.Problems)+se.More))
		}
		return err
	}
	seen := map[string]bool{}
	for i, l := range lines {
		if s.Limit > 0 && i >= s.Limit {
			break
		}
		action := "match"
		if seen[l.Reference] {
			action = "flag_duplicate"
		}
		seen[l.Reference] = true
		data, err := json.Marshal(l)
		if err != nil {
			return err
		}
		note := fmt.Sprintf("line %d, %s, %d VND", l.Line, l.Date, l.AmountVND)
		if err := emit(jobs.Item{Key: l.Reference, Action: action, Note: note, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// Apply re-checks one payment or matches one settlement line.
func (k *ReconcilePayments) Apply(ctx context.Context, s jobs.Scope, it jobs.Item) (jobs.Result, error) {
	if s.Mode == ModeSettlement {
		return k.applyLine(ctx, it)
	}
	r, err := k.Reconciler.CheckPayment(ctx, it.Key)
	if errors.Is(err, docstore.ErrNotFound) {
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: "payment not found"}, nil
	}
	if err != nil {
		return jobs.Result{}, err
	}
	switch r.Outcome {
	case reconcile.PendingConfirmed, reconcile.PendingExpired, reconcile.PendingRepaired:
		return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("%s (state %s)", r.Outcome, r.StateAfter)}, nil
	case reconcile.PendingStill, reconcile.PendingSettled:
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: fmt.Sprintf("%s (state %s)", r.Outcome, r.StateAfter)}, nil
	case reconcile.PendingAmountMismatch:
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: fmt.Sprintf("amount_mismatch: provider says %d VND, ours %d VND; staff must look",
			r.ProviderAmountVND, r.AmountVND)}, nil
	}
	return jobs.Result{}, errors.New(r.Error) // PendingError: retried, then reported
}

func (k *ReconcilePayments) applyLine(ctx context.Context, it jobs.Item) (jobs.Result, error) {
	var l reconcile.SettlementLine
	if err := json.Unmarshal(it.Data, &l); err != nil {
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: "planned line unreadable"}, nil
	}
	if it.Action == "flag_duplicate" {
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: fmt.Sprintf("flagged %s: line %d settles %s a second time (refund?)",
			reconcile.OutcomeDuplicateAtBank, l.Line, l.Reference)}, nil
	}
	r := k.Reconciler.MatchLine(ctx, l)
	switch {
	case r.Action == reconcile.ActionFailed:
		return jobs.Result{}, errors.New(r.Error)
	case r.Action == reconcile.ActionConfirmed:
		return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("%s: confirmed (state %s)", r.Outcome, r.StateAfter)}, nil
	case r.Action == reconcile.ActionFlagged:
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: fmt.Sprintf("flagged %s: bank %d VND, ours %d VND", r.Outcome, r.BankAmountVND, r.AmountVND)}, nil
	}
	return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: string(r.Outcome) + ": already paid here"}, nil
}
