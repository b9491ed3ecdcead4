// Package function is the "application-status" function: the applicant's
// look-up of an application (tra cứu hồ sơ) by code and PIN.
//
//	POST {"code": "STP-260302-0001", "pin": "12345678"}   preferred: the PIN stays out of URLs and logs
//	GET  ?code=STP-260302-0001&pin=12345678               for simple links and clients
//
// The answer is application.StatusView; a wrong PIN and an unknown code get
// the same 404 at the same cost, and guesses go through the citizen guard
// (shared/citizenguard): 429 "too_many_attempts" with Retry-After. The HTTP
// adapter is application.StatusHTTP; the receipt link comes from the
// receipt book (receipt.go).
package function

import (
	"net/http"

	"motcua/shared/application"
	"motcua/shared/platform"
)

// Handle answers one call of the application-status function.
var Handle = platform.Serve(func(p *platform.Platform) (*application.StatusHTTP, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	access := application.NewAccess(application.NewRepository(p.Store), p.Guard)
	return application.NewStatusHTTP(access, cal, nil, p.Log).WithReceipts(receiptLinker(p.Store)), nil
}, http.MethodPost, http.MethodGet)
