package application

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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

// SubmitLockTTL is the lock TTL for submissions' idempotency records (see
// idempotency.WithLockTTL): the function's exec timeout (stack.yml), after
// which the first request is certainly over. It can be this short because
// a take-over files the recorded code again, so even a take-over racing a
// request still running makes one application, not two; a client retrying
// after the process died waits at most this long.
const SubmitLockTTL = 30 * time.Second

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

// errClaimLost: another request recorded an answer under the same
// Idempotency-Key first.
var errClaimLost = errors.New("idempotency record exists")

// submit files an application. With an Idempotency-Key, the answer (code,
// PIN sealed with the key by SealPIN, fee, due date, upload URLs) is known
// before anything is written, so it is recorded once, concurrently with the
// outbox marker, and no second write follows (idempotency.Keeper.Record).
// A request finding the key recorded replays the answer when the
// application exists, answers 409 idempotency_in_progress while the record
// is young, and takes a stale one over, filing the same application (same
// code, PIN, time and event) again: the application's create-once write
// keeps it single however the attempts race. A failed submission abandons
// its record so the client's retry takes it over at once.
func (h *HTTP) submit(ctx context.Context, req handler.Request) handler.Response {
	var in SubmitInput
	if err := httpx.DecodeJSON(req, &in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	key, bad := idempotency.CheckKey(req)
	if bad != nil {
		return *bad
	}
	var rec idempotency.Recorded
	var claim claimFunc
	if key != "" {
		claim = func(ctx context.Context, res SubmitResult) error {
			sealed, err := SealPIN(key, res.Code, res.PIN)
			if err != nil {
				return err
			}
			res.PIN, res.PINSealed = "", sealed
			r, err := h.keeper.Record(ctx, IdempotencyScope, req, httpx.JSON(http.StatusCreated, res, http.Header{"Cache-Control": {"no-store"}}))
			if err != nil {
				return err
			}
			rec = r
			if !r.Won {
				return errClaimLost
			}
			return nil
		}
	}
	out, err := h.svc.submit(ctx, in, req.Header.Get("Authorization"), httpx.CallID(req), nil, claim)
	switch {
	case errors.Is(err, errClaimLost):
		return h.retried(ctx, req, in, key, rec)
	case err != nil:
		h.keeper.Abandon(ctx, rec)
		return httpx.FromError(ctx, h.log, err)
	}
	return h.created(ctx, out, nil)
}

// retried answers a submission whose Idempotency-Key holds an earlier
// request's record.
func (h *HTTP) retried(ctx context.Context, req handler.Request, in SubmitInput, key string, rec idempotency.Recorded) handler.Response {
	if rec.Problem != nil {
		return *rec.Problem
	}
	var prior SubmitResult
	if rec.Prior.StatusCode != http.StatusCreated || json.Unmarshal(rec.Prior.Body, &prior) != nil || prior.Code == "" {
		return rec.Replay() // an answer other than a filing (an older version's record)
	}
	code, err := ParseCode(prior.Code)
	if err != nil {
		return httpx.FromError(ctx, h.log, fmt.Errorf("submit: recorded code: %w", err))
	}
	pin, err := UnsealPIN(key, prior.Code, prior.PINSealed)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	exists, err := h.svc.repo.Exists(ctx, code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if exists {
		prior.PIN = pin
		return h.created(ctx, prior, rec.Replay().Header)
	}
	if !rec.Stale {
		return h.keeper.InProgress()
	}
	if err := h.keeper.TakeOver(ctx, &rec); errors.Is(err, idempotency.ErrTakenOver) {
		return h.keeper.InProgress()
	} else if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	at, eventID := prior.SubmittedAt, prior.EventID
	out, err := h.svc.submit(ctx, in, req.Header.Get("Authorization"), httpx.CallID(req), &pinned{code: code, pin: pin, at: at, eventID: eventID}, nil)
	if err != nil {
		h.keeper.Abandon(ctx, rec)
		return httpx.FromError(ctx, h.log, err)
	}
	return h.created(ctx, out, nil)
}

// created is the 201 answer of a filing (header: a replay's headers, nil
// for a fresh answer); the internal members never leave.
func (h *HTTP) created(ctx context.Context, out SubmitResult, header http.Header) handler.Response {
	out.PINSealed, out.EventID = "", ""
	body, err := httpx.Marshal(out)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if header == nil {
		header = http.Header{"Content-Type": {httpx.ContentTypeJSON}}
	}
	header.Set("Cache-Control", "no-store")
	return handler.Response{StatusCode: http.StatusCreated, Header: header, Body: body}
}
