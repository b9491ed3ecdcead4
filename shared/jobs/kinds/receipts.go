package kinds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/payment"
	"motcua/shared/receipt/book"
	"motcua/shared/reconcile"
)

// Receipts is what reissue-missing-receipts needs from the receipt book
// (shared/receipt/book): the issuing path issue-receipt uses, so numbering
// keeps its guarantees (no gaps, one receipt per payment).
type Receipts interface {
	// ByPayment returns the receipt of payment ref; book.ErrNotFound when
	// it has none.
	ByPayment(ctx context.Context, ref string) (book.Record, error)
	// IssueForPayment issues (or returns) the receipt of paid payment ref.
	IssueForPayment(ctx context.Context, ref, correlationID string) (book.Outcome, book.Record, error)
}

var _ Receipts = (*book.Book)(nil)

// ReissueMissingReceipts is the "reissue-missing-receipts" kind: confirmed
// payments without a receipt get one, through book.IssueForPayment.
// Scope: from, to (Vietnam dates of payment), agency, limit.
type ReissueMissingReceipts struct {
	Store    docstore.Store
	Receipts Receipts
}

var _ jobs.Kind = (*ReissueMissingReceipts)(nil)

// Name returns "reissue-missing-receipts".
func (k *ReissueMissingReceipts) Name() string { return "reissue-missing-receipts" }

// Check accepts from, to, agency and limit.
func (k *ReissueMissingReceipts) Check(s jobs.Scope) error {
	if _, _, err := dateRange(s); err != nil {
		return err
	}
	return only(s, "from", "to", "agency", "limit")
}

// Plan lists paid payments (not duplicates) that have no receipt.
func (k *ReissueMissingReceipts) Plan(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	from, to, _ := dateRange(s)
	var (
		mu    sync.Mutex
		found []payment.Payment
	)
	err := reconcile.ListPayments(ctx, k.Store, func(p payment.Payment) error {
		if p.State != payment.StatePaid || p.Duplicate || p.PaidAt == nil {
			return nil
		}
		if (!from.IsZero() && p.PaidAt.Before(from)) || (!to.IsZero() && !p.PaidAt.Before(to)) {
			return nil
		}
		if s.Agency != "" && !strings.HasPrefix(strings.ToUpper(p.ApplicationCode), strings.ToUpper(s.Agency)+"-") {
			return nil
		}
		if _, err := k.Receipts.ByPayment(ctx, p.Ref); err == nil {
			return nil
		} else if !errors.Is(err, book.ErrNotFound) {
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
		note := fmt.Sprintf("paid %d VND at %s, no receipt", p.AmountVND, p.PaidAt.UTC().Format(time.RFC3339))
		if err := emit(jobs.Item{Key: p.Ref, Action: "issue", Note: note}); err != nil {
			return err
		}
	}
	return nil
}

// Apply issues the receipt of one payment (or finds it issued meanwhile).
func (k *ReissueMissingReceipts) Apply(ctx context.Context, _ jobs.Scope, it jobs.Item) (jobs.Result, error) {
	if _, err := k.Receipts.ByPayment(ctx, it.Key); err == nil {
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: "already has a receipt"}, nil
	} else if !errors.Is(err, book.ErrNotFound) {
		return jobs.Result{}, err
	}
	outcome, rec, err := k.Receipts.IssueForPayment(ctx, it.Key, "reprocess:reissue-missing-receipts")
	switch {
	case errors.Is(err, book.ErrNotPayable), errors.Is(err, book.ErrBadEvent):
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: err.Error()}, nil
	case err != nil:
		return jobs.Result{}, err
	case outcome == book.OutcomeNoReceipt:
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: "no receipt for this payment (duplicate, to refund)"}, nil
	}
	id := rec.ID()
	return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("issued receipt %s %s no. %08d", id.TemplateSymbol, id.Series, id.Number)}, nil
}
