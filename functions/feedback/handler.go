// Package function is the "feedback" function: feedback (phản ánh, kiến
// nghị — PAKN) from citizens and businesses, the staff workflow, public
// answers and the Open311 GeoReport v2 API under
// /function/feedback/open311/v2/. See motcua/shared/feedback (HTTP in
// http.go and open311.go) and README "Feedback (PAKN) and Open311".
package function

import (
	"log/slog"
	"strings"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/feedback"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
	"motcua/shared/staffauth"
)

// build creates the dependencies on first successful use; a failure is
// retried on the next request.
var build = platform.Lazy(func(p *platform.Platform) (*feedback.HTTP, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	svc, err := feedback.NewService(feedback.Deps{Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue,
		EventsQueue: p.Config.EventsQueue, Calendar: cal, Log: p.Log})
	if err != nil {
		return nil, err
	}
	keeper := idempotency.New(p.Store, "idempotency/feedback", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	staff := feedback.StaffVerifierFromSecret(func() ([]byte, error) {
		s, err := p.Secrets.Get(staffauth.SecretName)
		return []byte(s), err
	})
	h := feedback.NewHTTP(svc, keeper, staff, p.Log)
	h.SetOpen311Keys(func() ([]string, error) {
		s, err := p.Secrets.Get(feedback.Open311KeysSecret)
		return strings.Split(s, "\n"), err
	})
	return h, nil
})

// Handle answers one call of the feedback function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	h, err := build()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return h.Serve(ctx, req), nil
}
