package function

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
	"motcua/shared/workdays"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, workdays.Location)

type fixture struct {
	srv    *application.StaffHTTP
	signer *staffauth.Signer
	store  *docstore.MemStore
	q      *queue.MemQueue
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	f := &fixture{store: docstore.NewMemStore("motcua-data"), q: queue.NewMemQueue("application-events")}
	clock := func() time.Time { return now }
	proc, err := application.NewProcessor(f.store, f.q, "application-events", cal, clock, quiet)
	if err != nil {
		t.Fatal(err)
	}
	uploads := docstore.NewMemStore("motcua-uploads")
	proc.WithResults(uploads)
	// The signed result, as uploaded through ?op=result-upload.
	if _, err := uploads.Put(context.Background(), "applications/STP-260302-0001/result/1.pdf", []byte("%PDF-1.7\n%%EOF\n"), docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	f.signer = stafftest.WriteKeys(t, secrets)
	staff, err := staffauth.NewVerifier(config.Secrets{Dir: secrets})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = application.NewStaffHTTP(proc, idempotency.New(f.store, "idempotency/process-application", time.Hour), staff.Verify, clock, quiet)
	a := application.Application{
		Code: "STP-260302-0001", ProcedureCode: "STP.01", ProcedureName: "Cấp phiếu lý lịch tư pháp",
		ProcessingDays: 3, Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"},
		Status: application.StatusSubmitted, SubmittedAt: now.Add(-time.Hour), DueAt: now.AddDate(0, 0, 5),
		Fee:      application.Fee{AmountVND: 0, Kind: "free", PaymentState: application.PaymentNotRequired},
		Timeline: []application.Event{{At: now.Add(-time.Hour), Status: application.StatusSubmitted, Actor: application.ActorCitizen}},
		PINHash:  "pbkdf2-sha256$1$AAAA", PINSalt: "AAAA",
	}
	if _, err := application.NewRepository(f.store).Create(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) token(t *testing.T, sub, agency string, roles ...string) string {
	t.Helper()
	tok, err := f.signer.Mint(staffauth.Claims{Subject: sub, Agency: agency, Roles: roles}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func req(method, auth, body string, hdr ...string) handler.Request {
	h := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	r := handler.Request{Method: method, Header: h}
	if method == http.MethodGet {
		r.QueryString = body
	} else {
		r.Body = []byte(body)
	}
	return r
}

func (f *fixture) call(r handler.Request) (handler.Response, map[string]any) {
	resp := f.srv.Serve(context.Background(), r)
	var m map[string]any
	_ = json.Unmarshal(resp.Body, &m)
	return resp, m
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	expired, _ := f.signer.Mint(staffauth.Claims{Subject: "o", Agency: "STP", Roles: []string{"staff"}}, time.Minute, now.Add(-time.Hour))
	body := `{"code":"STP-260302-0001","action":"receive"}`
	tests := []struct {
		name   string
		auth   string
		status int
		code   string
	}{
		{"no_token", "", 401, "invalid_token"},
		{"garbage", "Bearer abc.def.ghi", 401, "invalid_token"},
		{"expired", "Bearer " + expired, 401, "token_expired"},
		{"citizen_role", f.token(t, "o", "STP", "citizen"), 403, "not_staff"},
		{"other_agency", f.token(t, "o", "SYT", "staff"), 403, "wrong_agency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := f.call(req(http.MethodPost, tt.auth, body))
			if resp.StatusCode != tt.status || m["code"] != tt.code {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if ch := http.Header(resp.Header).Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(ch, "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", ch)
			}
		})
	}
	if n := len(f.q.Published("application-events")); n != 0 {
		t.Fatalf("%d events from refused calls", n)
	}
}

func TestLifecycleAndStaffView(t *testing.T) {
	f := newFixture(t)
	auth := f.token(t, "officer7", "STP", "staff")
	steps := []struct{ body, want string }{
		{`{"code":"STP-260302-0001","action":"receive"}`, "received"},
		{`{"code":"STP-260302-0001","action":"start"}`, "processing"},
		{`{"code":"STP-260302-0001","action":"request_supplement","missing":["Bản sao CCCD"]}`, "supplement_requested"},
		{`{"code":"STP-260302-0001","action":"resume"}`, "processing"},
		{`{"code":"STP-260302-0001","action":"complete","result":{"documentKey":"applications/STP-260302-0001/result/1.pdf","description":"Phiếu số 1"}}`, "processed"},
		{`{"code":"STP-260302-0001","action":"return","delivery":{"method":"postal","trackingNumber":"EMS1VN"}}`, "returned"},
	}
	for _, s := range steps {
		resp, m := f.call(req(http.MethodPost, auth, s.body))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", s.body, resp.StatusCode, resp.Body)
		}
		if app := m["application"].(map[string]any); app["status"] != s.want {
			t.Fatalf("%s: status %v", s.body, app["status"])
		}
		if strings.Contains(string(resp.Body), "officer7") || strings.Contains(string(resp.Body), "pinHash") {
			t.Fatalf("officer id or PIN hash in answer: %s", resp.Body)
		}
	}
	pub := f.q.Published("application-events")
	if len(pub) != len(steps) || pub[0].Type != application.EventReceived || pub[len(pub)-1].Type != application.EventReturned {
		t.Fatalf("published %d events", len(pub))
	}
	resp, m := f.call(req(http.MethodGet, auth, "code=STP-260302-0001"))
	if resp.StatusCode != 200 {
		t.Fatalf("view: %d %s", resp.StatusCode, resp.Body)
	}
	audit := m["audit"].([]any)
	if len(audit) != len(steps) || audit[0].(map[string]any)["officer"] != "officer7" {
		t.Fatalf("audit = %v", audit)
	}
	if last := audit[len(audit)-1].(map[string]any); last["delivery"].(map[string]any)["trackingNumber"] != "EMS1VN" {
		t.Fatalf("last audit = %v", last)
	}
	// Without code: the agency's work queue, the returned application
	// among the finished ones.
	resp, m = f.call(req(http.MethodGet, auth, "view=queue&status=returned"))
	if resp.StatusCode != 200 {
		t.Fatalf("work queue: %d %s", resp.StatusCode, resp.Body)
	}
	if items := m["items"].([]any); len(items) != 1 || items[0].(map[string]any)["code"] != "STP-260302-0001" {
		t.Fatalf("work queue = %s", resp.Body)
	}
	if resp, _ := f.call(req(http.MethodGet, auth, "view=map")); resp.StatusCode != 400 {
		t.Fatalf("unknown view: %d", resp.StatusCode)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	auth := f.token(t, "officer7", "STP", "staff")
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"illegal", `{"code":"STP-260302-0001","action":"complete","result":{"documentKey":"k","description":"d"}}`, 409, "illegal_transition"},
		{"no_reason", `{"code":"STP-260302-0001","action":"reject"}`, 422, "validation_failed"},
		{"unknown_action", `{"code":"STP-260302-0001","action":"approve"}`, 422, "unknown_action"},
		{"no_code", `{"action":"receive"}`, 422, "validation_failed"},
		{"unknown_code", `{"code":"STP-260302-0404","action":"receive"}`, 404, "application_not_found"},
		{"cancel_is_the_applicants", `{"code":"STP-260302-0001","action":"cancel"}`, 403, "actor_not_allowed"},
		{"payment_on_free", `{"code":"STP-260302-0001","action":"require_payment"}`, 409, "illegal_transition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := f.call(req(http.MethodPost, auth, tt.body))
			if resp.StatusCode != tt.status || m["code"] != tt.code {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	resp, m := f.call(req(http.MethodPost, auth, `{"code":"STP-260302-0001","action":"start"}`))
	if resp.StatusCode != 409 || m["current_status"] != "submitted" {
		t.Fatalf("current_status missing: %s", resp.Body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	auth := f.token(t, "officer7", "STP", "staff")
	body := `{"code":"STP-260302-0001","action":"receive"}`
	first, _ := f.call(req(http.MethodPost, auth, body, "Idempotency-Key", "k-1"))
	again, _ := f.call(req(http.MethodPost, auth, body, "Idempotency-Key", "k-1"))
	if first.StatusCode != 200 || again.StatusCode != 200 || string(first.Body) != string(again.Body) {
		t.Fatalf("first %d, replay %d", first.StatusCode, again.StatusCode)
	}
	if http.Header(again.Header).Get(idempotency.HeaderReplayed) != "true" {
		t.Fatal("replay not marked")
	}
	if n := len(f.q.Published("application-events")); n != 1 {
		t.Fatalf("%d events for one idempotent action", n)
	}
	// Without the key, a repeat is a plain illegal transition: nothing happens twice.
	if resp, _ := f.call(req(http.MethodPost, auth, body)); resp.StatusCode != 409 {
		t.Fatalf("repeat without key: %d", resp.StatusCode)
	}
}

func TestTwoOfficersAtOnce(t *testing.T) {
	f := newFixture(t)
	a1, a2 := f.token(t, "officer1", "STP", "staff"), f.token(t, "officer2", "STP", "staff")
	if resp, _ := f.call(req(http.MethodPost, a1, `{"code":"STP-260302-0001","action":"receive"}`)); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, r := range []handler.Request{
		req(http.MethodPost, a1, `{"code":"STP-260302-0001","action":"start"}`),
		req(http.MethodPost, a2, `{"code":"STP-260302-0001","action":"reject","reason":"Sai thẩm quyền"}`),
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := f.call(r)
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 409:
		default:
			t.Fatalf("status %d", s)
		}
	}
	code, _ := application.ParseCode("STP-260302-0001")
	got, _, _ := application.NewRepository(f.store).Get(context.Background(), code)
	if ok != 1 || len(got.Timeline) != 3 {
		t.Fatalf("%d winners, timeline %d (statuses %v)", ok, len(got.Timeline), statuses)
	}
}
