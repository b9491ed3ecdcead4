package function

import (
	"net/http"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// The look-up itself is tested in shared/application (status_test.go); the
// function only wires it. Other methods are refused before any dependency
// is built.
func TestHandle_refuses_other_methods(t *testing.T) {
	resp, err := Handle(handler.Request{Method: http.MethodDelete, Header: http.Header{}})
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d %v", resp.StatusCode, err)
	}
}

// An action's 405 names that operation's methods only (POST), as the API
// document's path for it lists them.
func TestHandle_refuses_other_methods_per_operation(t *testing.T) {
	for _, tc := range []struct {
		name, query, method, allow string
	}{
		{"lookup_delete", "", http.MethodDelete, "POST, GET"},
		{"download_result_get", "action=download-result", http.MethodGet, "POST"},
		{"recover_pin_put", "action=recover-pin", http.MethodPut, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Handle(handler.Request{Method: tc.method, QueryString: tc.query, Header: http.Header{}})
			if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s ?%s: %d %v", tc.method, tc.query, resp.StatusCode, err)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}
