package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/logx"
)

// Coded is implemented by domain errors that clients should see as a
// problem. Domain packages implement it without importing httpx:
//
//	type ErrNotPayable struct{ Status string }
//	func (e ErrNotPayable) Error() string       { return "application is " + e.Status + ", not awaiting payment" }
//	func (e ErrNotPayable) ProblemCode() string { return "not_payable" }
//	func (e ErrNotPayable) StatusCode() int     { return 409 }
//	func (e ErrNotPayable) MessageVi() string   { return "Hồ sơ không ở trạng thái chờ thanh toán" }
//	func (e ErrNotPayable) ProblemExtra() map[string]any { return map[string]any{"current_status": e.Status} }
//
// FromError finds a Coded anywhere in the wrap chain. The English detail is
// MessageEn() when the error has that method, otherwise the Coded value's
// own Error() (not the wrappers' context): keep it free of internals.
// Optional methods: MessageEn() string, ProblemExtra() map[string]any
// (extension members such as "current_status"), ProblemHeaders()
// http.Header (e.g. WWW-Authenticate), RetryAfterSeconds() int (a
// Retry-After header) and ProblemFields (below).
// A Coded status of 5xx never shows the English text, only MessageVi.
type Coded interface {
	// ProblemCode is the stable slug, e.g. "not_payable".
	ProblemCode() string
	// StatusCode is the HTTP status (4xx for the client's fault).
	StatusCode() int
	// MessageVi is the Vietnamese detail shown to citizens.
	MessageVi() string
}

// messageEn is the optional English detail of a Coded error.
type messageEn interface{ MessageEn() string }

// retryAfter is the optional Retry-After of a Coded error (429, 503): the
// response carries it as a header in whole seconds.
type retryAfter interface{ RetryAfterSeconds() int }

// problemExtra is the optional extension members of a Coded error.
type problemExtra interface{ ProblemExtra() map[string]any }

// problemHeaders is the optional response headers of a Coded error, e.g.
// the WWW-Authenticate challenge of a 401.
type problemHeaders interface{ ProblemHeaders() http.Header }

// ProblemFields is an optional interface of Coded errors that name bad
// fields: each entry is {field, code, message, messageVi}.
type ProblemFields interface {
	ProblemFields() [][4]string
}

// FromError turns an error returned on a request path into the response
// the client gets, in one place:
//
//   - a *Problem anywhere in the chain: as is;
//   - a Coded error: its status, code and messages;
//     (domain errors are fault.Error values; the document store's own
//     sentinels implement Coded too: 404 "not_found", 409 "conflict");
//   - context.DeadlineExceeded: 504 "timeout";
//   - context.Canceled: 503 "cancelled" (the caller went away);
//   - anything else: 500 "internal_error" with a generic body.
//
// 5xx are logged at Error level with the whole error chain; 4xx coming from
// sentinels or problems with a cause at Info; other client problems at
// Debug. The call id from ctx (logx.WithCallID) is put
// in the log record and in the problem's instance. err must not be nil (a
// nil err gives the generic 500 too, as it is a bug).
func FromError(ctx context.Context, log *slog.Logger, err error) handler.Response {
	if log == nil {
		log = slog.Default()
	}
	p, internal := problemFor(err)
	callID := logx.CallIDFrom(ctx)
	if p.Instance == "" && callID != "" {
		p.Instance = "urn:motcua:call:" + callID
	}
	switch {
	case p.Status >= 500:
		log.ErrorContext(ctx, "request failed", "status", p.Status, "code", p.Code, "error", errString(err))
	case internal:
		log.InfoContext(ctx, "request refused", "status", p.Status, "code", p.Code, "error", errString(err))
	default:
		log.DebugContext(ctx, "request refused", "status", p.Status, "code", p.Code, "error", errString(err))
	}
	return ProblemResponse(p)
}

func errString(err error) string {
	if err == nil {
		return "<nil error>"
	}
	return err.Error()
}

// problemFor maps err to a fresh problem; internal reports whether err
// carries detail worth logging (it was not a client-facing problem).
func problemFor(err error) (p *Problem, internal bool) {
	if err == nil {
		return Internal(), true
	}
	var prob *Problem
	if errors.As(err, &prob) {
		q := *prob // copy: the Instance is set per response
		return &q, prob.cause != nil
	}
	var coded Coded
	if errors.As(err, &coded) {
		// Infrastructure errors that reached the HTTP layer unmapped (the
		// document store's sentinels) are logged with their context.
		infra, _ := coded.(interface{ Infrastructure() bool })
		return codedProblem(coded), infra != nil && infra.Infrastructure()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return NewProblem(http.StatusGatewayTimeout, "timeout", "Timeout", "Hết thời gian xử lý").
			WithDetail("The request took too long. It is safe to retry with the same Idempotency-Key.",
				"Yêu cầu xử lý quá lâu. Có thể gửi lại với cùng Idempotency-Key."), true
	case errors.Is(err, context.Canceled):
		return NewProblem(http.StatusServiceUnavailable, "cancelled", "Request cancelled", "Yêu cầu đã bị hủy").
			WithDetail("The request was cancelled before it completed.", "Yêu cầu đã bị hủy trước khi hoàn tất."), true
	}
	return Internal(), true
}

func codedProblem(c Coded) *Problem {
	status := c.StatusCode()
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	p := NewProblem(status, c.ProblemCode(), title, StatusTitleVi(status))
	switch {
	case status >= 500:
		// Never echo a server-side error text, even a coded one.
		gen := Internal()
		p.Detail, p.DetailVi = gen.Detail, gen.DetailVi
		if vi := c.MessageVi(); vi != "" {
			p.DetailVi = vi
		}
	default:
		if en, ok := c.(messageEn); ok {
			p.Detail = en.MessageEn()
		} else if e, ok := c.(error); ok {
			p.Detail = e.Error()
		}
		p.DetailVi = c.MessageVi()
	}
	if x, ok := c.(problemExtra); ok {
		for k, v := range x.ProblemExtra() {
			p.WithExtra(k, v)
		}
	}
	if h, ok := c.(problemHeaders); ok {
		for k, vs := range h.ProblemHeaders() {
			for _, v := range vs {
				p.WithHeader(k, v)
			}
		}
	}
	if r, ok := c.(retryAfter); ok {
		if n := r.RetryAfterSeconds(); n > 0 {
			p.WithHeader("Retry-After", strconv.Itoa(n))
		}
	}
	if f, ok := c.(ProblemFields); ok {
		for _, fe := range f.ProblemFields() {
			p.Errors = append(p.Errors, FieldError{Field: fe[0], Code: fe[1], Message: fe[2], MessageVi: fe[3]})
		}
	}
	return p
}
