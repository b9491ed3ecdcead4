// Package function is the "feedback" function: feedback (phản ánh, kiến
// nghị — PAKN) from citizens and businesses, the staff workflow, public
// answers and the Open311 GeoReport v2 API under
// /function/feedback/open311/v2/. The HTTP adapter is feedback.HTTP
// (shared/feedback/http.go and open311.go); see README "Feedback (PAKN)
// and Open311".
package function

import (
	"strings"

	"motcua/shared/application"
	"motcua/shared/feedback"
	"motcua/shared/idempotency"
	"motcua/shared/platform"
)

// Handle answers one call of the feedback function.
var Handle = platform.Serve(func(p *platform.Platform) (*feedback.HTTP, error) {
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	svc, err := feedback.NewService(feedback.Deps{Store: p.Store, Uploads: p.Uploads, Publisher: p.Queue,
		EventsQueue: p.Config.EventsQueue, Calendar: cal, Guard: guard, Log: p.Log})
	if err != nil {
		return nil, err
	}
	keeper := idempotency.New(p.Store, "idempotency/feedback", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	h := feedback.NewHTTP(svc, keeper, feedback.StaffVerifierFromSecrets(p.Secrets), p.Log)
	h.SetOpen311Keys(func() ([]string, error) {
		s, err := p.Secrets.Get(feedback.Open311KeysSecret)
		return strings.Split(s, "\n"), err
	})
	return h, nil
}) // any method: feedback.HTTP answers 405 itself (Open311 paths in the spec's error format)
