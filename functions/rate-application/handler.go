// Package function is the "rate-application" function: once an
// application's result has been returned, the applicant rates it once
// (code + PIN through the citizen guard; 1–5 overall, optional 1–5 for
// time, staff attitude and procedure simplicity, optional comment). All
// logic is in motcua/shared/rating; events go to MOTCUA_EVENTS_QUEUE.
package function

import (
	"net/http"

	"motcua/shared/application"
	"motcua/shared/platform"
	"motcua/shared/rating"
)

// Handle answers one call of the rate-application function.
var Handle = platform.Serve(func(p *platform.Platform) (*rating.HTTP, error) {
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	access := application.NewAccess(application.NewRepository(p.Store), guard)
	svc, err := rating.NewService(p.Store, access, p.Queue, p.Config.EventsQueue, nil, p.Log)
	if err != nil {
		return nil, err
	}
	return rating.NewHTTP(svc, guard.Client, p.Log), nil
}, http.MethodPost)
