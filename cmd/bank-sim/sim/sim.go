// Package sim plays a partner bank for local use, tests and the benchmark:
// it reads a VNPAY payment URL (checking its signature) or a VietQR payload,
// "pays" it, records the payment in an in-memory ledger, and posts the
// callback the bank would send to motcua's payment-callback function through
// the gateway — correctly signed, or deliberately wrong (bad signature, wrong
// amount, duplicate, stale replay, late failure, failure). The ledger answers
// VNPAY querydr requests (QueryHandler) so reconciliation can ask it.
//
// A Bank is safe for concurrent use.
package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"motcua/shared/payment"
	"motcua/shared/payment/vietqr"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/vnpay/vnpaytest"
	"motcua/shared/payment/webhook"
)

// DefaultGatewayURL is the local gateway the callbacks go to.
const DefaultGatewayURL = "http://127.0.0.1:8080"

// CallbackFunction is the function receiving bank callbacks.
const CallbackFunction = "payment-callback"

// Mode says how the simulated bank behaves.
type Mode string

// The modes of PayVNPay and PayVietQR.
const (
	// ModeOK pays and sends one correctly signed success callback.
	ModeOK Mode = "ok"
	// ModeBadSignature sends a success callback whose signature is wrong
	// (signed with another secret); nothing is recorded as paid.
	ModeBadSignature Mode = "bad-signature"
	// ModeWrongAmount pays and reports an amount 1,000 đồng lower than asked.
	ModeWrongAmount Mode = "wrong-amount"
	// ModeDuplicate sends the same success callback twice.
	ModeDuplicate Mode = "duplicate"
	// ModeReplayStale sends the success callback, then replays it: for the
	// bank webhook the replay is re-signed with a timestamp ten minutes old
	// (outside the 300 s tolerance); for VNPAY (no timestamp) it is the
	// identical IPN again.
	ModeReplayStale Mode = "replay-stale"
	// ModeLateFailure sends the success callback, then a failure callback
	// for the same payment (which must never un-pay it); for the bank
	// webhook the failure is a "transfer.reversed" event.
	ModeLateFailure Mode = "late-failure"
	// ModeFailure sends one correctly signed failure callback (VNPAY: a
	// cancelled payment; bank webhook: a transfer whose note lost the
	// reference, which must be kept for staff).
	ModeFailure Mode = "failure"
)

// Modes lists every mode, in documentation order.
var Modes = []Mode{ModeOK, ModeBadSignature, ModeWrongAmount, ModeDuplicate, ModeReplayStale, ModeLateFailure, ModeFailure}

// ErrBadMode means a mode name is not one of Modes.
var ErrBadMode = errors.New("sim: unknown mode")

// ErrBadPaymentURL means a payment URL is malformed or its signature does
// not verify with the merchant secret.
var ErrBadPaymentURL = errors.New("sim: bad payment url")

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w %q (want one of %v)", ErrBadMode, s, Modes)
}

// Config configures a Bank.
type Config struct {
	// GatewayURL is the gateway base URL; DefaultGatewayURL when empty.
	GatewayURL string
	// TmnCode is the merchant terminal the querydr handler answers for.
	// PayVNPay uses the vnp_TmnCode of the URL it pays.
	TmnCode string
	// HashSecret is the VNPAY merchant secret (payment URL check, IPN and
	// querydr signatures).
	HashSecret string
	// WebhookSecret signs bank webhooks (the first line of
	// bank-webhook-secrets).
	WebhookSecret []byte
	// HTTP sends the callbacks; a client with a 30 s timeout when nil.
	HTTP *http.Client
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// LedgerFile, when set, keeps the ledger as JSON lines in this file so
	// that separate bank-sim processes (pay-vnpay, then serve) share it:
	// every recorded transaction is appended, and QueryHandler reloads it.
	LedgerFile string
}

// Bank is a simulated partner bank. Safe for concurrent use.
type Bank struct {
	cfg    Config
	ledger *vnpaytest.Bank
	seq    atomic.Int64
	prefix string

	mu        sync.Mutex
	transfers map[string]payment.BankEvent // by reference, latest successful
	paid      map[string]vnpaytest.Txn     // VNPAY orders paid, by TxnRef
	fileErr   error                        // last ledger-file write error
}

// New returns a Bank for cfg.
func New(cfg Config) *Bank {
	if cfg.GatewayURL == "" {
		cfg.GatewayURL = DefaultGatewayURL
	}
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var p [3]byte
	_, _ = rand.Read(p[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return &Bank{
		cfg:       cfg,
		ledger:    vnpaytest.NewBank(cfg.HashSecret, cfg.TmnCode),
		prefix:    strings.ToUpper(hex.EncodeToString(p[:])),
		transfers: map[string]payment.BankEvent{},
		paid:      map[string]vnpaytest.Txn{},
	}
}

// paidBefore returns the successful transaction of an order already paid.
func (b *Bank) paidBefore(txnRef string) (vnpaytest.Txn, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.paid[txnRef]
	return t, ok
}

// CallbackURL is the payment-callback URL for provider ("vnpay" or "bank").
func (b *Bank) CallbackURL(provider string) string {
	return b.cfg.GatewayURL + "/function/" + CallbackFunction + "?provider=" + url.QueryEscape(provider)
}

// nextTxnNo returns a fresh bank transaction number (digits only, as VNPAY's).
func (b *Bank) nextTxnNo() string {
	return fmt.Sprintf("%d%08d", 14000000+b.cfg.Now().Unix()%1000000, b.seq.Add(1))
}

// nextEventID returns a fresh webhook event id.
func (b *Bank) nextEventID() string {
	return fmt.Sprintf("evt-%s-%d", b.prefix, b.seq.Add(1))
}

// Order is a VNPAY payment request read from a payment URL.
type Order struct {
	// TmnCode is the merchant terminal (vnp_TmnCode).
	TmnCode string
	// TxnRef is the merchant's payment reference (vnp_TxnRef).
	TxnRef string
	// AmountVND is the amount asked, in đồng.
	AmountVND int64
	// OrderInfo is vnp_OrderInfo.
	OrderInfo string
	// CreatedAt is vnp_CreateDate.
	CreatedAt time.Time
	// ExpireAt is vnp_ExpireDate (zero when absent).
	ExpireAt time.Time
}

// ParsePaymentURL reads a VNPAY 2.1.0 payment URL, verifies its
// vnp_SecureHash with secret and returns the order. Errors wrap
// ErrBadPaymentURL (and vnpay.ErrBadSignature for a signature mismatch).
func ParsePaymentURL(raw, secret string) (Order, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Order{}, fmt.Errorf("%w: %v", ErrBadPaymentURL, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Order{}, fmt.Errorf("%w: query: %v", ErrBadPaymentURL, err)
	}
	if err := vnpay.Verify(secret, q); err != nil {
		return Order{}, fmt.Errorf("%w: %w", ErrBadPaymentURL, err)
	}
	if q.Get("vnp_Command") != "pay" || q.Get("vnp_Version") != vnpay.Version || q.Get("vnp_CurrCode") != vnpay.CurrencyVND {
		return Order{}, fmt.Errorf("%w: not a VNPAY %s pay command in VND", ErrBadPaymentURL, vnpay.Version)
	}
	o := Order{TmnCode: q.Get("vnp_TmnCode"), TxnRef: q.Get("vnp_TxnRef"), OrderInfo: q.Get("vnp_OrderInfo")}
	if o.TxnRef == "" || o.TmnCode == "" {
		return Order{}, fmt.Errorf("%w: vnp_TxnRef and vnp_TmnCode are required", ErrBadPaymentURL)
	}
	amt, err := strconv.ParseInt(q.Get("vnp_Amount"), 10, 64)
	if err != nil || amt <= 0 || amt%100 != 0 {
		return Order{}, fmt.Errorf("%w: vnp_Amount %q is not đồng × 100", ErrBadPaymentURL, q.Get("vnp_Amount"))
	}
	o.AmountVND = amt / 100
	if o.CreatedAt, err = vnpay.ParseDate(q.Get("vnp_CreateDate")); err != nil {
		return Order{}, fmt.Errorf("%w: vnp_CreateDate: %v", ErrBadPaymentURL, err)
	}
	if s := q.Get("vnp_ExpireDate"); s != "" {
		if o.ExpireAt, err = vnpay.ParseDate(s); err != nil {
			return Order{}, fmt.Errorf("%w: vnp_ExpireDate: %v", ErrBadPaymentURL, err)
		}
	}
	return o, nil
}

// Delivery is one callback the bank posted and what it got back.
type Delivery struct {
	// What says which callback this was ("success", "duplicate", ...).
	What string `json:"what"`
	// Status is the HTTP status of the answer.
	Status int `json:"status"`
	// Body is the answer body.
	Body string `json:"body"`
	// RspCode is the VNPAY RspCode of the answer (IPN only).
	RspCode string `json:"rsp_code,omitempty"`
}

// Result is what one Pay call did.
type Result struct {
	// Mode is the mode played.
	Mode Mode `json:"mode"`
	// Reference is the payment reference paid.
	Reference string `json:"reference"`
	// AmountVND is the amount the bank reported.
	AmountVND int64 `json:"amount_vnd"`
	// TransactionNo is the bank's transaction number.
	TransactionNo string `json:"transaction_no"`
	// Deliveries are the callbacks posted, in order.
	Deliveries []Delivery `json:"deliveries"`
}

// IPN returns the signed IPN query for a payment of ref: success or not,
// amountVND reported, the bank's transaction number txnNo. secret empty
// means the Bank's HashSecret.
func (b *Bank) IPN(tmnCode, ref, orderInfo string, amountVND int64, txnNo string, success bool, secret string) url.Values {
	if secret == "" {
		secret = b.cfg.HashSecret
	}
	resp, code := vnpay.CodeSuccess, vnpay.CodeSuccess
	if !success {
		resp, code = "24", "02" // cancelled by the customer; transaction error
	}
	q := url.Values{}
	q.Set("vnp_TmnCode", tmnCode)
	q.Set("vnp_TxnRef", ref)
	q.Set("vnp_Amount", strconv.FormatInt(amountVND*100, 10))
	q.Set("vnp_OrderInfo", orderInfo)
	q.Set("vnp_ResponseCode", resp)
	q.Set("vnp_TransactionStatus", code)
	q.Set("vnp_TransactionNo", txnNo)
	q.Set("vnp_BankCode", "NCB")
	q.Set("vnp_BankTranNo", "VNP"+txnNo)
	q.Set("vnp_CardType", "ATM")
	q.Set("vnp_PayDate", vnpay.FormatDate(b.cfg.Now()))
	q.Set(vnpay.ParamSecureHash, vnpay.Sign(secret, vnpay.HashData(q)))
	return q
}

// PostIPN sends the IPN GET to payment-callback through the gateway.
func (b *Bank) PostIPN(ctx context.Context, what string, q url.Values) (Delivery, error) {
	d, err := b.send(ctx, what, http.MethodGet, b.CallbackURL("vnpay")+"&"+q.Encode(), nil, nil)
	if err != nil {
		return d, err
	}
	var reply vnpay.IPNReply
	if json.Unmarshal([]byte(d.Body), &reply) == nil {
		d.RspCode = reply.RspCode
	}
	return d, nil
}

// send performs one HTTP request and reads the answer.
func (b *Bank) send(ctx context.Context, what, method, u string, body []byte, hdr http.Header) (Delivery, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return Delivery{What: what}, fmt.Errorf("%s callback: %w", what, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := b.cfg.HTTP.Do(req)
	if err != nil {
		return Delivery{What: what}, fmt.Errorf("%s callback: %w", what, err)
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return Delivery{What: what, Status: res.StatusCode}, fmt.Errorf("%s callback: read answer: %w", what, err)
	}
	return Delivery{What: what, Status: res.StatusCode, Body: string(rb)}, nil
}

// PayVNPay plays mode on the VNPAY payment URL raw: it verifies the URL
// with the merchant secret, records the payment in the ledger (unless the
// mode is bad-signature or failure, which record a failed transaction or
// nothing) and posts the IPN(s) through the gateway.
func (b *Bank) PayVNPay(ctx context.Context, raw string, mode Mode) (Result, error) {
	if _, err := ParseMode(string(mode)); err != nil {
		return Result{}, err
	}
	o, err := ParsePaymentURL(raw, b.cfg.HashSecret)
	if err != nil {
		return Result{}, err
	}
	if !o.ExpireAt.IsZero() && b.cfg.Now().After(o.ExpireAt) {
		return Result{}, fmt.Errorf("%w: payment URL expired at %s", ErrBadPaymentURL, o.ExpireAt.Format(time.RFC3339))
	}
	return b.PayOrder(ctx, o, mode)
}

// PayOrder is PayVNPay for an order already parsed (the benchmark's path).
//
// The bank records a payment in its ledger only once the merchant got the
// notification (an HTTP answer, whatever it says): a post that fails on the
// way (gateway down, timeout) records nothing, so the retry pays. An order
// already paid (this process, or an earlier one through the LedgerFile) is
// not paid again: its IPN is sent again with the same transaction number,
// as a bank re-sends a notification.
func (b *Bank) PayOrder(ctx context.Context, o Order, mode Mode) (Result, error) {
	res := Result{Mode: mode, Reference: o.TxnRef, AmountVND: o.AmountVND, TransactionNo: b.nextTxnNo()}
	if mode == ModeWrongAmount {
		res.AmountVND = o.AmountVND - 1000
	}
	txn := vnpaytest.Txn{TxnRef: o.TxnRef, AmountVND: res.AmountVND, OrderInfo: o.OrderInfo,
		ResponseCode: vnpay.CodeSuccess, TransactionStatus: vnpay.CodeSuccess,
		TransactionNo: res.TransactionNo, PayDate: b.cfg.Now()}
	alreadyPaid := false
	if prev, ok := b.paidBefore(o.TxnRef); ok && mode != ModeBadSignature && mode != ModeFailure {
		txn, alreadyPaid = prev, true
		res.AmountVND, res.TransactionNo = prev.AmountVND, prev.TransactionNo
	}
	success := b.IPN(o.TmnCode, o.TxnRef, o.OrderInfo, res.AmountVND, res.TransactionNo, true, "")
	post := func(what string, q url.Values) error {
		d, err := b.PostIPN(ctx, what, q)
		res.Deliveries = append(res.Deliveries, d)
		return err
	}
	switch mode {
	case ModeBadSignature:
		return res, post("bad-signature", b.IPN(o.TmnCode, o.TxnRef, o.OrderInfo, res.AmountVND, res.TransactionNo, true, "not-the-merchant-secret"))
	case ModeFailure:
		txn.ResponseCode, txn.TransactionStatus = "24", "02"
		if err := post("failure", b.IPN(o.TmnCode, o.TxnRef, o.OrderInfo, res.AmountVND, res.TransactionNo, false, "")); err != nil {
			return res, err
		}
		b.record(txn)
		return res, nil
	}
	if err := post("success", success); err != nil {
		return res, err // not delivered: not recorded, a retry pays
	}
	if !alreadyPaid {
		b.record(txn)
	}
	switch mode {
	case ModeDuplicate:
		return res, post("duplicate", success)
	case ModeReplayStale:
		return res, post("replay", success)
	case ModeLateFailure:
		return res, post("late-failure", b.IPN(o.TmnCode, o.TxnRef, o.OrderInfo, res.AmountVND, res.TransactionNo, false, ""))
	}
	return res, nil
}

// Record adds a transaction to the ledger directly, as if paid (or failed)
// outside any callback — e.g. a payment whose IPN was lost, for
// reconciliation tests.
func (b *Bank) Record(ref string, amountVND int64, success bool) string {
	no := b.nextTxnNo()
	t := vnpaytest.Txn{TxnRef: ref, AmountVND: amountVND, ResponseCode: vnpay.CodeSuccess,
		TransactionStatus: vnpay.CodeSuccess, TransactionNo: no, PayDate: b.cfg.Now()}
	if !success {
		t.ResponseCode, t.TransactionStatus = "24", "02"
	}
	b.record(t)
	return no
}

// record adds t to the ledger and, with a LedgerFile, appends it there.
func (b *Bank) record(t vnpaytest.Txn) {
	b.remember(t)
	b.ledger.Record(t)
	if b.cfg.LedgerFile == "" {
		return
	}
	line, err := json.Marshal(t)
	if err == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		err = appendLine(b.cfg.LedgerFile, line)
	}
	if err != nil {
		b.fileErr = fmt.Errorf("ledger file: %w", err)
	}
}

// Err returns the last error writing the ledger file, if any.
func (b *Bank) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fileErr
}

// appendLine appends line and a newline to the file at path.
func appendLine(path string, line []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadLedger (re)reads the LedgerFile into the in-memory ledger; a missing
// file is an empty ledger.
func (b *Bank) LoadLedger() error {
	if b.cfg.LedgerFile == "" {
		return nil
	}
	raw, err := os.ReadFile(b.cfg.LedgerFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var t vnpaytest.Txn
		if err := json.Unmarshal(line, &t); err != nil {
			return fmt.Errorf("ledger %s line %d: %w", b.cfg.LedgerFile, i+1, err)
		}
		b.remember(t)
		b.ledger.Record(t)
	}
	return nil
}

// remember notes a successful VNPAY transaction as its order's payment.
func (b *Bank) remember(t vnpaytest.Txn) {
	if t.ResponseCode != vnpay.CodeSuccess || t.TransactionStatus != vnpay.CodeSuccess {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.paid[t.TxnRef] = t
}

// QueryHandler answers VNPAY querydr POSTs from the ledger, as VNPAY does
// (request signature checked, answer signed; 91 for an unknown reference).
// With a LedgerFile it reloads the file before each answer.
func (b *Bank) QueryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := b.LoadLedger(); err != nil {
			http.Error(w, "ledger unavailable", http.StatusInternalServerError)
			return
		}
		b.ledger.ServeHTTP(w, r)
	})
}

// Queries returns the querydr requests answered so far.
func (b *Bank) Queries() []vnpay.QueryRequest { return b.ledger.Queries() }

// EventReversed is the type the late-failure mode sends for a VietQR
// transfer: the protocol knows only payment.BankEventTransferReceived, so
// it must be refused and must never un-pay anything.
const EventReversed = "transfer.reversed"

// PostWebhook signs body with the webhook secret at t (or with secret when
// not nil) and POSTs it to payment-callback?provider=bank.
func (b *Bank) PostWebhook(ctx context.Context, what string, body []byte, t time.Time, secret []byte) (Delivery, error) {
	if secret == nil {
		secret = b.cfg.WebhookSecret
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set(webhook.Header, webhook.Sign(secret, t, body))
	return b.send(ctx, what, http.MethodPost, b.CallbackURL("bank"), body, hdr)
}

// PayVietQR plays mode on the VietQR payload: it parses it, "transfers" the
// amount to the account with the reference as the note and posts the signed
// bank webhook(s) through the gateway.
func (b *Bank) PayVietQR(ctx context.Context, payload string, mode Mode) (Result, error) {
	if _, err := ParseMode(string(mode)); err != nil {
		return Result{}, err
	}
	if len(b.cfg.WebhookSecret) == 0 {
		return Result{}, errors.New("sim: no webhook secret configured")
	}
	p, err := vietqr.Parse(strings.TrimSpace(payload))
	if err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	if p.AmountVND <= 0 || p.Reference == "" {
		return Result{}, errors.New("sim: the VietQR payload carries no amount or no reference")
	}
	now := b.cfg.Now()
	tr := payment.BankEvent{EventID: b.nextEventID(), Type: payment.BankEventTransferReceived,
		BankCode: p.BankBIN, AccountNumber: p.AccountNumber, Amount: p.AmountVND, Currency: "VND",
		TransferNote: "CK " + p.Reference + " le phi ho so", TransactionID: "FT" + b.nextTxnNo(),
		OccurredAt: now.UTC().Truncate(time.Second)}
	if mode == ModeWrongAmount {
		tr.Amount -= 1000
	}
	res := Result{Mode: mode, Reference: p.Reference, AmountVND: tr.Amount, TransactionNo: tr.TransactionID}
	post := func(what string, ev payment.BankEvent, t time.Time, secret []byte) error {
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode bank event: %w", err)
		}
		d, err := b.PostWebhook(ctx, what, body, t, secret)
		res.Deliveries = append(res.Deliveries, d)
		return err
	}
	switch mode {
	case ModeBadSignature:
		return res, post("bad-signature", tr, now, []byte("not-the-webhook-secret"))
	case ModeFailure:
		// A transfer cannot fail after the fact; what goes wrong is a
		// payer who mistypes the note: money with no reference, which
		// must be kept for staff.
		tr.TransferNote = "chuyen tien le phi"
		return res, post("failure", tr, now, nil)
	}
	b.mu.Lock()
	b.transfers[p.Reference] = tr
	b.mu.Unlock()
	if err := post("success", tr, now, nil); err != nil {
		return res, err
	}
	switch mode {
	case ModeDuplicate:
		return res, post("duplicate", tr, now, nil)
	case ModeReplayStale:
		return res, post("replay-stale", tr, now.Add(-10*time.Minute), nil)
	case ModeLateFailure:
		late := tr
		late.EventID, late.Type = b.nextEventID(), EventReversed
		return res, post("late-failure", late, now, nil)
	}
	return res, nil
}

// Transfers returns the successful VietQR transfers made so far.
func (b *Bank) Transfers() []payment.BankEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]payment.BankEvent, 0, len(b.transfers))
	for _, t := range b.transfers {
		out = append(out, t)
	}
	return out
}
