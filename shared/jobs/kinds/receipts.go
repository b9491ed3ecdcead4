package kinds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/payment"
	"motcua/shared/receipt"
	"motcua/shared/receipt/book"
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
	return planPayments(ctx, k.Store, s, func(ctx context.Context, p payment.Payment) (bool, error) {
		if p.State != payment.StatePaid || p.Duplicate || p.PaidAt == nil || !within(*p.PaidAt, from, to) {
			return false, nil
		}
		if _, err := k.Receipts.ByPayment(ctx, p.Ref); !errors.Is(err, book.ErrNotFound) {
			return false, err // nil: it has its receipt
		}
		return true, nil
	}, func(p payment.Payment) jobs.Item {
		note := fmt.Sprintf("paid %d VND at %s, no receipt", p.AmountVND, p.PaidAt.UTC().Format(time.RFC3339))
		return jobs.Item{Key: p.Ref, Action: "issue", Note: note}
	}, emit)
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

// Rerenderer is what rerender-receipts needs from the receipt book
// (shared/receipt/book).
type Rerenderer interface {
	// ReceiptsIssued lists receipts by issue day (inclusive bounds, ""
	// open) and series ("" any), from the day index.
	ReceiptsIssued(ctx context.Context, from, to, series string, emit func(book.DayReceipt) error) error
	// RerenderPDF renders one receipt's PDF again from its signed XML,
	// written by CAS over the old one; same bytes are not written.
	RerenderPDF(ctx context.Context, series string, number uint32) (book.Rerendered, error)
}

var _ Rerenderer = (*book.Book)(nil)

// RerenderReceipts is the "rerender-receipts" kind: the PDFs of receipts
// issued in a date range (and series) are rendered again with the current
// layout, from the stored signed XML; numbers, signed XML and index data
// stay as issued. Each item's result keeps the old PDF's ETag and SHA-256
// (and the new ones), so the report says exactly which bytes were
// replaced. A PDF that renders to the same bytes is skipped: running the
// job twice changes nothing the second time.
// Scope: from, to (Vietnam dates of issue, inclusive), series, limit.
type RerenderReceipts struct {
	Receipts Rerenderer
}

var _ jobs.Kind = (*RerenderReceipts)(nil)

// Name returns "rerender-receipts".
func (k *RerenderReceipts) Name() string { return "rerender-receipts" }

// Check accepts from, to, series and limit; from or series is required
// (re-rendering every receipt ever issued is not a one-click job).
func (k *RerenderReceipts) Check(s jobs.Scope) error {
	if _, _, err := dateRange(s); err != nil {
		return err
	}
	if s.Series != "" && !receipt.ValidSymbol(s.Series) {
		return jobs.ScopeError("scope.series", "series phải là ký hiệu biên lai (chữ in hoa, chữ số, '/' hoặc '-', tối đa 11 ký tự).",
			"series must be a receipt series symbol (upper-case letters, digits, '/' or '-', at most 11).")
	}
	if s.From == "" && s.Series == "" {
		return jobs.ScopeError("scope.from", "Cần from hoặc series để giới hạn các biên lai tạo lại PDF.",
			"Give from or series to bound the receipts whose PDF is rendered again.")
	}
	return only(s, "from", "to", "series", "limit")
}

// Plan lists the receipts of the day index within the scope, by issue
// day, series and number.
func (k *RerenderReceipts) Plan(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	n := 0
	errLimit := errors.New("limit")
	err := k.Receipts.ReceiptsIssued(ctx, s.From, s.To, s.Series, func(d book.DayReceipt) error {
		if s.Limit > 0 && n >= s.Limit {
			return errLimit
		}
		n++
		id := book.ID{Series: d.Series, Number: d.Number}
		return emit(jobs.Item{Key: id.String(), Action: "rerender", Note: "receipt issued " + d.Day + ": render the PDF again from the signed XML"})
	})
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// Apply renders one receipt's PDF again.
func (k *RerenderReceipts) Apply(ctx context.Context, _ jobs.Scope, it jobs.Item) (jobs.Result, error) {
	id, ok := book.ParseID(it.Key)
	if !ok {
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: "not a receipt id: " + it.Key}, nil
	}
	r, err := k.Receipts.RerenderPDF(ctx, id.Series, id.Number)
	switch {
	case errors.Is(err, book.ErrNotFound):
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: "receipt not found"}, nil
	case errors.Is(err, book.ErrStoredXMLAltered), errors.Is(err, book.ErrNoPDFRenderer):
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: err.Error()}, nil
	case err != nil:
		return jobs.Result{}, err // transient (a store fault, a concurrent write): retried
	case r.Outcome == book.RerenderUnchanged:
		return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: fmt.Sprintf("same bytes: pdf etag %s sha256 %s", r.OldETag, r.OldSHA256)}, nil
	}
	old := "none"
	if r.OldETag != "" {
		old = fmt.Sprintf("etag %s sha256 %s", r.OldETag, r.OldSHA256)
	}
	return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("pdf replaced: old %s; new etag %s sha256 %s", old, r.NewETag, r.NewSHA256)}, nil
}
