// Package function is the "receipt" function: anyone looks up and verifies
// an electronic receipt; staff of the collecting unit correct receipts and
// read daily summaries.
//
//	GET  ?series=&number=&lookup=[&format=json|xml|pdf]   one receipt (or Accept: application/xml, application/pdf)
//	POST application/xml                                  verify a signed receipt: signature, content, issued here, not replaced
//	POST {"series","number","lookupCode"}                 verify by identifiers
//	GET  /keys?action=keys                                offline-QR public keys, current + previous (JWKS-like)
//	GET  /lookup?action=lookup&code=&pin=[&format=]       the application's current receipt (PIN through the citizen guard)
//	POST /lookup?action=lookup {"code","pin"}             the same, PIN out of URLs
//	GET  /summary?action=summary&series=&day=[&format=]   staff: daily summary of a series (json, xml, csv)
//	POST /replace?action=replace, /adjust?action=adjust   staff: correct a receipt with a reason
//
// Each action answers 405 with its own Allow header, so no method list is
// given to platform.Serve.
//
// All logic lives in motcua/shared/receipt/book.
package function

import (
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
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	staff, err := staffauth.NewVerifier(p.Secrets) // re-reads the key set: a rotation needs no restart
	if err != nil {
		return nil, err
	}
	return book.NewLookupHTTP(b, book.LookupDeps{
		Access:    application.NewAccess(application.NewRepository(p.Store), guard),
		StaffAuth: staff.Verify,
		Keys:      func() (any, error) { return setup.QR.KeySet(), nil },
		Log:       p.Log,
	}), nil
})
