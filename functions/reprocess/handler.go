// Package function is the "reprocess" function: administrators run staff
// batch-reprocessing jobs (see motcua/shared/jobs and api/openapi.yaml).
//
//	POST {kind, scope, rate?, reason?}      dry run → 201 (nothing changes)
//	POST {confirm: ID}                      execute the dry run → 202
//	POST ?job=ID&action=cancel|resume       → 202
//	GET  ?job=ID[&format=csv]               progress, or the CSV report
//	GET  [?limit=&next=]                    recent jobs
//
// Every call needs a staff token with role admin (401 / 403 otherwise).
// Items run in the reprocess-worker function.
package function

import (
	"net/http"

	"motcua/shared/jobs"
	"motcua/shared/jobs/kinds"
	"motcua/shared/platform"
)

// Handle answers one call of the reprocess function.
var Handle = platform.Serve(func(p *platform.Platform) (*jobs.HTTP, error) {
	svc, err := kinds.Service(p)
	if err != nil {
		return nil, err
	}
	auth, err := kinds.AdminAuth(p)
	if err != nil {
		return nil, err
	}
	return jobs.NewHTTP(svc, auth, p.Log), nil
}, http.MethodGet, http.MethodPost)
