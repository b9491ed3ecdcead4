package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

// Written-once records: for work whose response is known before the work
// runs (a submission knows its code, PIN and fee before it writes the
// application), the record can hold the response from the start, so one
// create-once write both locks the key and stores the answer, and no second
// "done" write follows. Whether the work finished is then told by the work's
// own durable effect (the caller checks, e.g. that the application exists):
//
//   - Record writes the record; the winner runs the work.
//   - A later request with the same key and fingerprint gets the record
//     back (Recorded.Prior); the caller replays it when the work's effect
//     exists, answers InProgress while the record is young, and may
//     TakeOver a stale one (older than the lock TTL) to run the same work
//     again with the recorded answer (same code, same PIN).
//   - Abandon marks a record whose work failed as stale at once, so the
//     client's retry takes it over without waiting for the lock TTL.
//
// Records expire after the Keeper's TTL like Do's; a record and Do's
// records must not share a prefix.

// stateRecorded is the state of a record written once with its response.
const stateRecorded = "recorded"

// Recorded is the outcome of Record.
type Recorded struct {
	// Key is the request's Idempotency-Key ("" when it sent none: nothing
	// was written and the work just runs).
	Key string
	// Won is true when this request's record was written: run the work.
	Won bool
	// Problem, when not nil, is the answer to send as is (409: the key
	// was used for another request).
	Problem *handler.Response
	// Prior is the response recorded by an earlier request with the same
	// key and the same request (when !Won and Problem is nil).
	Prior handler.Response
	// Stale is true when the prior record is older than the lock TTL (or
	// abandoned): its request is gone and TakeOver may claim it.
	Stale bool

	path, etag string
	rec        record
}

// Replay returns Prior marked as replayed (Idempotent-Replayed: true).
func (r Recorded) Replay() handler.Response { return replay(r.rec) }

// CheckKey validates the request's Idempotency-Key header without writing
// anything: "" when absent, or a 400 problem response when invalid.
func CheckKey(req handler.Request) (string, *handler.Response) {
	key, p := keyFrom(req)
	if p != nil {
		resp := httpx.ProblemResponse(p)
		return "", &resp
	}
	return key, nil
}

// Record writes resp as the response of req under its Idempotency-Key,
// once (If-None-Match: *), before the work producing it runs. See
// Recorded for the outcomes; a request without a key gets Won with an empty
// Key and nothing written. Errors are store failures (nothing was
// recorded by this request) or an invalid key (check with CheckKey first).
func (k *Keeper) Record(ctx context.Context, scope string, req handler.Request, resp handler.Response) (Recorded, error) {
	key, p := keyFrom(req)
	if p != nil {
		return Recorded{}, p
	}
	if key == "" {
		return Recorded{Won: true}, nil
	}
	path := k.path(scope, key)
	now := k.now().UTC()
	rec := record{State: stateRecorded, Key: key, Fingerprint: fingerprint(req.Method, scope, req.QueryString, req.Body),
		Owner: uuid.NewString(), LockedAt: now, CompletedAt: now, Status: resp.StatusCode, Body: resp.Body, Header: http.Header{}}
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	for _, h := range k.headers {
		if vs := resp.Header.Values(h); len(vs) > 0 {
			rec.Header[http.CanonicalHeaderKey(h)] = append([]string(nil), vs...)
		}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return Recorded{}, fmt.Errorf("idempotency: encode record: %w", err)
	}
	for range maxAttempts {
		etag, err := k.store.Put(ctx, path, body, docstore.PutOptions{IfNoneMatch: true})
		if err == nil {
			return Recorded{Key: key, Won: true, path: path, etag: etag, rec: rec}, nil
		}
		if !errors.Is(err, docstore.ErrConflict) {
			return Recorded{}, fmt.Errorf("idempotency: record %s: %w", path, err)
		}
		obj, err := k.store.Get(ctx, path)
		if errors.Is(err, docstore.ErrNotFound) {
			continue // deleted in between (expired): write again
		}
		if err != nil {
			return Recorded{}, fmt.Errorf("idempotency: read %s: %w", path, err)
		}
		var cur record
		if err := json.Unmarshal(obj.Body, &cur); err == nil && cur.Fingerprint != "" {
			live := false
			switch cur.State {
			case stateRecorded:
				live = now.Sub(cur.CompletedAt) < k.ttl
			case stateDone, statePending:
				// Written by Do (e.g. before a deployment switched
				// the function to Record): honoured the same way.
				live = !k.expired(cur)
			}
			if live {
				switch {
				case cur.Fingerprint != rec.Fingerprint:
					resp := httpx.ProblemResponse(reusedProblem())
					return Recorded{Key: key, Problem: &resp}, nil
				case cur.State == statePending:
					resp := k.InProgress()
					return Recorded{Key: key, Problem: &resp}, nil
				}
				return Recorded{Key: key, Prior: handler.Response{StatusCode: cur.Status, Header: cur.Header, Body: cur.Body},
					Stale: cur.State == stateRecorded && now.Sub(cur.LockedAt) >= k.lockTTL, path: path, etag: obj.ETag, rec: cur}, nil
			}
		}
		// Expired or unreadable: replace it.
		etag, err = k.store.Put(ctx, path, body, docstore.PutOptions{IfMatch: obj.ETag})
		if err == nil {
			return Recorded{Key: key, Won: true, path: path, etag: etag, rec: rec}, nil
		}
		if !errors.Is(err, docstore.ErrPrecondition) && !errors.Is(err, docstore.ErrNotFound) {
			return Recorded{}, fmt.Errorf("idempotency: replace %s: %w", path, err)
		}
	}
	busy := k.InProgress()
	return Recorded{Key: key, Problem: &busy}, nil
}

// ErrTakenOver means another request took the record over first.
var ErrTakenOver = errors.New("idempotency: record taken over by another request")

// TakeOver claims a stale prior record for this request (If-Match on the
// record read): the work then runs again with the recorded response. It
// fails with ErrTakenOver when another request claimed it first.
func (k *Keeper) TakeOver(ctx context.Context, r *Recorded) error {
	if r.Won || r.path == "" || !r.Stale {
		return fmt.Errorf("idempotency: take over: %w", ErrTakenOver)
	}
	rec := r.rec
	rec.Owner, rec.LockedAt = uuid.NewString(), k.now().UTC()
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("idempotency: encode record: %w", err)
	}
	etag, err := k.store.Put(ctx, r.path, body, docstore.PutOptions{IfMatch: r.etag})
	if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("idempotency: take over %s: %w", r.path, ErrTakenOver)
	}
	if err != nil {
		return fmt.Errorf("idempotency: take over %s: %w", r.path, err)
	}
	k.log.WarnContext(ctx, "idempotency: took over a stale record", "path", r.path, "locked_at", r.rec.LockedAt)
	r.Won, r.Stale, r.etag, r.rec = true, false, etag, rec
	return nil
}

// Abandon marks the record this request won as stale at once (its work
// failed), so the next request with the key takes it over instead of
// waiting for the lock TTL. The record is kept, not deleted: the work may
// have taken effect in spite of the error, and the retry must reuse its
// response. Failures are logged: the record then just waits for the TTL.
func (k *Keeper) Abandon(ctx context.Context, r Recorded) {
	if !r.Won || r.path == "" {
		return
	}
	rec := r.rec
	rec.LockedAt = time.Time{}
	body, err := json.Marshal(rec)
	if err == nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		_, err = k.store.Put(fctx, r.path, body, docstore.PutOptions{IfMatch: r.etag})
	}
	if err != nil {
		k.log.WarnContext(ctx, "idempotency: abandon record", "path", r.path, "error", err.Error())
	}
}

// InProgress is the 409 answer to a request whose key is held by a
// request still running.
func (k *Keeper) InProgress() handler.Response {
	return httpx.ProblemResponse(k.inProgressProblem())
}
