package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/webhook"
)

// vnpayIPN posts one IPN and waits for its background follow-up.
func (e *env) vnpayIPN(q url.Values) vnpay.IPNReply {
	r := e.svc.VNPayIPN(context.Background(), payment.RawCallback{Method: http.MethodGet, Query: q})
	e.settle()
	return r
}

// failingStore fails every Put under a prefix.
type failingStore struct {
	docstore.Store
	prefix string
}

func (f failingStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if strings.HasPrefix(key, f.prefix) {
		return "", errors.New("injected store failure")
	}
	return f.Store.Put(ctx, key, body, opts)
}

func TestVNPayIPN_every_RspCode(t *testing.T) {
	tests := []struct {
		name  string
		query func(p payment.Payment) url.Values
		// before runs callbacks first (state set-up).
		before    func(e *env, p payment.Payment)
		broken    bool
		wantCode  string
		wantState payment.State
	}{
		{name: "success_00", query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "14000001", hashSecret) },
			wantCode: "00", wantState: payment.StatePaid},
		{name: "bad_signature_97", query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "1", "wrong-secret") },
			wantCode: "97", wantState: payment.StatePending},
		{name: "missing_signature_97", query: func(p payment.Payment) url.Values {
			q := ipn(p.Ref, p.AmountVND, "00", "00", "1", hashSecret)
			q.Del(vnpay.ParamSecureHash)
			return q
		}, wantCode: "97", wantState: payment.StatePending},
		{name: "tampered_amount_97", query: func(p payment.Payment) url.Values {
			q := ipn(p.Ref, p.AmountVND, "00", "00", "1", hashSecret)
			q.Set("vnp_Amount", "100")
			return q
		}, wantCode: "97", wantState: payment.StatePending},
		{name: "unknown_order_01", query: func(p payment.Payment) url.Values {
			return ipn("MCZZZZZZZZZZZZ", p.AmountVND, "00", "00", "1", hashSecret)
		},
			wantCode: "01", wantState: payment.StatePending},
		{name: "invalid_amount_04", query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND-1000, "00", "00", "1", hashSecret) },
			wantCode: "04", wantState: payment.StatePending},
		{name: "already_confirmed_02", before: func(e *env, p payment.Payment) {
			e.vnpayIPN(ipn(p.Ref, p.AmountVND, "00", "00", "14000001", hashSecret))
		}, query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "14000001", hashSecret) },
			wantCode: "02", wantState: payment.StatePaid},
		{name: "failure_marks_failed_00", query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "24", "02", "0", hashSecret) },
			wantCode: "00", wantState: payment.StateFailed},
		{name: "late_failure_after_success_02_stays_paid", before: func(e *env, p payment.Payment) {
			e.vnpayIPN(ipn(p.Ref, p.AmountVND, "00", "00", "14000001", hashSecret))
		}, query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "99", "02", "0", hashSecret) },
			wantCode: "02", wantState: payment.StatePaid},
		{name: "success_after_failure_00_paid", before: func(e *env, p payment.Payment) {
			e.vnpayIPN(ipn(p.Ref, p.AmountVND, "24", "02", "0", hashSecret))
		}, query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "14000002", hashSecret) },
			wantCode: "00", wantState: payment.StatePaid},
		{name: "response_00_status_not_00_is_failure", query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "01", "0", hashSecret) },
			wantCode: "00", wantState: payment.StateFailed},
		// With the audit prefix unwritable, a call that would change
		// nothing is answered 99 (VNPAY retries until it is stored); a call
		// that pays is stored on the payment's timeline in the same write
		// (Attempt.Callback), so it is answered 00.
		{name: "audit_store_down_refused_call_99", broken: true, query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "1", "wrong-secret") },
			wantCode: "99", wantState: payment.StatePending},
		{name: "audit_store_down_unknown_order_99", broken: true, query: func(p payment.Payment) url.Values {
			return ipn("MCZZZZZZZZZZZZ", p.AmountVND, "00", "00", "1", hashSecret)
		}, wantCode: "99", wantState: payment.StatePending},
		{name: "audit_store_down_payment_stored_on_payment_00", broken: true, query: func(p payment.Payment) url.Values { return ipn(p.Ref, p.AmountVND, "00", "00", "1", hashSecret) },
			wantCode: "00", wantState: payment.StatePaid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.addApp(t, "STP-260302-0100", application.StatusAwaitingPayment)
			p := e.pay(t, a.Code, payment.MethodVNPay)
			if tc.before != nil {
				tc.before(e, p)
			}
			svc := e.svc
			if tc.broken {
				var err error
				svc, err = payment.NewService(payment.Deps{Store: failingStore{e.store, payment.AuditPrefix}, Publisher: e.q, Log: quiet}, e.cfg)
				if err != nil {
					t.Fatal(err)
				}
			}
			reply := svc.VNPayIPN(context.Background(), payment.RawCallback{Method: http.MethodGet, Query: tc.query(p)})
			if err := svc.WaitFollowUps(context.Background()); err != nil {
				t.Fatal(err)
			}
			if reply.RspCode != tc.wantCode {
				t.Fatalf("RspCode = %s (%s), want %s", reply.RspCode, reply.Message, tc.wantCode)
			}
			got := e.payment(t, p.Ref)
			if got.State != tc.wantState {
				t.Fatalf("state = %s, want %s", got.State, tc.wantState)
			}
			// The call that changed the payment is stored on its timeline
			// entry, its signature redacted.
			if last := got.Timeline[len(got.Timeline)-1]; tc.wantCode == "00" {
				if last.Callback == nil || last.Callback.Provider != payment.ProviderVNPay || last.Callback.Query["vnp_TxnRef"][0] != p.Ref ||
					last.Callback.Query[vnpay.ParamSecureHash][0] != payment.Redacted {
					t.Fatalf("timeline entry %+v does not carry the redacted call", last)
				}
			}
			app := e.app(t, a.Code)
			paid := tc.wantState == payment.StatePaid
			if (app.Fee.PaymentState == application.PaymentPaid) != paid {
				t.Fatalf("application fee state = %s, payment paid = %v", app.Fee.PaymentState, paid)
			}
			if paid && (app.Status != application.StatusProcessing || app.Fee.PaymentRef != p.Ref || app.Fee.PaidAt == nil) {
				t.Fatalf("application after payment: status %s fee %+v", app.Status, app.Fee)
			}
			wantEvents := 0
			if paid {
				wantEvents = 1
			}
			if n := len(e.q.Published(eventsQueue)); n != wantEvents {
				t.Fatalf("%d events published, want %d", n, wantEvents)
			}
		})
	}
	// The exact bodies VNPAY expects.
	for code, body := range map[string]string{
		"00": `{"RspCode":"00","Message":"Confirm Success"}`, "01": `{"RspCode":"01","Message":"Order not found"}`,
		"02": `{"RspCode":"02","Message":"Order already confirmed"}`, "04": `{"RspCode":"04","Message":"Invalid amount"}`,
		"97": `{"RspCode":"97","Message":"Invalid signature"}`, "99": `{"RspCode":"99","Message":"Unknow error"}`,
	} {
		var r vnpay.IPNReply
		switch code {
		case "00":
			r = vnpay.ReplyConfirmSuccess
		case "01":
			r = vnpay.ReplyOrderNotFound
		case "02":
			r = vnpay.ReplyOrderAlreadyConfirmed
		case "04":
			r = vnpay.ReplyInvalidAmount
		case "97":
			r = vnpay.ReplyInvalidSignature
		case "99":
			r = vnpay.ReplyUnknownError
		}
		if string(r.Body()) != body {
			t.Errorf("reply %s body = %s, want %s", code, r.Body(), body)
		}
	}
}

func TestVNPayIPN_50_concurrent_duplicates_pay_once_one_event(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0200", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)
	q := ipn(p.Ref, p.AmountVND, "00", "00", "14000009", hashSecret)
	const n = 50
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq := url.Values{}
			for k, v := range q {
				qq[k] = append([]string(nil), v...)
			}
			codes[i] = e.vnpayIPN(qq).RspCode
		}()
	}
	wg.Wait()
	e.settle()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["00"] != 1 || count["02"] != n-1 {
		t.Fatalf("replies = %v, want one 00 and %d 02", count, n-1)
	}
	events := e.q.Published(eventsQueue)
	if len(events) != 1 || events[0].Type != payment.EventConfirmed {
		t.Fatalf("events = %+v, want one payment.confirmed", events)
	}
	var pl payment.ConfirmedPayload
	if err := json.Unmarshal(events[0].Payload, &pl); err != nil {
		t.Fatal(err)
	}
	if pl.Ref != p.Ref || pl.ApplicationCode != a.Code || pl.AmountVND != p.AmountVND || pl.Method != payment.MethodVNPay || pl.ProviderTxn != "14000009" || pl.PaidAt.IsZero() {
		t.Fatalf("payload = %+v", pl)
	}
	got := e.payment(t, p.Ref)
	paidEntries := 0
	for _, at := range got.Timeline {
		if at.State == payment.StatePaid {
			paidEntries++
		}
	}
	if got.State != payment.StatePaid || !got.Applied || paidEntries != 1 {
		t.Fatalf("payment = state %s applied %v paid entries %d", got.State, got.Applied, paidEntries)
	}
	app := e.app(t, a.Code)
	sys := 0
	for _, ev := range app.Timeline {
		if ev.Actor == application.ActorSystem {
			sys++
			if ev.EventID != events[0].ID {
				t.Fatalf("timeline event id %s, event %s", ev.EventID, events[0].ID)
			}
		}
	}
	if sys != 1 || app.Status != application.StatusProcessing {
		t.Fatalf("application: %d system entries, status %s", sys, app.Status)
	}
	if left := e.keys(t, application.OutboxPrefix); len(left) != 0 {
		t.Fatalf("outbox markers left: %v", left)
	}
	// A new pay-fee call now answers "already paid".
	if _, _, err := e.svc.Pay(context.Background(), payment.PayInput{Code: a.Code, PIN: testPIN, Method: payment.MethodVNPay}); !errors.Is(err, payment.ErrAlreadyPaid) {
		t.Fatalf("pay after payment: %v, want ErrAlreadyPaid", err)
	}
}

// signedBank returns a bank webhook call for ev signed with secrets at t.
func signedBank(t *testing.T, ev map[string]any, at time.Time, secrets ...[]byte) payment.RawCallback {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.Header, webhook.SignAll(secrets, at, body))
	h.Set("Authorization", "Bearer bank-token")
	h.Set("Content-Type", "application/json")
	return payment.RawCallback{Method: http.MethodPost, Query: url.Values{"provider": {"bank"}}, Header: h, Body: body}
}

func transfer(id, note string, amount int64) map[string]any {
	return map[string]any{
		"eventId": id, "type": "transfer.received", "bankCode": "VCB", "accountNumber": bankAccount,
		"amount": amount, "currency": "VND", "transferNote": note, "transactionId": "FT" + id,
		"occurredAt": "2026-03-02T08:15:00+07:00",
	}
}

func TestBankWebhook(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0300", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVietQR)
	ctx := context.Background()
	now := e.clock.Now()

	type want struct {
		status, reason string
		err            error
	}
	steps := []struct {
		name string
		call payment.RawCallback
		want want
	}{
		{"stale_signature_refused", signedBank(t, transfer("ev-0", p.Ref, p.AmountVND), now.Add(-301*time.Second), newSecret), want{err: payment.ErrBadSignature}},
		{"future_signature_refused", signedBank(t, transfer("ev-0", p.Ref, p.AmountVND), now.Add(301*time.Second), newSecret), want{err: payment.ErrBadSignature}},
		{"unknown_secret_refused", signedBank(t, transfer("ev-0", p.Ref, p.AmountVND), now, []byte("attacker")), want{err: payment.ErrBadSignature}},
		{"wrong_amount_recorded", signedBank(t, transfer("ev-1", "CK "+p.Ref, p.AmountVND-1), now, newSecret), want{status: payment.BankUnmatched, reason: payment.ReasonAmountMismatch}},
		{"no_reference_recorded", signedBank(t, transfer("ev-2", "le phi ho so", p.AmountVND), now, newSecret), want{status: payment.BankUnmatched, reason: payment.ReasonNoReference}},
		{"unknown_reference_recorded", signedBank(t, transfer("ev-3", "MCZZZZZZZZZZZZ", p.AmountVND), now, newSecret), want{status: payment.BankUnmatched, reason: payment.ReasonUnknownReference}},
		{"old_secret_during_rotation_confirms", signedBank(t, transfer("ev-4", "IBFT "+strings.ToLower(p.Ref)+" NGUYEN VAN A", p.AmountVND), now.Add(-299*time.Second), oldSecret), want{status: payment.BankConfirmed}},
		{"replay_is_duplicate", signedBank(t, transfer("ev-4", "IBFT "+strings.ToLower(p.Ref)+" NGUYEN VAN A", p.AmountVND), now, newSecret, oldSecret), want{status: payment.BankDuplicate}},
		{"same_id_other_body_conflict", signedBank(t, transfer("ev-4", p.Ref, p.AmountVND+5), now, newSecret), want{err: payment.ErrEventIDReused}},
		{"second_transfer_for_paid_ref_recorded", signedBank(t, transfer("ev-5", p.Ref, p.AmountVND), now, newSecret), want{status: payment.BankUnmatched, reason: payment.ReasonAlreadyPaid}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res, err := e.svc.BankWebhook(ctx, st.call)
			e.settle()
			if st.want.err != nil {
				if !errors.Is(err, st.want.err) {
					t.Fatalf("err = %v, want %v", err, st.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != st.want.status || res.Reason != st.want.reason {
				t.Fatalf("result = %+v, want %+v", res, st.want)
			}
			if st.want.status == payment.BankUnmatched {
				var u payment.Unmatched
				if _, err := docstore.GetJSON(ctx, e.store, payment.UnmatchedKey("bank-"+res.EventID), &u); err != nil {
					t.Fatalf("unmatched transfer not recorded: %v", err)
				}
				if u.Reason != st.want.reason || u.AuditKey == "" || u.AmountVND == 0 {
					t.Fatalf("unmatched record = %+v", u)
				}
			}
		})
	}
	if got := e.payment(t, p.Ref); got.State != payment.StatePaid || got.Provider.TransactionNo != "FTev-4" {
		t.Fatalf("payment = %s %+v", got.State, got.Provider)
	}
	if n := len(e.q.Published(eventsQueue)); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if app := e.app(t, a.Code); app.Fee.PaymentState != application.PaymentPaid || app.Fee.PaymentMethod != "vietqr" {
		t.Fatalf("application fee = %+v", app.Fee)
	}
}

func TestBankWebhook_50_concurrent_identical_events(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0400", application.StatusSubmitted)
	p := e.pay(t, a.Code, payment.MethodVietQR)
	call := signedBank(t, transfer("ev-conc", p.Ref, p.AmountVND), e.clock.Now(), newSecret)
	const n = 50
	statuses := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.svc.BankWebhook(context.Background(), call)
			statuses[i], errs[i] = res.Status, err
		}()
	}
	wg.Wait()
	e.settle()
	count := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		count[statuses[i]]++
	}
	if count[payment.BankConfirmed] != 1 || count[payment.BankDuplicate] != n-1 {
		t.Fatalf("statuses = %v", count)
	}
	if got := len(e.q.Published(eventsQueue)); got != 1 {
		t.Fatalf("%d events, want 1", got)
	}
	app := e.app(t, a.Code)
	if app.Fee.PaymentState != application.PaymentPaid || app.Status != application.StatusSubmitted {
		t.Fatalf("application = %s %+v (paid at submission keeps its status)", app.Status, app.Fee)
	}
}

func TestCallbacks_stored_raw_with_secrets_redacted(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0500", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)
	q := ipn(p.Ref, p.AmountVND, "00", "00", "777", hashSecret)
	sig := q.Get(vnpay.ParamSecureHash)
	e.vnpayIPN(q)
	e.vnpayIPN(ipn(p.Ref, p.AmountVND, "00", "00", "777", "forged")) // invalid ones are stored too
	call := signedBank(t, transfer("ev-audit", "no ref", 1000), e.clock.Now(), newSecret)
	bankSig := call.Header.Get(webhook.Header)
	if _, err := e.svc.BankWebhook(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	keys := e.keys(t, payment.AuditPrefix)
	if len(keys) != 3 {
		t.Fatalf("audit records = %v, want 3", keys)
	}
	day := e.clock.Now().Format("2006/01/02")
	providers := map[string]int{}
	for _, k := range keys {
		if !strings.HasPrefix(k, payment.AuditPrefix+day+"/") {
			t.Fatalf("audit key %s not under %s", k, day)
		}
		obj, err := e.store.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		raw := string(obj.Body)
		if strings.Contains(raw, sig) || strings.Contains(raw, bankSig) || strings.Contains(raw, "bank-token") {
			t.Fatalf("secret material stored in %s: %s", k, raw)
		}
		var rec payment.AuditRecord
		if err := json.Unmarshal(obj.Body, &rec); err != nil {
			t.Fatal(err)
		}
		providers[rec.Provider]++
		switch rec.Provider {
		case payment.ProviderVNPay:
			if rec.Query[vnpay.ParamSecureHash][0] != payment.Redacted || rec.Query["vnp_TxnRef"][0] != p.Ref {
				t.Fatalf("vnpay audit query = %v", rec.Query)
			}
		case payment.ProviderBank:
			if rec.Headers[webhook.Header][0] != payment.Redacted || rec.Headers["Authorization"][0] != payment.Redacted || !strings.Contains(rec.Body, "ev-audit") {
				t.Fatalf("bank audit = %+v", rec)
			}
		}
	}
	if providers[payment.ProviderVNPay] != 2 || providers[payment.ProviderBank] != 1 {
		t.Fatalf("providers = %v", providers)
	}
}

func TestFinish_repairs_a_crash_after_the_payment_write(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0600", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)
	// The publish fails: the bank gets 00 (the payment is paid, durably),
	// the application is updated, and the payment stays a to-do (Applied
	// false) that Finish (reconciliation) completes with one event.
	e.q.FailNextPublish(errors.New("sqs down"))
	if r := e.vnpayIPN(ipn(p.Ref, p.AmountVND, "00", "00", "1", hashSecret)); r.RspCode != "00" {
		t.Fatalf("RspCode %s", r.RspCode)
	}
	if n := len(e.q.Published(eventsQueue)); n != 0 {
		t.Fatalf("%d events published through a failing queue", n)
	}
	if got := e.payment(t, p.Ref); got.State != payment.StatePaid || got.Applied {
		t.Fatalf("payment %s applied=%v, want paid and not applied", got.State, got.Applied)
	}
	if err := e.svc.Finish(context.Background(), p.Ref); err != nil {
		t.Fatal(err)
	}
	if n := len(e.q.Published(eventsQueue)); n != 1 || !e.payment(t, p.Ref).Applied {
		t.Fatalf("after Finish: %d events, applied %v", n, e.payment(t, p.Ref).Applied)
	}
	if app := e.app(t, a.Code); app.Fee.PaymentState != application.PaymentPaid {
		t.Fatalf("application fee %s", app.Fee.PaymentState)
	}

	// A crash right after the payment write (application not updated):
	// a duplicate callback after the grace period, or Finish, completes it.
	b := e.addApp(t, "STP-260302-0601", application.StatusAwaitingPayment)
	pb := e.pay(t, b.Code, payment.MethodVNPay)
	_, err := e.svc.Repository().Update(context.Background(), pb.Ref, func(x *payment.Payment) error {
		env, err := newConfirmEvent(*x)
		if err != nil {
			return err
		}
		at := e.clock.Now()
		x.State, x.PaidAt, x.ConfirmEvent = payment.StatePaid, &at, &env
		x.Provider = &payment.Provider{Name: payment.ProviderVNPay, TransactionNo: "2"}
		x.Timeline = append(x.Timeline, payment.Attempt{At: at, State: payment.StatePaid, Source: "vnpay"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dup := ipn(pb.Ref, pb.AmountVND, "00", "00", "2", hashSecret)
	if r := e.vnpayIPN(dup); r.RspCode != "02" || e.app(t, b.Code).Fee.PaymentState == application.PaymentPaid {
		t.Fatalf("within grace: %s, fee %s (the confirming request still owns the follow-up)", r.RspCode, e.app(t, b.Code).Fee.PaymentState)
	}
	e.clock.Advance(time.Minute)
	if r := e.vnpayIPN(dup); r.RspCode != "02" {
		t.Fatalf("RspCode %s", r.RspCode)
	}
	if app := e.app(t, b.Code); app.Fee.PaymentState != application.PaymentPaid || app.Status != application.StatusProcessing {
		t.Fatalf("not repaired: %s %+v", app.Status, app.Fee)
	}
	if err := e.svc.Finish(context.Background(), pb.Ref); err != nil {
		t.Fatal(err)
	}
	if n := len(e.q.Published(eventsQueue)); n != 2 {
		t.Fatalf("%d events, want 2 (one per payment)", n)
	}
}

func newConfirmEvent(p payment.Payment) (qenv, error) {
	return newEnvelope(payment.EventConfirmed, payment.ConfirmedPayload{Ref: p.Ref, ApplicationCode: p.ApplicationCode, AmountVND: p.AmountVND, Method: p.Method, PaidAt: time.Now().UTC()})
}

func TestSecondPaymentOfAPaidApplication_is_reported_for_refund(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0700", application.StatusAwaitingPayment)
	first := e.pay(t, a.Code, payment.MethodVietQR)
	e.clock.Advance(20 * time.Minute)
	second := e.pay(t, a.Code, payment.MethodVietQR)
	// Both transfers arrive: the late one for the expired payment too.
	for i, p := range []payment.Payment{second, first} {
		res, err := e.svc.BankWebhook(context.Background(), signedBank(t, transfer(fmt.Sprintf("ev-r%d", i), p.Ref, p.AmountVND), e.clock.Now(), newSecret))
		e.settle()
		if err != nil || res.Status != payment.BankConfirmed {
			t.Fatalf("transfer %d: %+v %v", i, res, err)
		}
	}
	if got := e.payment(t, first.Ref); !got.Duplicate || got.State != payment.StatePaid {
		t.Fatalf("late payment = %s duplicate=%v", got.State, got.Duplicate)
	}
	var u payment.Unmatched
	if _, err := docstore.GetJSON(context.Background(), e.store, payment.UnmatchedKey("duplicate-"+first.Ref), &u); err != nil || u.Reason != payment.ReasonDuplicatePayment {
		t.Fatalf("duplicate not reported: %+v %v", u, err)
	}
	if app := e.app(t, a.Code); app.Fee.PaymentRef != second.Ref {
		t.Fatalf("fee paid by %s, want %s", app.Fee.PaymentRef, second.Ref)
	}
	if n := len(e.q.Published(eventsQueue)); n != 1 {
		t.Fatalf("%d events, want 1 (one receipt per fee)", n)
	}
}
