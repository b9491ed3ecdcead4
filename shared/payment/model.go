package payment

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/queue"
)

// Method is how a fee is paid.
type Method string

// Payment methods.
const (
	// MethodVNPay redirects the citizen to the VNPAY payment page.
	MethodVNPay Method = "vnpay"
	// MethodVietQR shows a VietQR bank-transfer code; a partner bank
	// confirms the transfer through the bank webhook.
	MethodVietQR Method = "vietqr"
)

// Valid reports whether m is a known method.
func (m Method) Valid() bool { return m == MethodVNPay || m == MethodVietQR }

// State is the state of a payment.
type State string

// Payment states. pending → paid | failed | expired | cancelled; failed,
// expired and cancelled → paid when money arrives after all; paid is final.
const (
	// StatePending waits for the citizen to pay.
	StatePending State = "pending"
	// StatePaid means the money arrived; final.
	StatePaid State = "paid"
	// StateFailed means the provider reported a failed or cancelled attempt;
	// the citizen may start a new payment.
	StateFailed State = "failed"
	// StateExpired means the payment was not completed in time.
	StateExpired State = "expired"
	// StateCancelled means the payment was abandoned (replaced or lost a
	// creation race) before anyone could use it.
	StateCancelled State = "cancelled"
)

// Replaceable reports whether a new payment may replace one in state s.
func (s State) Replaceable() bool {
	return s == StateFailed || s == StateExpired || s == StateCancelled
}

// Providers recorded in Provider.Name and in event keys.
const (
	// ProviderVNPay is the VNPAY gateway (IPN).
	ProviderVNPay = "vnpay"
	// ProviderBank is a partner bank posting the generic webhook.
	ProviderBank = "bank"
)

// EventConfirmed is the type of the event published once per paid payment;
// the receipt issuer consumes it.
const EventConfirmed = "payment.confirmed"

// Provider is what the payment provider told us about the money.
type Provider struct {
	// Name is vnpay or bank.
	Name string `json:"name"`
	// TransactionNo is the provider's transaction number (vnp_TransactionNo,
	// or the bank's transactionId).
	TransactionNo string `json:"transactionNo,omitempty"`
	// BankCode is the paying bank.
	BankCode string `json:"bankCode,omitempty"`
	// PayDate is when the provider says the payment happened.
	PayDate *time.Time `json:"payDate,omitempty"`
	// EventID is the bank webhook event id (bank only).
	EventID string `json:"eventId,omitempty"`
}

// Attempt is one entry of a payment's timeline: a state change or a
// callback that changed nothing.
type Attempt struct {
	// At is when we recorded it.
	At time.Time `json:"at"`
	// State is the payment's state after it.
	State State `json:"state"`
	// Source is "citizen", "vnpay", "bank" or "system".
	Source string `json:"source"`
	// Code is the provider's result code (vnp_ResponseCode/TransactionStatus).
	Code string `json:"code,omitempty"`
	// Note explains it.
	Note string `json:"note,omitempty"`
	// Callback is the provider's call that made this change (redacted as
	// in the audit record), stored in the same write as the change: a
	// callback is never acted on without being stored, even when its
	// audit record is written alongside (VNPayIPN).
	Callback *AuditRecord `json:"callback,omitempty"`
}

// QR is the VietQR transfer a vietqr payment asks for.
type QR struct {
	// Payload is the EMVCo string encoded in the QR code.
	Payload string `json:"payload"`
	// BankBIN is the collecting agency's bank (NAPAS BIN).
	BankBIN string `json:"bankBin"`
	// AccountNumber is the collecting account.
	AccountNumber string `json:"accountNumber"`
	// AccountName is the account holder (the collecting agency).
	AccountName string `json:"accountName,omitempty"`
	// TransferNote is what the payer must write in the transfer content
	// (the payment reference).
	TransferNote string `json:"transferNote"`
}

// Payment is one attempt to pay one application's fee, stored as
// payments/<ref>.json.
type Payment struct {
	// Ref is our reference: "MC" + 12 base32 characters, used as
	// vnp_TxnRef and as the VietQR transfer note.
	Ref string `json:"ref"`
	// ApplicationCode is the application whose fee it pays.
	ApplicationCode string `json:"applicationCode"`
	// AmountVND is the fee due (from the application, never the client).
	AmountVND int64 `json:"amountVND"`
	// Method is vnpay or vietqr.
	Method Method `json:"method"`
	// State is the current state.
	State State `json:"state"`
	// CreatedAt is when the payment was created.
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when a pending payment stops being offered.
	ExpiresAt time.Time `json:"expiresAt"`
	// PaidAt is when the money arrived (paid only).
	PaidAt *time.Time `json:"paidAt,omitempty"`
	// Provider is what the provider reported with the confirmation.
	Provider *Provider `json:"provider,omitempty"`
	// PayURL is the signed VNPAY payment URL (vnpay).
	PayURL string `json:"payUrl,omitempty"`
	// QR is the transfer to make (vietqr).
	QR *QR `json:"qr,omitempty"`
	// Timeline lists state changes and callbacks, oldest first.
	Timeline []Attempt `json:"timeline"`
	// ConfirmEvent is the payment.confirmed envelope, fixed when the
	// payment becomes paid so every retry publishes the same event ID.
	ConfirmEvent *queue.Envelope `json:"confirmEvent,omitempty"`
	// Applied is true once the application records the payment (or the
	// payment was found to duplicate another one and was reported).
	Applied bool `json:"applied,omitempty"`
	// Duplicate is true when the fee had already been paid by another
	// payment: the money is reported to staff for refund.
	Duplicate bool `json:"duplicate,omitempty"`
	// Version counts the writes of the document.
	Version int `json:"version"`
}

// Pending reports whether p is still offered to the citizen at now.
func (p Payment) Pending(now time.Time) bool {
	return p.State == StatePending && now.Before(p.ExpiresAt)
}

// ConfirmedPayload is the payload of the payment.confirmed event.
type ConfirmedPayload struct {
	// Ref is the payment reference.
	Ref string `json:"ref"`
	// ApplicationCode is the application paid for.
	ApplicationCode string `json:"applicationCode"`
	// AmountVND is the amount paid.
	AmountVND int64 `json:"amountVND"`
	// Method is vnpay or vietqr.
	Method Method `json:"method"`
	// PaidAt is when the money arrived.
	PaidAt time.Time `json:"paidAt"`
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// ProviderTxn is the provider's transaction number.
	ProviderTxn string `json:"providerTxn,omitempty"`
}

// Storage layout in the data bucket.
const (
	// Prefix is where every payment document lives.
	Prefix = "payments/"
	// ActivePrefix holds one marker per application naming its active payment.
	ActivePrefix = Prefix + "by-application/"
	// EventsPrefix holds one record per processed provider event id.
	EventsPrefix = Prefix + "events/"
	// UnmatchedPrefix holds transfers staff must look at.
	UnmatchedPrefix = Prefix + "unmatched/"
	// AuditPrefix holds every raw callback.
	AuditPrefix = Prefix + "audit/"
)

// Key returns the key of payment ref.
func Key(ref Ref) string { return Prefix + ref.String() + ".json" }

// ActiveKey returns the key of the active-payment marker of an application.
func ActiveKey(code application.Code) string { return ActivePrefix + code.String() + ".json" }

// EventKey returns the key of a processed provider event.
func EventKey(provider, eventID string) string {
	return EventsPrefix + provider + "/" + eventID + ".json"
}

// UnmatchedKey returns the key of a transfer left for staff.
func UnmatchedKey(id string) string { return UnmatchedPrefix + id + ".json" }

// refEncoding is base32 without padding (A-Z, 2-7): unambiguous in a
// transfer note, survives banks upper-casing it.
var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RefLen is the length of a payment reference.
const RefLen = 14

// refPattern finds a reference in free text (upper-cased).
var refPattern = regexp.MustCompile(`MC[A-Z2-7]{12}`)

// NewRef returns a fresh reference: "MC" + 12 base32 characters (60 random
// bits), 14 ASCII characters.
func NewRef() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new payment ref: %w", err)
	}
	return "MC" + refEncoding.EncodeToString(b[:])[:12], nil
}

// ValidRef reports whether s has the shape of a reference.
func ValidRef(s string) bool {
	return len(s) == RefLen && refPattern.MatchString(s)
}

// refKind is the shape of a payment reference for the citizen guard.
var refKind = citizenguard.Kind{
	Field:   "ref",
	Pattern: regexp.MustCompile(`^MC[A-Z2-7]{12}$`),
	MaxLen:  RefLen,
	Upper:   true,
	NameVi:  "mã thanh toán",
	NameEn:  "payment reference",
	Example: "MCABCDEFGH2345",
}

// Ref is a parsed payment reference. Only ParseRef makes one, so storage
// keys (Key takes a Ref) are never built from an unchecked string. The
// zero Ref is invalid.
type Ref struct{ v string }

// ParseRef returns the Ref of s (trimmed, upper-cased) or a 400 problem
// naming the field "ref".
func ParseRef(s string) (Ref, error) {
	v, err := refKind.Parse(s)
	if err != nil {
		return Ref{}, err
	}
	return Ref{v}, nil
}

// String returns the reference as text.
func (r Ref) String() string { return r.v }

// IsZero reports whether r is the zero (invalid) Ref.
func (r Ref) IsZero() bool { return r.v == "" }

// MarshalText writes the reference as text (JSON strings, log values).
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.v), nil }

// FindRef returns the first reference in a transfer note (banks may
// upper-case the note and add their own words around it), or "".
func FindRef(note string) string {
	up := strings.ToUpper(note)
	if m := refPattern.FindString(up); m != "" {
		return m
	}
	// Some banks strip spaces and punctuation or insert them: try the
	// note with only letters and digits kept.
	var b strings.Builder
	for _, r := range up {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return refPattern.FindString(b.String())
}
