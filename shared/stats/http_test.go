package stats_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/stats"
)

func call(h *stats.HTTP, method, query string, body string) handler.Response {
	return callWith(h, method, query, body, http.Header{})
}

func callWith(h *stats.HTTP, method, query string, body string, hdr http.Header) handler.Response {
	if body != "" {
		hdr.Set("Content-Type", "application/json")
	}
	return h.Serve(context.Background(), handler.Request{Method: method, QueryString: query, Body: []byte(body), Header: hdr})
}

var deliveryKey = [][]byte{[]byte("connector-secret")}

func TestHTTP_queries(t *testing.T) {
	store := loadFixture(t)
	svc := newService(t, store, vn("2026-11-30"))
	if _, err := svc.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := stats.NewHTTP(svc, nil, nil)
	tests := []struct {
		name, query string
		status      int
		contentType string
		contains    string
	}{
		{"month_json", "period=month&month=2026-11", 200, "application/json", `"id":"online_share"`},
		{"default_is_the_current_month", "", 200, "application/json", `"from":"2026-11"`},
		{"quarter_inferred_from_parameter", "quarter=2026-q4", 200, "application/json", `"to":"2026-12"`},
		{"year", "period=year&year=2026", 200, "application/json", `"from":"2026-01"`},
		{"custom", "period=custom&from=2026-10&to=2026-11", 200, "application/json", `"month":"2026-10"`},
		{"csv_figures", "period=month&month=2026-11&format=csv", 200, "text/csv", "online_share,Tỷ lệ hồ sơ trực tuyến,Online share,71.43,percent,5,7"},
		{"csv_months", "period=quarter&quarter=2026-Q4&format=csv&table=months", 200, "text/csv", "2026-11,7,5,1,1,1,1,2,4,2,1"},
		{"html_page", "period=month&month=2026-11&format=html", 200, "text/html", `<svg viewBox="0 0 640 240"`},
		{"bad_month", "period=month&month=2026-13", 400, "application/problem+json", `"invalid_query"`},
		{"bad_quarter", "period=quarter&quarter=2026-Q5", 400, "application/problem+json", `quarter`},
		{"custom_backwards", "period=custom&from=2026-11&to=2026-01", 400, "application/problem+json", `"to"`},
		{"custom_too_long", "period=custom&from=2020-01&to=2026-12", 400, "application/problem+json", `60`},
		{"custom_days_refused", "period=custom&from=2026-11-01&to=2026-11-30", 400, "application/problem+json", `"from"`},
		{"bad_period", "period=week", 400, "application/problem+json", `"period"`},
		{"bad_level", "level=national", 400, "application/problem+json", `"level"`},
		{"bad_agency", "agency=../x", 400, "application/problem+json", `"agency"`},
		{"bad_format", "format=xml", 400, "application/problem+json", `"format"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(h, http.MethodGet, tc.query, "")
			if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) {
				t.Fatalf("status %d %q, want %d %q: %s", res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.contentType, res.Body)
			}
			if !strings.Contains(string(res.Body), tc.contains) {
				t.Fatalf("body lacks %q:\n%s", tc.contains, res.Body)
			}
		})
	}
	if res := call(h, http.MethodDelete, "", ""); res.StatusCode != 405 {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
}

func TestHTTP_events(t *testing.T) {
	ctx := context.Background()
	store := loadFixture(t)
	svc := newService(t, store, vn("2026-11-30"))
	h := stats.NewHTTP(svc, func() ([][]byte, error) { return deliveryKey, nil }, nil)
	tests := []struct {
		name, body string
		status     int
	}{
		{"application_event", `{"id":"e1","type":"application.returned","payload":{"code":"TEST-261101-0001"}}`, 200},
		{"duplicate", `{"id":"e1","type":"application.returned","payload":{"code":"TEST-261101-0001"}}`, 200},
		{"payment_event_names_the_application", `{"id":"e2","type":"payment.confirmed","payload":{"ref":"P","applicationCode":"TEST-261101-0003"}}`, 200},
		{"rating_event", `{"id":"e3","type":"rating.application_rated","payload":{"code":"TEST-261101-0002"}}`, 200},
		{"feedback_event", `{"id":"e4","type":"feedback.answered","payload":{"id":"F1"}}`, 200},
		{"unknown_application_counts_nothing", `{"id":"e5","type":"application.submitted","payload":{"code":"NOPE-261101-0001"}}`, 200},
		{"payment_without_application_ignored", `{"id":"e6","type":"payment.failed","payload":{"ref":"P"}}`, 200},
		{"other_family_ignored", `{"id":"e7","type":"receipt-job.run","payload":{}}`, 200},
		{"feedback_without_id", `{"id":"e8","type":"feedback.received","payload":{}}`, 422},
		{"key_injection_refused", `{"id":"e9","type":"application.submitted","payload":{"code":"../../x"}}`, 422},
		{"not_an_envelope", `{"type":"application.submitted"}`, 422},
		{"not_json", `nope`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			delivery.Sign(hdr, deliveryKey, time.Now(), []byte(tc.body))
			res := callWith(h, http.MethodPost, "", tc.body, hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, res.Body)
			}
		})
	}
	// Only the connector may deliver: unsigned, wrongly signed or stale
	// deliveries are refused before anything is read.
	forged := `{"id":"x1","type":"application.returned","payload":{"code":"TEST-261101-0004"}}`
	for name, hdr := range map[string]http.Header{
		"unsigned": {},
		"wrong_key": func() http.Header {
			h := http.Header{}
			delivery.Sign(h, [][]byte{[]byte("guess")}, time.Now(), []byte(forged))
			return h
		}(),
		"stale": func() http.Header {
			h := http.Header{}
			delivery.Sign(h, deliveryKey, time.Now().Add(-time.Hour), []byte(forged))
			return h
		}(),
		"other_body": func() http.Header {
			h := http.Header{}
			delivery.Sign(h, deliveryKey, time.Now(), []byte("{}"))
			return h
		}(),
	} {
		if res := callWith(h, http.MethodPost, "", forged, hdr); res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(res.Body), "delivery_not_authenticated") {
			t.Errorf("%s: status %d %s", name, res.StatusCode, res.Body)
		}
	}
	r, err := svc.Report(ctx, stats.Query{Period: "month", From: "2026-11", To: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ received, fb, fees float64 }
	for _, f := range r.Figures {
		switch f.ID {
		case "applications_received":
			got.received = *f.Value
		case "feedback_received":
			got.fb = *f.Value
		case "fees_collected_vnd":
			got.fees = *f.Value
		}
	}
	// A1, A2, A3 and F1 were counted (A3's fee paid in November).
	if got.received != 3 || got.fb != 1 || got.fees != 50000 {
		t.Fatalf("after the events: %+v", got)
	}
}

// FuzzParseQuery: any query string gives a query or an invalid_query
// problem, never a panic, and an accepted one spans 1..MaxMonths months.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"period=month&month=2026-11", "quarter=2026-Q4", "period=custom&from=2026-01&to=2026-06&agency=STP&level=commune", "field=H%E1%BB%99+t%E1%BB%8Bch", "year=9999", "period=custom&from=0000-01&to=0004-12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := stats.ParseQuery(v, vn("2026-11-30"))
		if err != nil {
			return
		}
		if n := len(q.Months()); n < 1 || n > stats.MaxMonths {
			t.Fatalf("%q: %d months", raw, n)
		}
		if !utf8.ValidString(q.Field) {
			return
		}
		if _, err := json.Marshal(q); err != nil {
			t.Fatal(err)
		}
	})
}
