package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/notify"
	"motcua/shared/payment"
	"motcua/shared/queue"
)

// mailText decodes a received mail's subject and body.
func mailText(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return subj, string(body)
}

func TestHandle_duplicate_deliveries_send_once_per_channel(t *testing.T) {
	w := newWorld(t)
	a := testApplication()
	putApp(t, w.store, a)
	env := appEvent(t, "ev-submitted", application.EventSubmitted, a)
	ctx := context.Background()
	for i := range 3 {
		res, err := w.svc.Handle(ctx, env)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		want := notify.OutcomeSent
		if i > 0 {
			want = notify.OutcomeAlreadySent
		}
		if len(res.Channels) != 2 || res.Channels[0].Outcome != want || res.Channels[1].Outcome != want {
			t.Fatalf("delivery %d: %+v, want both %s", i, res.Channels, want)
		}
	}
	sms, mails := w.sinks.SMS(), w.sinks.Mails()
	if len(sms) != 1 || len(mails) != 1 {
		t.Fatalf("sinks got %d SMS and %d mails, want 1 and 1", len(sms), len(mails))
	}
	if sms[0].Request.Phone != "0901234567" || sms[0].Request.IsUnicode != "1" || sms[0].Request.Brandname != "DVC LAMDONG" ||
		sms[0].Request.RequestId != "ev-submitted:sms" || !strings.Contains(sms[0].Request.Content, "Đăng ký khai sinh") {
		t.Errorf("SMS request = %+v", sms[0].Request)
	}
	if len(mails[0].To) != 1 || mails[0].To[0] != "nhung.nguyen@example.vn" {
		t.Errorf("mail to %v", mails[0].To)
	}
	subj, body := mailText(t, mails[0].Raw)
	if subj != "Đã nộp hồ sơ "+testCode || !strings.Contains(body, "Kính gửi Nguyễn Thị Hồng Nhung,") || !strings.Contains(body, "https://dichvucong.example.gov.vn/tra-cuu") {
		t.Errorf("mail = %q\n%s", subj, body)
	}
	if got := mails[0].Header().Get("Message-Id"); got != notify.MessageID("ev-submitted:email", "khongtraloi@dichvucong.example.gov.vn") {
		t.Errorf("Message-ID = %q", got)
	}
	recs, err := notify.List(ctx, w.store, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("List = %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.State != notify.StateSent || r.Attempts != 1 || strings.Contains(r.To, "901234567") || strings.Contains(r.To, "nhung.nguyen") {
			t.Errorf("record = %+v (want sent once, masked recipient)", r)
		}
	}
}

func TestHandle_failure_retries_only_the_failed_channel(t *testing.T) {
	w := newWorld(t)
	a := testApplication()
	putApp(t, w.store, a)
	env := appEvent(t, "ev-submitted", application.EventSubmitted, a)
	w.sinks.FailNextSMS(1)
	w.sinks.FailNextMail(1)
	ctx := context.Background()
	if _, err := w.svc.Handle(ctx, env); err == nil {
		t.Fatal("first delivery succeeded with both providers failing")
	}
	if len(w.sinks.SMS()) != 0 || len(w.sinks.Mails()) != 0 {
		t.Fatal("something was recorded by a failing provider")
	}
	w.sinks.FailNextMail(1) // the e-mail fails once more
	res, err := w.svc.Handle(ctx, env)
	if err == nil || res.Channels[0].Outcome != notify.OutcomeSent {
		t.Fatalf("second delivery: %+v, %v; want the SMS sent and an error for the e-mail", res, err)
	}
	res, err = w.svc.Handle(ctx, env)
	if err != nil || res.Channels[0].Outcome != notify.OutcomeAlreadySent || res.Channels[1].Outcome != notify.OutcomeSent {
		t.Fatalf("third delivery: %+v, %v", res, err)
	}
	if len(w.sinks.SMS()) != 1 || len(w.sinks.Mails()) != 1 {
		t.Fatalf("got %d SMS and %d mails, want 1 and 1", len(w.sinks.SMS()), len(w.sinks.Mails()))
	}
	var rec notify.Record
	if _, err := docstore.GetJSON(ctx, w.store, notify.SentKey("ev-submitted", notify.ChannelEmail), &rec); err != nil || rec.Attempts != 3 || rec.State != notify.StateSent {
		t.Fatalf("e-mail marker = %+v, %v; want sent after 3 attempts", rec, err)
	}
}

func TestHandle_in_flight_and_stale_markers(t *testing.T) {
	w := newWorld(t)
	a := testApplication()
	a.Applicant.Email = ""
	putApp(t, w.store, a)
	env := appEvent(t, "ev-submitted", application.EventSubmitted, a)
	ctx := context.Background()
	claim := notify.Record{EventID: env.ID, Channel: notify.ChannelSMS, State: notify.StateSending, Attempts: 1, CreatedAt: w.now, UpdatedAt: w.now}
	if _, err := docstore.PutJSON(ctx, w.store, notify.SentKey(env.ID, notify.ChannelSMS), claim, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Handle(ctx, env); !errors.Is(err, notify.ErrInFlight) {
		t.Fatalf("with a fresh sending marker: %v, want ErrInFlight", err)
	}
	w.now = w.now.Add(notify.DefaultLease + time.Second) // that delivery died
	res, err := w.svc.Handle(ctx, env)
	if err != nil || res.Channels[0].Outcome != notify.OutcomeSent || res.Channels[1].Outcome != notify.OutcomeNoContact {
		t.Fatalf("after the lease: %+v, %v", res, err)
	}
	if len(w.sinks.SMS()) != 1 {
		t.Fatalf("%d SMS", len(w.sinks.SMS()))
	}
}

func TestHandle_templates_get_their_details(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := testApplication()
	putApp(t, w.store, a)

	step(t, w.store, &a, "ev-supp", application.StatusSupplementRequested, application.AuditRecord{Missing: []string{"GCS", "Bản sao CCCD của cha"}, Note: "Bổ sung bản chính"})
	step(t, w.store, &a, "ev-pay", application.StatusAwaitingPayment, application.AuditRecord{})
	step(t, w.store, &a, "ev-done", application.StatusProcessed, application.AuditRecord{Result: &application.Result{Description: "Giấy khai sinh bản chính"}})
	step(t, w.store, &a, "ev-ret", application.StatusReturned, application.AuditRecord{Delivery: &application.Delivery{Method: "postal", TrackingNumber: "EB123456789VN"}})
	paid := envelope(t, "ev-paid", payment.EventConfirmed, payment.ConfirmedPayload{Ref: "MCABCDEFGHIJKL", ApplicationCode: testCode, AmountVND: 150000, Method: payment.MethodVietQR})
	putPayment(t, w.store, paid, payment.StatePaid)
	receipt := envelope(t, "ev-receipt", notify.EventReceiptIssued, map[string]any{"series": "BL26T", "number": 12, "applicationCode": testCode, "totalVND": 150000, "issuedAt": "2026-12-03T03:00:00Z"})
	putReceipt(t, w.store, "BL26T", 12, testCode)

	for _, tc := range []struct {
		name string
		env  queue.Envelope
		want []string
	}{
		{"supplement_lists_missing_by_name", appEvent(t, "ev-supp", application.EventSupplementRequested, a), []string{"Giấy chứng sinh", "Bản sao CCCD của cha"}},
		{"payment_required_amount", appEvent(t, "ev-pay", application.EventPaymentRequired, a), []string{"150.000 đ"}},
		{"paid", paid, []string{"150.000 đ", "chuyển khoản VietQR"}},
		{"processed_result", appEvent(t, "ev-done", application.EventProcessed, a), []string{"Giấy khai sinh bản chính"}},
		{"returned_by_post_tracking", appEvent(t, "ev-ret", application.EventReturned, a), []string{"EB123456789VN"}},
		{"receipt_issued", receipt, []string{"BL26T-00000012", "150.000 đ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeMail := len(w.sinks.SMS()), len(w.sinks.Mails())
			if _, err := w.svc.Handle(ctx, tc.env); err != nil {
				t.Fatal(err)
			}
			sms, mails := w.sinks.SMS(), w.sinks.Mails()
			if len(sms) != before+1 || len(mails) != beforeMail+1 {
				t.Fatalf("sent %d SMS and %d mails, want 1 each", len(sms)-before, len(mails)-beforeMail)
			}
			_, body := mailText(t, mails[len(mails)-1].Raw)
			for _, want := range tc.want {
				if !strings.Contains(sms[len(sms)-1].Request.Content, want) || !strings.Contains(body, want) {
					t.Errorf("SMS %q or mail lacks %q:\n%s", sms[len(sms)-1].Request.Content, want, body)
				}
			}
		})
	}
}

func TestHandle_feedback_sender_is_told(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	item := map[string]any{"id": "PAKN-261203-7K3QX9MA", "title": "Đèn đường hỏng", "contact": map[string]string{"name": "Trần Văn Bình", "email": "binh@example.vn"}}
	if _, err := docstore.PutJSON(ctx, w.store, notify.FeedbackItemKey("PAKN-261203-7K3QX9MA"), item, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Handle(ctx, envelope(t, "ev-fb", notify.EventFeedbackAnswered, map[string]any{"id": "PAKN-261203-7K3QX9MA", "status": "answered"}))
	if err != nil || res.Kind != notify.KindFeedbackAnswered || res.Channels[0].Outcome != notify.OutcomeNoContact || res.Channels[1].Outcome != notify.OutcomeSent {
		t.Fatalf("%+v, %v", res, err)
	}
	subj, body := mailText(t, w.sinks.Mails()[0].Raw)
	if !strings.Contains(subj, "PAKN-261203-7K3QX9MA") || !strings.Contains(body, "Kính gửi Trần Văn Bình,") || !strings.Contains(body, "«Đèn đường hỏng»") {
		t.Fatalf("mail %q\n%s", subj, body)
	}
}

// putPayment stores the payment env confirms, in state st.
func putPayment(t *testing.T, store docstore.Store, env queue.Envelope, st payment.State) {
	t.Helper()
	var pl payment.ConfirmedPayload
	if err := json.Unmarshal(env.Payload, &pl); err != nil {
		t.Fatal(err)
	}
	ref, err := payment.ParseRef(pl.Ref)
	if err != nil {
		t.Fatal(err)
	}
	paidAt := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	p := payment.Payment{Ref: pl.Ref, ApplicationCode: pl.ApplicationCode, AmountVND: pl.AmountVND, Method: pl.Method, State: st, PaidAt: &paidAt, ConfirmEvent: &env}
	if _, err := docstore.PutJSON(context.Background(), store, payment.Key(ref), p, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// putReceipt stores a receipt index as the receipt book does.
func putReceipt(t *testing.T, store docstore.Store, series string, number uint32, code string) {
	t.Helper()
	idx := map[string]any{"receipt": map[string]any{"series": series, "number": number, "applicationCode": code}, "status": "issued"}
	if _, err := docstore.PutJSON(context.Background(), store, notify.ReceiptIndexKey(series, number), idx, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestHandle_refusals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := testApplication()
	putApp(t, w.store, a)
	unpaid := envelope(t, "ev-unpaid", payment.EventConfirmed, payment.ConfirmedPayload{Ref: "MCAAAAAAAAAAAA", ApplicationCode: testCode, AmountVND: 1})
	putPayment(t, w.store, unpaid, payment.StatePending)
	otherEvent := envelope(t, "ev-other", payment.EventConfirmed, payment.ConfirmedPayload{Ref: "MCBBBBBBBBBBBB", ApplicationCode: testCode, AmountVND: 1})
	putPayment(t, w.store, otherEvent, payment.StatePaid)
	otherEvent.ID = "ev-forged"
	putReceipt(t, w.store, "BL26T", 13, "STP-261203-0001")
	for _, tc := range []struct {
		name string
		env  queue.Envelope
		bad  bool
	}{
		{"forged_step_not_in_timeline", appEvent(t, "ev-forged", application.EventReceived, a), true},
		{"payment_not_paid", unpaid, true},
		{"payment_published_another_event", otherEvent, true},
		{"unknown_payment", envelope(t, "ev-p", payment.EventConfirmed, payment.ConfirmedPayload{Ref: "MCCCCCCCCCCCCC", ApplicationCode: testCode}), true},
		{"receipt_of_another_application", envelope(t, "ev-r", notify.EventReceiptIssued, map[string]any{"series": "BL26T", "number": 13, "applicationCode": testCode}), true},
		{"receipt_series_not_a_key", envelope(t, "ev-r2", notify.EventReceiptIssued, map[string]any{"series": "../x", "number": 1, "applicationCode": testCode}), true},
		{"unknown_type_is_ignored", envelope(t, "ev-x", "application.documents_uploaded", map[string]string{"code": testCode}), false},
		{"missing_application", envelope(t, "ev-y", application.EventReceived, map[string]string{"code": "STP-261203-9999"}), true},
		{"malformed_code", envelope(t, "ev-z", application.EventReceived, map[string]string{"code": "../../etc"}), true},
		{"feedback_id_not_a_key", envelope(t, "ev-f", notify.EventFeedbackReceived, map[string]string{"id": "../x"}), true},
		{"event_id_not_a_key", envelope(t, "../../x", application.EventSubmitted, map[string]string{"code": testCode}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := w.svc.Handle(ctx, tc.env)
			if tc.bad != errors.Is(err, notify.ErrBadEvent) {
				t.Fatalf("%+v, %v; want ErrBadEvent %v", res, err, tc.bad)
			}
			if !tc.bad && !res.Ignored {
				t.Fatalf("%+v: want ignored", res)
			}
		})
	}
	if len(w.sinks.SMS())+len(w.sinks.Mails()) != 0 {
		t.Fatal("a refused event sent something")
	}
}

func TestHandle_permanent_refusal_is_not_retried(t *testing.T) {
	w := newWorld(t)
	a := testApplication()
	a.Applicant.Email = "not an address"
	putApp(t, w.store, a)
	env := appEvent(t, "ev-submitted", application.EventSubmitted, a)
	for i := range 2 {
		res, err := w.svc.Handle(context.Background(), env)
		if err != nil || res.Channels[1].Outcome != notify.OutcomeRefused {
			t.Fatalf("delivery %d: %+v, %v; want the e-mail refused and no error", i, res, err)
		}
	}
	if len(w.sinks.Mails()) != 0 || len(w.sinks.SMS()) != 1 {
		t.Fatalf("%d mails, %d SMS", len(w.sinks.Mails()), len(w.sinks.SMS()))
	}
}

func TestHandle_pin_recovery_code_goes_to_the_contacts_on_file(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := testApplication()
	putApp(t, w.store, a)
	exp := time.Date(2026, 12, 3, 2, 40, 0, 0, time.UTC)
	// The payload names other contacts: they must be ignored.
	ev := envelope(t, "ev-otp", application.EventPINRecoveryRequested, application.RecoveryNotice{
		Code: a.Code, Phone: "+84999999999", Email: "attacker@example.com", OneTimeCode: "482913", ExpiresAt: &exp, At: exp.Add(-10 * time.Minute),
	})
	for range 2 { // a duplicate delivery sends nothing more
		res, err := w.svc.Handle(ctx, ev)
		if err != nil || res.Kind != notify.KindPINRecovery {
			t.Fatalf("%+v, %v", res, err)
		}
	}
	sms := w.sinks.SMS()
	if len(sms) != 1 || !strings.Contains(sms[0].Request.Content, "482913") || !strings.Contains(sms[0].Request.Phone, "901234567") {
		t.Fatalf("sms = %+v", sms)
	}
	mails := w.sinks.Mails()
	if len(mails) != 1 || !strings.Contains(strings.Join(mails[0].To, ","), "nhung.nguyen@example.vn") {
		t.Fatalf("mails = %+v", mails)
	}
	// No code, no message.
	bad := envelope(t, "ev-otp-bad", application.EventPINRecoveryRequested, application.RecoveryNotice{Code: a.Code, At: exp})
	if _, err := w.svc.Handle(ctx, bad); !errors.Is(err, notify.ErrBadEvent) {
		t.Fatalf("recovery event without a code: %v, want ErrBadEvent", err)
	}
}
