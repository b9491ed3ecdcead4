package payment_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/idempotency"
	"motcua/shared/payment"
	"motcua/shared/payment/webhook"
)

func post(body string, query string, hdr ...string) handler.Request {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return handler.Request{Method: http.MethodPost, Body: []byte(body), QueryString: query, Header: h}
}

func decode[T any](t *testing.T, r handler.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

func TestPayHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0800", application.StatusAwaitingPayment)
	h := payment.NewPayHTTP(e.svc, idempotency.New(e.store, "idempotency/pay-fee", time.Hour), quiet)
	ctx := context.Background()
	body := `{"code":"` + a.Code + `","pin":"` + testPIN + `","method":"vietqr"}`

	r := h.Serve(ctx, post(body, "", "Idempotency-Key", "k-1"))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	v := decode[payment.View](t, r)
	if v.State != payment.StatePending || v.AmountVND != 150_000 || v.QR == nil || v.QR.PNGBase64 == "" || v.StateLabel == "" {
		t.Fatalf("view = %+v", v)
	}
	if png, err := base64.StdEncoding.DecodeString(v.QR.PNGBase64); err != nil || string(png[1:4]) != "PNG" {
		t.Fatalf("png: %v", err)
	}
	if strings.Contains(string(r.Body), "confirmEvent") || strings.Contains(string(r.Body), "timeline") {
		t.Fatalf("internal fields leaked: %s", r.Body)
	}
	replay := h.Serve(ctx, post(body, "", "Idempotency-Key", "k-1"))
	if replay.StatusCode != http.StatusCreated || replay.Header.Get(idempotency.HeaderReplayed) != "true" {
		t.Fatalf("replay: %d %v", replay.StatusCode, replay.Header)
	}
	again := h.Serve(ctx, post(body, ""))
	if again.StatusCode != http.StatusOK || decode[payment.View](t, again).Ref != v.Ref {
		t.Fatalf("second call: %d %s", again.StatusCode, again.Body)
	}

	tests := []struct {
		name   string
		req    handler.Request
		status int
		code   string
		ctype  string
	}{
		{"status_by_post", post(`{"action":"status","ref":"`+v.Ref+`","pin":"`+testPIN+`"}`, ""), 200, "", "application/json"},
		{"status_by_get", handler.Request{Method: http.MethodGet, QueryString: "ref=" + v.Ref + "&pin=" + testPIN}, 200, "", "application/json"},
		{"qr_png", handler.Request{Method: http.MethodGet, QueryString: "ref=" + v.Ref + "&pin=" + testPIN + "&format=png"}, 200, "", "image/png"},
		{"wrong_pin_404", handler.Request{Method: http.MethodGet, QueryString: "ref=" + v.Ref + "&pin=00000000"}, 404, "invalid_ref_or_pin", ""},
		{"unknown_ref_404", handler.Request{Method: http.MethodGet, QueryString: "ref=MCAAAAAAAAAAAA&pin=" + testPIN}, 404, "invalid_ref_or_pin", ""},
		{"missing_fields_422", post(`{"pin":""}`, ""), 422, "validation_failed", ""},
		{"wrong_pin_on_pay_404", post(`{"code":"`+a.Code+`","pin":"00000000","method":"vietqr"}`, ""), 404, "invalid_code_or_pin", ""},
		{"other_method_409", post(`{"code":"`+a.Code+`","pin":"`+testPIN+`","method":"vnpay"}`, ""), 409, "payment_in_progress", ""},
		{"put_405", handler.Request{Method: http.MethodPut}, 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Serve(ctx, tc.req)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tc.status, r.Body)
			}
			if tc.ctype != "" && !strings.HasPrefix(r.Header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
			if tc.code != "" {
				var p struct {
					Code     string `json:"code"`
					DetailVi string `json:"detail_vi"`
				}
				if err := json.Unmarshal(r.Body, &p); err != nil || p.Code != tc.code {
					t.Fatalf("problem %s, want code %s", r.Body, tc.code)
				}
			}
		})
	}
}

func TestCallbackHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0900", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)
	h := payment.NewCallbackHTTP(e.svc, quiet)
	ctx := context.Background()

	q := ipn(p.Ref, p.AmountVND, "00", "00", "5", hashSecret)
	q.Set("provider", "vnpay")
	r := h.Serve(ctx, handler.Request{Method: http.MethodGet, QueryString: q.Encode()})
	if r.StatusCode != 200 || string(r.Body) != `{"RspCode":"00","Message":"Confirm Success"}` {
		t.Fatalf("ipn: %d %s", r.StatusCode, r.Body)
	}
	r = h.Serve(ctx, handler.Request{Method: http.MethodGet, QueryString: q.Encode()})
	if string(r.Body) != `{"RspCode":"02","Message":"Order already confirmed"}` {
		t.Fatalf("duplicate ipn: %s", r.Body)
	}
	bad := url.Values{"provider": {"vnpay"}, "vnp_TxnRef": {p.Ref}}
	if r := h.Serve(ctx, handler.Request{Method: http.MethodGet, QueryString: bad.Encode()}); string(r.Body) != `{"RspCode":"97","Message":"Invalid signature"}` {
		t.Fatalf("unsigned ipn: %s", r.Body)
	}

	b := e.addApp(t, "STP-260302-0901", application.StatusAwaitingPayment)
	pb := e.pay(t, b.Code, payment.MethodVietQR)
	call := signedBank(t, transfer("ev-http", pb.Ref, pb.AmountVND), e.clock.Now(), newSecret)
	req := handler.Request{Method: http.MethodPost, QueryString: "provider=bank", Body: call.Body, Header: call.Header}
	r = h.Serve(ctx, req)
	if r.StatusCode != 200 || decode[payment.BankResult](t, r).Status != payment.BankConfirmed {
		t.Fatalf("bank: %d %s", r.StatusCode, r.Body)
	}
	req.Header = req.Header.Clone()
	req.Header.Set(webhook.Header, webhook.Sign([]byte("nope"), e.clock.Now(), call.Body))
	if r := h.Serve(ctx, req); r.StatusCode != 401 || !strings.Contains(string(r.Body), "invalid_signature") {
		t.Fatalf("forged bank call: %d %s", r.StatusCode, r.Body)
	}
	bodyBad := []byte(`{"eventId":"x","type":"other","currency":"USD","amount":-1}`)
	hb := http.Header{}
	hb.Set(webhook.Header, webhook.Sign(newSecret, e.clock.Now(), bodyBad))
	if r := h.Serve(ctx, handler.Request{Method: http.MethodPost, QueryString: "provider=bank", Body: bodyBad, Header: hb}); r.StatusCode != 422 {
		t.Fatalf("invalid event: %d %s", r.StatusCode, r.Body)
	}
	if r := h.Serve(ctx, handler.Request{Method: http.MethodGet, QueryString: "provider=paypal"}); r.StatusCode != 400 {
		t.Fatalf("unknown provider: %d", r.StatusCode)
	}
	if r := h.Serve(ctx, handler.Request{Method: http.MethodGet, QueryString: "provider=bank"}); r.StatusCode != 405 {
		t.Fatalf("GET bank: %d", r.StatusCode)
	}
}

func TestCallbackHTTP_form_posted_IPN_is_applied_and_stored_redacted(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0950", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)
	h := payment.NewCallbackHTTP(e.svc, quiet)
	q := ipn(p.Ref, p.AmountVND, "00", "00", "31", hashSecret)
	sig := q.Get("vnp_SecureHash")
	r := h.Serve(context.Background(), handler.Request{Method: http.MethodPost, QueryString: "provider=vnpay", Body: []byte(q.Encode()),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	if string(r.Body) != `{"RspCode":"00","Message":"Confirm Success"}` {
		t.Fatalf("form ipn: %s", r.Body)
	}
	keys := e.keys(t, payment.AuditPrefix)
	if len(keys) != 1 {
		t.Fatalf("audit = %v", keys)
	}
	obj, err := e.store.Get(context.Background(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(obj.Body), sig) || !strings.Contains(string(obj.Body), p.Ref) {
		t.Fatalf("audit record: %s", obj.Body)
	}
}
