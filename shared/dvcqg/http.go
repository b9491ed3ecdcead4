package dvcqg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/httpx"
)

// HTTP is the adapter of the dvcqg-sync function (the queue connector POSTs
// one envelope per call).
//
//	POST <envelope>  200 Result; 401 delivery not authenticated; 400 not an
//	                 envelope; 422 unusable event; 503 application busy or
//	                 portal failure (the connector redelivers, then dead-letters)
type HTTP struct {
	sync *Syncer
	auth delivery.Authenticator
	log  *slog.Logger
}

// NewHTTP returns the adapter; auth may be nil only where the function is
// unreachable from outside (tests).
func NewHTTP(s *Syncer, auth delivery.Authenticator, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{sync: s, auth: auth, log: log}
}

// Serve handles one delivery.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	if h.auth != nil {
		if err := h.auth(http.Header(req.Header), req.Body); err != nil {
			h.log.WarnContext(ctx, "delivery refused", "reason", err.Error())
			return httpx.ProblemResponse(httpx.NewProblem(http.StatusUnauthorized, "delivery_not_authenticated", "Unauthorized", httpx.StatusTitleVi(http.StatusUnauthorized)).
				WithDetail("Only the queue connector may call this function.", "Chỉ bộ kết nối hàng đợi được gọi chức năng này."))
		}
	}
	env, err := delivery.DecodeEnvelope(req.Body)
	if err != nil {
		return httpx.ProblemResponse(httpx.BadRequest("invalid_envelope", "The body is not a queue envelope.", "Nội dung không phải là một thông điệp hàng đợi."))
	}
	res, err := h.sync.Handle(ctx, env)
	switch {
	case err == nil:
		return httpx.JSON(http.StatusOK, res)
	case errors.Is(err, ErrBadEvent):
		h.log.ErrorContext(ctx, "event cannot be synced", "event_id", env.ID, "error", err.Error())
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusUnprocessableEntity, "unusable_event", "Unprocessable Entity", httpx.StatusTitleVi(http.StatusUnprocessableEntity)).
			WithDetail("The event names no application that can be synced.", "Sự kiện không gắn với hồ sơ nào để đồng bộ."))
	case errors.Is(err, ErrBusy):
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusServiceUnavailable, "sync_in_progress", "Service Unavailable", httpx.StatusTitleVi(http.StatusServiceUnavailable)).
			WithDetail("Another delivery is syncing this application; retry later.", "Hồ sơ đang được đồng bộ; vui lòng thử lại sau.").WithHeader("Retry-After", "30"))
	default:
		h.log.WarnContext(ctx, "portal sync incomplete", "event_id", env.ID, "code", res.Code, "error", err.Error())
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusServiceUnavailable, "portal_unavailable", "Service Unavailable", httpx.StatusTitleVi(http.StatusServiceUnavailable)).
			WithDetail("The national portal did not acknowledge; the event will be retried.", "Cổng DVC quốc gia chưa xác nhận; sự kiện sẽ được gửi lại.").WithHeader("Retry-After", "30"))
	}
}

// Configuration keys of dvcqg-sync and its secret.
const (
	// KeyURL is the LGSP integration endpoint.
	KeyURL = "MOTCUA_DVCQG_URL"
	// KeyAuthURL is the LGSP authentication endpoint (empty: token secret).
	KeyAuthURL = "MOTCUA_DVCQG_AUTH_URL"
	// KeyUsername is the LGSP account.
	KeyUsername = "MOTCUA_DVCQG_USERNAME"
	// KeyUnitCode is madonvi.
	KeyUnitCode = "MOTCUA_DVCQG_UNIT_CODE"
	// SecretPassword is the LGSP password (with KeyAuthURL) or access token (without).
	SecretPassword = "dvcqg-password"
)

// ConfigError wraps configuration failures.
func configError(err error) error { return fmt.Errorf("dvcqg: %w", err) }
