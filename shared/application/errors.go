package application

import (
	"errors"
	"net/http"

	"motcua/shared/docstore"
)

// Error is an application domain error: a stable code, the HTTP status it
// maps to and messages in Vietnamese and English. It implements httpx.Coded
// (without importing httpx). Compare kinds with errors.Is against the
// sentinels below: an *Error matches the sentinel with the same code.
type Error struct {
	code   string
	status int
	vi, en string
	extra  map[string]any
	is     error
}

// Sentinel errors.
var (
	// ErrNotFound means no application has the code; it also matches
	// docstore.ErrNotFound.
	ErrNotFound = &Error{code: "application_not_found", status: http.StatusNotFound,
		vi: "Không tìm thấy hồ sơ.", en: "No application has this code.", is: docstore.ErrNotFound}
	// ErrExists means an application with the code already exists.
	ErrExists = &Error{code: "application_exists", status: http.StatusConflict,
		vi: "Hồ sơ đã tồn tại.", en: "An application with this code already exists.", is: docstore.ErrConflict}
	// ErrWrongPIN means the code and PIN do not match (also returned for an
	// unknown code, so the two cannot be told apart).
	ErrWrongPIN = &Error{code: "invalid_code_or_pin", status: http.StatusNotFound,
		vi: "Mã hồ sơ hoặc mã tra cứu (PIN) không đúng.", en: "The application code or PIN is wrong."}
	// ErrInvalidState means the action is not allowed in the current status.
	ErrInvalidState = &Error{code: "invalid_state", status: http.StatusConflict,
		vi: "Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.",
		en: "This action is not allowed in the application's current status."}
	// ErrStaffOnly means a counter or postal submission came without a valid
	// staff token.
	ErrStaffOnly = &Error{code: "staff_only", status: http.StatusForbidden,
		vi: "Chỉ cán bộ tiếp nhận mới được nhập hồ sơ nộp trực tiếp hoặc qua bưu chính.",
		en: "Only reception staff may enter counter or postal submissions."}
)

// ProblemCode returns the stable slug (httpx.Coded).
func (e *Error) ProblemCode() string { return e.code }

// StatusCode returns the HTTP status (httpx.Coded).
func (e *Error) StatusCode() int { return e.status }

// MessageVi returns the Vietnamese detail (httpx.Coded).
func (e *Error) MessageVi() string { return e.vi }

// MessageEn returns the English detail.
func (e *Error) MessageEn() string { return e.en }

// ProblemExtra returns extension members such as current_status.
func (e *Error) ProblemExtra() map[string]any { return e.extra }

// Error returns the code and English message.
func (e *Error) Error() string { return "application: " + e.code + ": " + e.en }

// Is matches any *Error with the same code, and the docstore sentinel the
// kind stands for.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.code == e.code
	}
	return e.is != nil && errors.Is(e.is, target)
}

// withStatus returns a copy of e carrying the application's status as the
// current_status extension member.
func (e *Error) withStatus(s Status) *Error {
	c := *e
	c.extra = map[string]any{"current_status": string(s)}
	return &c
}
