package citizenguard

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Scopes of a LimitedError (for logs; clients get one message).
const (
	// ScopeGlobal is the in-process rate of checks.
	ScopeGlobal = "global"
	// ScopeClient is one client address.
	ScopeClient = "client"
	// ScopePair is one identifier from one client address.
	ScopePair = "pair"
	// ScopeID is one identifier from any address.
	ScopeID = "id"
)

// Rule is the policy of one counter: Free failures within Window cost
// nothing; from then on each attempt must wait after the latest failure,
// Base the first time and, when Exponential, twice as long for every
// further failure, never more than Max. A zero Free disables the counter.
type Rule struct {
	// Free is the number of failures allowed without delay in Window.
	Free int
	// Window is how long a failure is remembered.
	Window time.Duration
	// Base is the first delay once Free is used up.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
	// Exponential doubles the delay for each further failure.
	Exponential bool
}

// delay is the wait after the latest of n live failures.
func (r Rule) delay(n int) time.Duration {
	if n < r.Free {
		return 0
	}
	d := r.Base
	if r.Exponential {
		d = r.Base << min(n-r.Free, 30)
		if d <= 0 { // overflow
			d = r.Max
		}
	}
	return min(d, r.Max)
}

// keep is how many failure times a counter stores: enough to reach Max.
func (r Rule) keep() int { return r.Free + 32 }

// Policy is the whole lockout policy; see the package documentation for
// why it looks like this.
type Policy struct {
	// Client counts failures per client address.
	Client Rule
	// Pair counts failures per (identifier, client address).
	Pair Rule
	// ID counts failures per identifier from any address; keep it fixed
	// (not Exponential) and short so the owner is slowed, never locked out.
	ID Rule
	// GlobalRate is the checks per second one process admits (token
	// bucket), GlobalBurst its burst; 0 disables it.
	GlobalRate  float64
	GlobalBurst int
}

// DefaultPolicy is the policy of New.
var DefaultPolicy = Policy{
	Client:      Rule{Free: 20, Window: time.Hour, Base: time.Minute, Max: time.Hour, Exponential: true},
	Pair:        Rule{Free: 5, Window: time.Hour, Base: 30 * time.Second, Max: time.Hour, Exponential: true},
	ID:          Rule{Free: 10, Window: time.Hour, Base: 20 * time.Second, Max: 20 * time.Second},
	GlobalRate:  100,
	GlobalBurst: 200,
}

// LimitedError refuses an attempt for RetryAfter: 429 "too_many_attempts"
// with a Retry-After header (httpx maps it; it implements httpx.Coded and
// RetryAfterSeconds without importing httpx).
type LimitedError struct {
	// Scope says which counter refused (ScopeClient, …); logs only.
	Scope string
	// RetryAfter is how long until the next attempt may be admitted.
	RetryAfter time.Duration
}

// Error implements error.
func (e *LimitedError) Error() string {
	return fmt.Sprintf("citizenguard: too many failed attempts (%s); retry after %s", e.Scope, e.RetryAfter)
}

// ProblemCode is "too_many_attempts".
func (e *LimitedError) ProblemCode() string { return "too_many_attempts" }

// StatusCode is 429.
func (e *LimitedError) StatusCode() int { return http.StatusTooManyRequests }

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, at least 1.
func (e *LimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// MessageEn is the English detail.
func (e *LimitedError) MessageEn() string {
	return fmt.Sprintf("Too many wrong codes or PINs. Try again in %s.", e.human(false))
}

// MessageVi is the Vietnamese detail.
func (e *LimitedError) MessageVi() string {
	return fmt.Sprintf("Bạn đã nhập sai mã hoặc mã PIN quá nhiều lần. Vui lòng thử lại sau %s.", e.human(true))
}

// ProblemExtra adds retry_after (seconds) to the problem body.
func (e *LimitedError) ProblemExtra() map[string]any {
	return map[string]any{"retry_after": e.RetryAfterSeconds()}
}

func (e *LimitedError) human(vi bool) string {
	s := e.RetryAfterSeconds()
	switch {
	case s < 60 && vi:
		return fmt.Sprintf("%d giây", s)
	case s < 60:
		return fmt.Sprintf("%d second(s)", s)
	case vi:
		return fmt.Sprintf("%d phút", (s+59)/60)
	default:
		return fmt.Sprintf("%d minute(s)", (s+59)/60)
	}
}
