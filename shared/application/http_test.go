package application_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/idempotency"
)

func post(t *testing.T, h *application.HTTP, query string, body any, hdr map[string]string) handler.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := handler.Request{Method: http.MethodPost, QueryString: query, Body: b, Header: http.Header{"Content-Type": {"application/json"}}}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return h.Serve(context.Background(), req)
}

func TestHTTP_idempotent_submit_keeps_pin_sealed(t *testing.T) {
	e := newEnv(t, nil)
	h := application.NewHTTP(e.svc, idempotency.New(e.store, "idempotency/submit-application", time.Hour), quiet)
	key := map[string]string{"Idempotency-Key": "6f1c1f5e-2b1a-4c55-9d7e-0c5d1e1f2a3b"}

	// Three concurrent retries and a late one: one application, one code, one PIN.
	var wg sync.WaitGroup
	resps := make([]handler.Response, 3)
	for i := range resps {
		wg.Add(1)
		go func() { defer wg.Done(); resps[i] = post(t, h, "", validInput(), key) }()
	}
	wg.Wait()
	var first application.SubmitResult
	for _, r := range append(resps, post(t, h, "", validInput(), key)) {
		if r.StatusCode == http.StatusConflict {
			continue // idempotency_in_progress while the first one ran
		}
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		var out application.SubmitResult
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		if out.PIN == "" || out.PINSealed != "" || bytes.Contains(r.Body, []byte("pinSealed")) {
			t.Fatalf("pin not unsealed: %s", r.Body)
		}
		if first.Code == "" {
			first = out
		} else if out.Code != first.Code || out.PIN != first.PIN {
			t.Fatalf("retry gave %s/%s, first %s/%s", out.Code, out.PIN, first.Code, first.PIN)
		}
	}
	var apps int
	for _, k := range e.store.Keys() {
		if strings.HasPrefix(k, "applications/") {
			apps++
		}
		obj, _ := e.store.Get(context.Background(), k)
		if bytes.Contains(obj.Body, []byte(`"`+first.PIN+`"`)) {
			t.Errorf("%s holds the PIN in clear", k)
		}
	}
	if apps != 1 || len(e.q.Published(eventsQueue)) != 1 {
		t.Errorf("%d applications, %d events", apps, len(e.q.Published(eventsQueue)))
	}
	// Same key, other body: refused.
	other := validInput()
	other.Applicant.Name = "Người khác"
	if r := post(t, h, "", other, key); r.StatusCode != http.StatusConflict {
		t.Errorf("reused key: %d", r.StatusCode)
	}
}

func TestHTTP_actions(t *testing.T) {
	e := newEnv(t, nil)
	h := application.NewHTTP(e.svc, idempotency.New(e.store, "idem", time.Hour), quiet)
	r := post(t, h, "", validInput(), nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("submit %d %s", r.StatusCode, r.Body)
	}
	var sub application.SubmitResult
	_ = json.Unmarshal(r.Body, &sub)
	cases := []struct {
		name, query string
		body        any
		want        int
	}{
		{"bad_body_is_422", "", map[string]any{"procedureCode": "X.HT.004"}, http.StatusUnprocessableEntity},
		{"unknown_member_is_400", "", map[string]any{"nope": 1}, http.StatusBadRequest},
		{"unknown_action", "action=fly", map[string]any{}, http.StatusBadRequest},
		{"complete_wrong_pin", "action=complete-uploads", map[string]string{"code": sub.Code, "pin": "1234567x"}, http.StatusUnprocessableEntity},
		{"complete_unknown_code", "action=complete-uploads", map[string]string{"code": "NOPE-261203-0001", "pin": "12345678"}, http.StatusNotFound},
		{"complete_malformed_code", "action=complete-uploads", map[string]string{"code": "../NOPE", "pin": "12345678"}, http.StatusBadRequest},
		{"complete_ok", "action=complete-uploads", map[string]string{"code": sub.Code, "pin": sub.PIN}, http.StatusOK},
		{"cancel_ok", "action=cancel", map[string]string{"code": sub.Code, "pin": sub.PIN}, http.StatusOK},
		{"cancel_again_ok", "action=cancel", map[string]string{"code": sub.Code, "pin": sub.PIN}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, h, tc.query, tc.body, nil)
			if r.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tc.want, r.Body)
			}
		})
	}
	get := h.Serve(context.Background(), handler.Request{Method: http.MethodGet})
	if get.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", get.StatusCode)
	}
}
