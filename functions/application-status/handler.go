// Package function is the "application-status" function: the applicant's
// look-up of an application (tra cứu hồ sơ) by code and PIN.
//
//	POST {"code": "STP-260302-0001", "pin": "12345678"}   preferred: the PIN stays out of URLs and logs
//	GET  ?code=STP-260302-0001&pin=12345678               for simple links and clients
//
// 200 answers a Status (see view.go): procedure, agency, status with its
// Vietnamese label, the public timeline (who = the agency, never an
// officer), fee and payment state, due date with working days left or
// late, settlement once settled, documents uploaded or not, and the
// receipt link (null until the receipt is issued). A wrong PIN and an unknown
// code get the same 404 "application_not_found" with the same body and
// comparable timing. Guessing is throttled per code and per client address
// (shared/throttle): 429 "too_many_attempts" with Retry-After. A missing
// code or PIN is a 400/422 problem; other methods 405.
package function

import (
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/platform"
	"motcua/shared/throttle"
)

// current builds the server on first successful use; a failure is retried
// on the next request.
var current = platform.Lazy(func(p *platform.Platform) (*server, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	s := newServer(application.NewRepository(p.Store), throttle.New(p.Store), cal, nil, p.Log)
	s.receipt = receiptLinker(p.Store)
	return s, nil
})

// Handle answers one call of the application-status function.
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
