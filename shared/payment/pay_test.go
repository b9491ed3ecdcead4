package payment_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/payment"
	"motcua/shared/payment/vietqr"
	"motcua/shared/payment/vnpay"
)

func TestPay_one_active_payment_under_20_concurrent_calls(t *testing.T) {
	e := newEnv(t)
	e.addApp(t, "STP-260302-0001", application.StatusAwaitingPayment)
	const n = 20
	refs := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, c, err := e.svc.Pay(context.Background(), payment.PayInput{Code: "STP-260302-0001", PIN: testPIN, Method: payment.MethodVNPay})
			refs[i], created[i], errs[i] = p.Ref, c, err
		}()
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if refs[i] != refs[0] {
			t.Fatalf("call %d got ref %s, call 0 got %s", i, refs[i], refs[0])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d calls report a new payment, want 1", nCreated)
	}
	var docs []string
	for _, k := range e.keys(t, payment.Prefix) {
		if !strings.Contains(k[len(payment.Prefix):], "/") {
			docs = append(docs, k)
		}
	}
	ref0, _ := payment.ParseRef(refs[0])
	if len(docs) != 1 || docs[0] != payment.Key(ref0) {
		t.Fatalf("payment documents = %v, want only %s (losers' drafts deleted)", docs, payment.Key(ref0))
	}
}

func TestPay_amount_comes_from_the_catalog_fee(t *testing.T) {
	e := newEnv(t)
	e.addApp(t, "STP-260302-0002", application.StatusSubmitted)
	p := e.pay(t, "STP-260302-0002", payment.MethodVNPay)
	want := *procedure().Fee.OnlineAmountVND
	if p.AmountVND != want {
		t.Fatalf("amount = %d, want the online fee %d", p.AmountVND, want)
	}
	u, err := url.Parse(p.PayURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if err := vnpay.Verify(hashSecret, q); err != nil {
		t.Fatalf("payment url signature: %v", err)
	}
	for k, v := range map[string]string{
		"vnp_Amount": "15000000", "vnp_TxnRef": p.Ref, "vnp_TmnCode": tmnCode, "vnp_Command": "pay",
		"vnp_CurrCode": "VND", "vnp_Version": "2.1.0", "vnp_IpAddr": "203.0.113.7",
		"vnp_ExpireDate": vnpay.FormatDate(p.ExpiresAt), "vnp_CreateDate": vnpay.FormatDate(p.CreatedAt),
	} {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !payment.ValidRef(p.Ref) || len(p.Ref) > 20 {
		t.Fatalf("ref %q is not a short payment reference", p.Ref)
	}

	e.addApp(t, "STP-260302-0003", application.StatusSubmitted)
	qr := e.pay(t, "STP-260302-0003", payment.MethodVietQR)
	pl, err := vietqr.Parse(qr.QR.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if pl.AmountVND != want || pl.Reference != qr.Ref || pl.BankBIN != "970436" || pl.AccountNumber != bankAccount {
		t.Fatalf("vietqr payload = %+v", pl)
	}
	if png, err := payment.QRPNG(qr, 0); err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Fatalf("qr png: %v (%d bytes)", err, len(png))
	}
}

func TestPay_errors(t *testing.T) {
	e := newEnv(t)
	e.addApp(t, "PAID-260302-0001", application.StatusProcessing, func(a *application.Application) {
		a.Fee.PaymentState, a.Fee.PaymentRef = application.PaymentPaid, "MCAAAAAAAAAAAA"
	})
	e.addApp(t, "FREE-260302-0001", application.StatusSubmitted, func(a *application.Application) {
		a.Fee = application.Fee{AmountVND: 0, Kind: "free", PaymentState: application.PaymentNotRequired}
	})
	e.addApp(t, "CANC-260302-0001", application.StatusCancelled)
	e.addApp(t, "OK-260302-0001", application.StatusAwaitingPayment)
	e.pay(t, "OK-260302-0001", payment.MethodVietQR)
	tests := []struct {
		name   string
		code   string
		pin    string
		method payment.Method
		want   error
		status int
	}{
		{"wrong_pin", "OK-260302-0001", "87654321", payment.MethodVNPay, application.ErrWrongPIN, 404},
		{"unknown_code", "NOPE-260302-0001", testPIN, payment.MethodVNPay, application.ErrWrongPIN, 404},
		{"already_paid", "PAID-260302-0001", testPIN, payment.MethodVNPay, payment.ErrAlreadyPaid, 409},
		{"free_procedure", "FREE-260302-0001", testPIN, payment.MethodVNPay, payment.ErrNotRequired, 409},
		{"cancelled_application", "CANC-260302-0001", testPIN, payment.MethodVNPay, payment.ErrNotPayable, 409},
		{"other_method_pending", "OK-260302-0001", testPIN, payment.MethodVNPay, payment.ErrInProgress, 409},
		{"unknown_method", "OK-260302-0001", testPIN, "cash", payment.ErrMethodUnavailable, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.Pay(context.Background(), payment.PayInput{Code: tc.code, PIN: tc.pin, Method: tc.method})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var coded interface{ StatusCode() int }
			if !errors.As(err, &coded) || coded.StatusCode() != tc.status {
				t.Fatalf("status of %v is not %d", err, tc.status)
			}
		})
	}
}

func TestPay_returns_pending_then_replaces_expired_and_failed(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0010", application.StatusAwaitingPayment)
	first := e.pay(t, a.Code, payment.MethodVNPay)
	e.clock.Advance(5 * time.Minute)
	if again := e.pay(t, a.Code, payment.MethodVNPay); again.Ref != first.Ref {
		t.Fatalf("still-valid payment not returned: %s vs %s", again.Ref, first.Ref)
	}
	e.clock.Advance(11 * time.Minute) // past the 15 min TTL
	second, created, err := e.svc.Pay(context.Background(), payment.PayInput{Code: a.Code, PIN: testPIN, Method: payment.MethodVietQR})
	if err != nil || !created || second.Ref == first.Ref {
		t.Fatalf("expired payment not replaced: %v created=%v ref=%s", err, created, second.Ref)
	}
	if got := e.payment(t, first.Ref).State; got != payment.StateExpired {
		t.Fatalf("old payment state = %s, want expired", got)
	}
	// A failed payment is replaced too.
	if _, err := e.svc.Fail(context.Background(), second.Ref, second.AmountVND, payment.ProviderBank, "XX", "test"); err != nil {
		t.Fatal(err)
	}
	third := e.pay(t, a.Code, payment.MethodVietQR)
	if third.Ref == second.Ref {
		t.Fatal("failed payment not replaced")
	}
	m, _, err := e.svc.Repository().Active(context.Background(), a.ID())
	if err != nil || m.Ref != third.Ref {
		t.Fatalf("active marker = %+v, %v; want %s", m, err, third.Ref)
	}
	// Look-up by ref and PIN; a wrong PIN looks like an unknown ref.
	got, err := e.svc.Lookup(context.Background(), first.Ref, testPIN, "")
	if err != nil || got.State != payment.StateExpired {
		t.Fatalf("lookup = %+v, %v", got.State, err)
	}
	for _, tc := range []struct{ ref, pin string }{{first.Ref, "00000000"}, {"MCZZZZZZZZZZZZ", testPIN}} {
		if _, err := e.svc.Lookup(context.Background(), tc.ref, tc.pin, ""); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("lookup %s/%s: %v, want ErrNotFound", tc.ref, tc.pin, err)
		}
	}
	// A malformed reference never reaches storage: 400 naming ref.
	for _, bad := range []string{"x", "../MCZZZZZZZZZZZZ", "MC%2FZZZZZZZZZZ", "MCZZZZZZZZZZZZ/..", "ＭCZZZZZZZZZZZZ"} {
		if _, err := e.svc.Lookup(context.Background(), bad, testPIN, ""); !errors.Is(err, citizenguard.ErrInvalidID) {
			t.Fatalf("lookup %q: %v, want ErrInvalidID", bad, err)
		}
	}
}

func TestFindRef(t *testing.T) {
	tests := []struct{ name, note, want string }{
		{"exact", "MCABCDEFGH2345", "MCABCDEFGH2345"},
		{"lower_case_with_words", "chuyen tien mcabcdefgh2345 le phi", "MCABCDEFGH2345"},
		{"bank_prefix", "IBFT MCABCDEFGH2345-NGUYEN VAN A", "MCABCDEFGH2345"},
		{"spaces_inserted", "MC ABCD EFGH 2345", "MCABCDEFGH2345"},
		{"none", "tien le phi ho so", ""},
		{"too_short", "MCABC", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := payment.FindRef(tc.note); got != tc.want {
				t.Fatalf("FindRef(%q) = %q, want %q", tc.note, got, tc.want)
			}
		})
	}
}
