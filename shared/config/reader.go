package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrMissing means a required key is unset or empty.
var ErrMissing = errors.New("missing")

// ErrInvalid means a key's value cannot be parsed or breaks a rule.
var ErrInvalid = errors.New("invalid")

// KeyError is one configuration problem, naming its key. Values are not
// included, since configuration may hold sensitive data.
type KeyError struct {
	// Key is the configuration key.
	Key string
	// Err is ErrMissing or wraps ErrInvalid with the reason.
	Err error
}

// Error implements error.
func (e *KeyError) Error() string { return fmt.Sprintf("config %s: %v", e.Key, e.Err) }

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// Option refines how a Reader reads one key.
type Option func(*spec)

type spec struct {
	required bool
	def      any
	min, max any
	oneOf    []string
}

// Required makes an unset or empty key an error.
func Required() Option { return func(s *spec) { s.required = true } }

// Default gives the value used when the key is unset or empty. Its type must
// match the reader method (string, int, bool or time.Duration).
func Default(v any) Option { return func(s *spec) { s.def = v } }

// Min sets the smallest accepted value (int or time.Duration, matching the
// reader method).
func Min(v any) Option { return func(s *spec) { s.min = v } }

// Max sets the largest accepted value (int or time.Duration, matching the
// reader method).
func Max(v any) Option { return func(s *spec) { s.max = v } }

// OneOf restricts a string to the given values (compared case-insensitively;
// the value is returned as configured).
func OneOf(values ...string) Option { return func(s *spec) { s.oneOf = values } }

// Reader reads typed values from a Source and collects every problem; call
// Err once after reading all keys. A Reader is not safe for concurrent use.
type Reader struct {
	src  Source
	errs []error
}

// NewReader returns a Reader over src.
func NewReader(src Source) *Reader { return &Reader{src: src} }

// Err returns every problem found so far joined with errors.Join (each a
// *KeyError naming its key), or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

func (r *Reader) fail(key string, err error) {
	r.errs = append(r.errs, &KeyError{Key: key, Err: err})
}

func (r *Reader) invalid(key, format string, args ...any) {
	r.fail(key, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func collect(opts []Option) spec {
	var s spec
	for _, o := range opts {
		o(&s)
	}
	return s
}

// raw returns the trimmed value and whether it is set; it records a missing
// required key.
func (r *Reader) raw(key string, s spec) (string, bool) {
	v, ok := r.src.Lookup(key)
	v = strings.TrimSpace(v)
	if ok && v != "" {
		return v, true
	}
	if s.required {
		r.fail(key, ErrMissing)
	}
	return "", false
}

// String reads key as a string.
func (r *Reader) String(key string, opts ...Option) string {
	s := collect(opts)
	v, ok := r.raw(key, s)
	if !ok {
		if s.def == nil {
			return ""
		}
		d, isStr := s.def.(string)
		if !isStr {
			r.invalid(key, "default %T is not a string", s.def)
		}
		return d
	}
	if len(s.oneOf) > 0 && !slices.ContainsFunc(s.oneOf, func(o string) bool { return strings.EqualFold(o, v) }) {
		r.invalid(key, "must be one of %s", strings.Join(s.oneOf, ", "))
	}
	return v
}

// Int reads key as a base-10 integer.
func (r *Reader) Int(key string, opts ...Option) int {
	s := collect(opts)
	v, ok := r.raw(key, s)
	var n int
	if !ok {
		if s.def == nil {
			return 0
		}
		d, isInt := s.def.(int)
		if !isInt {
			r.invalid(key, "default %T is not an int", s.def)
		}
		return d
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.invalid(key, "not an integer")
		return 0
	}
	if lo, isInt := s.min.(int); isInt && n < lo {
		r.invalid(key, "must be at least %d", lo)
	}
	if hi, isInt := s.max.(int); isInt && n > hi {
		r.invalid(key, "must be at most %d", hi)
	}
	return n
}

// Duration reads key as a Go duration ("30s", "5m"); a bare integer is taken
// as seconds, as OpenFaaS timeouts often are.
func (r *Reader) Duration(key string, opts ...Option) time.Duration {
	s := collect(opts)
	v, ok := r.raw(key, s)
	if !ok {
		if s.def == nil {
			return 0
		}
		d, isDur := s.def.(time.Duration)
		if !isDur {
			r.invalid(key, "default %T is not a time.Duration", s.def)
		}
		return d
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		r.invalid(key, "not a duration")
		return 0
	}
	if lo, isDur := s.min.(time.Duration); isDur && d < lo {
		r.invalid(key, "must be at least %s", lo)
	}
	if hi, isDur := s.max.(time.Duration); isDur && d > hi {
		r.invalid(key, "must be at most %s", hi)
	}
	return d
}

// Bool reads key as a boolean (strconv.ParseBool forms: 1, t, true, 0, f,
// false, any case).
func (r *Reader) Bool(key string, opts ...Option) bool {
	s := collect(opts)
	v, ok := r.raw(key, s)
	if !ok {
		if s.def == nil {
			return false
		}
		d, isBool := s.def.(bool)
		if !isBool {
			r.invalid(key, "default %T is not a bool", s.def)
		}
		return d
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.invalid(key, "not a boolean")
		return false
	}
	return b
}
