package payment

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/payment/vietqr"
	"motcua/shared/payment/vnpay"
)

// PayInput asks for a payment of an application's fee.
type PayInput struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// PIN is the application's look-up PIN.
	PIN string `json:"pin" validate:"required,max=32"`
	// Method is vnpay or vietqr.
	Method Method `json:"method" validate:"required,oneof=vnpay vietqr"`
	// ClientIP is the citizen's IP address for vnp_IpAddr; not part of the
	// JSON body.
	ClientIP string `json:"-"`
	// Client is the address guesses are counted under
	// (citizenguard.Guard.Client); not part of the JSON body.
	Client string `json:"-"`
}

// Pay creates a payment of the fee of in.Code (amount from the
// application, which took it from the catalog at submission), or returns
// the application's still-valid pending payment of the same method
// (created == false). There is one active payment per application, kept by
// a create-once / compare-and-swap marker, so concurrent calls all get the
// same payment; a failed, expired or cancelled payment is replaced by a new
// one. Errors: application.ErrWrongPIN (404, also for unknown codes),
// *throttle.LimitedError (429), ErrAlreadyPaid, ErrNotRequired,
// ErrNotPayable, ErrInProgress (another method pending),
// ErrMethodUnavailable.
func (s *Service) Pay(ctx context.Context, in PayInput) (p Payment, created bool, err error) {
	if !in.Method.Valid() || !s.methodEnabled(in.Method) {
		return Payment{}, false, ErrMethodUnavailable.WithExtra(map[string]any{"methods": s.Methods()})
	}
	code, err := application.ParseCode(in.Code)
	if err != nil {
		return Payment{}, false, err
	}
	app, err := s.access.Authorize(ctx, code, in.PIN, in.Client)
	if err != nil {
		return Payment{}, false, err
	}
	switch {
	case app.Fee.PaymentState == application.PaymentPaid:
		return Payment{}, false, ErrAlreadyPaid.WithExtra(map[string]any{"payment_ref": app.Fee.PaymentRef})
	case app.Fee.PaymentState == application.PaymentNotRequired || app.Fee.AmountVND <= 0:
		return Payment{}, false, ErrNotRequired
	case app.Status == application.StatusCancelled || app.Status == application.StatusRejected || app.Status == application.StatusReturned:
		return Payment{}, false, ErrNotPayable.WithExtra(map[string]any{"current_status": string(app.Status)})
	}
	for range maxPayAttempts {
		now := s.now().UTC()
		m, etag, err := s.repo.Active(ctx, code)
		switch {
		case errors.Is(err, docstore.ErrNotFound):
			etag = ""
		case err != nil:
			return Payment{}, false, err
		default:
			old, _, gerr := s.repo.Get(ctx, m.Ref)
			switch {
			case errors.Is(gerr, ErrNotFound):
				// A marker without its payment: replace it.
			case gerr != nil:
				return Payment{}, false, gerr
			case old.State == StatePaid:
				if _, ferr := s.finishFrom(ctx, old, ""); ferr != nil {
					s.log.WarnContext(ctx, "finishing a paid payment failed", "ref", old.Ref, "error", ferr.Error())
				}
				return Payment{}, false, ErrAlreadyPaid.WithExtra(map[string]any{"payment_ref": old.Ref})
			case old.Pending(now):
				if old.Method == in.Method {
					return old, false, nil
				}
				return Payment{}, false, ErrInProgress.WithExtra(map[string]any{
					"payment_ref": old.Ref, "method": string(old.Method), "expires_at": old.ExpiresAt,
				})
			case old.State == StatePending:
				exp, xerr := s.Expire(ctx, old.Ref)
				if xerr != nil {
					return Payment{}, false, xerr
				}
				if !exp.State.Replaceable() {
					continue // paid meanwhile: look again
				}
			}
		}
		np, err := s.newPayment(app, in, now)
		if err != nil {
			return Payment{}, false, err
		}
		if err := s.repo.Create(ctx, &np); err != nil {
			return Payment{}, false, err
		}
		if err := s.repo.SetActive(ctx, code, np.Ref, etag, now); err != nil {
			// Never handed out: remove it (best effort; an orphan is inert).
			if derr := s.store.Delete(context.WithoutCancel(ctx), Key(Ref{np.Ref}), ""); derr != nil {
				s.log.WarnContext(ctx, "orphan payment left", "ref", np.Ref, "error", derr.Error())
			}
			if lostRace(err) {
				continue
			}
			return Payment{}, false, err
		}
		s.log.InfoContext(ctx, "payment created", "ref", np.Ref, "application", app.Code, "method", string(np.Method), "amount_vnd", np.AmountVND)
		return np, true, nil
	}
	return Payment{}, false, fmt.Errorf("pay %s: too many concurrent changes: %w", app.Code, docstore.ErrPrecondition)
}

// Methods lists the methods configured here.
func (s *Service) Methods() []string {
	out := []string{}
	if s.methodEnabled(MethodVNPay) {
		out = append(out, string(MethodVNPay))
	}
	if s.cfg.VietQR != nil {
		out = append(out, string(MethodVietQR))
	}
	return out
}

func (s *Service) methodEnabled(m Method) bool {
	switch m {
	case MethodVNPay:
		return s.cfg.VNPay != nil && s.cfg.VNPay.ReturnURL != ""
	case MethodVietQR:
		return s.cfg.VietQR != nil
	}
	return false
}

// newPayment builds (without storing) a pending payment of app's fee.
func (s *Service) newPayment(app application.Application, in PayInput, now time.Time) (Payment, error) {
	ref, err := NewRef()
	if err != nil {
		return Payment{}, err
	}
	p := Payment{
		Ref: ref, ApplicationCode: app.Code, AmountVND: app.Fee.AmountVND, Method: in.Method,
		State: StatePending, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL),
		Timeline: []Attempt{{At: now, State: StatePending, Source: application.ActorCitizen, Note: "payment created"}},
	}
	switch in.Method {
	case MethodVNPay:
		ip := in.ClientIP
		if _, err := netip.ParseAddr(ip); err != nil {
			ip = "127.0.0.1"
		}
		u, err := vnpay.BuildPaymentURL(*s.cfg.VNPay, vnpay.Payment{
			TxnRef: ref, AmountVND: p.AmountVND, OrderInfo: "Thanh toán phí, lệ phí hồ sơ " + app.Code,
			OrderType: vnpay.OrderTypeBillPayment, IPAddr: ip, CreatedAt: now, ExpireAt: p.ExpiresAt,
		})
		if err != nil {
			if errors.Is(err, vnpay.ErrInvalid) {
				return Payment{}, ErrMethodUnavailable.WithExtra(map[string]any{"reason": "amount outside VNPAY's limits", "methods": s.Methods()})
			}
			return Payment{}, err
		}
		p.PayURL = u
	case MethodVietQR:
		c := s.cfg.VietQR
		payload, err := vietqr.Build(vietqr.Payload{BankBIN: c.BankBIN, AccountNumber: c.AccountNumber, AmountVND: p.AmountVND, Reference: ref})
		if err != nil {
			return Payment{}, fmt.Errorf("new payment %s: %w", ref, err)
		}
		p.QR = &QR{Payload: payload, BankBIN: c.BankBIN, AccountNumber: c.AccountNumber, AccountName: c.AccountName, TransferNote: ref}
	}
	return p, nil
}

// GuardKind namespaces the guard's counters of payment look-ups by
// reference.
const GuardKind = "payment"

// Lookup returns payment ref to the holder of its application's PIN,
// expiring it first if its time is up. ref must parse (ParseRef: 400
// otherwise). Unknown refs and wrong PINs give the same ErrNotFound at the
// same cost; guesses go through the citizen guard (429 when throttled),
// counted under client.
func (s *Service) Lookup(ctx context.Context, raw, pin, client string) (Payment, error) {
	ref, err := ParseRef(raw)
	if err != nil {
		return Payment{}, err
	}
	p, err := citizenguard.Check(ctx, s.guard,
		citizenguard.Attempt{Kind: GuardKind, ID: ref.String(), Client: client, Secret: pin, Refusal: ErrNotFound},
		func(ctx context.Context) (Payment, citizenguard.Hashed, error) {
			p, _, err := s.repo.Get(ctx, ref.String())
			if err != nil {
				return Payment{}, citizenguard.Hashed{}, err
			}
			code, err := application.ParseCode(p.ApplicationCode)
			if err != nil {
				return Payment{}, citizenguard.Hashed{}, fmt.Errorf("payment %s names a malformed application: %w", ref, citizenguard.ErrUnknown)
			}
			app, _, err := s.apps.Get(ctx, code)
			return p, citizenguard.Hashed{Hash: app.PINHash, Salt: app.PINSalt}, err
		})
	if err != nil {
		return Payment{}, err
	}
	if p.State == StatePending && !p.Pending(s.now()) {
		if exp, err := s.Expire(ctx, p.Ref); err == nil {
			p = exp
		}
	}
	if p.State == StatePaid && !p.Applied && s.now().Sub(confirmedAt(p)) > finishGrace {
		if fp, err := s.finishFrom(ctx, p, ""); err != nil {
			s.log.WarnContext(ctx, "finishing a paid payment failed", "ref", p.Ref, "error", err.Error())
		} else {
			p = fp
		}
	}
	return p, nil
}

// QRPNG renders p's VietQR code as a PNG (scale pixels per module; < 1 for
// the default).
func QRPNG(p Payment, scale int) ([]byte, error) {
	if p.QR == nil {
		return nil, fmt.Errorf("qr png %s: not a vietqr payment", p.Ref)
	}
	pl, err := vietqr.Parse(p.QR.Payload)
	if err != nil {
		return nil, fmt.Errorf("qr png %s: %w", p.Ref, err)
	}
	return vietqr.PNG(pl, scale)
}
