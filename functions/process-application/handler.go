// Package function is the "process-application" function: staff act on
// the applications of their agency.
//
//	POST {code, action, reason?, missing?, result?{documentKey, description},
//	      delivery?{method, trackingNumber}, note?}     apply one action → 200 {application, event}
//	GET  ?code=STP-260302-0001                            staff view → 200 {application, audit, allowedActions}
//
// Every call needs "Authorization: Bearer <JWT>" (EdDSA/ES256, verified
// with the staff-jwt-public-keys key set, role staff; see shared/staffauth): 401 with
// WWW-Authenticate otherwise, 403 "wrong_agency" on another agency's
// application. Actions and their rules are application.ApplyWith's; an
// illegal one is 409 "illegal_transition", a lost race with another
// officer 409 "concurrent_update" (both with current_status). POSTs honour
// Idempotency-Key (scoped to the officer).
package function

import (
	"log/slog"
	"net/http"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
)

// current builds the server on first successful use; a failure is retried
// on the next request.
var current = platform.Lazy(func(p *platform.Platform) (*server, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	proc, err := application.NewProcessor(p.Store, p.Queue, p.Config.EventsQueue, cal, nil, p.Log)
	if err != nil {
		return nil, err
	}
	keeper := idempotency.New(p.Store, "idempotency/process-application", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	staff, err := staffauth.NewVerifier(p.Secrets)
	if err != nil {
		return nil, err
	}
	return &server{proc: proc, keeper: keeper, staff: staff, now: time.Now, log: p.Log}, nil
})

// Handle answers one call of the process-application function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	if p := httpx.AllowMethods(req, http.MethodPost, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p), nil
	}
	s, err := current()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return s.serve(ctx, req), nil
}
