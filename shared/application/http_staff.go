package application

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
)

// StaffAuthenticator verifies an Authorization header value ("Bearer …")
// at now and returns the officer's claims, or an error httpx maps to 401.
// The process-application function builds it from shared/staffauth.
type StaffAuthenticator func(authorization string, now time.Time) (staffauth.Claims, error)

// OpResultUpload is process-application's ?op= that presigns the upload of
// a result document (body ResultUploadInput, answer ResultUpload).
const OpResultUpload = "result-upload"

// StaffHTTP serves the process-application function: staff act on the
// applications of their agency.
//
//	POST {code, action, …}  apply one action (Idempotency-Key honoured, scoped to the officer) → 200 ProcessResult
//	POST ?op=result-upload {code, size}  presigned PUT for the result PDF → 200 ResultUpload
//	GET  ?code=…            staff view → 200 StaffView
type StaffHTTP struct {
	proc   *Processor
	keeper *idempotency.Keeper
	auth   StaffAuthenticator
	now    func() time.Time
	log    *slog.Logger
}

// NewStaffHTTP returns the staff API; now and log may be nil.
func NewStaffHTTP(proc *Processor, keeper *idempotency.Keeper, auth StaffAuthenticator, now func() time.Time, log *slog.Logger) *StaffHTTP {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &StaffHTTP{proc: proc, keeper: keeper, auth: auth, now: now, log: log}
}

// Serve authenticates the officer and answers one GET or POST.
func (s *StaffHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p)
	}
	claims, err := s.auth(req.Header.Get("Authorization"), s.now())
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
	switch op := httpx.Query(req).Get("op"); op {
	case "":
	case OpResultUpload:
		var in ResultUploadInput
		if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(4<<10)); err != nil {
			return httpx.FromError(ctx, s.log, err)
		}
		if err := httpx.Validate(&in); err != nil {
			return httpx.FromError(ctx, s.log, err)
		}
		up, err := s.proc.PrepareResultUpload(ctx, claims, in)
		if err != nil {
			return httpx.FromError(ctx, s.log, err)
		}
		return httpx.JSON(http.StatusOK, up, http.Header{"Cache-Control": {"no-store"}})
	default:
		return httpx.ProblemResponse(httpx.BadRequest("unknown_op",
			"Unknown op; use result-upload or none.", "Thao tác không hợp lệ; dùng result-upload hoặc bỏ trống.").WithExtra("op", op))
	}
	var in ProcessInput
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
