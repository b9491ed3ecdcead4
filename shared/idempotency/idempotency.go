// Package idempotency makes client writes safe to retry: a request carrying
// an Idempotency-Key header runs at most once per key, and a retry gets the
// original response back.
//
// Records live in the document store (S3) under
// <prefix>/<sha256(scope, key)>.json and go through two states:
//
//  1. pending: written create-once (If-None-Match: *) before the work runs,
//     so exactly one of several concurrent requests with the same key wins;
//     the others get 409 "idempotency_in_progress" with Retry-After.
//  2. done: the winner replaces its own lock (If-Match on the lock's ETag)
//     with the response (status, selected headers, body). Later requests
//     with the same key and the same request fingerprint get that response
//     again with "Idempotent-Replayed: true"; with another fingerprint they
//     get 409 "idempotency_key_reused".
//
// Responses with status >= 500 and errors from the work are not stored: the
// lock is deleted so a retry runs the work again. A pending lock older than
// the lock TTL (the process died mid-request) is taken over by the next
// request with an If-Match write; a done record older than the record TTL
// counts as absent (a bucket lifecycle rule should delete those objects).
//
// The work itself must still tolerate being run twice in one corner case: if
// it outlives the lock TTL, a retry takes the lock over and runs it again.
// Keep the lock TTL above the function's exec timeout.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

// HeaderKey is the request header carrying the client's idempotency key.
const HeaderKey = "Idempotency-Key"

// HeaderReplayed is set to "true" on responses replayed from a record.
const HeaderReplayed = "Idempotent-Replayed"

// Defaults for New and its options.
const (
	// DefaultTTL is how long a completed response is replayed.
	DefaultTTL = 24 * time.Hour
	// DefaultLockTTL is how long a pending lock holds off other requests.
	DefaultLockTTL = 2 * time.Minute
	// DefaultRetryAfter is the Retry-After sent with 409 in progress.
	DefaultRetryAfter = 2 * time.Second

	maxKeyLen     = 255
	maxAttempts   = 5
	finishTimeout = 10 * time.Second
)

// defaultStoredHeaders are the response headers kept for replay.
var defaultStoredHeaders = []string{
	"Content-Type", "Content-Language", "Location", "Content-Location",
	"ETag", "Last-Modified", "Link", "Cache-Control",
}

// Keeper runs request handlers at most once per idempotency key. It is safe
// for concurrent use (and across processes sharing the store).
type Keeper struct {
	store      docstore.Store
	prefix     string
	ttl        time.Duration
	lockTTL    time.Duration
	retryAfter time.Duration
	now        func() time.Time
	log        *slog.Logger
	headers    []string
}

// Option configures a Keeper.
type Option func(*Keeper)

// WithLockTTL sets how long a pending lock protects a running request
// before another request may take it over (default 2 minutes).
func WithLockTTL(d time.Duration) Option {
	return func(k *Keeper) {
		if d > 0 {
			k.lockTTL = d
		}
	}
}

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option {
	return func(k *Keeper) {
		if now != nil {
			k.now = now
		}
	}
}

// WithLogger sets the logger for store failures after the work ran
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(k *Keeper) {
		if l != nil {
			k.log = l
		}
	}
}

// WithStoredHeaders replaces the list of response headers kept for replay
// (default: Content-Type, Content-Language, Location, Content-Location,
// ETag, Last-Modified, Link, Cache-Control).
func WithStoredHeaders(names ...string) Option {
	return func(k *Keeper) { k.headers = append([]string(nil), names...) }
}

// New returns a Keeper storing records under prefix (e.g.
// "idempotency/submit-application": one prefix per function keeps
// functions from colliding) for ttl (DefaultTTL when ttl <= 0).
func New(store docstore.Store, prefix string, ttl time.Duration, opts ...Option) *Keeper {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	k := &Keeper{
		store:      store,
		prefix:     prefix,
		ttl:        ttl,
		lockTTL:    DefaultLockTTL,
		retryAfter: DefaultRetryAfter,
		now:        time.Now,
		log:        slog.Default(),
		headers:    defaultStoredHeaders,
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// record is the stored state of one key.
type record struct {
	State       string      `json:"state"` // statePending or stateDone
	Key         string      `json:"key"`
	Fingerprint string      `json:"fingerprint"`
	Owner       string      `json:"owner"` // random id of the lock holder
	LockedAt    time.Time   `json:"locked_at"`
	CompletedAt time.Time   `json:"completed_at,omitzero"`
	Status      int         `json:"status,omitempty"`
	Header      http.Header `json:"header,omitempty"`
	Body        []byte      `json:"body,omitempty"`
}

const (
	statePending = "pending"
	stateDone    = "done"
)

// Do runs fn at most once for the request's Idempotency-Key within scope.
//
// scope names the caller's namespace within this Keeper's prefix (e.g. the
// applicant's account id, or "" for one namespace per function); the same
// key in two scopes is two keys. Without the header Do just calls fn. With
// an invalid key (not 1..255 printable ASCII characters, or sent twice) it
// returns a 400 problem without calling fn. The request fingerprint is
// SHA-256 over method, scope, query string and body.
//
// Responses produced by Do itself (400, 409) come back with a nil error.
// A non-nil error is either fn's own error (the lock is released) or a
// store failure before fn ran (fn not called); pass it to httpx.FromError.
func (k *Keeper) Do(ctx context.Context, scope string, req handler.Request, fn func() (handler.Response, error)) (handler.Response, error) {
	key, p := keyFrom(req)
	if p != nil {
		return httpx.ProblemResponse(p), nil
	}
	if key == "" {
		return fn()
	}
	path := k.path(scope, key)
	fp := fingerprint(req.Method, scope, req.QueryString, req.Body)
	for range maxAttempts {
		lock := record{State: statePending, Key: key, Fingerprint: fp, Owner: uuid.NewString(), LockedAt: k.now().UTC()}
		body, err := json.Marshal(lock)
		if err != nil {
			return handler.Response{}, fmt.Errorf("idempotency: encode lock: %w", err)
		}
		etag, err := k.store.Put(ctx, path, body, docstore.PutOptions{IfNoneMatch: true})
		if err == nil {
			return k.run(ctx, path, etag, lock, fn)
		}
		if !errors.Is(err, docstore.ErrConflict) {
			return handler.Response{}, fmt.Errorf("idempotency: lock %s: %w", path, err)
		}
		obj, err := k.store.Get(ctx, path)
		if errors.Is(err, docstore.ErrNotFound) {
			continue // released in between: try to lock again
		}
		if err != nil {
			return handler.Response{}, fmt.Errorf("idempotency: read %s: %w", path, err)
		}
		var cur record
		if err := json.Unmarshal(obj.Body, &cur); err != nil {
			k.log.WarnContext(ctx, "idempotency: unreadable record, taking it over", "path", path, "error", err.Error())
		} else if !k.expired(cur) {
			switch {
			case cur.Fingerprint != fp:
				return httpx.ProblemResponse(reusedProblem()), nil
			case cur.State == stateDone:
				return replay(cur), nil
			default:
				return httpx.ProblemResponse(k.inProgressProblem()), nil
			}
		}
		// Stale lock or expired record: take it over, if nobody else does.
		etag, err = k.store.Put(ctx, path, body, docstore.PutOptions{IfMatch: obj.ETag})
		if err == nil {
			if cur.State == statePending {
				k.log.WarnContext(ctx, "idempotency: took over a stale lock", "path", path, "locked_at", cur.LockedAt)
			}
			return k.run(ctx, path, etag, lock, fn)
		}
		if !errors.Is(err, docstore.ErrPrecondition) && !errors.Is(err, docstore.ErrNotFound) {
			return handler.Response{}, fmt.Errorf("idempotency: take over %s: %w", path, err)
		}
	}
	// Lost every race: someone else is busy with this key.
	return httpx.ProblemResponse(k.inProgressProblem()), nil
}

// run calls fn while holding the lock (etag) and then stores or releases.
func (k *Keeper) run(ctx context.Context, path, etag string, lock record, fn func() (handler.Response, error)) (handler.Response, error) {
	resp, err := fn()
	// Finish even when the caller went away: the work has been done.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if err != nil || status >= 500 {
		if derr := k.store.Delete(fctx, path, etag); derr != nil {
			k.log.WarnContext(ctx, "idempotency: release lock", "path", path, "error", derr.Error())
		}
		return resp, err
	}
	done := lock
	done.State = stateDone
	done.CompletedAt = k.now().UTC()
	done.Status = status
	done.Body = resp.Body
	done.Header = http.Header{}
	for _, h := range k.headers {
		if vs := resp.Header.Values(h); len(vs) > 0 {
			done.Header[http.CanonicalHeaderKey(h)] = append([]string(nil), vs...)
		}
	}
	body, merr := json.Marshal(done)
	if merr == nil {
		_, merr = k.store.Put(fctx, path, body, docstore.PutOptions{IfMatch: etag})
	}
	if merr != nil {
		// The response stands; a retry will find the lock (or, if it was
		// taken over, the other request's record).
		k.log.WarnContext(ctx, "idempotency: store response", "path", path, "status", status, "error", merr.Error())
	}
	return resp, nil
}

func (k *Keeper) expired(r record) bool {
	now := k.now()
	if r.State == stateDone {
		return now.Sub(r.CompletedAt) >= k.ttl
	}
	return now.Sub(r.LockedAt) >= k.lockTTL
}

// path names the record of key in scope; neither appears in clear (scopes
// may hold personal identifiers, S3 keys show up in access logs).
func (k *Keeper) path(scope, key string) string {
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(key))
	name := hex.EncodeToString(h.Sum(nil)) + ".json"
	if k.prefix == "" {
		return name
	}
	return k.prefix + "/" + name
}

// fingerprint identifies the request a key was first used for.
func fingerprint(method, scope, query string, body []byte) string {
	h := sha256.New()
	for _, part := range []string{method, scope, query} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// keyFrom returns the request's key ("" when absent) or a 400 problem.
func keyFrom(req handler.Request) (string, *httpx.Problem) {
	vals := req.Header.Values(HeaderKey)
	if len(vals) == 0 {
		return "", nil
	}
	bad := httpx.BadRequest("invalid_idempotency_key",
		"The Idempotency-Key header must be sent once, with 1 to 255 printable ASCII characters.",
		"Tiêu đề Idempotency-Key phải được gửi một lần, gồm 1 đến 255 ký tự ASCII in được.")
	if len(vals) > 1 {
		return "", bad
	}
	key := vals[0]
	if len(key) == 0 || len(key) > maxKeyLen {
		return "", bad
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", bad
		}
	}
	return key, nil
}

func replay(r record) handler.Response {
	h := http.Header{}
	for k, vs := range r.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(HeaderReplayed, "true")
	return handler.Response{StatusCode: r.Status, Header: h, Body: r.Body}
}

func reusedProblem() *httpx.Problem {
	return httpx.Conflict("idempotency_key_reused",
		"This Idempotency-Key was already used for a different request. Use a new key for a new request.",
		"Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác. Vui lòng dùng khóa mới cho yêu cầu mới.")
}

func (k *Keeper) inProgressProblem() *httpx.Problem {
	secs := int((k.retryAfter + time.Second - 1) / time.Second)
	return httpx.Conflict("idempotency_in_progress",
		"A request with this Idempotency-Key is still being processed. Retry shortly with the same key.",
		"Yêu cầu với khóa Idempotency-Key này đang được xử lý. Vui lòng thử lại sau giây lát với cùng khóa.").
		WithHeader("Retry-After", strconv.Itoa(secs)).
		WithExtra("retry_after", secs)
}
