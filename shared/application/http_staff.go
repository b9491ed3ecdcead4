package application

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
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
//	GET  ?code=…            staff view → 200 StaffView (no code: 400 naming code)
//	GET  ?view=queue&status=…&procedure=…&receivedFrom=…&receivedTo=…&dueFrom=…&dueTo=…&overdue=true&dueWithinDays=N&cursor=…&limit=N
//	                        the agency's work queue → 200 WorkQueue
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
	// Each sub-operation answers one method (the API document gives each
	// its own path), so a 405's Allow names exactly that method.
	allowed := []string{http.MethodPost, http.MethodGet}
	switch {
	case httpx.Query(req).Get("op") == OpResultUpload:
		allowed = []string{http.MethodPost}
	case httpx.Query(req).Get("view") == "queue":
		allowed = []string{http.MethodGet}
	}
	if p := httpx.AllowMethods(req, allowed...); p != nil {
		return httpx.ProblemResponse(p)
	}
	claims, err := s.auth(req.Header.Get("Authorization"), s.now())
	if err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	if strings.EqualFold(req.Method, http.MethodGet) {
		code := strings.TrimSpace(httpx.Query(req).Get("code"))
		switch view := httpx.Query(req).Get("view"); view {
		case "", "queue":
		default:
			return httpx.ProblemResponse(httpx.BadRequest("unknown_view", "Unknown view; use queue or none.", "Chế độ xem không hợp lệ; dùng queue hoặc bỏ trống.").WithExtra("view", view))
		}
		// The queue is asked for with view=queue only: a GET without a code
		// is a staff view with a missing code (400 naming code), never the
		// agency's whole queue by accident (each answer has its own path in
		// the API document, and the function sees only the query).
		if httpx.Query(req).Get("view") == "queue" {
			q, err := parseWorkQueueQuery(httpx.Query(req))
			if err != nil {
				return httpx.FromError(ctx, s.log, err)
			}
			wq, err := s.proc.WorkQueue(ctx, claims, q)
			if err != nil {
				return httpx.FromError(ctx, s.log, err)
			}
			return httpx.JSON(http.StatusOK, wq, http.Header{"Cache-Control": {"no-store"}})
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
	// A request with an Idempotency-Key is one step whatever happens to
	// its runs (ProcessOnce): a retry that takes over the lock of a run
	// cut short after its write answers that write instead of a 409.
	requestKey := ""
	if key := req.Header.Get("Idempotency-Key"); key != "" {
		sum := sha256.Sum256(req.Body)
		requestKey = key + "\x00" + hex.EncodeToString(sum[:])
	}
	resp, err := s.keeper.Do(ctx, "process-application:"+claims.Subject, req, func() (handler.Response, error) {
		res, err := s.proc.ProcessOnce(ctx, claims, in, httpx.CallID(req), requestKey)
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

// parseWorkQueueQuery reads the work-queue filters; dates are YYYY-MM-DD
// days in Asia/Ho_Chi_Minh (from = start of the day, to = its end). A
// filter that is absent is not applied; one that is present but blank (or
// a status list with an empty entry) is refused naming it, as the API
// document says — never silently read as "no filter".
func parseWorkQueueQuery(v url.Values) (WorkQueueQuery, error) {
	var q WorkQueueQuery
	if v.Has("status") {
		for _, part := range strings.Split(v.Get("status"), ",") {
			if part = strings.TrimSpace(part); part == "" {
				return q, &ActionError{"status", "format", "A comma-separated list of statuses, without empty entries.",
					"Danh sách trạng thái cách nhau bởi dấu phẩy, không có mục trống."}
			}
			q.Statuses = append(q.Statuses, Status(part))
		}
	}
	q.Procedure = strings.TrimSpace(v.Get("procedure"))
	if utf8.RuneCountInString(q.Procedure) > 64 {
		return q, &ActionError{"procedure", "max", "At most 64 characters.", "Tối đa 64 ký tự."}
	}
	day := func(name string, end bool) (*time.Time, error) {
		s := strings.TrimSpace(v.Get(name))
		if s == "" && !v.Has(name) {
			return nil, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, s, workdays.Location)
		if err != nil {
			return nil, &ActionError{name, "date", "Use a date YYYY-MM-DD.", "Dùng ngày dạng YYYY-MM-DD."}
		}
		if end {
			d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		d = d.UTC()
		return &d, nil
	}
	var err error
	if q.ReceivedFrom, err = day("receivedFrom", false); err != nil {
		return q, err
	}
	if q.ReceivedTo, err = day("receivedTo", true); err != nil {
		return q, err
	}
	if q.DueFrom, err = day("dueFrom", false); err != nil {
		return q, err
	}
	if q.DueTo, err = day("dueTo", true); err != nil {
		return q, err
	}
	switch s := strings.TrimSpace(v.Get("overdue")); {
	case s == "" && !v.Has("overdue"), s == "false":
	case s == "true":
		q.Overdue = true
	default:
		return q, &ActionError{"overdue", "boolean", "Use true or false.", "Dùng true hoặc false."}
	}
	num := func(name string, lo, hi int) (int, error) {
		s := strings.TrimSpace(v.Get(name))
		if s == "" && !v.Has(name) {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, &ActionError{name, "range", fmt.Sprintf("A whole number from %d to %d.", lo, hi), fmt.Sprintf("Số nguyên từ %d đến %d.", lo, hi)}
		}
		return n, nil
	}
	if q.DueWithinDays, err = num("dueWithinDays", 1, 365); err != nil {
		return q, err
	}
	if q.Limit, err = num("limit", 1, 200); err != nil {
		return q, err
	}
	q.Cursor = strings.TrimSpace(v.Get("cursor"))
	if len(q.Cursor) > 4096 || (q.Cursor == "" && v.Has("cursor")) {
		return q, ErrBadCursor
	}
	return q, nil
}
