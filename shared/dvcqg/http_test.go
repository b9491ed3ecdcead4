package dvcqg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/cmd/dvcqg-sim/sim"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/dvcqg"
)

func TestHTTP_status_codes(t *testing.T) {
	w := newWorld(t)
	auth := func(h http.Header, _ []byte) error {
		if h.Get("X-Test-Signed") != "yes" {
			return errors.New("unsigned")
		}
		return nil
	}
	h := dvcqg.NewHTTP(w.syncer, auth, nil)
	body := func(id, code string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "type": "application.received", "payload": map[string]string{"code": code}})
		return b
	}
	signed := http.Header{"X-Test-Signed": {"yes"}}
	c, _ := application.ParseCode(code)
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		body   []byte
		before func()
		status int
	}{
		{"unsigned_is_401", http.MethodPost, http.Header{}, body("e0", code), nil, 401},
		{"get_is_405", http.MethodGet, signed, nil, nil, 405},
		{"not_an_envelope_is_400", http.MethodPost, signed, []byte(`[]`), nil, 400},
		{"unknown_application_is_422", http.MethodPost, signed, body("e9", "STP-261203-9999"), nil, 422},
		{"portal_down_is_503", http.MethodPost, signed, body("e0", code), func() { w.sim.SetControl(sim.Control{FailNext: 1}) }, 503},
		{"synced_is_200", http.MethodPost, signed, body("e0", code), nil, 200},
		{"busy_is_503", http.MethodPost, signed, body("e1", code), func() {
			w.advance(t, "e1", application.StatusReceived)
			var st dvcqg.State
			etag, _ := docstore.GetJSON(context.Background(), w.store, dvcqg.StateKey(c), &st)
			until := w.now.Add(time.Minute)
			st.LeaseUntil = &until
			if _, err := docstore.PutJSON(context.Background(), w.store, dvcqg.StateKey(c), st, docstore.PutOptions{IfMatch: etag}); err != nil {
				t.Fatal(err)
			}
		}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			resp := h.Serve(context.Background(), handler.Request{Method: tc.method, Header: tc.header, Body: tc.body})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
		})
	}
}
