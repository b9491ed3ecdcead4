// Package function is the "process-application" function: staff act on
// the applications of their agency.
//
//	POST {code, action, reason?, missing?, result?{documentKey, description},
//	      delivery?{method, trackingNumber}, note?}     apply one action → 200 {application, event}
//	POST ?op=result-upload {code, size}                   presigned PUT of the result PDF → 200 ResultUpload
//	GET  ?code=STP-260302-0001                            staff view → 200 {application, audit, allowedActions}
//	GET  ?view=queue&status=&procedure=&…&cursor=         the agency's work queue → 200 WorkQueue
//
// Every call needs "Authorization: Bearer <JWT>" (EdDSA/ES256, verified
// with the staff-jwt-public-keys key set; see shared/staffauth):
// 401 with WWW-Authenticate otherwise, 403 "wrong_agency" on another
// agency's application. Actions and their rules are application.ApplyWith's;
// an illegal one is 409 "illegal_transition", a lost race with another
// officer 409 "concurrent_update". POSTs honour Idempotency-Key (scoped to
// the officer). The HTTP adapter is application.StaffHTTP.
package function

import (
	"motcua/shared/application"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
)

// Handle answers one call of the process-application function.
// No method list here: the adapter checks the method per sub-operation
// (each has its own path in the API document), so a 405's Allow names
// exactly the methods of the operation asked for.
var Handle = platform.Serve(func(p *platform.Platform) (*application.StaffHTTP, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	proc, err := application.NewProcessor(p.Store, p.Queue, p.Config.EventsQueue, cal, nil, p.Log)
	if err != nil {
		return nil, err
	}
	if p.Uploads != nil {
		proc.WithResults(p.Uploads)
	} else {
		p.Log.Warn("MOTCUA_UPLOADS_BUCKET unset: result uploads and complete are refused")
	}
	keeper := idempotency.New(p.Store, "idempotency/process-application", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	staff, err := staffauth.NewVerifier(p.Secrets) // re-reads the key set: a rotation needs no restart
	if err != nil {
		return nil, err
	}
	return application.NewStaffHTTP(proc, keeper, staff.Verify, nil, p.Log), nil
})
