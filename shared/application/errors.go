package application

import (
	"net/http"

	"motcua/shared/docstore"
	"motcua/shared/fault"
)

// Error is an application domain error: a stable code, the HTTP status it
// maps to and messages in Vietnamese and English. It implements httpx.Coded
// (without importing httpx). Compare kinds with errors.Is against the
// sentinels below: an *Error matches the sentinel with the same code.
type Error = fault.Error

// domain prefixes the text of this package's errors.
const domain = "application"

// Sentinel errors.
var (
	// ErrNotFound means no application has the code; it also matches
	// docstore.ErrNotFound.
	ErrNotFound = fault.New(domain, "application_not_found", http.StatusNotFound,
		"Không tìm thấy hồ sơ.", "No application has this code.", fault.Matches(docstore.ErrNotFound))
	// ErrExists means an application with the code already exists.
	ErrExists = fault.New(domain, "application_exists", http.StatusConflict,
		"Hồ sơ đã tồn tại.", "An application with this code already exists.", fault.Matches(docstore.ErrConflict))
	// ErrWrongPIN means the code and PIN do not match (also returned for an
	// unknown code, so the two cannot be told apart).
	ErrWrongPIN = fault.New(domain, "invalid_code_or_pin", http.StatusNotFound,
		"Mã hồ sơ hoặc mã tra cứu (PIN) không đúng.", "The application code or PIN is wrong.")
	// ErrInvalidState means the action is not allowed in the current status.
	ErrInvalidState = fault.New(domain, "invalid_state", http.StatusConflict,
		"Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.",
		"This action is not allowed in the application's current status.")
	// ErrStaffOnly means a counter or postal submission came without a valid
	// staff token.
	ErrStaffOnly = fault.New(domain, "staff_only", http.StatusForbidden,
		"Chỉ cán bộ tiếp nhận mới được nhập hồ sơ nộp trực tiếp hoặc qua bưu chính.",
		"Only reception staff may enter counter or postal submissions.")
)

// withStatus returns a copy of e carrying the application's status as the
// current_status extension member.
func withStatus(e *Error, s Status) *Error {
	return e.With("current_status", string(s))
}
