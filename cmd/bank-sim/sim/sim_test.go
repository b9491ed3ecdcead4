package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"motcua/cmd/bank-sim/sim"
	"motcua/shared/payment"
	"motcua/shared/payment/vietqr"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/webhook"
)

const (
	secret  = "MERCHANTSECRET0123456789"
	tmnCode = "MOTCUA01"
	whSec   = "whsec-test"
)

// callback is what the fake payment-callback received.
type callback struct {
	provider string
	valid    bool // signature checked out
	success  bool
	ref      string
	amount   int64
	stale    bool
}

// fakeCallback is a payment-callback stand-in that checks signatures the
// way the real function does and records what it saw.
type fakeCallback struct {
	mu    sync.Mutex
	calls []callback
}

func (f *fakeCallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/function/payment-callback" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	c := callback{provider: q.Get("provider")}
	switch c.provider {
	case "vnpay":
		q.Del("provider")
		err := vnpay.Verify(secret, q)
		c.valid = err == nil
		n, _ := vnpay.ParseIPN(q)
		c.success, c.ref, c.amount = n.Success(), n.TxnRef, n.AmountVND
		w.Write(vnpay.ReplyFor(err).Body())
	case "bank":
		body, _ := io.ReadAll(r.Body)
		err := webhook.Verify(r.Header.Get(webhook.Header), body, [][]byte{[]byte(whSec)}, time.Now(), 0)
		c.valid = err == nil
		c.stale = errors.Is(err, webhook.ErrStaleTimestamp)
		var ev payment.BankEvent
		_ = json.Unmarshal(body, &ev)
		c.success, c.ref, c.amount = ev.Type == payment.BankEventTransferReceived, payment.FindRef(ev.TransferNote), ev.Amount
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

func newBank(t *testing.T, gw string) *sim.Bank {
	t.Helper()
	return sim.New(sim.Config{GatewayURL: gw, HashSecret: secret, TmnCode: tmnCode,
		WebhookSecret: []byte(whSec), LedgerFile: filepath.Join(t.TempDir(), "ledger.jsonl")})
}

func paymentURL(t *testing.T, ref string, amount int64, created time.Time) string {
	t.Helper()
	u, err := vnpay.BuildPaymentURL(
		vnpay.Config{TmnCode: tmnCode, HashSecret: secret, ReturnURL: "http://127.0.0.1:8080/return"},
		vnpay.Payment{TxnRef: ref, AmountVND: amount, OrderInfo: "Lệ phí hồ sơ " + ref, IPAddr: "127.0.0.1", CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPayVNPay_modes(t *testing.T) {
	tests := []struct {
		mode sim.Mode
		want []callback // valid, success, amount (ref filled in)
	}{
		{sim.ModeOK, []callback{{valid: true, success: true, amount: 50000}}},
		{sim.ModeBadSignature, []callback{{valid: false, success: true, amount: 50000}}},
		{sim.ModeWrongAmount, []callback{{valid: true, success: true, amount: 49000}}},
		{sim.ModeDuplicate, []callback{{valid: true, success: true, amount: 50000}, {valid: true, success: true, amount: 50000}}},
		{sim.ModeReplayStale, []callback{{valid: true, success: true, amount: 50000}, {valid: true, success: true, amount: 50000}}},
		{sim.ModeLateFailure, []callback{{valid: true, success: true, amount: 50000}, {valid: true, success: false, amount: 50000}}},
		{sim.ModeFailure, []callback{{valid: true, success: false, amount: 50000}}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			fc := &fakeCallback{}
			gw := httptest.NewServer(fc)
			defer gw.Close()
			bank := newBank(t, gw.URL)
			ref := "PAY-" + string(tc.mode)
			res, err := bank.PayVNPay(context.Background(), paymentURL(t, ref, 50000, time.Now()), tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Deliveries) != len(tc.want) || len(fc.calls) != len(tc.want) {
				t.Fatalf("deliveries %+v, calls %+v; want %d", res.Deliveries, fc.calls, len(tc.want))
			}
			for i, w := range tc.want {
				w.provider, w.ref = "vnpay", ref
				if fc.calls[i] != w {
					t.Errorf("call %d = %+v, want %+v", i, fc.calls[i], w)
				}
				if res.Deliveries[i].Status != http.StatusOK || res.Deliveries[i].RspCode == "" {
					t.Errorf("delivery %d = %+v", i, res.Deliveries[i])
				}
			}
			if err := bank.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPayVNPay_refuses_bad_urls(t *testing.T) {
	bank := newBank(t, "http://127.0.0.1:1")
	good := paymentURL(t, "PAY1", 50000, time.Now())
	tests := []struct {
		name string
		url  string
	}{
		{"tampered_amount", replaceParam(t, good, "vnp_Amount", "100")},
		{"no_signature", replaceParam(t, good, vnpay.ParamSecureHash, "")},
		{"expired", paymentURL(t, "PAY2", 50000, time.Now().Add(-time.Hour))},
		{"not_a_url", "::::"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bank.PayVNPay(context.Background(), tc.url, sim.ModeOK)
			if !errors.Is(err, sim.ErrBadPaymentURL) {
				t.Fatalf("err = %v, want ErrBadPaymentURL", err)
			}
		})
	}
}

func replaceParam(t *testing.T, raw, k, v string) string {
	t.Helper()
	i := len("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?")
	q, err := url.ParseQuery(raw[i:])
	if err != nil {
		t.Fatal(err)
	}
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	return raw[:i] + q.Encode()
}

func TestPayVietQR_modes(t *testing.T) {
	payload, err := vietqr.Build(vietqr.Payload{BankBIN: "970436", AccountNumber: "0011001234567", AmountVND: 30000, Reference: "MCABCDEFGHIJKL"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode sim.Mode
		want []callback
	}{
		{sim.ModeOK, []callback{{valid: true, success: true, amount: 30000}}},
		{sim.ModeBadSignature, []callback{{valid: false, success: true, amount: 30000}}},
		{sim.ModeWrongAmount, []callback{{valid: true, success: true, amount: 29000}}},
		{sim.ModeDuplicate, []callback{{valid: true, success: true, amount: 30000}, {valid: true, success: true, amount: 30000}}},
		{sim.ModeReplayStale, []callback{{valid: true, success: true, amount: 30000}, {valid: false, success: true, amount: 30000, stale: true}}},
		{sim.ModeLateFailure, []callback{{valid: true, success: true, amount: 30000}, {valid: true, success: false, amount: 30000}}},
		{sim.ModeFailure, []callback{{valid: true, success: true, amount: 30000, ref: "-"}}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			fc := &fakeCallback{}
			gw := httptest.NewServer(fc)
			defer gw.Close()
			res, err := newBank(t, gw.URL).PayVietQR(context.Background(), payload, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Deliveries) != len(tc.want) || len(fc.calls) != len(tc.want) {
				t.Fatalf("deliveries %+v, calls %+v", res.Deliveries, fc.calls)
			}
			for i, w := range tc.want {
				w.provider = "bank"
				if w.ref == "-" {
					w.ref = "" // the note lost the reference
				} else {
					w.ref = "MCABCDEFGHIJKL"
				}
				if fc.calls[i] != w {
					t.Errorf("call %d = %+v, want %+v", i, fc.calls[i], w)
				}
			}
		})
	}
}

func TestQueryHandler_answers_from_shared_ledger(t *testing.T) {
	fc := &fakeCallback{}
	gw := httptest.NewServer(fc)
	defer gw.Close()
	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	cfg := sim.Config{GatewayURL: gw.URL, HashSecret: secret, TmnCode: tmnCode, LedgerFile: ledger}
	payer := sim.New(cfg)
	created := time.Now()
	if _, err := payer.PayVNPay(context.Background(), paymentURL(t, "PAID1", 70000, created), sim.ModeOK); err != nil {
		t.Fatal(err)
	}
	payer.Record("LOST1", 20000, true)
	payer.Record("FAIL1", 20000, false)

	// A separate process (bank-sim serve) reads the same ledger file.
	srv := httptest.NewServer(sim.New(cfg).QueryHandler())
	defer srv.Close()
	qc, err := vnpay.NewQueryClient(vnpay.Config{TmnCode: tmnCode, HashSecret: secret, APIURL: srv.URL}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref      string
		wantPaid bool
		wantErr  error
		amount   int64
	}{
		{"PAID1", true, nil, 70000},
		{"LOST1", true, nil, 20000},
		{"FAIL1", false, nil, 20000},
		{"NEVER", false, vnpay.ErrTransactionNotFound, 0},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			r, err := qc.QueryStatus(context.Background(), vnpay.Query{TxnRef: tc.ref, TransactionDate: created, IPAddr: "127.0.0.1"})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if r.Paid() != tc.wantPaid || r.AmountVND != tc.amount {
				t.Fatalf("result %+v, want paid=%v amount=%d", r, tc.wantPaid, tc.amount)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range sim.Modes {
		if got, err := sim.ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := sim.ParseMode("sideways"); !errors.Is(err, sim.ErrBadMode) {
		t.Errorf("err = %v, want ErrBadMode", err)
	}
}

// A post that never reached the merchant records nothing: the retry pays,
// and a further retry (even from another process sharing the ledger) sends
// the notification again with the same transaction number instead of
// paying twice.
func TestPayVNPay_failed_post_is_not_recorded_and_retries_pay_once(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // nothing listens there any more
	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	cfg := sim.Config{GatewayURL: downURL, HashSecret: secret, TmnCode: tmnCode, LedgerFile: ledger,
		HTTP: &http.Client{Timeout: 2 * time.Second}}
	ref := "MCRETRYAAAAAAA"
	u := paymentURL(t, ref, 70000, time.Now())
	if _, err := sim.New(cfg).PayVNPay(context.Background(), u, sim.ModeOK); err == nil {
		t.Fatal("a post to a closed gateway succeeded")
	}
	if b, err := os.ReadFile(ledger); err == nil && len(bytes.TrimSpace(b)) > 0 {
		t.Fatalf("a payment whose notification failed is in the ledger: %s", b)
	}
	fc := &fakeCallback{}
	gw := httptest.NewServer(fc)
	defer gw.Close()
	cfg.GatewayURL = gw.URL
	first, err := sim.New(cfg).PayVNPay(context.Background(), u, sim.ModeOK)
	if err != nil {
		t.Fatal(err)
	}
	again := sim.New(cfg) // another bank-sim run: reads the ledger
	if err := again.LoadLedger(); err != nil {
		t.Fatal(err)
	}
	second, err := again.PayVNPay(context.Background(), u, sim.ModeOK)
	if err != nil {
		t.Fatal(err)
	}
	if second.TransactionNo != first.TransactionNo {
		t.Fatalf("the retry paid again: transaction %s, then %s", first.TransactionNo, second.TransactionNo)
	}
	b, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(bytes.TrimSpace(b), []byte("\n")) + 1; n != 1 {
		t.Fatalf("ledger has %d lines, want 1:\n%s", n, b)
	}
	if len(fc.calls) != 2 || !fc.calls[0].valid || !fc.calls[1].valid {
		t.Fatalf("calls = %+v, want the same valid notification twice", fc.calls)
	}
}
