// Package function is the "receipt" function: anyone looks up and verifies
// an electronic receipt; staff of the collecting unit correct receipts and
// read daily summaries.
//
//	GET  ?series=&number=&lookup=[&format=json|xml|pdf]   one receipt (or Accept: application/xml, application/pdf)
//	GET  ?code=&pin=[&format=]                            the application's current receipt (PIN through the citizen guard)
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
	"net/http"
	"time"

	"motcua/shared/application"
	"motcua/shared/platform"
	"motcua/shared/receipt/book"
	"motcua/shared/staffauth"
)

// Handle answers one call of the receipt function.
var Handle = platform.Serve(func(p *platform.Platform) (*book.LookupHTTP, error) {
	b, setup, err := book.FromPlatform(p)
	if err != nil {
		return nil, err
	}
	staff := func(header string, now time.Time) (staffauth.Claims, error) {
		key, err := p.Secrets.Get(staffauth.SecretName) // re-read: a rotated secret needs no restart
		if err != nil {
			return staffauth.Claims{}, err
		}
		return staffauth.Verify([]byte(key), header, now)
	}
	return book.NewLookupHTTP(b, book.LookupDeps{
		Access:    application.NewAccess(application.NewRepository(p.Store), p.Guard),
		StaffAuth: staff,
		Keys:      func() (any, error) { return setup.QR.KeySet(), nil },
		Log:       p.Log,
	}), nil
}, http.MethodGet, http.MethodPost)
