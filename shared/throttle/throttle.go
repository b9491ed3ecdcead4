// Package throttle limits PIN guessing on public look-ups (application
// status, cancel by PIN): failures are counted per application code and per
// client address in small documents of the shared document store, so every
// replica of a function sees the same counts.
//
// Each counter is a sliding window: the times of the most recent failures
// (at most the limit of them). A key is blocked while it holds limit
// failures younger than the window; it is unblocked when the oldest of them
// ages out, which is what Retry-After says. Counter keys are SHA-256 hashes
// of the application code or client address, never the raw values.
//
// Every attempt is counted as a failure before the PIN is checked (so
// parallel guesses cannot overrun the limit) and taken back on success:
//
//	tk, err := t.Acquire(ctx, code, client) // *LimitedError → 429
//	if err != nil { return err }
//	app, ok := lookup(code, pin)
//	if !ok { return notFound }               // the attempt stays counted
//	_ = tk.Succeed(ctx)                       // clears the code's counter only
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

// Defaults of New.
const (
	// DefaultPrefix is where counters live in the bucket.
	DefaultPrefix = "throttle/pin/"
	// DefaultPerCode is the failures allowed per application code per window.
	DefaultPerCode = 5
	// DefaultPerClient is the failures allowed per client address per window.
	DefaultPerClient = 20
	// DefaultWindow is the sliding window length.
	DefaultWindow = 15 * time.Minute
)

// Scopes of a LimitedError.
const (
	// ScopeCode means the application code had too many failures.
	ScopeCode = "code"
	// ScopeClient means the client address had too many failures.
	ScopeClient = "client"
)

// LimitedError says a look-up is refused for RetryAfter (429
// "too_many_attempts"). Through httpx.FromError it becomes a problem with
// a Retry-After header in whole seconds.
type LimitedError struct {
	// Scope is ScopeCode or ScopeClient (for logs; clients see one message).
	Scope string
	// RetryAfter is how long until the next attempt may succeed.
	RetryAfter time.Duration
}

// Error implements error.
func (e *LimitedError) Error() string {
	return fmt.Sprintf("throttle: too many failed attempts per %s; retry after %s", e.Scope, e.RetryAfter)
}

// ProblemCode is "too_many_attempts".
func (e *LimitedError) ProblemCode() string { return "too_many_attempts" }

// StatusCode is 429.
func (e *LimitedError) StatusCode() int { return http.StatusTooManyRequests }

// MessageEn is the English detail.
func (e *LimitedError) MessageEn() string {
	return fmt.Sprintf("Too many wrong codes or PINs. Try again in %d minute(s).", e.minutes())
}

// MessageVi is the Vietnamese detail.
func (e *LimitedError) MessageVi() string {
	return fmt.Sprintf("Bạn đã nhập sai mã hồ sơ hoặc mã PIN quá nhiều lần. Vui lòng thử lại sau %d phút.", e.minutes())
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds (at least 1).
func (e *LimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

func (e *LimitedError) minutes() int { return (e.RetryAfterSeconds() + 59) / 60 }

// ProblemExtra adds retry_after (seconds) to the problem body.
func (e *LimitedError) ProblemExtra() map[string]any {
	return map[string]any{"retry_after": e.RetryAfterSeconds()}
}

// As lets httpx.FromError find the problem with its Retry-After header.
func (e *LimitedError) As(target any) bool {
	p, ok := target.(**httpx.Problem)
	if !ok {
		return false
	}
	*p = httpx.NewProblem(http.StatusTooManyRequests, e.ProblemCode(), "Too Many Requests", httpx.StatusTitleVi(http.StatusTooManyRequests)).
		WithDetail(e.MessageEn(), e.MessageVi()).
		WithExtra("retry_after", e.RetryAfterSeconds()).
		WithHeader("Retry-After", strconv.Itoa(e.RetryAfterSeconds()))
	return true
}

// Throttle counts failed look-ups. Safe for concurrent use, across
// processes too (state is in the store, updated with compare-and-swap).
type Throttle struct {
	store     docstore.Store
	prefix    string
	perCode   int
	perClient int
	window    time.Duration
	now       func() time.Time
}

// Option configures a Throttle.
type Option func(*Throttle)

// WithLimits sets the failures allowed per code and per client within window.
func WithLimits(perCode, perClient int, window time.Duration) Option {
	return func(t *Throttle) {
		if perCode > 0 {
			t.perCode = perCode
		}
		if perClient > 0 {
			t.perClient = perClient
		}
		if window > 0 {
			t.window = window
		}
	}
}

// WithPrefix sets the key prefix of the counters (default DefaultPrefix).
func WithPrefix(prefix string) Option {
	return func(t *Throttle) {
		if prefix != "" {
			t.prefix = strings.TrimSuffix(prefix, "/") + "/"
		}
	}
}

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option {
	return func(t *Throttle) {
		if now != nil {
			t.now = now
		}
	}
}

// New returns a Throttle keeping its counters in store.
func New(store docstore.Store, opts ...Option) *Throttle {
	t := &Throttle{store: store, prefix: DefaultPrefix, perCode: DefaultPerCode,
		perClient: DefaultPerClient, window: DefaultWindow, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

// counter is the stored document of one key.
type counter struct {
	// Failures are the Unix times (ms) of the latest failures, oldest first.
	Failures []int64 `json:"failures"`
}

// live drops the failures older than window and keeps the newest limit.
func (c *counter) live(now time.Time, window time.Duration, limit int) {
	cut := now.Add(-window).UnixMilli()
	i := 0
	for i < len(c.Failures) && c.Failures[i] <= cut {
		i++
	}
	c.Failures = c.Failures[i:]
	if len(c.Failures) > limit {
		c.Failures = c.Failures[len(c.Failures)-limit:]
	}
}

type target struct {
	scope string
	key   string
	limit int
}

func (t *Throttle) targets(code, client string) []target {
	out := []target{{ScopeCode, t.key(ScopeCode, NormalizeCode(code)), t.perCode}}
	if client != "" {
		out = append(out, target{ScopeClient, t.key(ScopeClient, client), t.perClient})
	}
	return out
}

func (t *Throttle) key(scope, value string) string {
	sum := sha256.Sum256([]byte("motcua-throttle\x00" + scope + "\x00" + value))
	return t.prefix + scope + "/" + hex.EncodeToString(sum[:16])
}

// NormalizeCode is how codes are compared for counting: trimmed, upper case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Ticket is one look-up attempt admitted by Acquire. Unless Succeed or
// Release is called, the attempt stays counted as a failure.
type Ticket struct {
	t       *Throttle
	at      int64
	targets []target
}

// Acquire admits one look-up attempt for code from client (client may be
// "", meaning unknown: then only the code is counted) and counts it as a
// failure up front, with compare-and-swap, so concurrent guesses cannot
// overrun the limits. When the code or the client has used up its attempts
// in the window it returns a *LimitedError (429) and counts nothing. Store
// errors are returned wrapped: callers should fail closed (5xx).
func (t *Throttle) Acquire(ctx context.Context, code, client string) (*Ticket, error) {
	now := t.now()
	tk := &Ticket{t: t, at: now.UnixMilli()}
	for _, tg := range t.targets(code, client) {
		var c counter
		err := docstore.Upsert(ctx, t.store, tg.key, &c, func() error {
			c.live(now, t.window, tg.limit)
			if len(c.Failures) >= tg.limit {
				return &LimitedError{Scope: tg.scope, RetryAfter: time.UnixMilli(c.Failures[0]).Add(t.window).Sub(now)}
			}
			c.Failures = append(c.Failures, tk.at)
			return nil
		}, 0)
		if err != nil {
			// Give back what this attempt already took; best effort.
			_ = tk.refund(context.WithoutCancel(ctx), tk.targets)
			var lim *LimitedError
			if errors.As(err, &lim) {
				return nil, lim
			}
			return nil, fmt.Errorf("throttle acquire %s: %w", tg.scope, err)
		}
		tk.targets = append(tk.targets, tg)
	}
	return tk, nil
}

// Succeed records that the attempt found the application with the right
// PIN: the code's counter is cleared (its holder knows the PIN) and this
// attempt is taken back from the client's counter, whose earlier failures
// stay: a success does not launder an address's wrong guesses.
func (tk *Ticket) Succeed(ctx context.Context) error {
	var errs []error
	var rest []target
	for _, tg := range tk.targets {
		if tg.scope != ScopeCode {
			rest = append(rest, tg)
			continue
		}
		if err := tk.t.store.Delete(ctx, tg.key, ""); err != nil {
			errs = append(errs, fmt.Errorf("throttle succeed: %w", err))
		}
	}
	errs = append(errs, tk.refund(ctx, rest))
	tk.targets = nil
	return errors.Join(errs...)
}

// Release takes the attempt back from every counter without clearing
// anything: for attempts that ended before the PIN was judged (a storage
// fault answered with 5xx).
func (tk *Ticket) Release(ctx context.Context) error {
	err := tk.refund(ctx, tk.targets)
	tk.targets = nil
	return err
}

func (tk *Ticket) refund(ctx context.Context, targets []target) error {
	var errs []error
	for _, tg := range targets {
		var c counter
		err := docstore.Update(ctx, tk.t.store, tg.key, &c, func() error {
			for i, at := range c.Failures {
				if at == tk.at {
					c.Failures = append(c.Failures[:i], c.Failures[i+1:]...)
					return nil
				}
			}
			return docstore.ErrUnchanged
		}, 0)
		if err != nil && !errors.Is(err, docstore.ErrNotFound) {
			errs = append(errs, fmt.Errorf("throttle refund %s: %w", tg.scope, err))
		}
	}
	return errors.Join(errs...)
}

// ClientAddress returns the address requests are counted under: the first
// address of X-Forwarded-For (set by the gateway), else X-Real-Ip; "" when
// neither holds an IP address. Ports are dropped; IPv6 addresses are
// counted per /64 (one subscriber's usual allocation).
func ClientAddress(h http.Header) string {
	if h == nil {
		return ""
	}
	if xff := h.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if a := parseAddr(first); a != "" {
			return a
		}
	}
	return parseAddr(h.Get("X-Real-Ip"))
}

func parseAddr(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return ""
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, err := a.Prefix(64)
		if err != nil {
			return ""
		}
		return p.String()
	}
	return a.String()
}
