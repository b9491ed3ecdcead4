// Package function is the "procedures" function: the public procedure
// (TTHC) catalog, read-only.
//
//	GET ?code=X.HT.001                 one procedure (404 problem if unknown)
//	GET ?q=&field=&agency=&level=&page=&pageSize=   a page of procedures
//
// Any other method gets 405. Bad parameters get a 400 problem naming them.
// If the bucket holds no catalog yet, the first request loads the embedded
// seed catalog into it (create-once: concurrent cold starts of several
// replicas end with one version 1 and no error); operators load real
// catalogs with `motcua catalog load`. The catalog is kept in memory and
// re-checked against storage at most every 30 s.
package function

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/catalog"
	"motcua/shared/httpx"
	"motcua/shared/platform"
)

// cacheControl lets gateways and apps cache catalog answers briefly.
const cacheControl = "public, max-age=60"

var (
	mu  sync.Mutex
	svc *catalog.Service
	log *slog.Logger
)

// service builds the dependencies on first successful use; a failure is
// retried on the next request.
func service() (*catalog.Service, *slog.Logger, error) {
	mu.Lock()
	defer mu.Unlock()
	if svc == nil {
		p, err := platform.Get()
		if err != nil {
			return nil, nil, err
		}
		svc, log = catalog.NewService(p.Store, p.Log, catalog.ServiceOptions{SeedIfEmpty: true}), p.Log
	}
	return svc, log, nil
}

// Handle answers one call of the procedures function.
func Handle(req handler.Request) (handler.Response, error) {
	ctx := httpx.RequestContext(req)
	if p := httpx.AllowMethods(req, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p), nil
	}
	s, l, err := service()
	if err != nil {
		return httpx.FromError(ctx, slog.Default(), err), nil
	}
	return serve(ctx, s, l, httpx.Query(req)), nil
}

// serve runs one GET against the service.
func serve(ctx context.Context, s *catalog.Service, l *slog.Logger, v url.Values) handler.Response {
	hdr := http.Header{"Cache-Control": {cacheControl}}
	if v.Has(catalog.ParamCode) {
		p, err := s.Get(ctx, v.Get(catalog.ParamCode))
		if err != nil {
			return httpx.FromError(ctx, l, err)
		}
		return httpx.JSON(http.StatusOK, p, hdr)
	}
	q, err := catalog.ParseQuery(v)
	if err != nil {
		return httpx.FromError(ctx, l, err)
	}
	page, err := s.Search(ctx, q)
	if err != nil {
		return httpx.FromError(ctx, l, err)
	}
	return httpx.JSON(http.StatusOK, page, hdr)
}
