package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/payment/vietqr"
	"motcua/shared/payment/vnpay"
	"motcua/shared/queue"
)

// Defaults of Config.
const (
	// DefaultTTL is how long a payment is offered (VNPAY's usual 15 min).
	DefaultTTL = 15 * time.Minute
	// DefaultEventsQueue receives payment.confirmed (the receipt issuer
	// subscribes to it).
	DefaultEventsQueue = "payment-events"
	// finishGrace is how long after a confirmation a duplicate callback
	// leaves the follow-up (application update, event) to the request that
	// confirmed; after it, any duplicate or Finish repairs a crash.
	finishGrace = 30 * time.Second
	// maxPayAttempts bounds the create-or-return loop of Pay.
	maxPayAttempts = 16
)

// VietQRConfig is the collecting agency's account shown in VietQR codes.
type VietQRConfig struct {
	// BankBIN is the NAPAS BIN of the collecting bank.
	BankBIN string
	// AccountNumber is the collecting account.
	AccountNumber string
	// AccountName is the account holder's name.
	AccountName string
}

// Config configures a Service. A nil VNPay or VietQR disables the method.
type Config struct {
	// TTL is how long a payment is offered; DefaultTTL when zero.
	TTL time.Duration
	// VNPay is the merchant terminal.
	VNPay *vnpay.Config
	// VietQR is the collecting account.
	VietQR *VietQRConfig
	// EventsQueue receives payment.confirmed; DefaultEventsQueue when empty.
	EventsQueue string
	// WebhookTolerance is the accepted clock skew of bank webhooks;
	// webhook.DefaultTolerance (300 s) when zero.
	WebhookTolerance time.Duration
	// FollowUpWorkers and FollowUpQueue size the background pool that
	// finishes confirmations after the provider was answered;
	// DefaultFollowUpWorkers and DefaultFollowUpQueue when zero.
	FollowUpWorkers, FollowUpQueue int
}

// Deps are the Service's collaborators.
type Deps struct {
	// Store is the data bucket (payments and applications).
	Store docstore.Store
	// Publisher publishes payment.confirmed.
	Publisher queue.Publisher
	// Guard checks PINs (pay, look-up); nil means a guard with the default
	// policy and proxies over Store.
	Guard *citizenguard.Guard
	// BankSecrets returns the webhook secrets (read on each call, so a
	// rotated secrets file takes effect without a restart); nil disables
	// the bank webhook.
	BankSecrets func() ([][]byte, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log receives structured logs; slog.Default when nil.
	Log *slog.Logger
}

// Service is the payment domain: creating payments, answering look-ups and
// applying provider callbacks. Safe for concurrent use.
type Service struct {
	repo    *Repository
	apps    *application.Repository
	store   docstore.Store
	pub     queue.Publisher
	guard   *citizenguard.Guard
	access  *application.Access
	secrets func() ([][]byte, error)
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	follow  *followUps
}

// NewService checks deps and cfg and returns a Service.
func NewService(d Deps, cfg Config) (*Service, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if d.Publisher == nil {
		errs = append(errs, errors.New("publisher is required"))
	}
	if cfg.VNPay != nil {
		// A pay-side terminal (with a return URL) must be complete; the
		// callback side needs only the hash secret.
		if cfg.VNPay.ReturnURL != "" {
			if err := cfg.VNPay.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("vnpay: %w", err))
			}
		} else if cfg.VNPay.HashSecret == "" {
			errs = append(errs, errors.New("vnpay: hash secret is required"))
		}
	}
	if cfg.VietQR != nil {
		if err := (vietqr.Payload{BankBIN: cfg.VietQR.BankBIN, AccountNumber: cfg.VietQR.AccountNumber}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("vietqr: %w", err))
		}
	}
	if cfg.TTL < 0 {
		errs = append(errs, errors.New("ttl must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("payment.NewService: %w", err)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.EventsQueue == "" {
		cfg.EventsQueue = DefaultEventsQueue
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Guard == nil {
		d.Guard = citizenguard.New(d.Store, citizenguard.WithLogger(d.Log))
	}
	apps := application.NewRepository(d.Store)
	s := &Service{
		repo: NewRepository(d.Store), apps: apps, store: d.Store, access: application.NewAccess(apps, d.Guard),
		pub: d.Publisher, guard: d.Guard, secrets: d.BankSecrets, cfg: cfg, now: d.Now, log: d.Log,
	}
	s.follow = newFollowUps(cfg.FollowUpWorkers, cfg.FollowUpQueue)
	return s, nil
}

// Repository returns the payment repository.
func (s *Service) Repository() *Repository { return s.repo }

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Errors of Confirm and Fail (not HTTP problems: callbacks map them to
// their provider's replies).
var (
	// ErrAlreadyConfirmed means the payment is already paid (Confirm, Fail)
	// or already failed/expired (Fail).
	ErrAlreadyConfirmed = errors.New("payment: already confirmed")
	// ErrAmountMismatch means the amount paid differs from the amount due.
	ErrAmountMismatch = errors.New("payment: amount mismatch")
)

// Confirmation is a provider's word that the money of a payment arrived.
type Confirmation struct {
	// Ref is the payment reference.
	Ref string
	// AmountVND is the amount the provider says was paid.
	AmountVND int64
	// Provider describes the provider's transaction.
	Provider Provider
	// PaidAt is when the money arrived (the provider's time, else now).
	PaidAt time.Time
	// CorrelationID goes into the event.
	CorrelationID string
	// Callback is the provider's call, stored on the paid timeline entry
	// (nil when the confirmation comes from reconciliation).
	Callback *AuditRecord
}

// Confirm marks payment c.Ref paid — from pending, and also from failed,
// expired or cancelled, since the money arrived — then, before returning,
// records it on the application (fee paid, awaiting_payment →
// processing), publishes one payment.confirmed event and sets Applied
// (the follow-up, see finishFrom). Reconciliation uses it; the provider
// callbacks use confirmCallback, which answers once the paid state is
// durable and runs the same follow-up in the background. Exactly one of
// any number of concurrent Confirm calls for a ref wins; the others get
// ErrAlreadyConfirmed, as does any later call. A wrong amount gives
// ErrAmountMismatch and changes nothing; an unknown ref ErrNotFound. If
// the follow-up fails after the payment was marked paid the error is
// returned and the payment stays paid with Applied false: a durable to-do
// that the next duplicate callback after finishGrace, Finish or
// reconciliation completes.
func (s *Service) Confirm(ctx context.Context, c Confirmation) (Payment, error) {
	p, etag, err := s.markPaid(ctx, c, Payment{Ref: c.Ref}, "")
	if err != nil {
		if errors.Is(err, ErrAlreadyConfirmed) && s.pastGrace(p) {
			if fp, ferr := s.finishFrom(ctx, p, ""); ferr != nil {
				return p, ferr
			} else {
				p = fp
			}
		}
		return p, err
	}
	return s.finishFrom(ctx, p, etag)
}

// confirmCallback is Confirm for a provider callback: it marks the payment
// paid starting from cur as already read with its ETag (no second read),
// and queues the follow-up in the process's bounded background pool
// instead of waiting for it, so the provider is answered as soon as the
// paid state (with its ConfirmEvent) is durable. A duplicate arriving
// after finishGrace while the follow-up is still not done queues it again
// (a crash of the confirming process is repaired).
func (s *Service) confirmCallback(ctx context.Context, c Confirmation, cur Payment, etag string) (Payment, error) {
	p, etag, err := s.markPaid(ctx, c, cur, etag)
	if err != nil {
		if errors.Is(err, ErrAlreadyConfirmed) && !p.Applied && s.pastGrace(p) {
			s.later(ctx, p, "")
		}
		return p, err
	}
	s.later(ctx, p, etag)
	return p, nil
}

// pastGrace reports whether p was marked paid longer than finishGrace ago
// (so its follow-up no longer belongs to the request that confirmed it).
func (s *Service) pastGrace(p Payment) bool {
	return p.State == StatePaid && !p.Applied && s.now().UTC().Sub(confirmedAt(p)) > finishGrace
}

// markPaid is the one durable write of a confirmation: payment c.Ref
// becomes paid with its payment.confirmed envelope fixed (ConfirmEvent)
// and Applied false — the to-do of the follow-up. cur is the payment as
// read with etag ("" to read it first). It returns the payment as written
// and its ETag; on ErrAlreadyConfirmed or ErrAmountMismatch the payment
// as found.
func (s *Service) markPaid(ctx context.Context, c Confirmation, cur Payment, etag string) (Payment, string, error) {
	now := s.now().UTC()
	paidAt := c.PaidAt
	if paidAt.IsZero() {
		paidAt = now
	}
	paidAt = paidAt.UTC()
	var seen Payment
	p, etag, err := s.repo.UpdateFrom(ctx, cur, etag, func(p *Payment) error {
		seen = *p
		if c.AmountVND != p.AmountVND {
			return ErrAmountMismatch
		}
		if p.State == StatePaid {
			return ErrAlreadyConfirmed
		}
		env, err := queue.NewEnvelope(EventConfirmed, c.CorrelationID, ConfirmedPayload{
			Ref: p.Ref, ApplicationCode: p.ApplicationCode, AmountVND: p.AmountVND, Method: p.Method,
			PaidAt: paidAt, Provider: c.Provider.Name, ProviderTxn: c.Provider.TransactionNo,
		})
		if err != nil {
			return err
		}
		prov := c.Provider
		if prov.PayDate == nil {
			prov.PayDate = &paidAt
		}
		from := p.State
		p.State = StatePaid
		p.PaidAt = &paidAt
		p.Provider = &prov
		p.ConfirmEvent = &env
		p.Applied, p.Duplicate = false, false
		note := "payment confirmed"
		if from != StatePending {
			note = "payment confirmed after " + string(from)
		}
		p.Timeline = append(p.Timeline, Attempt{At: now, State: StatePaid, Source: c.Provider.Name, Code: "00", Note: note, Callback: c.Callback})
		return nil
	})
	if err != nil {
		return seen, "", fmt.Errorf("confirm %s: %w", c.Ref, err)
	}
	s.log.InfoContext(ctx, "payment confirmed", "ref", p.Ref, "application", p.ApplicationCode,
		"amount_vnd", p.AmountVND, "provider", c.Provider.Name, "provider_txn", c.Provider.TransactionNo)
	return p, etag, nil
}

// confirmedAt returns when p was marked paid (its last timeline entry into
// paid), or the zero time.
func confirmedAt(p Payment) time.Time {
	for i := len(p.Timeline) - 1; i >= 0; i-- {
		if p.Timeline[i].State == StatePaid {
			return p.Timeline[i].At
		}
	}
	return time.Time{}
}

// Finish completes the follow-up of a paid payment whose application
// update or event may have been lost to a crash: it records the payment on
// the application and publishes payment.confirmed, or reports a duplicate
// payment for refund, then sets Applied. It does nothing for a payment
// that is not paid or already finished. Reconciliation calls it for paid
// payments whose Applied flag is false.
func (s *Service) Finish(ctx context.Context, ref string) error {
	p, etag, err := s.repo.Get(ctx, ref)
	if err != nil {
		return err
	}
	_, err = s.finishFrom(ctx, p, etag)
	return err
}

// finishFrom is the follow-up of a confirmation, from the payment p as
// written (with its ETag, "" when unknown): record the payment on the
// application (RecordPayment), publish p's ConfirmEvent, then set Applied
// by compare-and-swap. Each step is idempotent and the paid payment with
// Applied false is its durable to-do, so it needs no outbox marker: after
// a crash anywhere in it a rerun completes it, at worst publishing the
// same event ID twice (consumers de-duplicate on it). A fee already paid
// by another payment is reported for refund instead (Duplicate, no event).
// It returns the payment as stored (p itself on failure).
func (s *Service) finishFrom(ctx context.Context, p Payment, etag string) (Payment, error) {
	if p.State != StatePaid || p.ConfirmEvent == nil || p.Applied {
		return p, nil
	}
	env := *p.ConfirmEvent
	pc := application.PaymentConfirmation{Ref: p.Ref, Method: string(p.Method), AmountVND: p.AmountVND, EventID: env.ID}
	if p.PaidAt != nil {
		pc.PaidAt = *p.PaidAt
	}
	code, err := application.ParseCode(p.ApplicationCode)
	if err != nil {
		return p, fmt.Errorf("finish payment %s: %w", p.Ref, err)
	}
	_, outcome, err := application.RecordPayment(ctx, s.apps, code, pc)
	if err != nil {
		return p, fmt.Errorf("finish payment %s: %w", p.Ref, err)
	}
	duplicate := false
	switch outcome {
	case application.PaymentApplied, application.PaymentAlreadyApplied:
		if err := s.pub.Publish(ctx, s.cfg.EventsQueue, env); err != nil {
			return p, fmt.Errorf("finish payment %s: publish %s: %w", p.Ref, env.ID, err)
		}
	case application.PaymentPaidByOther:
		duplicate = true
		rec := Unmatched{
			ID: "duplicate-" + p.Ref, Provider: providerName(p), Reason: ReasonDuplicatePayment, Ref: p.Ref,
			ApplicationCode: p.ApplicationCode, AmountVND: p.AmountVND, ExpectedVND: p.AmountVND,
			TransactionID: providerTxn(p), ReceivedAt: s.now().UTC(),
		}
		if err := s.recordUnmatched(ctx, rec); err != nil {
			return p, fmt.Errorf("finish payment %s: %w", p.Ref, err)
		}
		s.log.WarnContext(ctx, "payment duplicates an earlier one: reported for refund", "ref", p.Ref, "application", p.ApplicationCode)
	}
	q, _, err := s.repo.UpdateFrom(ctx, p, etag, func(q *Payment) error {
		if q.Applied {
			return docstore.ErrUnchanged
		}
		q.Applied, q.Duplicate = true, duplicate
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("finish payment %s: %w", p.Ref, err)
	}
	return q, nil
}

func providerName(p Payment) string {
	if p.Provider != nil {
		return p.Provider.Name
	}
	return ""
}

func providerTxn(p Payment) string {
	if p.Provider != nil {
		return p.Provider.TransactionNo
	}
	return ""
}

// Fail records a failed or cancelled attempt reported by source (vnpay,
// bank) with the provider's code: a pending payment becomes failed (the
// citizen may pay again with a new payment). It never un-pays: a paid
// payment gives ErrAlreadyConfirmed, as does one already failed, expired
// or cancelled (the attempt is still noted on its timeline). A wrong
// amount gives ErrAmountMismatch.
func (s *Service) Fail(ctx context.Context, ref string, amountVND int64, source, code, note string) (Payment, error) {
	return s.failFrom(ctx, Payment{Ref: ref}, "", amountVND, source, code, note, nil)
}

// failFrom is Fail starting from the payment cur as read with etag (""
// to read it first), storing the provider's call cb (if any) on the
// timeline entry.
func (s *Service) failFrom(ctx context.Context, cur Payment, etag string, amountVND int64, source, code, note string, cb *AuditRecord) (Payment, error) {
	now := s.now().UTC()
	ref := cur.Ref
	settled := false
	var seen Payment
	p, _, err := s.repo.UpdateFrom(ctx, cur, etag, func(p *Payment) error {
		seen = *p
		settled = false
		if amountVND != p.AmountVND {
			return ErrAmountMismatch
		}
		switch p.State {
		case StatePaid:
			return ErrAlreadyConfirmed
		case StatePending:
			p.State = StateFailed
		default:
			settled = true
		}
		p.Timeline = append(p.Timeline, Attempt{At: now, State: p.State, Source: source, Code: code, Note: note, Callback: cb})
		return nil
	})
	if err != nil {
		return seen, fmt.Errorf("fail %s: %w", ref, err)
	}
	if settled {
		return p, fmt.Errorf("fail %s: %w", ref, ErrAlreadyConfirmed)
	}
	s.log.InfoContext(ctx, "payment failed", "ref", ref, "source", source, "code", code)
	return p, nil
}

// Expire marks a pending payment whose time is up as expired and returns
// it; any other payment is returned unchanged.
func (s *Service) Expire(ctx context.Context, ref string) (Payment, error) {
	now := s.now().UTC()
	p, err := s.repo.Update(ctx, ref, func(p *Payment) error {
		if p.State != StatePending || now.Before(p.ExpiresAt) {
			return docstore.ErrUnchanged
		}
		p.State = StateExpired
		p.Timeline = append(p.Timeline, Attempt{At: now, State: StateExpired, Source: "system", Note: "payment not completed in time"})
		return nil
	})
	if err != nil {
		return Payment{}, fmt.Errorf("expire %s: %w", ref, err)
	}
	return p, nil
}
