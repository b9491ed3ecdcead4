package payment

import (
	"net/http"

	"motcua/shared/docstore"
	"motcua/shared/fault"
)

// Error is a payment domain error: a stable code, its HTTP status and
// messages in Vietnamese and English. It implements httpx.Coded. An *Error
// matches (errors.Is) the sentinel with the same code.
type Error = fault.Error

// domain prefixes the text of this package's errors.
const domain = "payment"

// Sentinel errors.
var (
	// ErrNotFound means no payment has the reference, or the PIN is wrong
	// (the two are answered alike).
	ErrNotFound = fault.New(domain, "invalid_ref_or_pin", http.StatusNotFound,
		"Mã thanh toán hoặc mã tra cứu (PIN) không đúng.", "The payment reference or PIN is wrong.", fault.Matches(docstore.ErrNotFound))
	// ErrAlreadyPaid means the application's fee has been paid.
	ErrAlreadyPaid = fault.New(domain, "already_paid", http.StatusConflict,
		"Phí, lệ phí của hồ sơ này đã được thanh toán; không cần thanh toán lại.",
		"The fee of this application has already been paid; it cannot be paid again.")
	// ErrNotRequired means the procedure is free.
	ErrNotRequired = fault.New(domain, "payment_not_required", http.StatusConflict,
		"Hồ sơ này không phải nộp phí, lệ phí.", "This application has no fee to pay.")
	// ErrNotPayable means the application's status does not allow paying
	// (cancelled, rejected, returned).
	ErrNotPayable = fault.New(domain, "not_payable", http.StatusConflict,
		"Không thể thanh toán ở trạng thái hiện tại của hồ sơ.",
		"The fee cannot be paid in the application's current status.")
	// ErrInProgress means another payment with a different method is still
	// pending; it carries its ref, method and expiry.
	ErrInProgress = fault.New(domain, "payment_in_progress", http.StatusConflict,
		"Hồ sơ đang có một giao dịch thanh toán khác chưa hoàn tất; vui lòng hoàn tất hoặc chờ giao dịch đó hết hạn.",
		"Another payment of this application is still pending; complete it or wait until it expires.")
	// ErrMethodUnavailable means the method is not configured here.
	ErrMethodUnavailable = fault.New(domain, "method_unavailable", http.StatusUnprocessableEntity,
		"Phương thức thanh toán này hiện không được hỗ trợ.", "This payment method is not available.")
	// ErrBadSignature means a callback's signature is missing, wrong or stale.
	ErrBadSignature = fault.New(domain, "invalid_signature", http.StatusUnauthorized,
		"Chữ ký không hợp lệ hoặc đã hết hạn.", "The signature is missing, wrong or outside the allowed time window.")
	// ErrEventIDReused means a webhook event id came back with another body.
	ErrEventIDReused = fault.New(domain, "event_id_reused", http.StatusConflict,
		"Mã sự kiện đã được dùng cho một nội dung khác.", "This event id was already used with a different body.")
)
