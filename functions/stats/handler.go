// Package function is the "stats" function: the province's service
// indicators (Decision 766/QĐ-TTg) and their public page.
//
//	GET  ?period=month|quarter|year|custom&month=|quarter=|year=|from=&to=
//	     &agency=&field=&level=&format=json|csv|html      indicators (JSON by default)
//	POST <event envelope>                                  one event of queue stats-events (the connector's
//	                                                       signed delivery; 401 without a valid signature)
//
// All logic is in motcua/shared/stats: each event re-reads the document it
// names and replaces that document's contribution in the per-month
// aggregates; `motcua stats rebuild` recomputes them from the documents.
package function

import (
	"net/http"
	"os"

	"motcua/shared/catalog"
	"motcua/shared/delivery"
	"motcua/shared/platform"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// Handle answers one call of the stats function.
var Handle = platform.Serve(func(p *platform.Platform) (*stats.HTTP, error) {
	cal, err := workdays.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	svc, err := stats.NewService(p.Store, catalog.NewCatalog(p.Store, catalog.WithLogger(p.Log)), cal, nil, p.Log)
	if err != nil {
		return nil, err
	}
	secrets := func() ([][]byte, error) {
		s, err := p.Secrets.Get(delivery.SecretName) // re-read: a rotated secret needs no restart
		return delivery.ParseSecrets(s), err
	}
	return stats.NewHTTP(svc, secrets, p.Log), nil
}, http.MethodGet, http.MethodPost)
