package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/httpx"
	"motcua/shared/queue"
)

// Authenticator checks that a delivery comes from the queue connector
// (shared/delivery's signature); nil error means accepted.
type Authenticator = delivery.Authenticator

// HTTP is the adapter of the notify function: the queue connector POSTs one
// envelope per call.
//
//	POST <envelope>  200 Result (sent, already sent, ignored);
//	                 401 delivery not authenticated; 400 not an envelope;
//	                 422 unusable event; 503 being sent by another delivery;
//	                 5xx transient failure (the connector redelivers)
type HTTP struct {
	svc  *Service
	auth Authenticator
	log  *slog.Logger
}

// NewHTTP returns the adapter. auth (normally DeliveryAuth) may be nil only
// where the function is not reachable from outside the stack (tests); log
// may be nil.
func NewHTTP(svc *Service, auth Authenticator, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, auth: auth, log: log}
}

var errDeliveryRefused = httpx.NewProblem(http.StatusUnauthorized, "delivery_not_authenticated", "Unauthorized", httpx.StatusTitleVi(http.StatusUnauthorized)).
	WithDetail("Only the queue connector may call this function: the delivery signature is missing or wrong.",
		"Chỉ bộ kết nối hàng đợi được gọi chức năng này: thiếu chữ ký giao nhận hoặc chữ ký sai.")

// Serve handles one delivery.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	if h.auth != nil {
		if err := h.auth(http.Header(req.Header), req.Body); err != nil {
			h.log.WarnContext(ctx, "delivery refused", "reason", err.Error())
			return httpx.ProblemResponse(errDeliveryRefused)
		}
	}
	env, err := DecodeEnvelope(req.Body)
	if err != nil {
		return httpx.ProblemResponse(httpx.BadRequest("invalid_envelope", "The body is not a queue envelope.", "Nội dung không phải là một thông điệp hàng đợi."))
	}
	res, err := h.svc.Handle(ctx, env)
	switch {
	case err == nil:
		return httpx.JSON(http.StatusOK, res)
	case errors.Is(err, ErrBadEvent):
		h.log.ErrorContext(ctx, "event cannot be notified", "event_id", env.ID, "event_type", env.Type, "error", err.Error())
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusUnprocessableEntity, "unusable_event", "Unprocessable Entity", httpx.StatusTitleVi(http.StatusUnprocessableEntity)).
			WithDetail("The event names nothing that can be notified.", "Sự kiện không chứa thông tin để gửi thông báo."))
	case errors.Is(err, ErrInFlight):
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusServiceUnavailable, "notification_in_flight", "Service Unavailable", httpx.StatusTitleVi(http.StatusServiceUnavailable)).
			WithDetail("Another delivery of this event is sending the notification; retry later.", "Thông báo của sự kiện này đang được gửi; vui lòng thử lại sau.").
			WithHeader("Retry-After", "30"))
	default:
		return httpx.FromError(ctx, h.log, fmt.Errorf("notify %s %s: %w", env.Type, env.ID, err))
	}
}

// DecodeEnvelope parses a delivery body into a valid envelope.
func DecodeEnvelope(body []byte) (queue.Envelope, error) { return delivery.DecodeEnvelope(body) }

// DeliveryAuth returns the Authenticator that accepts only deliveries
// signed by the queue connector (shared/delivery): secrets reads the
// queue-delivery-secret secret on each call, so a rotation needs no restart.
func DeliveryAuth(secrets func() (string, error)) Authenticator {
	return delivery.FromSecret(secrets)
}
