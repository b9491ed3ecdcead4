package application_test

import (
	"testing"
	"time"

	"motcua/shared/application"
)

func TestStatus_fee_view_shows_the_payment_once_paid(t *testing.T) {
	paid := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		fee  application.Fee
		want application.FeeView
	}{
		{"unpaid", application.Fee{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentUnpaid},
			application.FeeView{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentUnpaid}},
		{"paid_by_vnpay", application.Fee{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: "MCABCDEF123456", PaymentMethod: "vnpay", PaidAt: &paid},
			application.FeeView{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: "MCABCDEF123456", PaymentMethod: "vnpay", PaidAt: &paid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := application.NewFeeView(tt.fee)
			if got.AmountVND != tt.want.AmountVND || got.Kind != tt.want.Kind || got.PaymentState != tt.want.PaymentState ||
				got.PaymentRef != tt.want.PaymentRef || got.PaymentMethod != tt.want.PaymentMethod ||
				(got.PaidAt == nil) != (tt.want.PaidAt == nil) || (got.PaidAt != nil && !got.PaidAt.Equal(*tt.want.PaidAt)) {
				t.Fatalf("feeView = %+v, want %+v", got, tt.want)
			}
		})
	}
}
