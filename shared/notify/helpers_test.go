package notify_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"motcua/infra/devsink"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/notify"
	"motcua/shared/queue"
)

const testCode = "STP-261203-0007"

// nfd returns s decomposed, as some keyboards and old systems send it: the
// notifier must still send NFC.
func nfd(s string) string { return norm.NFD.String(s) }

func testApplication() application.Application {
	now := time.Date(2026, 12, 3, 2, 30, 0, 0, time.UTC)
	return application.Application{
		Code: testCode, ProcedureCode: "X.HT.001", ProcedureName: nfd("Đăng ký khai sinh"),
		Agency:    application.Agency{Code: "STP", Name: "Sở Tư pháp tỉnh Lâm Đồng"},
		Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: nfd("Nguyễn Thị Hồng Nhung"), Phone: "+84901234567", Email: "nhung.nguyen@example.vn"},
		Documents: []application.Document{{Code: "TK", Name: "Tờ khai đăng ký khai sinh"}, {Code: "GCS", Name: "Giấy chứng sinh"}},
		Channel:   application.ChannelOnline, ResultDelivery: application.ResultDelivery{Method: application.DeliveryPostal},
		Status: application.StatusSubmitted, Fee: application.Fee{AmountVND: 150000, Kind: "fee", PaymentState: application.PaymentUnpaid},
		SubmittedAt: now, DueAt: now.Add(72 * time.Hour),
		Timeline: []application.Event{{At: now, Status: application.StatusSubmitted, Actor: application.ActorCitizen, EventID: "ev-submitted"}},
		Version:  1,
	}
}

func putApp(t *testing.T, store docstore.Store, a application.Application) {
	t.Helper()
	code, err := application.ParseCode(a.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docstore.PutJSON(context.Background(), store, application.Key(code), a, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// step appends a staff step with its audit record, as the processor does.
func step(t *testing.T, store docstore.Store, a *application.Application, eventID string, st application.Status, rec application.AuditRecord) {
	t.Helper()
	a.Status = st
	a.Timeline = append(a.Timeline, application.Event{At: a.SubmittedAt.Add(time.Hour), Status: st, Actor: "STP", Note: rec.Note, EventID: eventID})
	a.Version++
	putApp(t, store, *a)
	rec.EventID, rec.Code = eventID, a.Code
	code, _ := application.ParseCode(a.Code)
	if _, err := docstore.PutJSON(context.Background(), store, application.AuditKey(code, eventID), rec, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func envelope(t *testing.T, id, typ string, payload any) queue.Envelope {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return queue.Envelope{ID: id, Type: typ, Time: time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC), Payload: raw}
}

func appEvent(t *testing.T, id, typ string, a application.Application) queue.Envelope {
	return envelope(t, id, typ, application.EventPayload{Code: a.Code, Status: a.Status, At: a.SubmittedAt.Add(time.Hour), Version: a.Version})
}

// world is a notifier wired to real dev sinks over real SMTP and HTTP.
type world struct {
	store *docstore.MemStore
	sinks *devsink.Sinks
	svc   *notify.Service
	now   time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sinks, err := devsink.Start(devsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sinks.Close() })
	sms, err := notify.NewESMS(notify.ESMSConfig{URL: sinks.SMSURL(), APIKey: "k", SecretKey: "s", Brandname: "DVC LAMDONG"})
	if err != nil {
		t.Fatal(err)
	}
	mail, err := notify.NewSMTP(notify.SMTPConfig{Addr: sinks.SMTPAddr(), Security: notify.SMTPPlain, From: "khongtraloi@dichvucong.example.gov.vn",
		FromName: "Cổng dịch vụ công tỉnh Lâm Đồng", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{store: docstore.NewMemStore("motcua-data"), sinks: sinks, now: time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)}
	w.svc, err = notify.NewService(w.store, []notify.Sender{sms, mail}, notify.Options{PortalURL: "https://dichvucong.example.gov.vn/tra-cuu",
		SenderName: "Cổng dịch vụ công tỉnh Lâm Đồng", Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
