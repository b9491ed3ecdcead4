// Package handler is the golang-http function contract of OpenFaaS
// (import path github.com/openfaas/templates-sdk/go-http).
//
// The Go module proxy reachable from motcua's build machines does not serve
// that module, so the repository carries this small source-compatible
// implementation and the root go.mod replaces the module with it. Function
// code imports the upstream path, so dropping the replace directive switches
// to the upstream module with no change to any handler.
package handler

import (
	"context"
	"net/http"
)

// Response is what a function returns: a status code (0 means 200), headers
// and a body written back to the caller as they are.
type Response struct {
	// Body is written back to the caller as it is.
	Body []byte
	// StatusCode is the HTTP status; 0 is taken as 200.
	StatusCode int
	// Header holds extra response headers.
	Header http.Header
}

// Request is one call of a function: the whole body, the headers, the raw
// query string, the method and the host. The template gives no path.
type Request struct {
	Body        []byte
	Header      http.Header
	QueryString string
	Method      string
	Host        string
	ctx         context.Context
}

// Context returns the request's context (cancelled when the caller goes away
// or the exec timeout passes); never nil.
func (r Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// WithContext sets the request's context.
func (r *Request) WithContext(ctx context.Context) {
	r.ctx = ctx
}

// FunctionHandler is implemented by a function: Handle answers one call.
// A non-nil error becomes a bare 500; expected failures are Responses.
type FunctionHandler interface {
	Handle(req Request) (Response, error)
}
