package rating

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/throttle"
)

// PINGuard is today's check of an applicant's code and PIN, the one
// application-status uses: every attempt is counted by shared/throttle (per
// code and per client) before the PIN is checked, an unknown code costs a
// PIN hash like a known one, and both answer the same 404. When the
// project's common guard for citizen secrets lands, it replaces this type
// and nothing else.
type PINGuard struct {
	repo     *application.Repository
	throttle *throttle.Throttle
	log      *slog.Logger
}

var _ Authenticator = (*PINGuard)(nil)

// NewPINGuard returns the guard over the application repository and the
// throttle.
func NewPINGuard(repo *application.Repository, t *throttle.Throttle, log *slog.Logger) *PINGuard {
	if log == nil {
		log = slog.Default()
	}
	return &PINGuard{repo: repo, throttle: t, log: log}
}

// dummy carries a PIN hash of the default cost, so that unknown codes cost
// the same work as known ones.
var dummy = func() application.Application {
	h, s, err := application.HashPIN("00000000", application.DefaultPINIterations)
	if err != nil {
		return application.Application{}
	}
	return application.Application{PINHash: h, PINSalt: s}
}()

// Authenticate implements Authenticator.
func (g *PINGuard) Authenticate(ctx context.Context, code, pin, client string) (application.Application, error) {
	tk, err := g.throttle.Acquire(ctx, code, client)
	if err != nil {
		return application.Application{}, err
	}
	a, _, err := g.repo.Get(ctx, code)
	switch {
	case errors.Is(err, application.ErrNotFound):
		application.CheckPIN(dummy, pin)
		g.log.InfoContext(ctx, "rating refused", "reason", "unknown_code_or_wrong_pin")
		return application.Application{}, application.ErrWrongPIN
	case err != nil:
		if rerr := tk.Release(context.WithoutCancel(ctx)); rerr != nil {
			g.log.WarnContext(ctx, "throttle release failed", "error", rerr.Error())
		}
		return application.Application{}, err
	case !application.CheckPIN(a, pin):
		g.log.InfoContext(ctx, "rating refused", "reason", "unknown_code_or_wrong_pin")
		return application.Application{}, application.ErrWrongPIN
	}
	if err := tk.Succeed(context.WithoutCancel(ctx)); err != nil {
		g.log.WarnContext(ctx, "throttle success not recorded", "error", err.Error())
	}
	return a, nil
}

// HTTP serves the rate-application function:
//
//	POST {code, pin, overall, time?, attitude?, simplicity?, comment?}
//	  → 201 {rating} (200 with Idempotent-Replayed: true for the same rating again)
//	  → 404 invalid_code_or_pin, 409 not_returned / already_rated, 422, 429
type HTTP struct {
	svc *Service
	log *slog.Logger
}

// NewHTTP returns the HTTP adapter of svc.
func NewHTTP(svc *Service, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, log: log}
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
	res, err := h.svc.Rate(ctx, in, throttle.ClientAddress(http.Header(req.Header)), httpx.CallID(req))
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
