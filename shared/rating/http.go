package rating

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
)

// HTTP serves the rate-application function:
//
//	POST {code, pin, overall, time?, attitude?, simplicity?, comment?}
//	  → 201 {rating} (200 with Idempotent-Replayed: true for the same rating again)
//	  → 404 invalid_code_or_pin, 409 not_returned / already_rated, 422, 429
type HTTP struct {
	svc    *Service
	client func(http.Header) string
	log    *slog.Logger
}

// NewHTTP returns the HTTP adapter of svc; client gives the address a
// request is counted under (citizenguard.Guard.Client).
func NewHTTP(svc *Service, client func(http.Header) string, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	if client == nil {
		client = func(http.Header) string { return "" }
	}
	return &HTTP{svc: svc, client: client, log: log}
}

// Serve answers one request.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	var in Input
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(8<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	in.Code, in.PIN = strings.TrimSpace(in.Code), strings.TrimSpace(in.PIN)
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	res, err := h.svc.Rate(ctx, in, h.client(http.Header(req.Header)), httpx.CallID(req))
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	hdr := http.Header{"Cache-Control": {"no-store"}}
	if res.Replayed {
		hdr.Set("Idempotent-Replayed", "true")
		return httpx.JSON(http.StatusOK, res, hdr)
	}
	return httpx.JSON(http.StatusCreated, res, hdr)
}
