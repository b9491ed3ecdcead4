package application_test

import (
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
)

func TestApplyPaymentConfirmed(t *testing.T) {
	at := time.Date(2026, 3, 2, 1, 15, 0, 0, time.UTC)
	pc := application.PaymentConfirmation{Ref: "MCABCDEFGH2345", Method: "vnpay", AmountVND: 1_250_000, PaidAt: at, EventID: "ev-1"}
	base := func(st application.Status, fee application.Fee) application.Application {
		return application.Application{Code: "A-1", Status: st, Fee: fee,
			Timeline: []application.Event{{At: at.Add(-time.Hour), Status: st, Actor: "STP"}}}
	}
	unpaid := application.Fee{AmountVND: 1_250_000, Kind: "fee", PaymentState: application.PaymentUnpaid}
	paidByUs := application.Fee{AmountVND: 1_250_000, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: pc.Ref}
	paidByOther := application.Fee{AmountVND: 1_250_000, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: "MCOTHER2222222"}
	free := application.Fee{Kind: "free", PaymentState: application.PaymentNotRequired}
	tests := []struct {
		name       string
		app        application.Application
		want       application.PaymentOutcome
		wantStatus application.Status
	}{
		{"awaiting_payment_back_to_processing", base(application.StatusAwaitingPayment, unpaid), application.PaymentApplied, application.StatusProcessing},
		{"paid_at_submission_keeps_status", base(application.StatusSubmitted, unpaid), application.PaymentApplied, application.StatusSubmitted},
		{"same_payment_twice", base(application.StatusProcessing, paidByUs), application.PaymentAlreadyApplied, application.StatusProcessing},
		{"fee_paid_by_another_payment", base(application.StatusProcessing, paidByOther), application.PaymentPaidByOther, application.StatusProcessing},
		{"free_procedure", base(application.StatusSubmitted, free), application.PaymentPaidByOther, application.StatusSubmitted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.app
			before := len(a.Timeline)
			ev, got := application.ApplyPaymentConfirmed(&a, pc)
			if got != tc.want || a.Status != tc.wantStatus {
				t.Fatalf("outcome %v status %s, want %v %s", got, a.Status, tc.want, tc.wantStatus)
			}
			if got != application.PaymentApplied {
				if len(a.Timeline) != before || a.Fee != tc.app.Fee {
					t.Fatal("application changed although the payment was not applied")
				}
				return
			}
			if a.Fee.PaymentState != application.PaymentPaid || a.Fee.PaymentRef != pc.Ref || a.Fee.PaymentMethod != "vnpay" || !a.Fee.PaidAt.Equal(at) {
				t.Fatalf("fee = %+v", a.Fee)
			}
			if len(a.Timeline) != before+1 || ev.Actor != application.ActorSystem || ev.EventID != "ev-1" || ev.Status != tc.wantStatus {
				t.Fatalf("timeline entry = %+v", ev)
			}
			if !strings.Contains(ev.Note, "1.250.000 đ") || !strings.Contains(ev.Note, pc.Ref) {
				t.Fatalf("note = %q", ev.Note)
			}
			// Applying it again changes nothing.
			if _, again := application.ApplyPaymentConfirmed(&a, pc); again != application.PaymentAlreadyApplied {
				t.Fatalf("second apply = %v", again)
			}
		})
	}
}
