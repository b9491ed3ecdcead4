package catalog

import (
	"fmt"
	"strings"
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
type Error struct {
	code   string
	status int
	vi, en string
	param  string
	issues []Issue
	cause  error
}

// Issue is one problem found in a catalog by Validate.
type Issue struct {
	// Path locates the bad value, e.g. "procedures[3].fee.amountVND".
	Path string `json:"path"`
	// Message says what is wrong (English, for operators).
	Message string `json:"message"`
}

// String renders the issue as "path: message".
func (i Issue) String() string { return i.Path + ": " + i.Message }

// Sentinel errors; each is an *Error so it carries its code and status.
var (
	// ErrNotFound means no procedure has the requested code (404).
	ErrNotFound = &Error{code: "procedure_not_found", status: 404,
		vi: "Không tìm thấy thủ tục hành chính.", en: "Procedure not found."}
	// ErrInvalidQuery means a search parameter is malformed (400).
	ErrInvalidQuery = &Error{code: "invalid_query", status: 400,
		vi: "Tham số tìm kiếm không hợp lệ.", en: "Invalid search parameter."}
	// ErrInvalidCatalog means a catalog failed validation (422).
	ErrInvalidCatalog = &Error{code: "invalid_catalog", status: 422,
		vi: "Danh mục thủ tục hành chính không hợp lệ.", en: "Invalid procedure catalog."}
	// ErrNotLoaded means the bucket holds no catalog yet (503).
	ErrNotLoaded = &Error{code: "catalog_not_loaded", status: 503,
		vi: "Danh mục thủ tục hành chính chưa được nạp.", en: "The procedure catalog has not been loaded."}
)

// ProblemCode returns the stable machine-readable code, e.g.
// "procedure_not_found" (httpx.Coded).
func (e *Error) ProblemCode() string { return e.code }

// StatusCode returns the HTTP status code the error maps to (httpx.Coded).
func (e *Error) StatusCode() int { return e.status }

// MessageVi returns the client message in Vietnamese.
func (e *Error) MessageVi() string { return e.vi }

// MessageEn returns the client message in English.
func (e *Error) MessageEn() string { return e.en }

// Param names the offending request parameter ("" when none).
func (e *Error) Param() string { return e.param }

// ProblemFields names the offending parameter or catalog entries as
// {field, code, message, messageVi} rows (httpx.ProblemFields).
func (e *Error) ProblemFields() [][4]string {
	var out [][4]string
	if e.param != "" {
		out = append(out, [4]string{e.param, "invalid", e.en, e.vi})
	}
	for _, is := range e.issues {
		out = append(out, [4]string{is.Path, "invalid", is.Message, is.Message})
	}
	return out
}

// Issues lists every problem found by Validate (nil for other errors).
func (e *Error) Issues() []Issue { return e.issues }

// Error renders code, message, parameter, issues and cause for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("catalog: ")
	b.WriteString(e.code)
	b.WriteString(": ")
	b.WriteString(e.en)
	if e.param != "" {
		fmt.Fprintf(&b, " (parameter %q)", e.param)
	}
	for _, is := range e.issues {
		b.WriteString("\n  - ")
		b.WriteString(is.String())
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is matches any *Error with the same code, so errors.Is(err, ErrNotFound)
// holds for every not-found error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.code == e.code
}

// derive copies a sentinel with a more specific message.
func (e *Error) derive(vi, en string) *Error {
	c := *e
	c.vi, c.en = vi, en
	c.issues = nil
	return &c
}

// notFound returns ErrNotFound naming the code.
func notFound(code string) *Error {
	return ErrNotFound.derive(
		fmt.Sprintf("Không tìm thấy thủ tục hành chính có mã %q.", code),
		fmt.Sprintf("No procedure has code %q.", code))
}

// InvalidParam returns ErrInvalidQuery naming the parameter, with messages
// in both languages.
func InvalidParam(param, vi, en string) *Error {
	e := ErrInvalidQuery.derive(vi, en)
	e.param = param
	return e
}

// invalidCatalog returns ErrInvalidCatalog carrying every issue.
func invalidCatalog(issues []Issue) *Error {
	e := ErrInvalidCatalog.derive(
		fmt.Sprintf("Danh mục có %d lỗi.", len(issues)),
		fmt.Sprintf("The catalog has %d problem(s).", len(issues)))
	e.issues = issues
	return e
}

// notLoaded returns ErrNotLoaded wrapping cause.
func notLoaded(cause error) *Error {
	e := ErrNotLoaded.derive(ErrNotLoaded.vi, ErrNotLoaded.en)
	e.cause = cause
	return e
}

var _ error = (*Error)(nil)
