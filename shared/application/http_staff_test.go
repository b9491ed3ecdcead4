package application_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
)

// TestStaffHTTP_answers_per_sub_operation pins what the API document states
// for process-application's GET and its sub-paths: the work queue is
// view=queue only, a GET without (or with a blank) code is refused naming
// code (never the whole queue by accident), an unknown view or op is a 400
// naming it, and a 405 names exactly the sub-operation's method.
func TestStaffHTTP_answers_per_sub_operation(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(t, store)
	trSeed(t, store, application.StatusReceived)
	auth := func(string, time.Time) (staffauth.Claims, error) { return trClaims, nil }
	srv := application.NewStaffHTTP(p, idempotency.New(store, "idempotency/process-application", time.Hour), auth,
		func() time.Time { return trMonday }, trQuiet)
	for _, tc := range []struct {
		name   string
		method string
		query  string
		status int
		want   map[string]any // members of the answer
		allow  string
	}{
		{"no_code_is_not_the_queue", http.MethodGet, "", http.StatusBadRequest, map[string]any{"code": "required"}, ""},
		{"queue_filters_without_view_are_not_the_queue", http.MethodGet, "status=received", http.StatusBadRequest, map[string]any{"code": "required"}, ""},
		{"view_queue", http.MethodGet, "view=queue&status=received", http.StatusOK, map[string]any{"agency": "STP"}, ""},
		{"queue_blank_status", http.MethodGet, "view=queue&status=", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_status_with_an_empty_entry", http.MethodGet, "view=queue&status=received,", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_blank_overdue", http.MethodGet, "view=queue&overdue=", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_blank_date", http.MethodGet, "view=queue&dueFrom=", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_blank_limit", http.MethodGet, "view=queue&limit=", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_blank_cursor", http.MethodGet, "view=queue&cursor=", http.StatusUnprocessableEntity, map[string]any{"code": "validation_failed"}, ""},
		{"queue_blank_procedure_is_no_filter", http.MethodGet, "view=queue&procedure=", http.StatusOK, map[string]any{"agency": "STP"}, ""},
		{"queue_procedure_of_64_letters", http.MethodGet, "view=queue&procedure=" + strings.Repeat("%C4%90", 64), http.StatusOK, map[string]any{"agency": "STP"}, ""},
		{"code_is_the_staff_view", http.MethodGet, "code=STP-260302-0001", http.StatusOK, nil, ""},
		{"blank_code_is_refused", http.MethodGet, "code=", http.StatusBadRequest, map[string]any{"code": "required"}, ""},
		{"space_code_is_refused", http.MethodGet, "code=%20", http.StatusBadRequest, map[string]any{"code": "required"}, ""},
		{"unknown_view", http.MethodGet, "view=list", http.StatusBadRequest, map[string]any{"code": "unknown_view", "view": "list"}, ""},
		{"unknown_op", http.MethodPost, "op=publish", http.StatusBadRequest, map[string]any{"code": "unknown_op", "op": "publish"}, ""},
		{"queue_options", http.MethodOptions, "view=queue", http.StatusMethodNotAllowed, nil, "GET"},
		{"result_upload_options", http.MethodOptions, "op=result-upload", http.StatusMethodNotAllowed, nil, "POST"},
		{"main_path_options", http.MethodOptions, "", http.StatusMethodNotAllowed, nil, "POST, GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := handler.Request{Method: tc.method, QueryString: tc.query, Header: http.Header{"Authorization": {"Bearer x"}}}
			if tc.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/json")
				req.Body = []byte(`{"code":"STP-260302-0001","size":10}`)
			}
			resp := srv.Serve(context.Background(), req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
			var m map[string]any
			if err := json.Unmarshal(resp.Body, &m); err != nil {
				t.Fatalf("%v: %s", err, resp.Body)
			}
			for k, v := range tc.want {
				if m[k] != v {
					t.Fatalf("%s = %v, want %v: %s", k, m[k], v, resp.Body)
				}
			}
			if tc.name == "code_is_the_staff_view" && m["application"] == nil {
				t.Fatalf("not the staff view: %s", resp.Body)
			}
		})
	}
}
