package application

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/workdays"
)

// statusNotFound is the one answer for an unknown code and a wrong PIN.
func statusNotFound() *httpx.Problem {
	return httpx.NewProblem(http.StatusNotFound, "application_not_found", "Not Found", httpx.StatusTitleVi(http.StatusNotFound)).
		WithDetail("No application matches this code and PIN. Check both and try again.",
			"Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu (PIN) đã nhập. Vui lòng kiểm tra lại.")
}

// StatusHTTP serves the application-status function: the applicant's
// look-up (tra cứu hồ sơ) by code and PIN through the citizen guard.
//
//	POST {"code": "STP-260302-0001", "pin": "12345678"}   preferred: the PIN stays out of URLs and logs
//	GET  ?code=STP-260302-0001&pin=12345678               for simple links and clients
//
// 200 answers a StatusView. A wrong PIN and an unknown code get the same
// 404 "application_not_found" at the same cost; a malformed code is a 400
// naming "code"; throttled guesses get 429 "too_many_attempts" with
// Retry-After (see shared/citizenguard).
type StatusHTTP struct {
	access *Access
	cal    *workdays.Calendar
	now    func() time.Time
	log    *slog.Logger
	// receipt reads the application's receipt link (nil: none).
	receipt func(ctx context.Context, code string) (*ReceiptLink, error)
}

// WithReceipts makes the look-up fill StatusView.Receipt with link (the
// receipt book's by-application marker); it returns h.
func (h *StatusHTTP) WithReceipts(link func(ctx context.Context, code string) (*ReceiptLink, error)) *StatusHTTP {
	h.receipt = link
	return h
}

// NewStatusHTTP returns the look-up API; now and log may be nil.
func NewStatusHTTP(access *Access, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) *StatusHTTP {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &StatusHTTP{access: access, cal: cal, now: now, log: log}
}

// Methods are the HTTP methods the look-up answers.
func (h *StatusHTTP) Methods() []string { return []string{http.MethodPost, http.MethodGet} }

// Serve answers one GET or POST.
func (h *StatusHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, h.Methods()...); p != nil {
		return httpx.ProblemResponse(p)
	}
	var q StatusQuery
	if strings.EqualFold(req.Method, http.MethodGet) {
		v := httpx.Query(req)
		q = StatusQuery{Code: v.Get("code"), PIN: v.Get("pin")}
	} else if err := httpx.DecodeJSON(req, &q, httpx.MaxBytes(4<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	q.Code, q.PIN = strings.TrimSpace(q.Code), strings.TrimSpace(q.PIN)
	if err := httpx.Validate(&q); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	code, err := ParseCode(q.Code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	a, err := h.access.Authorize(ctx, code, q.PIN, h.access.Guard().Client(req.Header))
	if errors.Is(err, ErrWrongPIN) {
		return httpx.FromError(ctx, h.log, statusNotFound())
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	view := BuildStatus(a, h.cal, h.now())
	if h.receipt != nil {
		if view.Receipt, err = h.receipt(ctx, a.Code); err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
	}
	return httpx.JSON(http.StatusOK, view, http.Header{"Cache-Control": {"no-store"}})
}
