// Package httpx holds the helpers that keep motcua's golang-http handlers
// thin: decoding and validating JSON requests, encoding JSON responses and
// RFC 9457 problem details (with Vietnamese text beside the English), and the
// one place where error kinds become HTTP statuses (FromError).
//
// A handler typically reads (Wrap builds the context with the call id and
// sends any returned error through FromError):
//
//	var Handle = httpx.Wrap(logger, func(ctx context.Context, req handler.Request) (handler.Response, error) {
//		if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
//			return httpx.ProblemResponse(p), nil
//		}
//		var in SubmitInput
//		if err := httpx.DecodeJSON(req, &in); err != nil {
//			return handler.Response{}, err // a *Problem: 400/413/415
//		}
//		if err := httpx.Validate(&in); err != nil {
//			return handler.Response{}, err // a *Problem: 422
//		}
//		return keeper.Do(ctx, in.ApplicantID, req, func() (handler.Response, error) {
//			out, err := svc.Submit(ctx, in)
//			if err != nil {
//				return httpx.FromError(ctx, logger, err), nil
//			}
//			return httpx.JSON(http.StatusCreated, out), nil
//		})
//	})
package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ProblemTypeBase prefixes every problem type URI: the type of a problem
// with code "validation_failed" is ProblemTypeBase + "validation_failed".
const ProblemTypeBase = "https://motcua.gov.vn/problems/"

// ContentTypeProblem is the media type of problem responses.
const ContentTypeProblem = "application/problem+json"

// Problem is an RFC 9457 problem detail with motcua's extension members.
// It implements error, so domain code and helpers can return it as is;
// FromError writes it unchanged.
//
// Problems are values built per request: do not share one between
// goroutines while still adding to it.
type Problem struct {
	// Type is a URI identifying the problem type; ProblemTypeBase+Code
	// when empty.
	Type string
	// Title is a short English summary of the problem type.
	Title string
	// Status is the HTTP status code.
	Status int
	// Detail is an English explanation of this occurrence.
	Detail string
	// Instance identifies this occurrence (motcua uses urn:motcua:call:<id>).
	Instance string
	// Code is the stable machine-readable slug, e.g. "validation_failed".
	Code string
	// TitleVi is Title in Vietnamese.
	TitleVi string
	// DetailVi is Detail in Vietnamese.
	DetailVi string
	// Errors lists the offending fields, if any.
	Errors []FieldError
	// Extra holds further extension members (e.g. "current_status"),
	// merged into the top-level object on encode; they never override the
	// members above.
	Extra map[string]any
	// Header holds response headers sent with the problem (Allow,
	// Retry-After …); not part of the body.
	Header http.Header

	cause error
}

// FieldError names one bad field of a request.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "applicant.idNumber" or
	// "documents[2].name".
	Field string `json:"field"`
	// Code is the validation tag ("required", "max" …) or a slug.
	Code string `json:"code"`
	// Message explains the problem in English.
	Message string `json:"message"`
	// MessageVi explains the problem in Vietnamese.
	MessageVi string `json:"message_vi"`
}

// NewProblem returns a problem with the given status, code and titles.
func NewProblem(status int, code, title, titleVi string) *Problem {
	return &Problem{Status: status, Code: code, Title: title, TitleVi: titleVi}
}

// WithDetail sets the English and Vietnamese details and returns p.
func (p *Problem) WithDetail(en, vi string) *Problem {
	p.Detail, p.DetailVi = en, vi
	return p
}

// WithExtra adds an extension member and returns p.
func (p *Problem) WithExtra(key string, v any) *Problem {
	if p.Extra == nil {
		p.Extra = map[string]any{}
	}
	p.Extra[key] = v
	return p
}

// WithHeader adds a response header and returns p.
func (p *Problem) WithHeader(key, value string) *Problem {
	if p.Header == nil {
		p.Header = http.Header{}
	}
	p.Header.Add(key, value)
	return p
}

// WithCause records an internal error behind the problem (logged by
// FromError, never written to the body) and returns p.
func (p *Problem) WithCause(err error) *Problem {
	p.cause = err
	return p
}

// Error describes the problem (code, status and English detail).
func (p *Problem) Error() string {
	msg := fmt.Sprintf("%s (%d)", p.Code, p.Status)
	if p.Detail != "" {
		msg += ": " + p.Detail
	}
	if p.cause != nil {
		msg += ": " + p.cause.Error()
	}
	return msg
}

// Unwrap returns the cause given to WithCause.
func (p *Problem) Unwrap() error { return p.cause }

// typeURI returns the problem type URI.
func (p *Problem) typeURI() string {
	if p.Type != "" {
		return p.Type
	}
	if p.Code != "" {
		return ProblemTypeBase + p.Code
	}
	return "about:blank"
}

// MarshalJSON encodes the problem as an RFC 9457 object.
func (p *Problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 9+len(p.Extra))
	for k, v := range p.Extra {
		m[k] = v
	}
	m["type"] = p.typeURI()
	m["status"] = p.Status
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		} else {
			delete(m, k)
		}
	}
	set("title", p.Title)
	set("detail", p.Detail)
	set("instance", p.Instance)
	set("code", p.Code)
	set("title_vi", p.TitleVi)
	set("detail_vi", p.DetailVi)
	if len(p.Errors) > 0 {
		m["errors"] = p.Errors
	} else {
		delete(m, "errors")
	}
	return Marshal(m)
}

// UnmarshalJSON decodes a problem object; unknown members go to Extra.
// Clients and tests use it to read problem responses.
func (p *Problem) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("decode problem: %w", err)
	}
	*p = Problem{}
	fields := map[string]any{
		"type": &p.Type, "title": &p.Title, "status": &p.Status,
		"detail": &p.Detail, "instance": &p.Instance, "code": &p.Code,
		"title_vi": &p.TitleVi, "detail_vi": &p.DetailVi, "errors": &p.Errors,
	}
	for k, v := range raw {
		if dst, ok := fields[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("decode problem member %q: %w", k, err)
			}
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode problem member %q: %w", k, err)
		}
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[k] = x
	}
	return nil
}

// Common problem constructors. Each returns a fresh *Problem.

// BadRequest returns a 400 problem with the given code and details.
func BadRequest(code, detail, detailVi string) *Problem {
	return NewProblem(http.StatusBadRequest, code, "Bad request", "Yêu cầu không hợp lệ").WithDetail(detail, detailVi)
}

// NotFound returns a 404 "not_found" problem.
func NotFound(detail, detailVi string) *Problem {
	return NewProblem(http.StatusNotFound, "not_found", "Not found", "Không tìm thấy").WithDetail(detail, detailVi)
}

// Conflict returns a 409 problem with the given code and details.
func Conflict(code, detail, detailVi string) *Problem {
	return NewProblem(http.StatusConflict, code, "Conflict", "Xung đột dữ liệu").WithDetail(detail, detailVi)
}

// Internal returns the generic 500 problem; its body says nothing about the
// cause.
func Internal() *Problem {
	return NewProblem(http.StatusInternalServerError, "internal_error", "Internal error", "Lỗi hệ thống").
		WithDetail("The request could not be completed. Please try again later; quote the instance id if you contact support.",
			"Không thể xử lý yêu cầu. Vui lòng thử lại sau; nếu cần hỗ trợ, hãy cung cấp mã tham chiếu (instance).")
}

// statusTitlesVi gives Vietnamese titles for the statuses FromError produces
// for Coded errors.
var statusTitlesVi = map[int]string{
	http.StatusBadRequest:            "Yêu cầu không hợp lệ",
	http.StatusUnauthorized:          "Chưa xác thực",
	http.StatusForbidden:             "Không có quyền truy cập",
	http.StatusNotFound:              "Không tìm thấy",
	http.StatusMethodNotAllowed:      "Phương thức không được hỗ trợ",
	http.StatusConflict:              "Xung đột dữ liệu",
	http.StatusGone:                  "Không còn tồn tại",
	http.StatusPreconditionFailed:    "Điều kiện không thỏa mãn",
	http.StatusRequestEntityTooLarge: "Dữ liệu gửi lên quá lớn",
	http.StatusUnsupportedMediaType:  "Định dạng dữ liệu không được hỗ trợ",
	http.StatusUnprocessableEntity:   "Dữ liệu không hợp lệ",
	http.StatusTooManyRequests:       "Quá nhiều yêu cầu",
	http.StatusInternalServerError:   "Lỗi hệ thống",
	http.StatusBadGateway:            "Lỗi kết nối hệ thống liên quan",
	http.StatusServiceUnavailable:    "Dịch vụ tạm thời không khả dụng",
	http.StatusGatewayTimeout:        "Hết thời gian xử lý",
}

// StatusTitleVi returns a Vietnamese title for an HTTP status.
func StatusTitleVi(status int) string {
	if t, ok := statusTitlesVi[status]; ok {
		return t
	}
	if status >= 500 {
		return "Lỗi hệ thống"
	}
	return "Yêu cầu không được chấp nhận"
}
