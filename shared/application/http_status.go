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
	// results hands out result documents (nil: download-result refused).
	results *ResultDownloads
	// recovery runs PIN recovery (nil: recover-pin and reset-pin refused).
	recovery *Recovery
}

// Actions of the application-status function besides the look-up, chosen
// with ?action=.
const (
	// OpDownloadResult answers a short-lived URL of the result PDF (body
	// StatusQuery) and records the electronic delivery.
	OpDownloadResult = "download-result"
	// OpRecoverPIN asks for a one-time code to reset a lost PIN (body
	// RecoverPINInput).
	OpRecoverPIN = "recover-pin"
	// OpResetPIN sets a new PIN with the one-time code (body ResetPINInput).
	OpResetPIN = "reset-pin"
)

// WithResults makes download-result available through d; it returns h.
func (h *StatusHTTP) WithResults(d *ResultDownloads) *StatusHTTP {
	h.results = d
	return h
}

// WithRecovery makes recover-pin and reset-pin available through r; it
// returns h.
func (h *StatusHTTP) WithRecovery(r *Recovery) *StatusHTTP {
	h.recovery = r
	return h
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

// StatusAllowed names the methods of the look-up operation req asks for,
// from the request alone (platform.ServeRouted refuses other methods with
// it before anything is built): GET and POST for the look-up itself, POST
// only for the actions, whose secrets travel in bodies only and which each
// have their own path in the API document.
func StatusAllowed(req handler.Request) []string {
	switch httpx.Query(req).Get("action") {
	case OpDownloadResult, OpRecoverPIN, OpResetPIN:
		return []string{http.MethodPost}
	}
	return []string{http.MethodPost, http.MethodGet}
}

// Serve answers one GET or POST.
func (h *StatusHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	action := httpx.Query(req).Get("action")
	if p := httpx.AllowMethods(req, StatusAllowed(req)...); p != nil {
		return httpx.ProblemResponse(p)
	}
	switch action {
	case "", OpDownloadResult:
	case OpRecoverPIN, OpResetPIN:
		if h.recovery == nil {
			return httpx.FromError(ctx, h.log, ErrRecoveryUnavailable)
		}
		if action == OpRecoverPIN {
			return h.recoverPIN(ctx, req)
		}
		return h.resetPIN(ctx, req)
	default:
		return httpx.ProblemResponse(httpx.BadRequest("unknown_action",
			"Unknown action; use none, download-result, recover-pin or reset-pin.",
			"Thao tác không hợp lệ; dùng download-result, recover-pin, reset-pin hoặc bỏ trống.").WithExtra("action", action))
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
	a, etag, err := h.access.AuthorizeTagged(ctx, code, q.PIN, h.access.Guard().Client(req.Header))
	if errors.Is(err, ErrWrongPIN) {
		return httpx.FromError(ctx, h.log, statusNotFound())
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if action == OpDownloadResult {
		if h.results == nil {
			return httpx.FromError(ctx, h.log, ErrResultsUnavailable)
		}
		dl, err := h.results.DownloadTagged(ctx, a, etag, httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		h.log.InfoContext(ctx, "result download link issued", "code", a.Code)
		return httpx.JSON(http.StatusOK, dl, http.Header{"Cache-Control": {"no-store"}})
	}
	view := BuildStatus(a, h.cal, h.now())
	// A receipt is issued from the payment.confirmed event, which is
	// published only once the payment is recorded on the application: an
	// application whose fee is not paid has none, so no read is needed.
	if h.receipt != nil && a.Fee.PaymentState == PaymentPaid {
		if view.Receipt, err = h.receipt(ctx, a.Code); err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
	}
	return httpx.JSON(http.StatusOK, view, http.Header{"Cache-Control": {"no-store"}})
}

// recoverPIN answers recover-pin: always 202 RecoveryAccepted, unless
// throttled (429) or the body is malformed (400/422).
func (h *StatusHTTP) recoverPIN(ctx context.Context, req handler.Request) handler.Response {
	var in RecoverPINInput
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(4<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	in.Code, in.IDNumber = strings.TrimSpace(in.Code), strings.TrimSpace(in.IDNumber)
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if !idNumberShape(in.IDNumber) {
		return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "idNumber", Code: "pattern",
			Message:   "idNumber: the CCCD or MST in digits (spaces and dashes allowed).",
			MessageVi: "idNumber: số CCCD hoặc mã số thuế, gồm các chữ số (có thể có dấu cách, gạch ngang)."}))
	}
	code, err := ParseCode(in.Code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	out, err := h.recovery.Request(ctx, code, in.IDNumber, h.access.Guard().Client(req.Header), httpx.CallID(req))
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusAccepted, out, http.Header{"Cache-Control": {"no-store"}})
}

// idNumberShape reports whether s (trimmed) can be a CCCD or MST as typed:
// digits, spaces and dashes, starting and ending with a digit (the API
// document's RecoverPinRequest.idNumber pattern). It says nothing about
// whether the number matches: that answer stays the same 202.
func idNumberShape(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' || s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != ' ' && c != '-' {
			return false
		}
	}
	return true
}

// resetPIN answers reset-pin: 200 PINResetResult, or the one 404
// "recovery_code_invalid".
func (h *StatusHTTP) resetPIN(ctx context.Context, req handler.Request) handler.Response {
	var in ResetPINInput
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(4<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	in.Code, in.OneTimeCode, in.NewPIN = strings.TrimSpace(in.Code), strings.TrimSpace(in.OneTimeCode), strings.TrimSpace(in.NewPIN)
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	code, err := ParseCode(in.Code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	out, err := h.recovery.Reset(ctx, code, in.OneTimeCode, in.NewPIN, h.access.Guard().Client(req.Header), httpx.CallID(req))
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"no-store"}})
}
