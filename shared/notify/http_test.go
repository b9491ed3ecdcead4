package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/delivery"
	"motcua/shared/docstore"
	"motcua/shared/notify"
)

func TestHTTP_status_codes(t *testing.T) {
	w := newWorld(t)
	a := testApplication()
	putApp(t, w.store, a)
	good, _ := json.Marshal(appEvent(t, "ev-submitted", application.EventSubmitted, a))
	missing, _ := json.Marshal(envelope(t, "ev-m", application.EventReceived, map[string]string{"code": "STP-261203-9999"}))
	refuse := func(h http.Header, _ []byte) error {
		if h.Get("X-Test-Signed") != "yes" {
			return errors.New("unsigned")
		}
		return nil
	}
	h := notify.NewHTTP(w.svc, refuse, nil)
	signed := http.Header{"X-Test-Signed": {"yes"}, "Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		body   []byte
		status int
	}{
		{"unsigned_is_401", http.MethodPost, http.Header{}, good, 401},
		{"get_is_405", http.MethodGet, signed, nil, 405},
		{"not_an_envelope_is_400", http.MethodPost, signed, []byte(`{"id":""}`), 400},
		{"unknown_application_is_422", http.MethodPost, signed, missing, 422},
		{"delivered_is_200", http.MethodPost, signed, good, 200},
		{"duplicate_is_200", http.MethodPost, signed, good, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Serve(context.Background(), handler.Request{Method: tc.method, Header: tc.header, Body: tc.body})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
		})
	}
	if len(w.sinks.SMS()) != 1 || len(w.sinks.Mails()) != 1 {
		t.Fatalf("%d SMS, %d mails", len(w.sinks.SMS()), len(w.sinks.Mails()))
	}
}

func TestDeliveryAuth_checks_the_connector_signature(t *testing.T) {
	secret := "line-one-secret-0123456789\nline-two-secret-0123456789"
	auth := notify.DeliveryAuth(func() (string, error) { return secret, nil })
	body := []byte(`{"id":"e","type":"application.received","payload":{}}`)
	for _, tc := range []struct {
		name    string
		secrets [][]byte
		body    []byte
		ok      bool
	}{
		{"signed_with_current_secret", [][]byte{[]byte("line-one-secret-0123456789")}, body, true},
		{"signed_with_rotated_secret", [][]byte{[]byte("line-two-secret-0123456789")}, body, true},
		{"signed_with_another_secret", [][]byte{[]byte("someone-else-0123456789")}, body, false},
		{"body_changed_after_signing", [][]byte{[]byte("line-one-secret-0123456789")}, nil, false},
		{"unsigned", nil, body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			delivery.Sign(h, tc.secrets, time.Now(), body)
			got := tc.body
			if got == nil {
				got = []byte(`{"id":"e2","type":"application.received","payload":{}}`)
			}
			if err := auth(h, got); (err == nil) != tc.ok {
				t.Fatalf("auth = %v, want ok %v", err, tc.ok)
			}
		})
	}
	missing := notify.DeliveryAuth(func() (string, error) { return "", errors.New("secret missing") })
	if err := missing(http.Header{}, body); err == nil {
		t.Fatal("accepted without a secret")
	}
}

// FuzzServe: any delivery body gets an answer (never a panic, never a 5xx
// for input alone) and sends nothing without a stored application.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"id":"e1","type":"application.submitted","payload":{"code":"STP-261203-0001"}}`))
	f.Add([]byte(`{"id":"e2","type":"payment.confirmed","payload":{"ref":"MCABCDEFGHIJKL"}}`))
	f.Add([]byte(`{"id":"e3","type":"receipt.issued","payload":{"series":"BL26T","number":1}}`))
	f.Add([]byte(`{"id":"e4","type":"feedback.answered","payload":{"id":"PAKN-261203-7K3QX9MA"}}`))
	f.Add([]byte(`{"id":"../x","type":"application.received","payload":null}`))
	sent := &countingSender{ch: notify.ChannelSMS}
	svc, err := notify.NewService(docstore.NewMemStore("b"), []notify.Sender{sent}, notify.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	h := notify.NewHTTP(svc, nil, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := h.Serve(context.Background(), handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{"Content-Type": {"application/json"}}})
		switch resp.StatusCode {
		case 200, 400, 422:
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, resp.Body)
		}
		if sent.n != 0 {
			t.Fatalf("sent %d messages with an empty store", sent.n)
		}
	})
}
