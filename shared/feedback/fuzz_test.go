package feedback

import (
	"context"
	"encoding/json"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/idempotency"
)

// FuzzOpen311Input feeds arbitrary form bodies to the Open311 parameter
// mapping: it must never panic, and whatever it accepts must carry a
// location and a description.
func FuzzOpen311Input(f *testing.F) {
	f.Add("api_key=k&service_code=RAC_THAI&lat=21.1&long=105.8&description=R%C3%A1c")
	f.Add("lat=NaN&long=Inf&address_string=")
	f.Add("media_url=javascript:alert(1)&address_id=1")
	f.Add("%ZZ&&==&lat=1e400")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, errs := open311Input(form)
		if len(errs) == 0 && in.Location == nil {
			t.Fatal("accepted without a location")
		}
	})
}

// FuzzRedactText checks redaction never leaves a 12-digit run or an
// e-mail address and keeps valid UTF-8 valid.
func FuzzRedactText(f *testing.F) {
	f.Add("Gọi 0912345678 hoặc a.b@example.com, CCCD 001090123456", "Nguyễn Văn An")
	f.Add("+84 912 345 678 và 84-912-345-678", "")
	f.Add(strings.Repeat("9", 40), "((")
	f.Fuzz(func(t *testing.T, s, name string) {
		out := RedactText(s, name)
		if utf8.ValidString(s) && utf8.ValidString(name) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if emailPattern.MatchString(out) {
			t.Fatalf("e-mail left in %q", out)
		}
	})
}

// FuzzServe sends arbitrary paths, queries and bodies through the whole
// HTTP adapter (in-memory store): no panic, and every answer is JSON with a
// status the API documents.
func FuzzServe(f *testing.F) {
	f.Add("POST", "", "", `{"kind":"regulation","field":"RAC_THAI","title":"Rác ở thôn","content":"Rác tồn đọng ba ngày."}`)
	f.Add("GET", "", "action=queue&cursor=%ZZ", "")
	f.Add("GET", "/open311/v2/requests.json", "start_date=2026-01-01T00:00:00Z", "")
	f.Add("POST", "/open311/v2/requests.json", "", "api_key=12345678&service_code=RAC_THAI&lat=91&long=0&description=xxxxxxxxxxxx")
	f.Add("GET", "/open311/v2/services/../../x.json", "", "")
	f.Add("POST", "", "action=status", `{"id":"../../x","secret":"1"}`)
	cal := mustCalendar(f)
	pep := guardtest.Pepper(f)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if len(body) > 1<<14 {
			return
		}
		store := docstore.NewMemStore("data")
		svc, err := NewService(Deps{Store: store, Uploads: docstore.NewMemStore("up"), Publisher: nopPublisher{}, Calendar: cal, Log: discardLog(),
			Guard: citizenguard.New(store, citizenguard.WithPepper(pep), citizenguard.WithLogger(discardLog()))})
		if err != nil {
			t.Fatal(err)
		}
		h := NewHTTP(svc, idempotency.New(store, "idem", idempotency.DefaultTTL), nil, discardLog())
		hdr := http.Header{"Content-Type": {"application/json"}}
		if strings.HasPrefix(path, "/open311") && method == "POST" {
			hdr.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if path != "" {
			hdr.Set(HeaderPath, path)
		}
		r := h.Serve(context.Background(), handler.Request{Method: method, QueryString: query, Body: []byte(body), Header: hdr})
		if r.StatusCode < 200 || r.StatusCode > 599 || r.StatusCode >= 500 {
			t.Fatalf("status %d for %s %s ?%s: %s", r.StatusCode, method, path, query, r.Body)
		}
		if !json.Valid(r.Body) {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
	})
}
