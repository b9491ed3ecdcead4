package payment

import (
	"errors"
	"net/http"

	"motcua/shared/docstore"
)

// Error is a payment domain error: a stable code, its HTTP status and
// messages in Vietnamese and English. It implements httpx.Coded. An *Error
// matches (errors.Is) the sentinel with the same code.
type Error struct {
	code   string
	status int
	vi, en string
	extra  map[string]any
	is     error
}

// Sentinel errors.
var (
	// ErrNotFound means no payment has the reference, or the PIN is wrong
	// (the two are answered alike).
	ErrNotFound = &Error{code: "invalid_ref_or_pin", status: http.StatusNotFound,
		vi: "Mã thanh toán hoặc mã tra cứu (PIN) không đúng.", en: "The payment reference or PIN is wrong.", is: docstore.ErrNotFound}
	// ErrAlreadyPaid means the application's fee has been paid.
	ErrAlreadyPaid = &Error{code: "already_paid", status: http.StatusConflict,
		vi: "Phí, lệ phí của hồ sơ này đã được thanh toán; không cần thanh toán lại.",
		en: "The fee of this application has already been paid; it cannot be paid again."}
	// ErrNotRequired means the procedure is free.
	ErrNotRequired = &Error{code: "payment_not_required", status: http.StatusConflict,
		vi: "Hồ sơ này không phải nộp phí, lệ phí.", en: "This application has no fee to pay."}
	// ErrNotPayable means the application's status does not allow paying
	// (cancelled, rejected, returned).
	ErrNotPayable = &Error{code: "not_payable", status: http.StatusConflict,
		vi: "Không thể thanh toán ở trạng thái hiện tại của hồ sơ.",
		en: "The fee cannot be paid in the application's current status."}
	// ErrInProgress means another payment with a different method is still
	// pending; it carries its ref, method and expiry.
	ErrInProgress = &Error{code: "payment_in_progress", status: http.StatusConflict,
		vi: "Hồ sơ đang có một giao dịch thanh toán khác chưa hoàn tất; vui lòng hoàn tất hoặc chờ giao dịch đó hết hạn.",
		en: "Another payment of this application is still pending; complete it or wait until it expires."}
	// ErrMethodUnavailable means the method is not configured here.
	ErrMethodUnavailable = &Error{code: "method_unavailable", status: http.StatusUnprocessableEntity,
		vi: "Phương thức thanh toán này hiện không được hỗ trợ.", en: "This payment method is not available."}
	// ErrBadSignature means a callback's signature is missing, wrong or stale.
	ErrBadSignature = &Error{code: "invalid_signature", status: http.StatusUnauthorized,
		vi: "Chữ ký không hợp lệ hoặc đã hết hạn.", en: "The signature is missing, wrong or outside the allowed time window."}
	// ErrEventIDReused means a webhook event id came back with another body.
	ErrEventIDReused = &Error{code: "event_id_reused", status: http.StatusConflict,
		vi: "Mã sự kiện đã được dùng cho một nội dung khác.", en: "This event id was already used with a different body."}
)

// ProblemCode returns the stable slug (httpx.Coded).
func (e *Error) ProblemCode() string { return e.code }

// StatusCode returns the HTTP status (httpx.Coded).
func (e *Error) StatusCode() int { return e.status }

// MessageVi returns the Vietnamese detail (httpx.Coded).
func (e *Error) MessageVi() string { return e.vi }

// MessageEn returns the English detail.
func (e *Error) MessageEn() string { return e.en }

// ProblemExtra returns extension members.
func (e *Error) ProblemExtra() map[string]any { return e.extra }

// Error returns the code and English message.
func (e *Error) Error() string { return "payment: " + e.code + ": " + e.en }

// Is matches any *Error with the same code, and the docstore sentinel the
// kind stands for.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.code == e.code
	}
	return e.is != nil && errors.Is(e.is, target)
}

// with returns a copy of e with extension members.
func (e *Error) with(extra map[string]any) *Error {
	c := *e
	c.extra = extra
	return &c
}
