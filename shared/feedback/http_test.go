package feedback

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/idempotency"
)

func newHTTP(t *testing.T) (*HTTP, *fixture) {
	t.Helper()
	f := newFixture(t)
	staff := func(auth string, _ time.Time) (Officer, error) {
		ag, ok := strings.CutPrefix(auth, "Bearer test-")
		if !ok {
			return Officer{}, ErrWrongAgency
		}
		return Officer{Subject: "officer-" + ag, Agency: ag}, nil
	}
	h := NewHTTP(f.svc, idempotency.New(docstore.NewMemStore("idem"), "idempotency/feedback", idempotency.DefaultTTL), staff, nil)
	h.now = f.clk.now
	return h, f
}

func call(h *HTTP, method, path, query, ctype, body string, hdr ...string) (int, http.Header, []byte) {
	req := handler.Request{Method: method, QueryString: query, Body: []byte(body), Header: http.Header{}}
	if path != "" {
		req.Header.Set(HeaderPath, path)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.Header.Set("X-Forwarded-For", "203.0.113.50")
	r := h.Serve(context.Background(), req)
	return r.StatusCode, r.Header, r.Body
}

// GeoReport v2 field lists (the spec's response fields).
var (
	open311ServiceFields = []string{"description", "group", "keywords", "metadata", "service_code", "service_name", "type"}
	open311RequestFields = []string{"address", "address_id", "agency_responsible", "description", "expected_datetime", "lat", "long",
		"media_url", "requested_datetime", "service_code", "service_name", "service_notice", "service_request_id", "status",
		"status_notes", "updated_datetime", "zipcode"}
)

func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpen311_against_the_GeoReport_v2_field_list(t *testing.T) {
	h, f := newHTTP(t)
	st, _, body := call(h, "GET", "/open311/v2/services.json", "jurisdiction_id=motcua", "", "")
	var services []json.RawMessage
	if st != 200 || json.Unmarshal(body, &services) != nil || len(services) < 30 {
		t.Fatalf("services.json: %d %s", st, body)
	}
	if got := keysOf(t, services[0]); !slices.Equal(got, open311ServiceFields) {
		t.Fatalf("service fields %v, want %v", got, open311ServiceFields)
	}
	st, _, body = call(h, "GET", "/open311/v2/services/RAC_THAI.json", "", "", "")
	var def Open311Definition
	if st != 200 || json.Unmarshal(body, &def) != nil || def.ServiceCode != "RAC_THAI" || len(def.Attributes) == 0 {
		t.Fatalf("definition: %d %s", st, body)
	}
	st, _, body = call(h, "GET", "/open311/v2/services/NOPE.json", "", "", "")
	var errs []Open311Error
	if st != 404 || json.Unmarshal(body, &errs) != nil || len(errs) != 1 || errs[0].Code != 404 {
		t.Fatalf("unknown service: %d %s", st, body)
	}

	form := url.Values{"api_key": {"test-app-key-1"}, "service_code": {"RAC_THAI"}, "lat": {"21.1375"}, "long": {"105.8842"},
		"address_string": {"Thôn 2, xã Việt Hùng"}, "description": {"Rác tồn đọng ba ngày ở đầu thôn 2, gây mùi hôi."},
		"first_name": {"Văn An"}, "last_name": {"Nguyễn"}, "phone": {"0912345678"}, "media_url": {"https://example.com/photo.jpg"},
		"attribute[kind]": {"regulation"}}
	st, _, body = call(h, "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", form.Encode())
	var created []map[string]any
	if st != 201 || json.Unmarshal(body, &created) != nil || len(created) != 1 {
		t.Fatalf("POST requests.json: %d %s", st, body)
	}
	id, _ := created[0]["service_request_id"].(string)
	if pid(id).IsZero() || created[0]["service_notice"] == "" {
		t.Fatalf("created %v", created[0])
	}
	if v, ok := created[0]["account_id"]; !ok || v != nil {
		t.Fatalf("account_id %v, want null", v)
	}

	st, _, body = call(h, "GET", "/open311/v2/requests/"+id+".json", "", "", "")
	var one []json.RawMessage
	if st != 200 || json.Unmarshal(body, &one) != nil || len(one) != 1 {
		t.Fatalf("requests/{id}.json: %d %s", st, body)
	}
	if got := keysOf(t, one[0]); !slices.Equal(got, open311RequestFields) {
		t.Fatalf("request fields %v, want %v", got, open311RequestFields)
	}
	var r Open311Request
	_ = json.Unmarshal(one[0], &r)
	if r.Status != "open" || r.Description != nil || r.AgencyResponsible == "" || !strings.HasSuffix(r.RequestedDatetime, "+07:00") {
		t.Fatalf("unpublished request shows %+v", r)
	}

	// Answer and publish: the request is closed, public and redacted.
	ag := "UBND-X-VIETHUNG"
	f.staff(t, ag, id, Input{Action: ActionAnswer, Text: "Đã thu gom; ông Nguyễn Văn An xin gọi 0912345678."})
	f.staff(t, ag, id, Input{Action: ActionPublish})
	st, _, body = call(h, "GET", "/open311/v2/requests.json", "status=closed&service_code=RAC_THAI", "", "")
	var list []Open311Request
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list) != 1 {
		t.Fatalf("requests.json: %d %s", st, body)
	}
	r = list[0]
	if r.ServiceRequestID != id || r.Status != "closed" || r.StatusNotes == nil || strings.Contains(*r.StatusNotes, "0912345678") ||
		strings.Contains(*r.StatusNotes, "Nguyễn Văn An") || r.Lat == nil || *r.Lat != 21.138 || r.MediaURL == nil {
		t.Fatalf("published request %+v", r)
	}
	if st, _, body = call(h, "GET", "/open311/v2/requests.json", "status=open", "", ""); st != 200 || string(body) != "[]" {
		t.Fatalf("status=open: %d %s", st, body)
	}
	st, _, body = call(h, "GET", "/open311/v2/requests.json", "service_request_id="+id+",PAKN-261203-ZZZZZZZZ", "", "")
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list) != 1 {
		t.Fatalf("by id: %d %s", st, body)
	}
}

func TestOpen311_errors(t *testing.T) {
	h, _ := newHTTP(t)
	form := url.Values{"api_key": {"test-app-key-1"}, "service_code": {"RAC_THAI"}, "lat": {"21.1"}, "long": {"105.8"},
		"description": {"Rác tồn đọng ba ngày ở đầu thôn."}}
	tests := []struct {
		name   string
		method string
		path   string
		query  string
		ctype  string
		body   string
		status int
		want   string
	}{
		{"missing_api_key", "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", "service_code=RAC_THAI", 400, "api_key"},
		{"unknown_service", "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", withForm(form, "service_code", "NOPE"), 422, "service_code"},
		{"no_location", "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", withForm(withFormV(form, "lat", ""), "long", ""), 400, "location"},
		{"json_body", "POST", "/open311/v2/requests.json", "", "application/json", "{}", 415, "form-encoded"},
		{"bad_media_url", "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", withForm(form, "media_url", "javascript:x"), 400, "media_url"},
		{"xml_format", "GET", "/open311/v2/services.xml", "", "", "", 400, "json"},
		{"unknown_path", "GET", "/open311/v2/tokens/x.json", "", "", "", 404, "Unknown"},
		{"unknown_request", "GET", "/open311/v2/requests/PAKN-261203-ZZZZZZZZ.json", "", "", "", 404, "PAKN"},
		{"bad_start_date", "GET", "/open311/v2/requests.json", "start_date=yesterday", "", "", 400, "start_date"},
		{"span_over_90_days", "GET", "/open311/v2/requests.json", "start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z", "", "", 400, "90 days"},
		{"bad_status", "GET", "/open311/v2/requests.json", "status=pending", "", "", 400, "status"},
		{"delete_is_405", "DELETE", "/open311/v2/requests.json", "", "", "", 405, "Method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, hdr, body := call(h, tc.method, tc.path, tc.query, tc.ctype, tc.body)
			var errs []Open311Error
			if st != tc.status || json.Unmarshal(body, &errs) != nil || len(errs) == 0 || errs[0].Code != tc.status ||
				!strings.Contains(string(body), tc.want) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s, want %d with %q in the error list", st, body, tc.status, tc.want)
			}
		})
	}
	h.SetOpen311Keys(func() ([]string, error) { return []string{"", "the-only-key"}, nil })
	st, _, body := call(h, "POST", "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", form.Encode())
	if st != 403 {
		t.Fatalf("unlisted key: %d %s", st, body)
	}
}

func withForm(f url.Values, k, v string) string { return withFormV(f, k, v).Encode() }

func withFormV(f url.Values, k, v string) url.Values {
	c := url.Values{}
	for kk, vv := range f {
		c[kk] = append([]string(nil), vv...)
	}
	if v == "" {
		c.Del(k)
	} else {
		c.Set(k, v)
	}
	return c
}

func TestHTTP_native_api(t *testing.T) {
	h, _ := newHTTP(t)
	body, _ := json.Marshal(validInput())
	st, _, out := call(h, "POST", "/", "", "application/json", string(body), "Idempotency-Key", "k-1")
	var res SubmitResult
	if st != 201 || json.Unmarshal(out, &res) != nil || res.Secret == "" || res.SecretSealed != "" {
		t.Fatalf("submit: %d %s", st, out)
	}
	st, hdr, out2 := call(h, "POST", "", "", "application/json", string(body), "Idempotency-Key", "k-1")
	var again SubmitResult
	if st != 201 || hdr.Get(idempotency.HeaderReplayed) != "true" || json.Unmarshal(out2, &again) != nil || again.Secret != res.Secret || again.ID != res.ID {
		t.Fatalf("replay: %d %s", st, out2)
	}
	st, _, out = call(h, "GET", "", "action=status&id="+res.ID+"&secret="+res.Secret, "", "")
	if st != 200 || !strings.Contains(string(out), res.ID) || !strings.Contains(string(out), `"receivedAt":"2026-12-03T09:00:00+07:00"`) {
		t.Fatalf("status: %d %s", st, out)
	}
	if st, _, out = call(h, "GET", "", "action=status&id=../../x&secret=11111111", "", ""); st != 400 || !strings.Contains(string(out), "invalid_identifier") {
		t.Fatalf("malformed id: %d %s", st, out)
	}
	st, _, out = call(h, "GET", "", "action=status&id="+res.ID+"&secret=11111111", "", "")
	if st != 404 || !strings.Contains(string(out), "feedback_not_found") {
		t.Fatalf("wrong secret: %d %s", st, out)
	}
	ag := res.Agency.Code
	st, hdr, out = call(h, "GET", "", "action=item&id="+res.ID, "", "", "Authorization", "Bearer test-"+ag)
	if st != 200 || hdr.Get("Etag") != `"v1"` {
		t.Fatalf("item: %d %s %v", st, out, hdr)
	}
	var sv StaffView
	if json.Unmarshal(out, &sv) != nil || len(sv.Files) != 0 {
		t.Fatalf("files of an item without attachments: %s", out)
	}
	staffBody := `{"id":"` + res.ID + `","action":"assign"}`
	if st, _, out = call(h, "POST", "", "action=staff", "application/json", staffBody, "Authorization", "Bearer test-"+ag); st != 422 {
		t.Fatalf("staff action without version: %d %s", st, out)
	}
	if st, _, out = call(h, "POST", "", "action=staff", "application/json", staffBody, "Authorization", "Bearer test-"+ag, "If-Match", `"v1"`); st != 200 {
		t.Fatalf("assign: %d %s", st, out)
	}
	if st, _, out = call(h, "POST", "", "action=staff", "application/json", staffBody, "Authorization", "Bearer test-"+ag, "If-Match", `"v1"`); st != 409 ||
		!strings.Contains(string(out), "concurrent_update") {
		t.Fatalf("stale If-Match: %d %s", st, out)
	}
	if st, _, out = call(h, "GET", "", "action=queue&status=in_progress&overdue=false", "", "", "Authorization", "Bearer test-"+ag); st != 200 ||
		!strings.Contains(string(out), res.ID) {
		t.Fatalf("queue: %d %s", st, out)
	}
	if st, _, out = call(h, "GET", "", "action=queue&from=yesterday", "", "", "Authorization", "Bearer test-"+ag); st != 400 ||
		!strings.Contains(string(out), `"field":"from"`) {
		t.Fatalf("bad from: %d %s", st, out)
	}
	if st, _, _ = call(h, "GET", "", "action=fields", "", ""); st != 200 {
		t.Fatalf("fields: %d", st)
	}
	if st, _, _ = call(h, "GET", "", "action=public&q=rac", "", ""); st != 200 {
		t.Fatalf("public: %d", st)
	}
	if st, _, _ = call(h, "PUT", "", "", "", ""); st != 405 {
		t.Fatalf("PUT: %d", st)
	}
	if st, _, _ = call(h, "GET", "/elsewhere", "", "", ""); st != 404 {
		t.Fatalf("unknown path: %d", st)
	}
}
