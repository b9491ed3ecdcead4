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
