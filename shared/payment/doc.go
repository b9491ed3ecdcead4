// Package payment is motcua's fee-payment domain, behind the pay-fee and
// payment-callback functions, and groups the payment-protocol building
// blocks, each a standalone, network-free library in its own subpackage:
//
//   - vnpay: VNPAY payment gateway 2.1.0 (payment URL, IPN, querydr);
//   - vietqr: VietQR (EMVCo merchant-presented) transfer payloads;
//   - webhook: the generic signed partner-bank webhook (X-Motcua-Signature).
//
// The domain (this package): a Payment pays one application's fee (amount
// from the application, which took it from the catalog); Service.Pay
// creates or returns the one active payment of an application; provider
// callbacks (Service.VNPayIPN, Service.BankWebhook) are stored raw, verified
// and applied with Service.Confirm / Service.Fail, which are idempotent and
// safe under concurrent duplicates: a payment becomes paid once (its
// payment.confirmed envelope fixed in the same write, Applied false), the
// provider is answered, and the follow-up — the application's fee marked
// paid (awaiting_payment → processing), one payment.confirmed event on the
// payment-events queue, Applied set — runs in a bounded background pool
// (followup.go); the paid payment with Applied false is its durable to-do,
// finished by reconciliation (mode unfinished, every minute) after a crash.
// Reconciliation uses Confirm (which finishes before returning), Expire and
// Finish.
//
// Storage layout (data bucket):
//
//	payments/<ref>.json                            one Payment (create once, then CAS)
//	payments/by-application/<code>.json            ActiveMarker: the application's active payment
//	payments/events/<provider>/<eventId>.json      each provider event id, processed once
//	payments/unmatched/<id>.json                   transfers staff must look at (Unmatched)
//	payments/audit/<yyyy>/<mm>/<dd>/<uuid>.json    every raw callback (AuditRecord), redacted
package payment
