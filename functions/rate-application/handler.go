// Package function is the "rate-application" function: once an
// application's result has been returned, the applicant rates it once
// (code + PIN; 1–5 overall, optional 1–5 for time, staff attitude and
// procedure simplicity, optional comment). All logic is in
// motcua/shared/rating; events go to MOTCUA_EVENTS_QUEUE.
package function

import (
	"log/slog"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/platform"
	"motcua/shared/rating"
	"motcua/shared/throttle"
)

// build creates the dependencies on first successful use; a failure is
// retried on the next request.
var build = platform.Lazy(func(p *platform.Platform) (*rating.HTTP, error) {
	guard := rating.NewPINGuard(application.NewRepository(p.Store), throttle.New(p.Store), p.Log)
	svc, err := rating.NewService(p.Store, guard, p.Queue, p.Config.EventsQueue, nil, p.Log)
	if err != nil {
		return nil, err
	}
	return rating.NewHTTP(svc, p.Log), nil
})

// Handle answers one call of the rate-application function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	h, err := build()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return h.Serve(ctx, req), nil
}
