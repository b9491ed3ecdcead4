package application

// The system transition payment_confirmed: a partner bank (or VNPAY)
// confirmed the fee of an application. It is not in the staff state
// machine (transitions.go) because no person takes it: shared/payment
// applies it when a payment is confirmed.
//
//	action             from               to
//	payment_confirmed  awaiting_payment   processing   fee paid, timeline entry by "system"
//	payment_confirmed  any other status   (unchanged)  fee paid, timeline note only

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// ActPaymentConfirmed is the system transition applied when the fee is paid.
const ActPaymentConfirmed ActionName = "payment_confirmed"

// PaymentConfirmation is what shared/payment tells the application about a
// confirmed payment.
type PaymentConfirmation struct {
	// Ref is the payment reference.
	Ref string
	// Method is vnpay or vietqr.
	Method string
	// AmountVND is the amount paid.
	AmountVND int64
	// PaidAt is when the money arrived.
	PaidAt time.Time
	// EventID is the ID of the payment.confirmed envelope; it becomes the
	// timeline entry's EventID so RepairOutbox can tell the step happened.
	EventID string
}

// PaymentOutcome says what ApplyPaymentConfirmed did.
type PaymentOutcome int

// Outcomes of ApplyPaymentConfirmed.
const (
	// PaymentApplied means the fee was marked paid by this payment now.
	PaymentApplied PaymentOutcome = iota + 1
	// PaymentAlreadyApplied means this payment had already been applied.
	PaymentAlreadyApplied
	// PaymentPaidByOther means the fee had already been paid by another
	// payment (or needs no payment): the money must go back to the payer.
	PaymentPaidByOther
)

// ApplyPaymentConfirmed marks app's fee paid by pc: Fee.PaymentState paid
// with ref, method and time, and a timeline entry by the system carrying
// pc.EventID. An application awaiting payment moves back to processing;
// in any other status (e.g. paid at submission) the status is kept. It
// never un-pays and never applies a second payment.
func ApplyPaymentConfirmed(app *Application, pc PaymentConfirmation) (Event, PaymentOutcome) {
	if app.Fee.PaymentState == PaymentPaid {
		if app.Fee.PaymentRef == pc.Ref || hasEvent(*app, pc.EventID) {
			return Event{}, PaymentAlreadyApplied
		}
		return Event{}, PaymentPaidByOther
	}
	if app.Fee.PaymentState == PaymentNotRequired || app.Fee.AmountVND <= 0 {
		return Event{}, PaymentPaidByOther
	}
	at := pc.PaidAt.UTC()
	next := *app
	next.Fee.PaymentState = PaymentPaid
	next.Fee.PaymentRef = pc.Ref
	next.Fee.PaymentMethod = pc.Method
	next.Fee.PaidAt = &at
	if app.Status == StatusAwaitingPayment {
		next.Status = StatusProcessing
	}
	ev := Event{
		At: at, Status: next.Status, Actor: ActorSystem, EventID: pc.EventID,
		Note: "Đã thanh toán phí, lệ phí " + formatVND(pc.AmountVND) + " qua " + methodLabel(pc.Method) + " (mã thanh toán " + pc.Ref + ")",
	}
	next.Timeline = append(slices.Clip(app.Timeline), ev)
	*app = next
	return ev, PaymentApplied
}

// ConfirmPayment applies pc to the stored application code in a
// compare-and-swap loop. Just before writing it stages env (the
// payment.confirmed event, whose ID must be pc.EventID) in the outbox tied
// to the application (queueName), so a crash after the write is repaired
// by RepairOutbox. It returns the application as stored and the outcome;
// only PaymentApplied means the caller should flush env (FlushOutbox): for
// the other outcomes the event is (or was) someone else's to publish, or
// must not be published.
func ConfirmPayment(ctx context.Context, repo *Repository, code Code, queueName string, env queue.Envelope, pc PaymentConfirmation) (Application, PaymentOutcome, error) {
	if env.ID != pc.EventID {
		return Application{}, 0, fmt.Errorf("confirm payment %s: envelope id %q differs from event id %q", pc.Ref, env.ID, pc.EventID)
	}
	var outcome PaymentOutcome
	a, err := repo.Update(ctx, code, func(app *Application) error {
		_, outcome = ApplyPaymentConfirmed(app, pc)
		if outcome != PaymentApplied {
			return docstore.ErrUnchanged
		}
		return StageOutbox(ctx, repo.Store(), queueName, env, app.Code)
	})
	if err != nil {
		return Application{}, 0, fmt.Errorf("confirm payment %s: %w", pc.Ref, err)
	}
	return a, outcome, nil
}

// RecordPayment applies pc to the stored application code in a
// compare-and-swap loop, like ConfirmPayment but without staging an
// outbox marker: for callers whose own durable record already is the
// to-do of the event (shared/payment: a paid payment with its
// ConfirmEvent and Applied false, finished by reconciliation after a
// crash). The caller publishes the event when the outcome is
// PaymentApplied or PaymentAlreadyApplied (the application's timeline
// entry carries pc.EventID either way, so a repeat of the publish is a
// duplicate consumers drop), and never for PaymentPaidByOther.
func RecordPayment(ctx context.Context, repo *Repository, code Code, pc PaymentConfirmation) (Application, PaymentOutcome, error) {
	var outcome PaymentOutcome
	a, err := repo.Update(ctx, code, func(app *Application) error {
		_, outcome = ApplyPaymentConfirmed(app, pc)
		if outcome != PaymentApplied {
			return docstore.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return Application{}, 0, fmt.Errorf("record payment %s: %w", pc.Ref, err)
	}
	return a, outcome, nil
}

func methodLabel(m string) string {
	switch m {
	case "vnpay":
		return "VNPAY"
	case "vietqr":
		return "chuyển khoản VietQR"
	default:
		return m
	}
}

// formatVND writes n with dots between thousands and the đ sign: 1.250.000 đ.
func formatVND(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := false
	if n < 0 {
		neg, s = true, s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, '.')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out) + " đ"
	}
	return string(out) + " đ"
}
