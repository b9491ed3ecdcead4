package payment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/webhook"
)

// RawCallback is a provider's HTTP call as received.
type RawCallback struct {
	// Method is the HTTP method.
	Method string
	// Query is the parsed query string.
	Query url.Values
	// Header holds the request headers.
	Header http.Header
	// Body is the raw body.
	Body []byte
	// CorrelationID is the call id (X-Call-Id) for logs and events.
	CorrelationID string
}

// Redacted stands for secrets and signatures in stored callbacks.
const Redacted = "[redacted]"

// redactedHeaders are never stored (canonical names).
var redactedHeaders = map[string]bool{
	http.CanonicalHeaderKey(webhook.Header): true,
	"Authorization":                         true,
	"Cookie":                                true,
	"Proxy-Authorization":                   true,
}

// AuditRecord is one raw callback as stored under
// payments/audit/<yyyy>/<mm>/<dd>/<uuid>.json before it is acted on.
type AuditRecord struct {
	// ID is the record's uuid.
	ID string `json:"id"`
	// Provider is vnpay or bank (as asked by the caller's query).
	Provider string `json:"provider"`
	// ReceivedAt is when it arrived.
	ReceivedAt time.Time `json:"receivedAt"`
	// Method is the HTTP method.
	Method string `json:"method"`
	// Query is the query string with vnp_SecureHash redacted.
	Query map[string][]string `json:"query,omitempty"`
	// Headers are the request headers with signatures and credentials redacted.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the raw body (text).
	Body string `json:"body,omitempty"`
}

// AuditKey returns the key of an audit record.
func AuditKey(at time.Time, id string) string {
	return AuditPrefix + at.UTC().Format("2006/01/02") + "/" + id + ".json"
}

// Audit stores raw (redacted) and returns its key; callbacks are acted on
// only once this succeeded.
func (s *Service) Audit(ctx context.Context, provider string, raw RawCallback) (string, error) {
	key, rec, err := s.auditRecord(provider, raw)
	if err != nil {
		return "", err
	}
	return key, s.putAudit(ctx, key, rec)
}

// auditRecord builds the (redacted) audit record of raw and its key.
func (s *Service) auditRecord(provider string, raw RawCallback) (string, AuditRecord, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return "", AuditRecord{}, fmt.Errorf("audit callback: %w", err)
	}
	now := s.now().UTC()
	rec := AuditRecord{ID: id.String(), Provider: provider, ReceivedAt: now, Method: raw.Method, Body: redactBody(raw.Body)}
	if len(raw.Query) > 0 {
		rec.Query = map[string][]string{}
		for k, v := range raw.Query {
			if k == vnpay.ParamSecureHash {
				v = []string{Redacted}
			}
			rec.Query[k] = append([]string(nil), v...)
		}
	}
	if len(raw.Header) > 0 {
		rec.Headers = map[string][]string{}
		for k, v := range raw.Header {
			if redactedHeaders[http.CanonicalHeaderKey(k)] {
				v = []string{Redacted}
			}
			rec.Headers[k] = append([]string(nil), v...)
		}
	}
	return AuditKey(now, rec.ID), rec, nil
}

// putAudit writes an audit record once.
func (s *Service) putAudit(ctx context.Context, key string, rec AuditRecord) error {
	if _, err := docstore.PutJSON(ctx, s.store, key, rec, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		return fmt.Errorf("audit callback: %w", err)
	}
	return nil
}

// redactBody returns body as text, with vnp_SecureHash redacted when it is
// a form-encoded IPN.
func redactBody(body []byte) string {
	if !bytes.Contains(body, []byte(vnpay.ParamSecureHash)) {
		return string(body)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has(vnpay.ParamSecureHash) {
		return Redacted // unparseable but carries a hash: keep nothing
	}
	form.Set(vnpay.ParamSecureHash, Redacted)
	return form.Encode()
}

// VNPayIPN handles one VNPAY IPN (GET with vnp_* parameters) and returns
// the reply VNPAY expects (always with HTTP 200). Every call is stored raw
// (redacted) under payments/audit/, and checked in VNPAY's order:
// signature (97) → payment exists (01) → amount equals ours (04) → not
// already settled (02) → apply (00). Success needs vnp_ResponseCode and
// vnp_TransactionStatus both "00" and marks the payment paid — also after
// an earlier failure, since the money arrived; anything else marks a
// pending payment failed. A failure after success never un-pays (02).
// Storage faults answer 99, so VNPAY retries.
//
// Cost, and why the raw call is still stored before it is acted on: the
// signature and parameters are checked in memory; then the audit record's
// create-once PUT starts, and alongside it the payment's GET and its one
// compare-and-swap PUT. That PUT — the only action — carries the same
// redacted call on its timeline entry (Attempt.Callback), so the call
// that changes a payment is stored in the very write that changes it,
// atomically: it can never be acted on unstored, which is what writing
// the audit record first guaranteed. The reply waits for both writes; a
// call that changed nothing is answered only once its audit record is
// stored (99 otherwise, so VNPAY retries); a call that changed the
// payment gets its answer even if the separate audit record failed (it
// is already stored on the payment; the failure is logged). So an IPN
// costs one GET then one PUT, with the audit PUT overlapping them, and
// 00 is answered once the paid state (with its payment.confirmed
// envelope, ConfirmEvent, and Applied false) is durable. The follow-up
// (application, event, Applied) runs in the background pool (see
// followup.go); the paid payment is its durable to-do.
func (s *Service) VNPayIPN(ctx context.Context, raw RawCallback) vnpay.IPNReply {
	n, early := s.checkVNPayIPN(ctx, raw)
	auditKey, rec, err := s.auditRecord(ProviderVNPay, raw)
	if err != nil {
		s.log.ErrorContext(ctx, "vnpay ipn not stored: answered 99", "error", err.Error())
		return vnpay.ReplyUnknownError
	}
	audited := make(chan error, 1)
	go func() { audited <- s.putAudit(ctx, auditKey, rec) }()
	var perr error
	if early == nil {
		var (
			cur  Payment
			etag string
		)
		cur, etag, perr = s.repo.Get(ctx, n.TxnRef)
		if perr == nil {
			cb := &rec
			if n.Success() {
				prov := Provider{Name: ProviderVNPay, TransactionNo: n.TransactionNo, BankCode: n.BankCode}
				if !n.PayDate.IsZero() {
					d := n.PayDate.UTC()
					prov.PayDate = &d
				}
				_, perr = s.confirmCallback(ctx, Confirmation{Ref: n.TxnRef, AmountVND: n.AmountVND, Provider: prov, PaidAt: n.PayDate,
					CorrelationID: raw.CorrelationID, Callback: cb}, cur, etag)
			} else {
				_, perr = s.failFrom(ctx, cur, etag, n.AmountVND, ProviderVNPay, n.ResponseCode+"/"+n.TransactionStatus, "vnpay reported an unsuccessful payment", cb)
			}
		}
	}
	if aerr := <-audited; aerr != nil {
		if early != nil || perr != nil {
			s.log.ErrorContext(ctx, "vnpay ipn not stored: answered 99", "error", aerr.Error())
			return vnpay.ReplyUnknownError
		}
		s.log.ErrorContext(ctx, "vnpay ipn audit record not written; the call is stored on the payment it changed", "ref", n.TxnRef, "error", aerr.Error())
	}
	if early != nil {
		return *early
	}
	reply := vnpayReply(perr)
	if reply.RspCode == vnpay.ReplyUnknownError.RspCode {
		s.log.ErrorContext(ctx, "vnpay ipn failed: answered 99", "ref", n.TxnRef, "error", perr.Error())
	} else {
		s.log.InfoContext(ctx, "vnpay ipn handled", "ref", n.TxnRef, "rsp_code", reply.RspCode, "success", n.Success())
	}
	return reply
}

// checkVNPayIPN does the checks of an IPN that need no storage
// (configuration, signature, parameters, terminal) and returns the parsed
// notification, or the reply to give (after the call is stored).
func (s *Service) checkVNPayIPN(ctx context.Context, raw RawCallback) (vnpay.IPN, *vnpay.IPNReply) {
	refuse := func(r vnpay.IPNReply) (vnpay.IPN, *vnpay.IPNReply) { return vnpay.IPN{}, &r }
	if s.cfg.VNPay == nil {
		s.log.ErrorContext(ctx, "vnpay ipn received but vnpay is not configured")
		return refuse(vnpay.ReplyUnknownError)
	}
	if err := vnpay.Verify(s.cfg.VNPay.HashSecret, raw.Query); err != nil {
		s.log.WarnContext(ctx, "vnpay ipn refused", "reason", err.Error())
		return refuse(vnpay.ReplyInvalidSignature)
	}
	n, err := vnpay.ParseIPN(raw.Query)
	if err != nil {
		s.log.WarnContext(ctx, "vnpay ipn malformed", "error", err.Error())
		return refuse(vnpay.ReplyUnknownError)
	}
	if n.TmnCode != "" && n.TmnCode != s.cfg.VNPay.TmnCode {
		s.log.WarnContext(ctx, "vnpay ipn for another terminal", "tmn_code", n.TmnCode)
		return refuse(vnpay.ReplyOrderNotFound)
	}
	return n, nil
}

// vnpayReply maps the outcome of Confirm/Fail to VNPAY's reply.
func vnpayReply(err error) vnpay.IPNReply {
	switch {
	case err == nil:
		return vnpay.ReplyConfirmSuccess
	case errors.Is(err, ErrNotFound):
		return vnpay.ReplyOrderNotFound
	case errors.Is(err, ErrAmountMismatch):
		return vnpay.ReplyInvalidAmount
	case errors.Is(err, ErrAlreadyConfirmed):
		return vnpay.ReplyOrderAlreadyConfirmed
	default:
		return vnpay.ReplyUnknownError
	}
}

// BankEventTransferReceived is the only bank webhook event type.
const BankEventTransferReceived = "transfer.received"

// BankEvent is the JSON body of the partner-bank webhook.
type BankEvent struct {
	// EventID identifies the event; each is processed once.
	EventID string `json:"eventId"`
	// Type is "transfer.received".
	Type string `json:"type"`
	// BankCode names the bank posting the event.
	BankCode string `json:"bankCode"`
	// AccountNumber is the credited account (ours).
	AccountNumber string `json:"accountNumber"`
	// Amount is the amount credited, whole đồng.
	Amount int64 `json:"amount"`
	// Currency is "VND".
	Currency string `json:"currency"`
	// TransferNote is the transfer content typed by the payer.
	TransferNote string `json:"transferNote"`
	// TransactionID is the bank's transaction id.
	TransactionID string `json:"transactionId"`
	// OccurredAt is when the money arrived.
	OccurredAt time.Time `json:"occurredAt"`
}

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// validate reports every bad field of e.
func (e BankEvent) validate() error {
	var fs []httpx.FieldError
	bad := func(field, code, en, vi string) {
		fs = append(fs, httpx.FieldError{Field: field, Code: code, Message: en, MessageVi: vi})
	}
	if !eventIDPattern.MatchString(e.EventID) {
		bad("eventId", "pattern", "1-128 letters, digits or _.:- required.", "Bắt buộc, 1-128 chữ cái, chữ số hoặc _.:-.")
	}
	if e.Type != BankEventTransferReceived {
		bad("type", "oneof", "Must be transfer.received.", "Phải là transfer.received.")
	}
	if e.Currency != "VND" {
		bad("currency", "oneof", "Must be VND.", "Phải là VND.")
	}
	if e.Amount <= 0 {
		bad("amount", "gt", "Must be a positive whole number of đồng.", "Phải là số đồng nguyên dương.")
	}
	if strings.TrimSpace(e.TransactionID) == "" || len(e.TransactionID) > 128 {
		bad("transactionId", "required", "Required, at most 128 characters.", "Bắt buộc, tối đa 128 ký tự.")
	}
	if e.OccurredAt.IsZero() {
		bad("occurredAt", "required", "Required (RFC 3339).", "Bắt buộc (RFC 3339).")
	}
	if len(e.TransferNote) > 500 || len(e.BankCode) > 32 || len(e.AccountNumber) > 32 {
		bad("transferNote", "max", "Transfer note, bank code or account too long.", "Nội dung chuyển khoản, mã ngân hàng hoặc số tài khoản quá dài.")
	}
	if len(fs) > 0 {
		return httpx.ValidationProblem(fs...)
	}
	return nil
}

// Outcomes of a bank event (BankResult.Status).
const (
	// BankConfirmed means the transfer paid a payment.
	BankConfirmed = "confirmed"
	// BankDuplicate means the event (or its transaction) was processed before.
	BankDuplicate = "duplicate"
	// BankUnmatched means the transfer was recorded for staff.
	BankUnmatched = "unmatched"
)

// Reasons of an Unmatched record.
const (
	// ReasonNoReference means the transfer note holds no payment reference.
	ReasonNoReference = "no_reference"
	// ReasonUnknownReference means no payment has the reference found.
	ReasonUnknownReference = "unknown_reference"
	// ReasonAmountMismatch means the amount differs from the amount due.
	ReasonAmountMismatch = "amount_mismatch"
	// ReasonWrongAccount means the money went to another account.
	ReasonWrongAccount = "wrong_account"
	// ReasonAlreadyPaid means the payment had been paid by another transaction.
	ReasonAlreadyPaid = "already_paid"
	// ReasonDuplicatePayment means the application's fee had been paid by
	// another payment.
	ReasonDuplicatePayment = "duplicate_payment"
)

// BankResult is the answer to a bank webhook call (HTTP 200).
type BankResult struct {
	// EventID echoes the event.
	EventID string `json:"eventId"`
	// Status is confirmed, duplicate or unmatched.
	Status string `json:"status"`
	// Ref is the payment matched, if any.
	Ref string `json:"ref,omitempty"`
	// Reason says why a transfer is unmatched.
	Reason string `json:"reason,omitempty"`
}

// Unmatched is a transfer staff must look at (refund or manual matching),
// stored create-once under payments/unmatched/<id>.json.
type Unmatched struct {
	// ID is the record id (provider-eventId, or duplicate-<ref>).
	ID string `json:"id"`
	// Provider is bank or vnpay.
	Provider string `json:"provider"`
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// Ref is the payment reference found, if any.
	Ref string `json:"ref,omitempty"`
	// ApplicationCode is the application of that payment, if known.
	ApplicationCode string `json:"applicationCode,omitempty"`
	// AmountVND is the amount received.
	AmountVND int64 `json:"amountVND"`
	// ExpectedVND is the amount due, if a payment was found.
	ExpectedVND int64 `json:"expectedVND,omitempty"`
	// EventID is the provider's event id.
	EventID string `json:"eventId,omitempty"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId,omitempty"`
	// BankCode, AccountNumber and TransferNote come from the event.
	BankCode      string `json:"bankCode,omitempty"`
	AccountNumber string `json:"accountNumber,omitempty"`
	TransferNote  string `json:"transferNote,omitempty"`
	// OccurredAt is when the money arrived.
	OccurredAt *time.Time `json:"occurredAt,omitempty"`
	// ReceivedAt is when we recorded it.
	ReceivedAt time.Time `json:"receivedAt"`
	// AuditKey points at the raw callback.
	AuditKey string `json:"auditKey,omitempty"`
}

func (s *Service) recordUnmatched(ctx context.Context, u Unmatched) error {
	_, err := docstore.PutJSON(ctx, s.store, UnmatchedKey(u.ID), u, docstore.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		return fmt.Errorf("record unmatched %s: %w", u.ID, err)
	}
	return nil
}

// eventRecord marks a provider event as seen (create once) and, once
// processed, its outcome.
type eventRecord struct {
	EventID    string     `json:"eventId"`
	BodySHA256 string     `json:"bodySha256"`
	ReceivedAt time.Time  `json:"receivedAt"`
	Result     BankResult `json:"result"`
	Done       bool       `json:"done"`
	AuditKey   string     `json:"auditKey"`
}

// BankWebhook handles one partner-bank webhook call. It stores the call
// before anything is acted on, verifies X-Motcua-Signature against every
// configured secret with the tolerance (ErrBadSignature, 401), decodes and
// validates the event (422), then processes each event id once: a replay
// of a finished event answers "duplicate" with the same ref; the same id
// with another body is ErrEventIDReused (409). The transfer is matched to
// a payment by the reference in its note and by amount and confirms it; a
// transfer that matches nothing, pays the wrong amount, goes to another
// account or pays an already-paid payment is recorded under
// payments/unmatched/ for staff ("unmatched"). Storage faults are returned
// (5xx, the bank retries; the processing is idempotent).
//
// Cost: signature and body are checked in memory first; then three
// independent requests run at once — the audit record's PUT, the event
// record's create-once PUT and the payment's GET. The event record is
// bookkeeping, not an action: it only says the event was seen (Done
// false), so if the audit write fails the call answers 5xx and the bank's
// retry processes the event again. Then one compare-and-swap PUT makes the
// payment paid and the bank is answered; the event's outcome (Done) and
// the payment's follow-up are written in the background (a lost Done only
// means a replay is processed again and answers "duplicate").
func (s *Service) BankWebhook(ctx context.Context, raw RawCallback) (BankResult, error) {
	ev, early := s.checkBankEvent(ctx, raw)
	auditKey, audit, err := s.auditRecord(ProviderBank, raw)
	if err != nil {
		return BankResult{}, err
	}
	sum := sha256.Sum256(raw.Body)
	rec := eventRecord{EventID: ev.EventID, BodySHA256: hex.EncodeToString(sum[:]), ReceivedAt: s.now().UTC(), AuditKey: auditKey}
	key := EventKey(ProviderBank, ev.EventID)
	ref := ""
	if early == nil && s.accountOK(ev) {
		ref = FindRef(ev.TransferNote)
	}
	var (
		wg         sync.WaitGroup
		recTag     string
		recErr     error
		cur        Payment
		etag       string
		gerr       error
		aerr       error
		readRecord = early == nil
	)
	if readRecord {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recTag, recErr = docstore.PutJSON(ctx, s.store, key, rec, docstore.PutOptions{IfNoneMatch: true})
		}()
	}
	if ref != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur, etag, gerr = s.repo.Get(ctx, ref)
		}()
	}
	aerr = s.putAudit(ctx, auditKey, audit)
	wg.Wait()
	if aerr != nil {
		return BankResult{}, aerr
	}
	if early != nil {
		if errors.Is(early, ErrBadSignature) {
			s.log.WarnContext(ctx, "bank webhook refused", "audit_key", auditKey)
		}
		return BankResult{}, early
	}
	if recErr != nil {
		if !errors.Is(recErr, docstore.ErrConflict) {
			return BankResult{}, fmt.Errorf("bank webhook %s: %w", ev.EventID, recErr)
		}
		var old eventRecord
		tag, err := docstore.GetJSON(ctx, s.store, key, &old)
		if err != nil {
			return BankResult{}, fmt.Errorf("bank webhook %s: %w", ev.EventID, err)
		}
		if old.BodySHA256 != rec.BodySHA256 {
			return BankResult{}, ErrEventIDReused
		}
		if old.Done {
			s.log.InfoContext(ctx, "bank webhook replay answered as duplicate", "event_id", ev.EventID)
			return BankResult{EventID: ev.EventID, Status: BankDuplicate, Ref: old.Result.Ref, Reason: old.Result.Reason}, nil
		}
		// Seen but not finished (in flight, or crashed): processing is
		// idempotent, so do it again.
		rec.ReceivedAt, recTag = old.ReceivedAt, tag
	}
	res, err := s.processTransfer(ctx, ev, auditKey, raw.CorrelationID, transferRead{ref: ref, cur: cur, etag: etag, err: gerr})
	if err != nil {
		return BankResult{}, err
	}
	s.follow.submit(ctx, func(ctx context.Context) { s.recordEventDone(ctx, key, rec, recTag, res) })
	s.log.InfoContext(ctx, "bank webhook handled", "event_id", ev.EventID, "status", res.Status, "ref", res.Ref, "reason", res.Reason)
	return res, nil
}

// checkBankEvent does the checks of a bank call that need no storage
// (secrets, signature, JSON, fields) and returns the event, or the error
// to return once the call is stored.
func (s *Service) checkBankEvent(ctx context.Context, raw RawCallback) (BankEvent, error) {
	if s.secrets == nil {
		return BankEvent{}, errors.New("bank webhook: no secrets configured")
	}
	secrets, err := s.secrets()
	if err != nil {
		return BankEvent{}, fmt.Errorf("bank webhook: secrets: %w", err)
	}
	if err := webhook.Verify(raw.Header.Get(webhook.Header), raw.Body, secrets, s.now(), s.cfg.WebhookTolerance); err != nil {
		if errors.Is(err, webhook.ErrNoSecrets) {
			return BankEvent{}, fmt.Errorf("bank webhook: %w", err)
		}
		s.log.WarnContext(ctx, "bank webhook signature refused", "reason", err.Error())
		return BankEvent{}, ErrBadSignature
	}
	var ev BankEvent
	dec := json.NewDecoder(bytes.NewReader(raw.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return BankEvent{}, httpx.BadRequest("malformed_json", "The body is not a bank event: "+jsonErr(err), "Nội dung không phải sự kiện ngân hàng hợp lệ.")
	}
	if err := ev.validate(); err != nil {
		return BankEvent{}, err
	}
	return ev, nil
}

// recordEventDone marks a bank event processed with its result (after the
// answer): a compare-and-swap on the ETag the record was created or read
// with, else a read-modify-write. A failure is only logged: a replay then
// processes the event again, idempotently.
func (s *Service) recordEventDone(ctx context.Context, key string, rec eventRecord, etag string, res BankResult) {
	rec.Done, rec.Result = true, res
	if etag != "" {
		if _, err := docstore.PutJSON(ctx, s.store, key, rec, docstore.PutOptions{IfMatch: etag}); err == nil {
			return
		}
	}
	err := docstore.Update(ctx, s.store, key, &rec, func() error {
		if rec.Done {
			return docstore.ErrUnchanged
		}
		rec.Done, rec.Result = true, res
		return nil
	}, 0)
	if err != nil {
		s.log.WarnContext(ctx, "bank event outcome not recorded", "event_id", rec.EventID, "error", err.Error())
	}
}

// accountOK reports whether ev credits our collecting account (or names
// none).
func (s *Service) accountOK(ev BankEvent) bool {
	c := s.cfg.VietQR
	return c == nil || ev.AccountNumber == "" || ev.AccountNumber == c.AccountNumber
}

// transferRead is the payment read for a transfer alongside the audit
// write: its ref ("" when none was read), the payment and ETag, or the
// read's error.
type transferRead struct {
	ref  string
	cur  Payment
	etag string
	err  error
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}

// processTransfer matches one verified transfer (idempotent per event),
// confirming from the payment already read (rd).
func (s *Service) processTransfer(ctx context.Context, ev BankEvent, auditKey, correlationID string, rd transferRead) (BankResult, error) {
	occurred := ev.OccurredAt.UTC()
	u := Unmatched{
		ID: ProviderBank + "-" + ev.EventID, Provider: ProviderBank, AmountVND: ev.Amount, EventID: ev.EventID,
		TransactionID: ev.TransactionID, BankCode: ev.BankCode, AccountNumber: ev.AccountNumber,
		TransferNote: ev.TransferNote, OccurredAt: &occurred, ReceivedAt: s.now().UTC(), AuditKey: auditKey,
	}
	unmatched := func(reason string) (BankResult, error) {
		u.Reason = reason
		if err := s.recordUnmatched(ctx, u); err != nil {
			return BankResult{}, err
		}
		s.log.WarnContext(ctx, "bank transfer recorded for staff", "event_id", ev.EventID, "reason", reason, "ref", u.Ref)
		return BankResult{EventID: ev.EventID, Status: BankUnmatched, Ref: u.Ref, Reason: reason}, nil
	}
	if !s.accountOK(ev) {
		return unmatched(ReasonWrongAccount)
	}
	ref := rd.ref
	if ref == "" {
		return unmatched(ReasonNoReference)
	}
	u.Ref = ref
	prov := Provider{Name: ProviderBank, TransactionNo: ev.TransactionID, BankCode: ev.BankCode, EventID: ev.EventID, PayDate: &occurred}
	var (
		p   Payment
		err = rd.err
	)
	if err == nil {
		p, err = s.confirmCallback(ctx, Confirmation{Ref: ref, AmountVND: ev.Amount, Provider: prov, PaidAt: occurred, CorrelationID: correlationID}, rd.cur, rd.etag)
	}
	u.ApplicationCode, u.ExpectedVND = p.ApplicationCode, p.AmountVND
	switch {
	case err == nil:
		return BankResult{EventID: ev.EventID, Status: BankConfirmed, Ref: ref}, nil
	case errors.Is(err, ErrNotFound):
		return unmatched(ReasonUnknownReference)
	case errors.Is(err, ErrAmountMismatch):
		return unmatched(ReasonAmountMismatch)
	case errors.Is(err, ErrAlreadyConfirmed):
		if p.Provider != nil && p.Provider.Name == ProviderBank && p.Provider.TransactionNo == ev.TransactionID {
			return BankResult{EventID: ev.EventID, Status: BankDuplicate, Ref: ref}, nil
		}
		return unmatched(ReasonAlreadyPaid)
	default:
		return BankResult{}, err
	}
}
