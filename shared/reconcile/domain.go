package reconcile

import (
	"context"
	"errors"
	"fmt"

	"motcua/shared/payment"
)

// Domain adapts the payment domain's *payment.Service to the Payments
// port: Confirm is payment.Service.Confirm (the callbacks' own paid write,
// then the follow-up — application, payment.confirmed, Applied — run before
// returning; the paid payment is its durable to-do), an already-confirmed payment is
// success, Expire is payment.Service.Expire and Finish
// payment.Service.Finish.
type Domain struct {
	svc *payment.Service
}

var _ Payments = (*Domain)(nil)

// NewDomain returns the port over svc.
func NewDomain(svc *payment.Service) *Domain { return &Domain{svc: svc} }

// Get implements Payments.
func (d *Domain) Get(ctx context.Context, ref string) (payment.Payment, error) {
	p, _, err := d.svc.Repository().Get(ctx, ref)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("get payment %s: %w", ref, err)
	}
	return p, nil
}

// List implements Payments by reading the payment documents.
func (d *Domain) List(ctx context.Context, fn func(payment.Payment) error) error {
	return ListPayments(ctx, d.svc.Repository().Store(), fn)
}

// Confirm implements Payments through payment.Service.Confirm.
func (d *Domain) Confirm(ctx context.Context, c Confirmation) (payment.Payment, error) {
	conf := payment.Confirmation{
		Ref:           c.Ref,
		AmountVND:     c.AmountVND,
		Provider:      payment.Provider{Name: c.Provider, TransactionNo: c.TransactionNo, BankCode: c.BankCode},
		PaidAt:        c.PaidAt,
		CorrelationID: "reconcile-" + c.Ref,
	}
	if !c.PaidAt.IsZero() {
		t := c.PaidAt.UTC()
		conf.Provider.PayDate = &t
	}
	p, err := d.svc.Confirm(ctx, conf)
	if errors.Is(err, payment.ErrAlreadyConfirmed) && p.State == payment.StatePaid {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reconcile confirm: %w", err)
	}
	return p, nil
}

// Expire implements Payments through payment.Service.Expire.
func (d *Domain) Expire(ctx context.Context, ref, _ string) (payment.Payment, error) {
	return d.svc.Expire(ctx, ref)
}

// Finish implements Payments through payment.Service.Finish.
func (d *Domain) Finish(ctx context.Context, ref string) error { return d.svc.Finish(ctx, ref) }
