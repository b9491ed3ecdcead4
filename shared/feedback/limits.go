package feedback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"motcua/shared/docstore"
)

// LimitPrefix holds the intake counters (hashed keys, no personal data).
const LimitPrefix = "feedback/limits/"

// Limit is a sliding-window limit: at most Max intakes per Window.
type Limit struct {
	// Max intakes are allowed per Window.
	Max int
	// Window is the window length.
	Window time.Duration
}

// TooManyError refuses an intake over a limit: 429 "too_many_requests"
// with Retry-After (httpx maps RetryAfterSeconds).
type TooManyError struct {
	// Scope is sender or client (logs only).
	Scope string
	// RetryAfter is when the next intake is admitted.
	RetryAfter time.Duration
}

// Error implements error.
func (e *TooManyError) Error() string {
	return fmt.Sprintf("feedback: too many items per %s; retry after %s", e.Scope, e.RetryAfter)
}

// ProblemCode is "too_many_requests".
func (e *TooManyError) ProblemCode() string { return "too_many_requests" }

// StatusCode is 429.
func (e *TooManyError) StatusCode() int { return http.StatusTooManyRequests }

// RetryAfterSeconds is RetryAfter in whole seconds, at least 1.
func (e *TooManyError) RetryAfterSeconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// MessageEn is the English detail.
func (e *TooManyError) MessageEn() string {
	return "Too many feedback items were sent from this phone, e-mail or address; try again in " +
		strconv.Itoa((e.RetryAfterSeconds()+59)/60) + " minute(s)."
}

// MessageVi is the Vietnamese detail.
func (e *TooManyError) MessageVi() string {
	return "Bạn đã gửi quá nhiều phản ánh từ số điện thoại, email hoặc địa chỉ này; vui lòng thử lại sau " +
		strconv.Itoa((e.RetryAfterSeconds()+59)/60) + " phút."
}

// ProblemExtra adds retry_after (seconds).
func (e *TooManyError) ProblemExtra() map[string]any {
	return map[string]any{"retry_after": e.RetryAfterSeconds()}
}

// limiter counts intakes in small documents (compare-and-swap), so every
// replica sees the same counts.
type limiter struct {
	store docstore.Store
	now   func() time.Time
}

type window struct {
	// At are the Unix milliseconds of the live intakes, oldest first.
	At []int64 `json:"at"`
}

// take admits one intake for key under l or returns a *TooManyError.
func (lm limiter) take(ctx context.Context, scope, key string, l Limit) error {
	if l.Max <= 0 {
		return nil
	}
	sum := sha256.Sum256([]byte("motcua-feedback-limit\x00" + scope + "\x00" + key))
	k := LimitPrefix + scope + "/" + hex.EncodeToString(sum[:16]) + ".json"
	now := lm.now()
	var w window
	var refused *TooManyError
	err := docstore.Upsert(ctx, lm.store, k, &w, func() error {
		refused = nil
		cut := now.Add(-l.Window).UnixMilli()
		i := 0
		for i < len(w.At) && w.At[i] <= cut {
			i++
		}
		w.At = w.At[i:]
		if len(w.At) >= l.Max {
			refused = &TooManyError{Scope: scope, RetryAfter: time.UnixMilli(w.At[len(w.At)-l.Max]).Add(l.Window).Sub(now)}
			return docstore.ErrUnchanged
		}
		w.At = append(w.At, now.UnixMilli())
		return nil
	}, 0)
	if err != nil {
		return fmt.Errorf("feedback limit %s: %w", scope, err)
	}
	if refused != nil {
		return refused
	}
	return nil
}
