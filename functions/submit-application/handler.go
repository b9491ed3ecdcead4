// Package function is the "submit-application" function: citizens (and
// reception staff, for counter and postal submissions) file applications,
// then report their uploads or withdraw them.
//
//	POST                           file an application (201; Idempotency-Key honoured)
//	POST ?action=complete-uploads  {code, pin}: record uploaded documents, fresh URLs for the rest
//	POST ?action=cancel            {code, pin, reason}: withdraw while still submitted
//
// Channels direct and postal need a staff bearer token verified with the
// staff-jwt-public-keys key set; without that secret only online submissions are
// accepted. All logic lives in motcua/shared/application.
package function

import (
	"context"
	"log/slog"
	"os"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// deps is what Handle needs: the HTTP adapter and the logger.
type deps struct {
	api *application.HTTP
	log *slog.Logger
}

// build creates the dependencies on first successful use; a failure is
// retried on the next request.
var build = platform.Lazy(func(p *platform.Platform) (deps, error) {
	cal, err := workdays.FromEnv(os.Getenv)
	if err != nil {
		return deps{}, err
	}
	var staff application.StaffVerifier
	if v, err := staffauth.NewVerifier(p.Secrets); err == nil {
		staff = func(auth string, now time.Time) (application.StaffClaims, error) {
			c, err := v.Verify(auth, now)
			if err != nil {
				return application.StaffClaims{}, err
			}
			return application.StaffClaims{Sub: c.Subject, Agency: c.Agency}, nil
		}
	} else {
		p.Log.Warn("staff key set unavailable: only online submissions accepted", "secret", staffauth.PublicKeysSecret, "error", err)
	}
	svc, err := application.NewService(application.Deps{
		Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue, EventsQueue: p.Config.EventsQueue,
		Procedures: catalog.NewService(p.Store, p.Log, catalog.ServiceOptions{SeedIfEmpty: true}),
		Calendar:   cal, Staff: staff, Log: p.Log,
	})
	if err != nil {
		return deps{}, err
	}
	keeper := idempotency.New(p.Store, "idempotency/submit-application", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	return deps{api: application.NewHTTP(svc, keeper, p.Log), log: p.Log}, nil
})

// Handle answers one call of the submit-application function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	d, err := build()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return serve(ctx, d.api, d.log, req), nil
}

func serve(ctx context.Context, h *application.HTTP, _ *slog.Logger, req handler.Request) handler.Response {
	return h.Serve(ctx, req)
}
