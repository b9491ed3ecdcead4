// Package fault is the coded error shared by the domain packages
// (application, payment, catalog): a stable code, the HTTP status it maps
// to (a plain number, so no HTTP package is imported), messages in
// Vietnamese and English fit for clients, and optional extension members,
// offending parameter, validation issues and internal cause.
//
// *Error implements httpx.Coded and its optional MessageEn, ProblemExtra and
// ProblemFields without importing httpx, so httpx.FromError turns it into a
// problem+json response. A domain package declares `type Error = fault.Error`
// and its sentinels with New; errors.Is(err, sentinel) holds for every
// *Error of the same domain and code, whatever its messages or extras.
package fault

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Error is a domain error. Values are immutable once built: the With…
// methods return modified copies, so sentinels can be shared freely.
type Error struct {
	domain string
	code   string
	status int
	vi, en string
	extra  map[string]any
	param  string
	issues []Issue
	cause  error
	also   error
}

// Issue is one problem found while validating a document (for example a
// catalog), located by a path.
type Issue struct {
	// Path locates the bad value, e.g. "procedures[3].fee.amountVND".
	Path string `json:"path"`
	// Message says what is wrong (English).
	Message string `json:"message"`
	// Code is the issue's stable slug ("required", "cccd"…); "invalid"
	// when empty.
	Code string `json:"code,omitempty"`
	// MessageVi says it in Vietnamese, for citizens; Message when empty.
	MessageVi string `json:"messageVi,omitempty"`
}

// String renders the issue as "path: message".
func (i Issue) String() string { return i.Path + ": " + i.Message }

// Option adjusts an Error built by New.
type Option func(*Error)

// Matches makes the error also match target under errors.Is, e.g. an
// application's not-found kind matching docstore.ErrNotFound.
func Matches(target error) Option {
	return func(e *Error) { e.also = target }
}

// New returns an error of domain (the package name, which prefixes Error())
// with a stable code, the HTTP status it maps to and client messages in
// Vietnamese and English.
func New(domain, code string, status int, vi, en string, opts ...Option) *Error {
	e := &Error{domain: domain, code: code, status: status, vi: vi, en: en}
	for _, o := range opts {
		o(e)
	}
	return e
}

// ProblemCode returns the stable machine-readable code, e.g.
// "procedure_not_found" (httpx.Coded).
func (e *Error) ProblemCode() string { return e.code }

// StatusCode returns the HTTP status code the error maps to (httpx.Coded).
func (e *Error) StatusCode() int { return e.status }

// MessageVi returns the client message in Vietnamese (httpx.Coded).
func (e *Error) MessageVi() string { return e.vi }

// MessageEn returns the client message in English.
func (e *Error) MessageEn() string { return e.en }

// ProblemExtra returns the extension members, such as current_status (nil
// when none).
func (e *Error) ProblemExtra() map[string]any { return e.extra }

// Param names the offending request parameter ("" when none).
func (e *Error) Param() string { return e.param }

// Issues lists the validation issues carried (nil when none).
func (e *Error) Issues() []Issue { return e.issues }

// ProblemFields names the offending parameter and issues as
// {field, code, message, messageVi} rows (httpx.ProblemFields); nil when
// there are none.
func (e *Error) ProblemFields() [][4]string {
	var out [][4]string
	if e.param != "" {
		out = append(out, [4]string{e.param, "invalid", e.en, e.vi})
	}
	for _, is := range e.issues {
		code, vi := is.Code, is.MessageVi
		if code == "" {
			code = "invalid"
		}
		if vi == "" {
			vi = is.Message
		}
		out = append(out, [4]string{is.Path, code, is.Message, vi})
	}
	return out
}

// Error renders "domain: code: message", then the parameter, issues and
// cause when present (for logs).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.domain)
	b.WriteString(": ")
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

// Is matches any *Error with the same domain and code, and the error given
// to Matches when the kind was built.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.domain == e.domain && t.code == e.code
	}
	return e.also != nil && errors.Is(e.also, target)
}

// With returns a copy of e with the extension member key set to value
// (other members are kept).
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.extra = maps.Clone(e.extra)
	if c.extra == nil {
		c.extra = make(map[string]any, 1)
	}
	c.extra[key] = value
	return &c
}

// WithExtra returns a copy of e whose extension members are extra
// (replacing any it had). extra is kept, not copied.
func (e *Error) WithExtra(extra map[string]any) *Error {
	c := *e
	c.extra = extra
	return &c
}

// WithMessages returns a copy of e with more specific client messages.
func (e *Error) WithMessages(vi, en string) *Error {
	c := *e
	c.vi, c.en = vi, en
	return &c
}

// WithParam returns a copy of e naming the offending request parameter.
func (e *Error) WithParam(param string) *Error {
	c := *e
	c.param = param
	return &c
}

// WithIssues returns a copy of e carrying the validation issues.
func (e *Error) WithIssues(issues []Issue) *Error {
	c := *e
	c.issues = issues
	return &c
}

// WithCause returns a copy of e wrapping cause, for logs only: clients never
// see it, errors.Is and errors.As see through it.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

var _ error = (*Error)(nil)
