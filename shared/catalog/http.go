package catalog

import (
	"context"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
)

// CacheControl lets gateways and apps cache catalog answers briefly.
const CacheControl = "public, max-age=60"

// HTTP serves the procedures function: the public catalog, read-only.
//
//	GET ?code=X.HT.001                               one procedure (404 problem if unknown)
//	GET ?q=&field=&agency=&level=&page=&pageSize=    a page of procedures
//
// A malformed query string or bad parameter is a 400 problem naming it.
type HTTP struct {
	svc *Service
	log *slog.Logger
}

// NewHTTP returns the catalog API over svc; log may be nil.
func NewHTTP(svc *Service, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, log: log}
}

// Serve answers one GET.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p)
	}
	v, err := httpx.StrictQuery(req)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	hdr := http.Header{"Cache-Control": {CacheControl}}
	if v.Has(ParamCode) {
		p, err := h.svc.Get(ctx, v.Get(ParamCode))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, p, hdr)
	}
	q, err := ParseQuery(v)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	page, err := h.svc.Search(ctx, q)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, page, hdr)
}
