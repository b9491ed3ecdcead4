package application

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/idempotency"
)

// Actions of the submit-application function, chosen with ?action= (the
// template gives no path). No action means submit.
const (
	// OpSubmit files a new application (body SubmitInput).
	OpSubmit = "submit"
	// OpCompleteUploads records landed uploads (body PINRequest).
	OpCompleteUploads = "complete-uploads"
	// OpCancel withdraws a submitted application (body PINRequest).
	OpCancel = "cancel"
)

// IdempotencyScope is the Keeper scope of submissions.
const IdempotencyScope = "submit-application"

// PINRequest is the body of the applicant's actions on a filed application.
type PINRequest struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// PIN is the lookup PIN given at submission.
	PIN string `json:"pin" validate:"required,len=8,number"`
	// Reason is an optional note (cancel).
	Reason string `json:"reason" validate:"max=500"`

	code Code // Code parsed
}

// HTTP serves the submit-application function's API on top of a Service:
//
//	POST                          submit (201 SubmitResult; Idempotency-Key honoured)
//	POST ?action=complete-uploads {code, pin}          → 200 UploadsResult
//	POST ?action=cancel           {code, pin, reason}  → 200 CancelResult
type HTTP struct {
	svc    *Service
	keeper *idempotency.Keeper
	log    *slog.Logger
}

// NewHTTP returns the HTTP layer; keeper makes submissions safe to retry
// (cancel and complete-uploads are idempotent by themselves).
func NewHTTP(svc *Service, keeper *idempotency.Keeper, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, keeper: keeper, log: log}
}

// Serve answers one request; failures become problem responses.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	switch action := httpx.Query(req).Get("action"); action {
	case "", OpSubmit:
		return h.submit(ctx, req)
	case OpCompleteUploads:
		in, resp, ok := h.pinRequest(ctx, req)
		if !ok {
			return resp
		}
		out, err := h.svc.CompleteUploads(ctx, in.code, in.PIN, h.svc.access.Guard().Client(req.Header), httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"no-store"}})
	case OpCancel:
		in, resp, ok := h.pinRequest(ctx, req)
		if !ok {
			return resp
		}
		out, err := h.svc.Cancel(ctx, in.code, in.PIN, h.svc.access.Guard().Client(req.Header), in.Reason, httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, out)
	default:
		return httpx.FromError(ctx, h.log, httpx.BadRequest("unknown_action",
			"Unknown action; use submit, complete-uploads or cancel.",
			"Thao tác không hợp lệ; dùng submit, complete-uploads hoặc cancel.").WithExtra("action", action))
	}
}

func (h *HTTP) pinRequest(ctx context.Context, req handler.Request) (PINRequest, handler.Response, bool) {
	var in PINRequest
	if err := httpx.DecodeJSON(req, &in); err != nil {
		return in, httpx.FromError(ctx, h.log, err), false
	}
	if err := httpx.Validate(&in); err != nil {
		return in, httpx.FromError(ctx, h.log, err), false
	}
	code, err := ParseCode(in.Code)
	if err != nil {
		return in, httpx.FromError(ctx, h.log, err), false
	}
	in.code = code
	return in, handler.Response{}, true
}

// submit files an application under the keeper. The PIN never reaches the
// stored idempotency record in clear: inside the keeper it is sealed with
// the Idempotency-Key (SealPIN), and unsealed on the way out, for the
// first answer and for replays alike.
func (h *HTTP) submit(ctx context.Context, req handler.Request) handler.Response {
	var in SubmitInput
	if err := httpx.DecodeJSON(req, &in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	key := req.Header.Get(idempotency.HeaderKey)
	resp, err := h.keeper.Do(ctx, IdempotencyScope, req, func() (handler.Response, error) {
		out, err := h.svc.Submit(ctx, in, req.Header.Get("Authorization"), httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err), nil
		}
		if key != "" {
			sealed, err := SealPIN(key, out.Code, out.PIN)
			if err != nil {
				return handler.Response{}, err
			}
			out.PIN, out.PINSealed = "", sealed
		}
		return httpx.JSON(http.StatusCreated, out, http.Header{"Cache-Control": {"no-store"}}), nil
	})
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if resp.StatusCode != http.StatusCreated || key == "" {
		return resp
	}
	var out SubmitResult
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if out.PINSealed != "" {
		pin, err := UnsealPIN(key, out.Code, out.PINSealed)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		out.PIN, out.PINSealed = pin, ""
	}
	body, err := httpx.Marshal(out)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	resp.Body = body
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set("Cache-Control", "no-store")
	return resp
}
