// Package function is the "receipt" function: anyone looks up and verifies
// an electronic receipt; staff of the collecting unit correct receipts and
// read daily summaries.
//
//	GET  ?series=&number=&lookup=[&format=json|xml|pdf]   one receipt (or Accept: application/xml, application/pdf)
//	GET  ?code=&pin=[&format=]                            the application's current receipt (PIN guard as for status)
//	GET  ?keys                                            offline-QR public keys, current + previous (JWKS-like)
//	POST application/xml                                  verify a signed receipt: signature, content, issued here, not replaced
//	POST {"series","number","lookupCode"}                 verify by identifiers
//	POST {"action":"lookup","code","pin"}                 the application's receipt, PIN out of URLs
//	POST {"action":"replace"|"adjust",…}  (staff JWT)     correct a receipt with a reason
//	GET  ?summary&series=&day=[&format=xml|csv] (staff)   daily summary of a series
//
// All logic lives in motcua/shared/receipt/book.
package function

import (
	"log/slog"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/platform"
	"motcua/shared/receipt/book"
	"motcua/shared/staffauth"
	"motcua/shared/throttle"
)

// build creates the dependencies on first successful use; a failure is
// retried on the next request.
var build = platform.Lazy(func(p *platform.Platform) (*book.LookupHTTP, error) {
	b, setup, err := book.FromPlatform(p)
	if err != nil {
		return nil, err
	}
	return book.NewLookupHTTP(b, book.LookupDeps{
		Throttle:    throttle.New(p.Store),
		StaffSecret: func() ([]byte, error) { s, err := p.Secrets.Get(staffauth.SecretName); return []byte(s), err },
		Keys:        func() (any, error) { return setup.QR.KeySet(), nil },
		Log:         p.Log,
	}), nil
})

// Handle answers one call of the receipt function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	h, err := build()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return h.Serve(ctx, req), nil
}
