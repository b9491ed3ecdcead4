package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// HandlerFunc is a function body written against a context that already
// carries the call id.
type HandlerFunc func(ctx context.Context, req handler.Request) (handler.Response, error)

// Wrap adapts fn to the golang-http Handle signature: it builds the request
// context (RequestContext), turns a non-nil error from fn into a problem
// response through FromError (so the template never answers a bare 500),
// and turns a panic into the generic 500 with the panic and stack logged,
// keeping the warm process and its other requests alive. The returned
// function never returns a non-nil error.
func Wrap(log *slog.Logger, fn HandlerFunc) func(handler.Request) (handler.Response, error) {
	return func(req handler.Request) (resp handler.Response, err error) {
		ctx := RequestContext(req)
		defer func() {
			if r := recover(); r != nil {
				resp = FromError(ctx, log, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
				err = nil
			}
		}()
		resp, err = fn(ctx, req)
		if err != nil {
			return FromError(ctx, log, err), nil
		}
		return resp, nil
	}
}
