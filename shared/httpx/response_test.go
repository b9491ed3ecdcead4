package httpx

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/logx"
)

func TestJSON(t *testing.T) {
	resp := JSON(http.StatusCreated, map[string]string{"id": "HS-1"}, http.Header{"Location": {"?id=HS-1"}})
	if resp.StatusCode != 201 || string(resp.Body) != `{"id":"HS-1"}` {
		t.Errorf("resp = %d %s", resp.StatusCode, resp.Body)
	}
	if resp.Header.Get("Content-Type") != ContentTypeJSON || resp.Header.Get("Location") != "?id=HS-1" {
		t.Errorf("headers = %v", resp.Header)
	}
	bad := JSON(http.StatusOK, make(chan int))
	if bad.StatusCode != 500 || bad.Header.Get("Content-Type") != ContentTypeProblem {
		t.Errorf("unencodable value gave %d %v", bad.StatusCode, bad.Header)
	}
}

func TestProblemEncoding(t *testing.T) {
	p := Conflict("wrong_state", "Not awaiting payment.", "Không ở trạng thái chờ thanh toán.").
		WithExtra("current_status", "processing").
		WithExtra("status", 200). // must not override a standard member
		WithHeader("Retry-After", "2")
	resp := ProblemResponse(p)
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":           "https://motcua.gov.vn/problems/wrong_state",
		"title":          "Conflict",
		"status":         float64(409),
		"detail":         "Not awaiting payment.",
		"code":           "wrong_state",
		"title_vi":       "Xung đột dữ liệu",
		"detail_vi":      "Không ở trạng thái chờ thanh toán.",
		"current_status": "processing",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["errors"]; ok {
		t.Errorf("empty errors member encoded: %s", resp.Body)
	}
	if resp.StatusCode != 409 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("resp = %d %v", resp.StatusCode, resp.Header)
	}
	// Round trip through UnmarshalJSON keeps everything.
	var back Problem
	if err := json.Unmarshal(resp.Body, &back); err != nil {
		t.Fatal(err)
	}
	if back.Code != "wrong_state" || back.Status != 409 || back.Extra["current_status"] != "processing" {
		t.Errorf("round trip = %+v", back)
	}
	if !strings.Contains(p.Error(), "wrong_state") {
		t.Errorf("Error() = %q", p.Error())
	}
}

func TestAllowMethods(t *testing.T) {
	tests := []struct {
		name   string
		method string
		want   bool // allowed
	}{
		{"get_allowed", "GET", true},
		{"lowercase_allowed", "post", true},
		{"delete_refused", "DELETE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := AllowMethods(handler.Request{Method: tt.method}, http.MethodGet, http.MethodPost)
			if (p == nil) != tt.want {
				t.Fatalf("AllowMethods(%s) = %v", tt.method, p)
			}
			if p != nil {
				resp := ProblemResponse(p)
				if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" || p.Code != "method_not_allowed" {
					t.Errorf("resp = %d %v", resp.StatusCode, resp.Header)
				}
			}
		})
	}
}

func TestCallIDAndQuery(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   string
	}{
		{"present", "5f1c-22", "5f1c-22"},
		{"absent", "", ""},
		{"control_chars_rejected", "a\x01b", ""},
		{"too_long_rejected", strings.Repeat("a", 129), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := handler.Request{Header: http.Header{}}
			if tt.header != "" {
				req.Header.Set(HeaderCallID, tt.header)
			}
			if got := CallID(req); got != tt.want {
				t.Errorf("CallID = %q, want %q", got, tt.want)
			}
			got := logx.CallIDFrom(RequestContext(req))
			if tt.want != "" && got != tt.want {
				t.Errorf("RequestContext call id = %q, want %q", got, tt.want)
			}
			if got == "" {
				t.Errorf("RequestContext made up no call id")
			}
		})
	}
	req := handler.Request{QueryString: "id=HS-1&status=a&status=b&bad=%zz"}
	q := Query(req)
	if q.Get("id") != "HS-1" || len(q["status"]) != 2 {
		t.Errorf("Query = %v", q)
	}
	if Query(handler.Request{}) == nil {
		t.Errorf("Query of empty string is nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req.WithContext(ctx)
	if RequestContext(req).Done() != ctx.Done() {
		t.Errorf("RequestContext lost the request's cancellation")
	}
}

// The upstream golang-http SDK's Request.Context is nil until WithContext:
// RequestContext must work for both and keep the template's context.
func TestRequestContext_with_and_without_template_context(t *testing.T) {
	bare := handler.Request{Header: http.Header{}}
	if ctx := RequestContext(bare); ctx == nil || ctx.Err() != nil {
		t.Fatalf("RequestContext of a bare request = %v", ctx)
	}
	parent, cancel := context.WithCancel(context.Background())
	req := handler.Request{Header: http.Header{}}
	req.WithContext(parent)
	ctx := RequestContext(req)
	cancel()
	if ctx.Err() == nil {
		t.Error("RequestContext dropped the template's context (cancellation not seen)")
	}
}

func TestJSON_does_not_escape_urls(t *testing.T) {
	const pay = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?vnp_Amount=20000000&vnp_TxnRef=MCABC<x>"
	resp := JSON(200, map[string]string{"payUrl": pay})
	if !strings.Contains(string(resp.Body), pay) || strings.Contains(string(resp.Body), `\u0026`) || strings.HasSuffix(string(resp.Body), "\n") {
		t.Fatalf("body %s", resp.Body)
	}
	p := ProblemResponse(BadRequest("x", "see https://a.example/?a=1&b=2", "xem https://a.example/?a=1&b=2"))
	if strings.Contains(string(p.Body), `\u0026`) {
		t.Fatalf("problem body escapes: %s", p.Body)
	}
}
