// Package function is the "application-status" function: the applicant's
// look-up of an application (tra cứu hồ sơ) by code and PIN.
//
//	POST {"code": "STP-260302-0001", "pin": "12345678"}   preferred: the PIN stays out of URLs and logs
//	GET  ?code=STP-260302-0001&pin=12345678               for simple links and clients
//	POST ?action=download-result {code, pin}              short-lived URL of the result PDF (after return)
//	POST ?action=recover-pin {code, idNumber}             lost PIN: one-time code to the phone/e-mail on file (202)
//	POST ?action=reset-pin {code, oneTimeCode, newPin}    set a new PIN with the one-time code
//
// The answer is application.StatusView; a wrong PIN and an unknown code get
// the same 404 at the same cost, and guesses go through the citizen guard
// (shared/citizenguard): 429 "too_many_attempts" with Retry-After. The HTTP
// adapter is application.StatusHTTP; the receipt link comes from the
// receipt book (receipt.go).
package function

import (
	"os"

	"motcua/shared/application"
	"motcua/shared/platform"
)

// Handle answers one call of the application-status function. Methods are
// checked per operation (application.StatusAllowed: each has its own path in
// the API document), before anything is built, so a 405's Allow names
// exactly the methods of the operation asked for.
var Handle = platform.ServeRouted(func(p *platform.Platform) (*application.StatusHTTP, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	repo := application.NewRepository(p.Store)
	access := application.NewAccess(repo, guard)
	h := application.NewStatusHTTP(access, cal, nil, p.Log).WithReceipts(receiptLinker(p.Store))
	if p.Uploads != nil && p.Config.EventsQueue != "" {
		results, err := application.NewResultDownloads(repo, p.Uploads, p.Queue, p.Config.EventsQueue, nil)
		if err != nil {
			return nil, err
		}
		h.WithResults(results)
	} else {
		p.Log.Warn("result downloads disabled: MOTCUA_UPLOADS_BUCKET or MOTCUA_EVENTS_QUEUE unset")
	}
	recovery, err := application.NewRecovery(repo, guard, p.Queue, application.RecoveryOptions{
		NotifyQueue: os.Getenv("MOTCUA_NOTIFY_QUEUE"), Log: p.Log,
	})
	if err != nil {
		return nil, err
	}
	return h.WithRecovery(recovery), nil
}, application.StatusAllowed)
