package book_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/config"
	"motcua/shared/delivery"
	"motcua/shared/receipt/book"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

// staffKeys writes a dev staff key pair into a temporary secrets folder and
// returns its signer and a verifier over it.
func staffKeys(t testing.TB) (*staffauth.Signer, *staffauth.Verifier) {
	t.Helper()
	dir := t.TempDir()
	s := stafftest.WriteKeys(t, dir)
	v, err := staffauth.NewVerifier(config.SecretsFrom(config.MapSource{config.SecretsDirKey: dir}))
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func lookupHTTP(e *env, v *staffauth.Verifier) *book.LookupHTTP {
	return book.NewLookupHTTP(e.book, book.LookupDeps{
		Access:    application.NewAccess(application.NewRepository(e.store), citizenguard.New(e.store)),
		StaffAuth: v.Verify,
		Keys:      func() (any, error) { return qr.KeySet(), nil },
		Log:       quiet,
	})
}

func req(method, query, ct, body string, hdr ...string) handler.Request {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return handler.Request{Method: method, QueryString: query, Header: h, Body: []byte(body)}
}

func TestIssueHTTP(t *testing.T) {
	e := newEnv(t, nil)
	secret := []byte("delivery-secret-for-tests")
	h := book.NewIssueHTTP(e.book, func() ([][]byte, error) { return [][]byte{secret}, nil }, quiet)
	ev := e.paid(t, 1)
	body, _ := json.Marshal(ev)
	signed := func(b []byte) handler.Request {
		r := req(http.MethodPost, "", "application/json", string(b))
		delivery.Sign(http.Header(r.Header), [][]byte{secret}, time.Now(), b)
		return r
	}
	other, _ := json.Marshal(map[string]any{"id": "x", "type": "application.submitted", "payload": map[string]any{}})
	tests := []struct {
		name   string
		req    handler.Request
		status int
		want   string
	}{
		{"unsigned_refused", req(http.MethodPost, "", "application/json", string(body)), 401, "delivery_not_authenticated"},
		{"wrong_secret_refused", func() handler.Request {
			r := req(http.MethodPost, "", "application/json", string(body))
			delivery.Sign(http.Header(r.Header), [][]byte{[]byte("other")}, time.Now(), body)
			return r
		}(), 401, "delivery_not_authenticated"},
		{"signed_payment_confirmed_issues", signed(body), 200, `"outcome":"issued"`},
		{"redelivery_same_receipt", signed(body), 200, `"number":1`},
		{"other_event_ignored", signed(other), 200, `"outcome":"ignored"`},
		{"not_an_envelope", signed([]byte(`[1,2]`)), 400, "invalid_envelope"},
		{"get_not_allowed", req(http.MethodGet, "", "", ""), 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Serve(context.Background(), tc.req)
			if res.StatusCode != tc.status || !strings.Contains(string(res.Body), tc.want) {
				t.Fatalf("%d %s", res.StatusCode, res.Body)
			}
		})
	}
}

func TestLookupHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, rec, err := e.book.HandleEvent(ctx, e.paid(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier := staffKeys(t)
	h := lookupHTTP(e, verifier)
	code := rec.Receipt.ApplicationCode
	lk := rec.Receipt.LookupCode
	tok := stafftest.Token(t, signer, "kt1", "STP")
	other := stafftest.Token(t, signer, "kt2", "UBND-X")
	tests := []struct {
		name   string
		req    handler.Request
		status int
		ctype  string
		want   string
	}{
		{"json_by_lookup_code", req("GET", "series=BL26T&number=1&lookup="+lk, "", ""), 200, "application/json", `"totalInWords":"Một trăm năm mươi nghìn đồng"`},
		{"payer_id_masked", req("GET", "series=BL26T&number=1&lookup="+lk, "", ""), 200, "application/json", `"id":"********2345"`},
		{"xml_by_format", req("GET", "series=BL26T&number=1&format=xml&lookup="+lk, "", ""), 200, "application/xml", "<BLai"},
		{"pdf_by_accept", req("GET", "series=BL26T&number=1&lookup="+lk, "", "", "Accept", "application/pdf"), 200, "application/pdf", "%PDF-"},
		{"wrong_lookup_code", req("GET", "series=BL26T&number=1&lookup=ABCDEFGHJKMN", "", ""), 404, "application/problem+json", "receipt_not_found"},
		{"bad_number", req("GET", "series=BL26T&number=0&lookup=x", "", ""), 422, "application/problem+json", `"field":"number"`},
		{"bad_format", req("GET", "series=BL26T&number=1&lookup=x&format=doc", "", ""), 422, "application/problem+json", `"field":"format"`},
		{"by_code_and_pin", req("GET", "action=lookup&code="+code+"&pin="+testPIN, "", ""), 200, "application/json", `"lookupCode":"` + lk},
		{"wrong_pin", req("GET", "action=lookup&code="+code+"&pin=00000000", "", ""), 404, "application/problem+json", "receipt_not_found"},
		{"lookup_by_post", req("POST", "action=lookup", "application/json", `{"code":"`+code+`","pin":"`+testPIN+`"}`), 200, "application/json", `"number":1`},
		{"verify_ids", req("POST", "", "application/json", `{"series":"BL26T","number":1,"lookupCode":"`+lk+`"}`), 200, "application/json", `"valid":true`},
		{"verify_ids_unknown", req("POST", "", "application/json", `{"series":"BL26T","number":9,"lookupCode":"`+lk+`"}`), 200, "application/json", `"reason":"not_issued_here"`},
		{"verify_missing_fields", req("POST", "", "application/json", `{"series":"BL26T"}`), 422, "application/problem+json", `"field":"number"`},
		{"verify_xml_garbage", req("POST", "", "application/xml", `<x/>`), 200, "application/json", `"valid":false`},
		{"unknown_json_field", req("POST", "", "application/json", `{"serie":"BL26T"}`), 400, "application/problem+json", "unknown_field"},
		{"keys", req("GET", "action=keys", "", ""), 200, "application/json", `"kty":"OKP"`},
		{"summary_needs_token", req("GET", "action=summary&series=BL26T&day=2026-12-03", "", ""), 401, "application/problem+json", ""},
		{"summary_other_agency", req("GET", "action=summary&series=BL26T&day=2026-12-03", "", "", "Authorization", "Bearer "+other), 403, "application/problem+json", ""},
		{"summary_csv", req("GET", "action=summary&series=BL26T&day=2026-12-03&format=csv", "", "", "Authorization", "Bearer "+tok), 200, "text/csv", "TOTAL,1"},
		{"summary_bad_day", req("GET", "action=summary&series=BL26T&day=3/12/2026", "", "", "Authorization", "Bearer "+tok), 422, "application/problem+json", `"field":"day"`},
		{"replace_needs_token", req("POST", "action=replace", "application/json", `{"series":"BL26T","number":1,"reason":"x"}`), 401, "application/problem+json", ""},
		{"replace_needs_reason", req("POST", "action=replace", "application/json", `{"series":"BL26T","number":1}`, "Authorization", "Bearer "+tok), 422, "application/problem+json", `"field":"reason"`},
		{"replace", req("POST", "action=replace", "application/json", `{"series":"BL26T","number":1,"reason":"Sai địa chỉ","payer":{"address":"5 Phan Đình Phùng, Đà Lạt"}}`, "Authorization", "Bearer "+tok), 201, "application/json", `"kind":"replacement"`},
		{"original_now_replaced", req("GET", "series=BL26T&number=1&lookup="+lk, "", ""), 200, "application/json", `"status":"replaced"`},
		{"put_not_allowed", req("PUT", "", "", ""), 405, "application/problem+json", ""},
		{"keys_by_sub_path_and_action", req("GET", "action=keys", "", "", "X-Motcua-Path", "/keys"), 200, "application/json", `"kty":"OKP"`},
		{"sub_path_without_action", req("GET", "", "", "", "X-Motcua-Path", "/keys"), 400, "application/problem+json", "action_required"},
		{"sub_path_wrong_method_without_action", req("POST", "", "", "", "X-Motcua-Path", "/keys/"), 405, "application/problem+json", ""},
		{"lookup_by_sub_path", req("POST", "action=lookup", "application/json", `{"code":"`+code+`","pin":"`+testPIN+`"}`, "X-Motcua-Path", "/lookup/"), 200, "application/json", `"number":1`},
		{"sub_path_and_action_disagree", req("GET", "action=keys", "", "", "X-Motcua-Path", "/summary"), 400, "application/problem+json", "action_path_mismatch"},
		{"unknown_action", req("GET", "action=delete", "", ""), 400, "application/problem+json", "unknown_action"},
		{"empty_action", req("GET", "action=", "", ""), 400, "application/problem+json", "unknown_action"},
		{"keys_allow_get_only", req("POST", "action=keys", "", ""), 405, "application/problem+json", ""},
		{"adjust_allow_post_only", req("GET", "action=adjust", "", ""), 405, "application/problem+json", ""},
		{"empty_format_refused", req("GET", "series=BL26T&number=1&format=&lookup="+lk, "", ""), 422, "application/problem+json", `"field":"format"`},
		{"upper_case_format_refused", req("GET", "series=BL26T&number=1&format=PDF&lookup="+lk, "", ""), 422, "application/problem+json", `"field":"format"`},
		{"series_not_a_symbol", req("GET", "series=bl/../x&number=1&lookup="+lk, "", ""), 422, "application/problem+json", `"field":"series"`},
		{"summary_empty_format_refused", req("GET", "action=summary&series=BL26T&day=2026-12-03&format=", "", "", "Authorization", "Bearer "+tok), 422, "application/problem+json", `"field":"format"`},
		{"verify_action_other_than_verify", req("POST", "", "application/json", `{"action":"lookup","code":"`+code+`","pin":"`+testPIN+`"}`), 400, "application/problem+json", "unknown_field"},
		{"action_in_body_refused", req("POST", "action=adjust", "application/json", `{"action":"adjust","series":"BL26T","number":1,"reason":"x","lines":[{"name":"x","kind":"phi","amountVND":-1}]}`, "Authorization", "Bearer "+tok), 400, "application/problem+json", "unknown_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Serve(ctx, tc.req)
			if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(res.Body), tc.want) {
				t.Fatalf("%d %s %.300s", res.StatusCode, res.Header.Get("Content-Type"), res.Body)
			}
		})
	}
}

// FuzzLookupHTTP sends arbitrary queries and bodies to the receipt
// function's adapter: it must answer with a status it documents, never
// panic.
func FuzzLookupHTTP(f *testing.F) {
	f.Add("GET", "series=BL26T&number=1&lookup=X", "", "")
	f.Add("POST", "", "application/xml", "<BLai><DLBLai Id=\"DLBLai\"/></BLai>")
	f.Add("POST", "action=adjust", "application/json", `{"series":"BL26T","number":1,"lines":[{"name":"x","kind":"phi","amountVND":-1}]}`)
	f.Add("GET", "action=summary&series=BL26T&day=2026-12-03&format=xml", "", "")
	e := newEnv(f, nil)
	_, verifier := staffKeys(f)
	h := lookupHTTP(e, verifier)
	f.Fuzz(func(t *testing.T, method, query, ct, body string) {
		res := h.Serve(context.Background(), req(method, query, ct, body))
		switch res.StatusCode {
		case 200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429:
		default:
			t.Fatalf("status %d for %s ?%s %s %q: %s", res.StatusCode, method, query, ct, body, res.Body)
		}
	})
}
