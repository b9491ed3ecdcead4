package application_test

import (
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

func TestStatusHTTP_actions(t *testing.T) {
	f := newStatusFixture(t)
	q := queue.NewMemQueue("notify-events", "application-events")
	repo := application.NewRepository(f.store)
	rec, err := application.NewRecovery(repo, guardtest.Guard(t, f.store, citizenguard.WithLogger(quiet)), q, application.RecoveryOptions{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := application.NewResultDownloads(repo, docstore.NewMemStore("motcua-uploads"), q, "application-events", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.WithRecovery(rec).WithResults(dl)
	var recoverBody []byte
	for _, tc := range []struct {
		name   string
		action string
		req    handler.Request
		status int
		code   string
	}{
		{"recover_pin_unknown_identity", "recover-pin", statusPost(`{"code":"STP-260302-0001","idNumber":"001190999999"}`, "X-Forwarded-For", "203.0.113.8"), http.StatusAccepted, ""},
		{"recover_pin_unknown_application", "recover-pin", statusPost(`{"code":"STP-260302-0042","idNumber":"001190999999"}`, "X-Forwarded-For", "203.0.113.8"), http.StatusAccepted, ""},
		{"recover_pin_malformed_code", "recover-pin", statusPost(`{"code":"nope","idNumber":"1"}`), http.StatusBadRequest, "invalid_identifier"},
		{"recover_pin_missing_id", "recover-pin", statusPost(`{"code":"STP-260302-0001"}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"recover_pin_blank_id", "recover-pin", statusPost(`{"code":"STP-260302-0001","idNumber":"  "}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"recover_pin_id_with_letters", "recover-pin", statusPost(`{"code":"STP-260302-0001","idNumber":"CCCD 001190123456"}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"recover_pin_id_ends_with_a_dash", "recover-pin", statusPost(`{"code":"STP-260302-0001","idNumber":"0011901-"}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"recover_pin_id_with_spaces_and_dashes", "recover-pin", statusPost(`{"code":"STP-260302-0001","idNumber":" 001 190-999999 "}`, "X-Forwarded-For", "203.0.113.8"), http.StatusAccepted, ""},
		{"reset_pin_no_request", "reset-pin", statusPost(`{"code":"STP-260302-0001","oneTimeCode":"123456","newPin":"87654321"}`), http.StatusNotFound, "recovery_code_invalid"},
		{"reset_pin_bad_shape", "reset-pin", statusPost(`{"code":"STP-260302-0001","oneTimeCode":"12","newPin":"1"}`), http.StatusUnprocessableEntity, "validation_failed"},
		{"download_before_return", "download-result", statusPost(`{"code":"STP-260302-0001","pin":"12345678"}`), http.StatusConflict, "result_not_available"},
		{"download_wrong_pin", "download-result", statusPost(`{"code":"STP-260302-0001","pin":"00000000"}`), http.StatusNotFound, "application_not_found"},
		{"unknown_action", "archive", statusPost(`{}`), http.StatusBadRequest, "unknown_action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.QueryString = "action=" + tc.action
			resp, m := f.call(tc.req)
			if resp.StatusCode != tc.status || (tc.code != "" && m["code"] != tc.code) {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if tc.status == http.StatusAccepted {
				if recoverBody != nil && string(recoverBody) != string(resp.Body) {
					t.Fatalf("answers differ:\n%s\n%s", recoverBody, resp.Body)
				}
				recoverBody = resp.Body
			}
		})
	}
	if n := len(q.Published("notify-events")); n != 0 {
		t.Fatalf("%d messages sent for mismatches", n)
	}
	for _, action := range []string{"recover-pin", "reset-pin", "download-result"} {
		t.Run(strings.ReplaceAll(action, "-", "_")+"_get_not_allowed", func(t *testing.T) {
			resp, _ := f.call(handler.Request{Method: http.MethodGet, QueryString: "action=" + action, Header: http.Header{}})
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
				t.Fatalf("%d Allow %q %s", resp.StatusCode, resp.Header.Get("Allow"), resp.Body)
			}
		})
	}
}
