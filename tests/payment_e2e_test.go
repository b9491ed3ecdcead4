package e2e

// End-to-end payments through the real local stack: an application is
// filed and moved to awaiting_payment by staff, pay-fee creates the payment,
// the bank simulator (motcua/cmd/bank-sim/sim) pays and posts the signed
// callbacks to payment-callback through the gateway, and reconciliation
// (motcua/shared/reconcile) runs on a settlement file and on stale pending
// payments against the same S3 and SQS the functions use.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/cmd/bank-sim/sim"
	"motcua/cmd/motcua-local/app"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/queue"
	"motcua/shared/reconcile"
	"motcua/shared/staffauth/stafftest"
)

const (
	// payProcedure is T.TP.001 (Sở Tư pháp): 100,000 đồng online.
	payProcedure = "T.TP.001"
	payAgency    = "STP"
	payFee       = 100000
	payTmnCode   = "MOTCUA01"
	payEvents    = "payment-events"
	// eventsTap receives a copy of every event and is consumed by no
	// function: tests count events there.
	eventsTap = "events-tap"
)

// payStack is the started stack with the secrets the test chose.
type payStack struct {
	a          *app.App
	gw         string
	hashSecret string
	whNew      []byte // first line of bank-webhook-secrets
	whOld      []byte // second line (rotation)
	staff      string // Authorization header of an STP officer
	secretsDir string // the stack's secrets folder
}

func startPayStack(t *testing.T) *payStack {
	t.Helper()
	secrets := t.TempDir()
	s := &payStack{hashSecret: "e2e-vnpay-hash-secret-0123456789", whNew: []byte("e2e-bank-secret-new"), whOld: []byte("e2e-bank-secret-old")}
	for name, val := range map[string]string{
		payment.SecretVNPayTmnCode:    payTmnCode,
		payment.SecretVNPayHashSecret: s.hashSecret,
		payment.SecretBankWebhook:     string(s.whNew) + "\n" + string(s.whOld) + "\n",
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(val), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := startApp(t, app.Config{RepoRoot: repoRoot(t), SecretsDir: secrets})
	for _, fn := range []string{"pay-fee", "payment-callback", "submit-application", "process-application", "application-status"} {
		found := false
		for _, f := range a.Functions() {
			found = found || f.Name == fn
		}
		if !found {
			t.Fatalf("function %s is not in stack.yml", fn)
		}
	}
	tok := stafftest.Token(t, stafftest.LoadSigner(t, secrets), "officer-pay-e2e", payAgency)
	s.a, s.gw, s.staff, s.secretsDir = a, a.GatewayURL(), "Bearer "+tok, secrets
	return s
}

// postJSON posts v to a function and decodes a 2xx answer into out.
func (s *payStack) postJSON(t *testing.T, fn string, v, out any, hdr ...string) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	code, _, b := do(t, http.MethodPost, s.gw+"/function/"+fn, bytes.NewReader(body), append([]string{"Content-Type", "application/json"}, hdr...)...)
	if out != nil && code/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s answer %s: %v", fn, b, err)
		}
	}
	return code, b
}

// awaitingPayment files an application of payProcedure and has staff move
// it to awaiting_payment; it returns the code and PIN.
func (s *payStack) awaitingPayment(t *testing.T, who string) (string, string) {
	t.Helper()
	in := map[string]any{
		"procedureCode": payProcedure,
		"applicant": map[string]any{
			"kind": "person", "name": "Trần Văn " + who, "idNumber": "001190123456", "dateOfBirth": "1990-05-17",
			"phone": "0912 345 678", "email": "tv@example.vn", "address": "Số 1 phố Huế, Hà Nội",
		},
		"form": map[string]any{
			"hoTenNguoiYeuCau": "Trần Văn " + who, "soCCCDNguoiYeuCau": "001190123456", "soDienThoai": "0912345678",
			"loaiPhieu": "Phiếu số 1", "soLuongPhieu": 1, "mucDich": "Bổ sung hồ sơ xin việc", "ngaySinh": "1990-05-17",
		},
		"documents": []map[string]any{{"code": "TK", "fileName": "to-khai.pdf", "contentType": "application/pdf", "size": 2048}},
	}
	var sub application.SubmitResult
	if code, b := s.postJSON(t, "submit-application", in, &sub); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	if sub.Fee.AmountVND != payFee {
		t.Fatalf("fee %+v, want %d", sub.Fee, payFee)
	}
	for _, act := range []string{"receive", "start", "require_payment"} {
		code, b := s.postJSON(t, "process-application", map[string]any{"code": sub.Code, "action": act, "note": "e2e thanh toán"}, nil, "Authorization", s.staff)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", act, code, b)
		}
	}
	if st := s.appStatus(t, sub.Code, sub.PIN); st.Status != application.StatusAwaitingPayment {
		t.Fatalf("status %s, want awaiting_payment", st.Status)
	}
	return sub.Code, sub.PIN
}

// payAppView is the part of application-status the payment test checks.
type payAppView struct {
	Status application.Status `json:"status"`
	Fee    struct {
		PaymentState string `json:"paymentState"`
	} `json:"fee"`
	Timeline []struct {
		Step application.Status `json:"step"`
		Note string             `json:"note"`
	} `json:"timeline"`
}

func (s *payStack) appStatus(t *testing.T, code, pin string) payAppView {
	t.Helper()
	var v payAppView
	if c, b := s.postJSON(t, "application-status", map[string]string{"code": code, "pin": pin}, &v); c != http.StatusOK {
		t.Fatalf("application-status: %d %s", c, b)
	}
	return v
}

// appPaid waits (up to 10 s) for the application to record its paid
// fee: payment-callback answers the bank as soon as the payment is paid
// and records it on the application right after, in the background.
func (s *payStack) appPaid(t *testing.T, code, pin string) payAppView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := s.appStatus(t, code, pin)
		if v.Status != application.StatusAwaitingPayment && v.Fee.PaymentState == application.PaymentPaid || time.Now().After(deadline) {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pay creates a payment with pay-fee.
func (s *payStack) pay(t *testing.T, code, pin string, m payment.Method) payment.View {
	t.Helper()
	var v payment.View
	c, b := s.postJSON(t, "pay-fee", map[string]any{"code": code, "pin": pin, "method": m}, &v)
	if c != http.StatusCreated || v.Ref == "" || v.AmountVND != payFee || v.State != payment.StatePending {
		t.Fatalf("pay-fee %s: %d %s", m, c, b)
	}
	return v
}

// paymentState looks a payment up through pay-fee.
func (s *payStack) paymentState(t *testing.T, ref, pin string) payment.State {
	t.Helper()
	var v payment.View
	if c, b := s.postJSON(t, "pay-fee", map[string]any{"action": "status", "ref": ref, "pin": pin}, &v); c != http.StatusOK {
		t.Fatalf("payment status: %d %s", c, b)
	}
	return v.State
}

// confirmedEvents drains events-tap (the fan-out copy of every event
// family that no function consumes; issue-receipt consumes payment-events
// itself) and returns the distinct payment.confirmed event ids per
// payment ref.
func (s *payStack) confirmedEvents(t *testing.T, seen map[string]map[string]bool) {
	t.Helper()
	c := queue.NewConsumer(s.a.SQS())
	ctx := context.Background()
	from := eventsTap
	for empty := 0; empty < 2; {
		msgs, err := c.Receive(ctx, from, 10, time.Second)
		if err != nil {
			t.Fatalf("receive %s: %v", from, err)
		}
		if len(msgs) == 0 {
			empty++
			continue
		}
		for _, m := range msgs {
			env, err := m.Envelope()
			if err != nil {
				t.Fatalf("bad message on %s: %v", from, err)
			}
			if env.Type == payment.EventConfirmed {
				var p payment.ConfirmedPayload
				if err := json.Unmarshal(env.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if seen[p.Ref] == nil {
					seen[p.Ref] = map[string]bool{}
				}
				seen[p.Ref][env.ID] = true
			}
			if err := c.Delete(ctx, from, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestPayments_through_the_gateway_with_the_bank_simulator(t *testing.T) {
	s := startPayStack(t)
	ctx := context.Background()
	bank := sim.New(sim.Config{GatewayURL: s.gw, HashSecret: s.hashSecret, TmnCode: payTmnCode, WebhookSecret: s.whNew})
	events := map[string]map[string]bool{}

	// VNPAY: forged, then paid with a duplicate, then a late failure.
	codeA, pinA := s.awaitingPayment(t, "A")
	payA := s.pay(t, codeA, pinA, payment.MethodVNPay)
	t.Run("vnpay_wrong_signature_changes_nothing", func(t *testing.T) {
		res, err := bank.PayVNPay(ctx, payA.PayURL, sim.ModeBadSignature)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deliveries[0].RspCode != "97" {
			t.Fatalf("deliveries %+v, want RspCode 97", res.Deliveries)
		}
		if st := s.paymentState(t, payA.Ref, pinA); st != payment.StatePending {
			t.Fatalf("payment %s after a forged IPN", st)
		}
		if v := s.appStatus(t, codeA, pinA); v.Status != application.StatusAwaitingPayment {
			t.Fatalf("application %s after a forged IPN", v.Status)
		}
	})
	t.Run("vnpay_paid_once_and_duplicate_answered_02", func(t *testing.T) {
		res, err := bank.PayVNPay(ctx, payA.PayURL, sim.ModeDuplicate)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Deliveries) != 2 || res.Deliveries[0].RspCode != "00" || res.Deliveries[1].RspCode != "02" {
			t.Fatalf("deliveries %+v, want 00 then 02", res.Deliveries)
		}
		if st := s.paymentState(t, payA.Ref, pinA); st != payment.StatePaid {
			t.Fatalf("payment %s, want paid", st)
		}
		v := s.appPaid(t, codeA, pinA)
		if v.Status == application.StatusAwaitingPayment || v.Fee.PaymentState != application.PaymentPaid {
			t.Fatalf("application %s fee %s, want out of awaiting_payment and paid", v.Status, v.Fee.PaymentState)
		}
	})
	t.Run("vnpay_late_failure_never_unpays", func(t *testing.T) {
		q := bank.IPN(payTmnCode, payA.Ref, "late", payFee, "99999", false, "")
		d, err := bank.PostIPN(ctx, "late-failure", q)
		if err != nil {
			t.Fatal(err)
		}
		if d.RspCode != "02" {
			t.Fatalf("late failure answered %+v, want 02", d)
		}
		if st := s.paymentState(t, payA.Ref, pinA); st != payment.StatePaid {
			t.Fatalf("payment %s after a late failure", st)
		}
	})
	t.Run("paying_a_paid_application_again_is_refused", func(t *testing.T) {
		c, b := s.postJSON(t, "pay-fee", map[string]any{"code": codeA, "pin": pinA, "method": "vnpay"}, nil)
		if c != http.StatusConflict || !strings.Contains(string(b), "already_paid") {
			t.Fatalf("second payment: %d %s", c, b)
		}
	})

	// The same IPN delivered 50 times at once: paid once, one 00.
	codeH, pinH := s.awaitingPayment(t, "H")
	payH := s.pay(t, codeH, pinH, payment.MethodVNPay)
	t.Run("vnpay_same_ipn_50_times_at_once_pays_once", func(t *testing.T) {
		q := bank.IPN(payTmnCode, payH.Ref, "race", payFee, "777001", true, "")
		replies := make(chan string, 50)
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := bank.PostIPN(ctx, "race", q)
				if err != nil {
					t.Error(err)
				}
				replies <- d.RspCode
			}()
		}
		wg.Wait()
		close(replies)
		n := map[string]int{}
		for r := range replies {
			n[r]++
		}
		// 99 would make VNPAY retry, which is allowed; it must never be a
		// second 00.
		if n["00"] != 1 || n["00"]+n["02"]+n["99"] != 50 {
			t.Fatalf("replies %v, want one 00 and the rest 02", n)
		}
		if st := s.paymentState(t, payH.Ref, pinH); st != payment.StatePaid {
			t.Fatalf("payment %s", st)
		}
	})

	// VietQR: paid by the bank webhook, replayed stale; another bank still
	// signing with the previous secret (rotation) is accepted.
	codeB, pinB := s.awaitingPayment(t, "B")
	payB := s.pay(t, codeB, pinB, payment.MethodVietQR)
	t.Run("vietqr_webhook_pays_and_stale_replay_is_refused", func(t *testing.T) {
		if payB.QR == nil || payB.QR.Payload == "" {
			t.Fatalf("no VietQR payload: %+v", payB)
		}
		res, err := bank.PayVietQR(ctx, payB.QR.Payload, sim.ModeReplayStale)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deliveries[0].Status != http.StatusOK || !strings.Contains(res.Deliveries[0].Body, `"confirmed"`) {
			t.Fatalf("first delivery %+v", res.Deliveries[0])
		}
		if res.Deliveries[1].Status != http.StatusUnauthorized {
			t.Fatalf("stale replay answered %+v, want 401", res.Deliveries[1])
		}
		if st := s.paymentState(t, payB.Ref, pinB); st != payment.StatePaid {
			t.Fatalf("payment %s, want paid", st)
		}
	})
	codeC, pinC := s.awaitingPayment(t, "C")
	payC := s.pay(t, codeC, pinC, payment.MethodVietQR)
	t.Run("vietqr_old_secret_during_rotation", func(t *testing.T) {
		oldBank := sim.New(sim.Config{GatewayURL: s.gw, WebhookSecret: s.whOld})
		res, err := oldBank.PayVietQR(ctx, payC.QR.Payload, sim.ModeDuplicate)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Deliveries[0].Body, `"confirmed"`) || !strings.Contains(res.Deliveries[1].Body, `"duplicate"`) {
			t.Fatalf("deliveries %+v", res.Deliveries)
		}
		if st := s.paymentState(t, payC.Ref, pinC); st != payment.StatePaid {
			t.Fatalf("payment %s, want paid", st)
		}
	})

	// Reconciliation on the same storage the functions use.
	codeD, pinD := s.awaitingPayment(t, "D") // paid at the bank, IPN lost
	payD := s.pay(t, codeD, pinD, payment.MethodVNPay)
	codeE, pinE := s.awaitingPayment(t, "E") // paid here, missing from the file
	payE := s.pay(t, codeE, pinE, payment.MethodVNPay)
	if res, err := bank.PayVNPay(ctx, payE.PayURL, sim.ModeOK); err != nil || res.Deliveries[0].RspCode != "00" {
		t.Fatalf("pay E: %+v %v", res, err)
	}
	codeF, pinF := s.awaitingPayment(t, "F") // settled with another amount
	payF := s.pay(t, codeF, pinF, payment.MethodVNPay)
	codeG, pinG := s.awaitingPayment(t, "G") // paid at the bank, found by querydr
	payG := s.pay(t, codeG, pinG, payment.MethodVNPay)
	bank.Record(payD.Ref, payFee, true)
	bank.Record(payG.Ref, payFee, true)

	store := docstore.NewS3Store(s.a.S3(), nil, "motcua-data")
	svc, err := payment.NewService(payment.Deps{Store: store, Publisher: queue.NewFanout(queue.NewSQSPublisher(s.a.SQS()), queue.DefaultRoutes)},
		payment.Config{VNPay: &vnpay.Config{TmnCode: payTmnCode, HashSecret: s.hashSecret}, EventsQueue: payEvents})
	if err != nil {
		t.Fatal(err)
	}
	querydr := httptest.NewServer(bank.QueryHandler())
	defer querydr.Close()
	qc, err := vnpay.NewQueryClient(vnpay.Config{TmnCode: payTmnCode, HashSecret: s.hashSecret, APIURL: querydr.URL}, querydr.Client())
	if err != nil {
		t.Fatal(err)
	}
	rec := reconcile.New(store, reconcile.NewDomain(svc), reconcile.Options{Querier: qc})

	t.Run("settlement_file_reports_every_outcome_and_confirms_the_lost_callback", func(t *testing.T) {
		today := time.Now().In(vnpay.GMT7).Format(reconcile.DateLayout)
		csv := reconcile.SettlementHeader + "\n" +
			today + "," + payA.Ref + ",100000,VNP1\n" +
			today + "," + payD.Ref + ",100000,VNP2\n" +
			today + "," + payF.Ref + ",90000,VNP3\n" +
			today + ",MCNEVERISSUED2,100000,VNP4\n"
		key, err := rec.UploadSettlement(ctx, "vnpay-"+today, []byte(csv))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := rec.RunSettlement(ctx, key, reconcile.RunOptions{Method: payment.MethodVNPay})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]reconcile.Outcome{}
		for _, it := range rep.Items {
			got[it.Reference] = it.Outcome
			if it.Action == reconcile.ActionFailed {
				t.Errorf("action failed: %+v", it)
			}
		}
		want := map[string]reconcile.Outcome{payA.Ref: reconcile.OutcomeOK, payD.Ref: reconcile.OutcomeCallbackLost,
			payF.Ref: reconcile.OutcomeAmountMismatch, "MCNEVERISSUED2": reconcile.OutcomeUnknownReference,
			payE.Ref: reconcile.OutcomeMissingAtBank, payH.Ref: reconcile.OutcomeMissingAtBank}
		for ref, o := range want {
			if got[ref] != o {
				t.Errorf("%s: %q, want %q (report %+v)", ref, got[ref], o, rep.Counts)
			}
		}
		if len(got) != len(want) {
			t.Errorf("items %v, want exactly %v (vietqr payments B and C are not VNPAY's to settle)", got, want)
		}
		if st := s.paymentState(t, payD.Ref, pinD); st != payment.StatePaid {
			t.Fatalf("lost-callback payment %s, want paid", st)
		}
		if v := s.appStatus(t, codeD, pinD); v.Status == application.StatusAwaitingPayment || v.Fee.PaymentState != application.PaymentPaid {
			t.Fatalf("application D %s/%s after reconciliation", v.Status, v.Fee.PaymentState)
		}
		if st := s.paymentState(t, payF.Ref, pinF); st != payment.StatePending {
			t.Fatalf("amount-mismatch payment %s, want pending", st)
		}
		if _, err := store.Head(ctx, rep.ReportKey); err != nil {
			t.Fatalf("report %s: %v", rep.ReportKey, err)
		}
	})
	t.Run("pending_check_confirms_through_querydr", func(t *testing.T) {
		rep, err := rec.CheckPending(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, it := range rep.Items {
			got[it.Reference] = it.Outcome
		}
		if got[payG.Ref] != reconcile.PendingConfirmed || got[payF.Ref] != reconcile.PendingStill {
			t.Fatalf("pending outcomes %v", got)
		}
		if st := s.paymentState(t, payG.Ref, pinG); st != payment.StatePaid {
			t.Fatalf("payment G %s", st)
		}
		if v := s.appStatus(t, codeG, pinG); v.Status == application.StatusAwaitingPayment {
			t.Fatalf("application G still awaiting payment")
		}
	})

	t.Run("exactly_one_payment_confirmed_per_paid_payment", func(t *testing.T) {
		s.confirmedEvents(t, events)
		for _, ref := range []string{payA.Ref, payB.Ref, payC.Ref, payD.Ref, payE.Ref, payG.Ref, payH.Ref} {
			if n := len(events[ref]); n != 1 {
				t.Errorf("%s: %d distinct payment.confirmed events, want 1", ref, n)
			}
		}
		if n := len(events[payF.Ref]); n != 0 {
			t.Errorf("unpaid payment F has %d payment.confirmed events", n)
		}
		if len(events) != 7 {
			t.Errorf("payment.confirmed for %d payments, want 7: %v", len(events), fmt.Sprint(events))
		}
	})
}
