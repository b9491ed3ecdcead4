package catalog

import (
	"fmt"

	"motcua/shared/fault"
)

// Error is a catalog domain error: a stable code, the HTTP status it maps
// to (a plain number, so the domain imports no HTTP package), Vietnamese and
// English messages fit for clients, and optionally the offending parameter.
// It implements httpx.Coded (and its optional MessageEn and ProblemFields)
// so httpx.FromError turns it into a problem+json response. The wrapped
// cause is for logs only.
//
// Compare kinds with errors.Is against the sentinels below (ErrNotFound …):
// an *Error matches the sentinel with the same code.
type Error = fault.Error

// Issue is one problem found in a catalog by Validate.
type Issue = fault.Issue

// domain prefixes the text of this package's errors.
const domain = "catalog"

// Sentinel errors; each is an *Error so it carries its code and status.
var (
	// ErrNotFound means no procedure has the requested code (404).
	ErrNotFound = fault.New(domain, "procedure_not_found", 404,
		"Không tìm thấy thủ tục hành chính.", "Procedure not found.")
	// ErrInvalidQuery means a search parameter is malformed (400).
	ErrInvalidQuery = fault.New(domain, "invalid_query", 400,
		"Tham số tìm kiếm không hợp lệ.", "Invalid search parameter.")
	// ErrInvalidCatalog means a catalog failed validation (422).
	ErrInvalidCatalog = fault.New(domain, "invalid_catalog", 422,
		"Danh mục thủ tục hành chính không hợp lệ.", "Invalid procedure catalog.")
	// ErrNotLoaded means the bucket holds no catalog yet (503).
	ErrNotLoaded = fault.New(domain, "catalog_not_loaded", 503,
		"Danh mục thủ tục hành chính chưa được nạp.", "The procedure catalog has not been loaded.")
)

// notFound returns ErrNotFound naming the code.
func notFound(code string) *Error {
	return ErrNotFound.WithMessages(
		fmt.Sprintf("Không tìm thấy thủ tục hành chính có mã %q.", code),
		fmt.Sprintf("No procedure has code %q.", code))
}

// InvalidParam returns ErrInvalidQuery naming the parameter, with messages
// in both languages.
func InvalidParam(param, vi, en string) *Error {
	return ErrInvalidQuery.WithMessages(vi, en).WithParam(param)
}

// invalidCatalog returns ErrInvalidCatalog carrying every issue.
func invalidCatalog(issues []Issue) *Error {
	return ErrInvalidCatalog.WithMessages(
		fmt.Sprintf("Danh mục có %d lỗi.", len(issues)),
		fmt.Sprintf("The catalog has %d problem(s).", len(issues))).WithIssues(issues)
}

// notLoaded returns ErrNotLoaded wrapping cause.
func notLoaded(cause error) *Error {
	return ErrNotLoaded.WithCause(cause)
}
