// Package function is the "submit-application" function: citizens (and
// reception staff, for counter and postal submissions) file applications,
// then report their uploads or withdraw them.
//
//	POST                           file an application (201; Idempotency-Key honoured)
//	POST ?action=complete-uploads  {code, pin}: record uploaded documents, fresh URLs for the rest
//	POST ?action=cancel            {code, pin, reason}: withdraw while still submitted
//
// Channels direct and postal need a staff bearer token verified with the
// staff-jwt-public-keys key set; without that secret only online
// submissions are accepted. All logic lives in motcua/shared/application.
package function

import (
	"net/http"
	"os"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// Handle answers one call of the submit-application function.
var Handle = platform.Serve(func(p *platform.Platform) (*application.HTTP, error) {
	cal, err := workdays.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	var staff application.StaffVerifier
	if v, err := staffauth.NewVerifier(p.Secrets); err == nil {
		staff = func(auth string, now time.Time) (application.StaffClaims, error) {
			c, err := v.Verify(auth, now)
			return application.StaffClaims{Sub: c.Subject, Agency: c.Agency}, err
		}
	} else {
		p.Log.Warn("staff key set unavailable: only online submissions accepted", "secret", staffauth.PublicKeysSecret, "error", err)
	}
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	svc, err := application.NewService(application.Deps{
		Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue, EventsQueue: p.Config.EventsQueue,
		Procedures: catalog.NewService(p.Store, p.Log, catalog.ServiceOptions{SeedIfEmpty: true}),
		Calendar:   cal, Staff: staff, Guard: guard, Log: p.Log,
	})
	if err != nil {
		return nil, err
	}
	keeper := idempotency.New(p.Store, "idempotency/submit-application", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	return application.NewHTTP(svc, keeper, p.Log), nil
}, http.MethodPost)
