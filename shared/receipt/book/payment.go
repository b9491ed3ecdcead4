package book

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/numbering"
)

// Outcome says what handling a payment event did.
type Outcome string

// Outcomes of HandleEvent.
const (
	// OutcomeIssued means the payment has its receipt (issued now or
	// before: a duplicate delivery gives the same receipt).
	OutcomeIssued Outcome = "issued"
	// OutcomeIgnored means the event is not a payment.confirmed.
	OutcomeIgnored Outcome = "ignored"
	// OutcomeNoReceipt means the payment gets no receipt (a duplicate
	// payment reported for refund).
	OutcomeNoReceipt Outcome = "no_receipt"
)

// ErrBadEvent means a payment.confirmed envelope lacks what a receipt
// needs; redelivering it cannot help.
var ErrBadEvent = errors.New("book: unusable payment.confirmed event")

// HandleEvent issues the receipt of a payment.confirmed envelope; other
// event types are ignored. Safe to call any number of times for the same
// event, concurrently: the payment gets one receipt.
func (b *Book) HandleEvent(ctx context.Context, env queue.Envelope) (Outcome, Record, error) {
	if env.Type != payment.EventConfirmed {
		return OutcomeIgnored, Record{}, nil
	}
	var p payment.ConfirmedPayload
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		return "", Record{}, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
	}
	if !payment.ValidRef(p.Ref) {
		return "", Record{}, fmt.Errorf("%w: payment reference %q", ErrBadEvent, p.Ref)
	}
	return b.IssueForPayment(ctx, p.Ref, env.CorrelationID)
}

// IssueForPayment issues (or returns) the receipt of paid payment ref,
// from the payment and its application as stored.
func (b *Book) IssueForPayment(ctx context.Context, ref, correlationID string) (Outcome, Record, error) {
	if rec, err := b.ByPayment(ctx, ref); err == nil {
		// Already issued: finish the follow-ups a crash may have cut.
		return OutcomeIssued, rec, b.finishIssued(ctx, rec, ref, correlationID)
	} else if !errors.Is(err, ErrNotFound) {
		return "", Record{}, err
	}
	pay, _, err := payment.NewRepository(b.store).Get(ctx, ref)
	if err != nil {
		if errors.Is(err, payment.ErrNotFound) {
			return "", Record{}, fmt.Errorf("%w: payment %s not found", ErrBadEvent, ref)
		}
		return "", Record{}, err
	}
	if pay.State != payment.StatePaid || pay.PaidAt == nil {
		return "", Record{}, ErrNotPayable.WithCause(fmt.Errorf("payment %s is %s", ref, pay.State))
	}
	if pay.Duplicate {
		b.log.InfoContext(ctx, "no receipt for a duplicate payment (refund)", "payment_ref", ref, "application", pay.ApplicationCode)
		return OutcomeNoReceipt, Record{}, nil
	}
	code, err := application.ParseCode(pay.ApplicationCode)
	if err != nil {
		return "", Record{}, fmt.Errorf("%w: payment %s names application %q", ErrBadEvent, ref, pay.ApplicationCode)
	}
	app, _, err := application.NewRepository(b.store).Get(ctx, code)
	if err != nil {
		return "", Record{}, fmt.Errorf("application of payment %s: %w", ref, err)
	}
	rec, err := b.issue(ctx, draft{
		claimKey: ByPaymentKey(ref), numKey: ref, agency: app.Agency.Code, correlationID: correlationID,
		build: func(a numbering.Allocation) (receipt.Receipt, error) {
			return b.originalFor(pay, app, a), nil
		},
	})
	if err != nil {
		return "", Record{}, err
	}
	return OutcomeIssued, rec, nil
}

// finishIssued repeats the idempotent tail of an issue whose claim is
// already numbered.
func (b *Book) finishIssued(ctx context.Context, rec Record, numKey, correlationID string) error {
	if err := b.link(ctx, rec); err != nil {
		return err
	}
	if err := b.num.Complete(ctx, rec.Receipt.Series, numKey); err != nil {
		return err
	}
	env, err := issuedEvent(rec, correlationID)
	if err != nil {
		return err
	}
	if err := flushEvent(ctx, b.store, b.pub, b.cfg.EventsQueue, env, false); err != nil {
		b.log.WarnContext(ctx, "receipt.issued left in outbox for repair", "event_id", env.ID, "error", err.Error())
	}
	return nil
}

// originalFor builds the original receipt of a paid payment: the fee of
// the application as filed (kind and amount fixed at submission), paid by
// the applicant.
func (b *Book) originalFor(pay payment.Payment, app application.Application, a numbering.Allocation) receipt.Receipt {
	u := b.cfg.Unit
	payer := receipt.Payer{Name: app.Applicant.Name, Address: app.Applicant.Address, ID: app.Applicant.IDNumber}
	if app.Applicant.Kind == application.ApplicantBusiness {
		payer.ID = app.Applicant.TaxCode
	}
	kind, word := receipt.LineCharge, "Lệ phí"
	if app.Fee.Kind == string(catalog.FeeKindFee) {
		kind, word = receipt.LineFee, "Phí"
	}
	r := receipt.Receipt{
		Unit: u.Party, TemplateSymbol: u.TemplateSymbol, Series: a.Series, Number: a.Number,
		Kind: receipt.KindOriginal, Payer: payer,
		ProcedureCode: app.ProcedureCode, ProcedureName: app.ProcedureName, ApplicationCode: app.Code,
		Lines:         []receipt.Line{{Name: word + " " + lowerFirst(app.ProcedureName), Kind: kind, AmountVND: pay.AmountVND}},
		TotalVND:      pay.AmountVND,
		PaymentMethod: string(pay.Method), PaymentRef: pay.Ref,
		IssuedAt: a.At, LookupCode: a.Token,
	}
	if pay.Provider != nil {
		r.BankTxnRef = pay.Provider.TransactionNo
	}
	return r
}

// lowerFirst lower-cases the first letter ("Đăng ký khai sinh" → "đăng ký
// khai sinh") for "Lệ phí đăng ký khai sinh".
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
