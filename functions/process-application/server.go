package function

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
)

// server answers staff calls.
type server struct {
	proc   *application.Processor
	keeper *idempotency.Keeper
	// staff verifies tokens; it re-reads the key set on each call (so a
	// rotated key set is picked up without a restart).
	staff *staffauth.Verifier
	now   func() time.Time
	log   *slog.Logger
}

// serve authenticates the officer and answers one GET or POST.
func (s *server) serve(ctx context.Context, req handler.Request) handler.Response {
	claims, err := s.staff.Verify(req.Header.Get("Authorization"), s.now())
	if err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	if strings.EqualFold(req.Method, http.MethodGet) {
		code := strings.TrimSpace(httpx.Query(req).Get("code"))
		if code == "" {
			return httpx.ProblemResponse(httpx.BadRequest("missing_code", "The code query parameter is required.", "Thiếu tham số code (mã hồ sơ)."))
		}
		v, err := s.proc.View(ctx, claims, code)
		if err != nil {
			return httpx.FromError(ctx, s.log, err)
		}
		return httpx.JSON(http.StatusOK, v, http.Header{"Cache-Control": {"no-store"}})
	}
	var in application.ProcessInput
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(64<<10)); err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	resp, err := s.keeper.Do(ctx, "process-application:"+claims.Subject, req, func() (handler.Response, error) {
		res, err := s.proc.Process(ctx, claims, in, httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, s.log, err), nil
		}
		return httpx.JSON(http.StatusOK, res, http.Header{"Cache-Control": {"no-store"}}), nil
	})
	if err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	return resp
}
