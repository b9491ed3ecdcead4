package application_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/workdays"
)

const statusPIN = "12345678"

type statusFixture struct {
	srv   *application.StatusHTTP
	store *docstore.MemStore
	now   time.Time
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	f := &statusFixture{store: docstore.NewMemStore("motcua-data"), now: time.Date(2026, 3, 3, 10, 0, 0, 0, workdays.Location)}
	clock := func() time.Time { return f.now }
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	guard := guardtest.Guard(t, f.store, citizenguard.WithClock(clock), citizenguard.WithLogger(quiet))
	f.srv = application.NewStatusHTTP(application.NewAccess(application.NewRepository(f.store), guard), cal, clock, quiet)

	hash, salt, err := application.HashPIN(guard, statusPIN)
	if err != nil {
		t.Fatal(err)
	}
	submitted := time.Date(2026, 3, 2, 8, 0, 0, 0, workdays.Location)
	received := submitted.Add(time.Hour)
	a := application.Application{
		Code: "STP-260302-0001", ProcedureCode: "STP.01", ProcedureName: "Cấp phiếu lý lịch tư pháp",
		ProcessingDays: 5, Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"},
		Status: application.StatusProcessing, Channel: application.ChannelOnline,
		Fee:         application.Fee{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentUnpaid},
		SubmittedAt: submitted, ReceivedAt: &received,
		DueAt: time.Date(2026, 3, 6, 17, 0, 0, 0, workdays.Location), // Friday
		Documents: []application.Document{
			{Code: "TK", Name: "Tờ khai", Required: true, Uploaded: true, UploadKey: "applications/x/TK/a.pdf"},
			{Code: "CCCD", Name: "Bản sao CCCD", Required: true},
		},
		Timeline: []application.Event{
			{At: submitted, Status: application.StatusSubmitted, Actor: application.ActorCitizen},
			{At: received, Status: application.StatusReceived, Actor: "STP"},
			{At: received.Add(time.Hour), Status: application.StatusProcessing, Actor: "STP", Note: "Chuyển phòng chuyên môn"},
		},
		PINHash: hash, PINSalt: salt,
	}
	if _, err := application.NewRepository(f.store).Create(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return f
}

func statusPost(body string, hdr ...string) handler.Request {
	h := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {"203.0.113.7"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return handler.Request{Method: http.MethodPost, Body: []byte(body), Header: h}
}

func (f *statusFixture) call(req handler.Request) (handler.Response, map[string]any) {
	resp := f.srv.Serve(context.Background(), req)
	var m map[string]any
	_ = json.Unmarshal(resp.Body, &m)
	return resp, m
}

func TestStatus_LookupFound(t *testing.T) {
	f := newStatusFixture(t)
	reqs := map[string]handler.Request{
		"post": statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`),
		"get":  {Method: http.MethodGet, QueryString: "code=STP-260302-0001&pin=12345678", Header: http.Header{}},
	}
	for name, req := range reqs {
		t.Run(name, func(t *testing.T) {
			resp, m := f.call(req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
			}
			if http.Header(resp.Header).Get("Cache-Control") != "no-store" {
				t.Error("personal data must not be cached")
			}
			var st application.StatusView
			if err := json.Unmarshal(resp.Body, &st); err != nil {
				t.Fatal(err)
			}
			if st.Status != application.StatusProcessing || st.StatusLabel != "Đang xử lý" || st.Procedure.Name != "Cấp phiếu lý lịch tư pháp" || st.Agency.Code != "STP" {
				t.Fatalf("status = %+v", st)
			}
			// Tuesday 10:00, due Friday: Wed, Thu, Fri left.
			if st.WorkingDaysLeft == nil || *st.WorkingDaysLeft != 3 || st.WorkingDaysLate != nil || st.Settlement != nil {
				t.Fatalf("days left/late = %v/%v", st.WorkingDaysLeft, st.WorkingDaysLate)
			}
			if len(st.Timeline) != 3 || st.Timeline[1].Who != "Sở Tư pháp" || st.Timeline[0].Who != "Người nộp hồ sơ" || st.Timeline[2].Note != "Chuyển phòng chuyên môn" {
				t.Fatalf("timeline = %+v", st.Timeline)
			}
			if len(st.Documents) != 2 || !st.Documents[0].Uploaded || st.Documents[1].Uploaded {
				t.Fatalf("documents = %+v", st.Documents)
			}
			if st.Fee.PaymentState != application.PaymentUnpaid || st.Fee.AmountVND != 200000 {
				t.Fatalf("fee = %+v", st.Fee)
			}
			if v, ok := m["receipt"]; !ok || v != nil {
				t.Fatalf("receipt member = %v (present %v), want null", v, ok)
			}
			for _, secret := range []string{"pinHash", "pinSalt", "uploadKey", "applicant"} {
				if strings.Contains(string(resp.Body), secret) {
					t.Fatalf("%s leaked: %s", secret, resp.Body)
				}
			}
		})
	}
}

func TestStatus_LookupOverdueAndSettled(t *testing.T) {
	f := newStatusFixture(t)
	f.now = time.Date(2026, 3, 10, 9, 0, 0, 0, workdays.Location) // Tuesday after the due Friday
	_, m := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`))
	if m["workingDaysLate"] != float64(2) || m["workingDaysLeft"] != nil {
		t.Fatalf("open overdue: left %v late %v", m["workingDaysLeft"], m["workingDaysLate"])
	}
	repo := application.NewRepository(f.store)
	if _, err := repo.Update(context.Background(), mustCode("STP-260302-0001"), func(a *application.Application) error {
		at := f.now
		a.Status, a.SettledAt, a.Settlement = application.StatusProcessed, &at, workdays.Late
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.AddDate(0, 0, 7)
	_, m = f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`))
	if m["settlement"] != "late" || m["workingDaysLate"] != float64(2) || m["workingDaysLeft"] != nil {
		t.Fatalf("settled late: %v %v %v", m["settlement"], m["workingDaysLate"], m["workingDaysLeft"])
	}
}

func TestStatus_WrongPINAndUnknownCodeLookTheSame(t *testing.T) {
	f := newStatusFixture(t)
	wrong, wm := f.call(statusPost(`{"code":"STP-260302-0001","pin":"87654321"}`))
	unknown, um := f.call(statusPost(`{"code":"STP-260302-0002","pin":"87654321"}`))
	if wrong.StatusCode != http.StatusNotFound || unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("statuses %d/%d", wrong.StatusCode, unknown.StatusCode)
	}
	delete(wm, "instance")
	delete(um, "instance")
	wb, _ := json.Marshal(wm)
	ub, _ := json.Marshal(um)
	if string(wb) != string(ub) || wm["code"] != "application_not_found" || wm["detail_vi"] == "" || wm["detail"] == "" {
		t.Fatalf("bodies differ or are wrong:\n%s\n%s", wb, ub)
	}
}

func TestStatus_guessing_is_throttled_but_never_locks_the_owner_out(t *testing.T) {
	f := newStatusFixture(t)
	for i := range citizenguard.DefaultPolicy.Pair.Free {
		if resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"00000000"}`, "X-Forwarded-For", "198.51.100.7")); resp.StatusCode != 404 {
			t.Fatalf("guess %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, m := f.call(statusPost(`{"code":"STP-260302-0001","pin":"00000000"}`, "X-Forwarded-For", "198.51.100.7"))
	if resp.StatusCode != http.StatusTooManyRequests || m["code"] != "too_many_attempts" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
	}
	if ra := http.Header(resp.Header).Get("Retry-After"); ra != "30" {
		t.Fatalf("Retry-After = %q, want 30", ra)
	}
	// The owner, from their own address, is not affected.
	if resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`, "X-Forwarded-For", "192.0.2.55")); resp.StatusCode != 200 {
		t.Fatalf("owner after an attack from another address: %d %s", resp.StatusCode, resp.Body)
	}
	// X-Forwarded-For entries the client wrote itself do not make it another
	// client: the gateway (trusted, loopback) appends the real peer.
	spoof := statusPost(`{"code":"STP-260302-0001","pin":"00000000"}`)
	spoof.Header.Set("X-Forwarded-For", "192.0.2.55, 198.51.100.7, 127.0.0.1")
	if resp, _ := f.call(spoof); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a spoofed X-Forwarded-For escaped the throttle: %d", resp.StatusCode)
	}
}

func TestStatus_per_client_limit(t *testing.T) {
	f := newStatusFixture(t)
	for i := range citizenguard.DefaultPolicy.Client.Free {
		code := fmt.Sprintf("STP-260302-%04d", 100+i)
		if resp, _ := f.call(statusPost(`{"code":"` + code + `","pin":"00000000"}`)); resp.StatusCode != 404 {
			t.Fatalf("guess %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("client over its limit: %d", resp.StatusCode)
	}
	if resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`, "X-Forwarded-For", "192.0.2.1")); resp.StatusCode != 200 {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
}

func TestStatus_BadRequests(t *testing.T) {
	f := newStatusFixture(t)
	tests := []struct {
		name   string
		req    handler.Request
		status int
	}{
		{"missing_pin", statusPost(`{"code":"STP-260302-0001"}`), 422},
		{"get_missing_code", handler.Request{Method: http.MethodGet, QueryString: "pin=12345678", Header: http.Header{}}, 422},
		{"not_json", statusPost(`code=1`), 400},
		{"unknown_field", statusPost(`{"code":"x","pin":"1","cccd":"1"}`), 400},
		{"path_in_code", statusPost(`{"code":"../STP-260302-0001","pin":"12345678"}`), 400},
		{"encoded_slash_in_code", handler.Request{Method: http.MethodGet, QueryString: "code=STP%2F260302-0001&pin=12345678", Header: http.Header{}}, 400},
		{"unicode_code", statusPost(`{"code":"STP-260302-０００1","pin":"12345678"}`), 400},
		{"long_code", statusPost(`{"code":"` + strings.Repeat("A", 79) + `","pin":"12345678"}`), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := f.call(tt.req); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
		})
	}
}

func TestStatus_dates_are_rfc3339_in_ho_chi_minh(t *testing.T) {
	f := newStatusFixture(t)
	resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`))
	for _, want := range []string{`"dueAt":"2026-03-06T17:00:00+07:00"`, `"submittedAt":"2026-03-02T08:00:00+07:00"`, `"at":"2026-03-02T09:00:00+07:00"`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Fatalf("body lacks %s: %s", want, resp.Body)
		}
	}
	if strings.Contains(string(resp.Body), `Z"`) {
		t.Fatalf("a UTC time left in the answer: %s", resp.Body)
	}
}

// TestStatus_receipt_link_read_only_once_paid: the receipt link is looked
// up for a paid fee only (a receipt follows the recorded payment); an
// unpaid application answers receipt null without reading it.
func TestStatus_receipt_link_read_only_once_paid(t *testing.T) {
	f := newStatusFixture(t)
	var reads atomic.Int32
	f.srv.WithReceipts(func(_ context.Context, code string) (*application.ReceiptLink, error) {
		reads.Add(1)
		return &application.ReceiptLink{Number: "BL26T-00000001", URL: "/function/receipt?id=" + code}, nil
	})
	look := func() application.StatusView {
		t.Helper()
		resp, _ := f.call(statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`))
		var st application.StatusView
		if resp.StatusCode != http.StatusOK || json.Unmarshal(resp.Body, &st) != nil {
			t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
		}
		return st
	}
	if st := look(); st.Receipt != nil || reads.Load() != 0 {
		t.Fatalf("unpaid: receipt %+v after %d reads, want none and no read", st.Receipt, reads.Load())
	}
	paidAt := f.now
	if _, err := application.NewRepository(f.store).Update(context.Background(), mustCode("STP-260302-0001"), func(a *application.Application) error {
		a.Fee.PaymentState, a.Fee.PaymentRef, a.Fee.PaidAt = application.PaymentPaid, "P-1", &paidAt
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st := look(); st.Receipt == nil || st.Receipt.Number != "BL26T-00000001" || reads.Load() != 1 {
		t.Fatalf("paid: receipt %+v after %d reads, want the link from one read", st.Receipt, reads.Load())
	}
}
