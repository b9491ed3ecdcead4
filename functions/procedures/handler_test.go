package function

import (
	"net/http"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// The catalog API is tested in shared/catalog (http_test.go); the function
// only wires it. Other methods are refused before any dependency is built.
func TestHandle_refuses_other_methods(t *testing.T) {
	resp, err := Handle(handler.Request{Method: http.MethodPost, Header: http.Header{}})
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Fatalf("POST: %d %v %v", resp.StatusCode, err, resp.Header)
	}
}
