package docstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"
)

// DefaultUpdateRetries is the number of retries Update makes when maxRetries
// is zero or negative.
const DefaultUpdateRetries = 16

// ErrUnchanged, returned by an Update mutate function, means "nothing to
// write": Update returns nil without writing.
var ErrUnchanged = errors.New("docstore: unchanged")

// GetJSON reads key and decodes it into v (a pointer); it returns the ETag to
// use for a later IfMatch write. ErrNotFound when absent.
func GetJSON(ctx context.Context, s Store, key string, v any) (etag string, err error) {
	obj, err := s.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(obj.Body, v); err != nil {
		return "", fmt.Errorf("docstore decode %s: %w", key, err)
	}
	return obj.ETag, nil
}

// PutJSON encodes v as JSON and writes it under key with opts; it returns the
// new ETag.
func PutJSON(ctx context.Context, s Store, key string, v any, opts PutOptions) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("docstore encode %s: %w", key, err)
	}
	return s.Put(ctx, key, body, opts)
}

// Update is a compare-and-swap loop: it reads key into v (a pointer, zeroed
// before each read), calls mutate (which changes *v through its closure),
// and writes v back with IfMatch on the ETag it read. When another writer got
// there first it re-reads and tries again, up to maxRetries more times
// (DefaultUpdateRetries when maxRetries <= 0), with a short jittered backoff.
//
// The key must exist (ErrNotFound otherwise; use Upsert to create). mutate
// may run several times, so it must derive its change from *v alone. If
// mutate returns ErrUnchanged nothing is written and Update returns nil; any
// other error aborts the update and is returned wrapped. When every attempt
// loses the race, the error wraps ErrPrecondition.
func Update(ctx context.Context, s Store, key string, v any, mutate func() error, maxRetries int) error {
	return update(ctx, s, key, v, mutate, maxRetries, false)
}

// Upsert is Update that also creates the document: when key is absent, *v
// is left zero for mutate and written with IfNoneMatch (create once), racing
// creators retrying as updaters.
func Upsert(ctx context.Context, s Store, key string, v any, mutate func() error, maxRetries int) error {
	return update(ctx, s, key, v, mutate, maxRetries, true)
}

func update(ctx context.Context, s Store, key string, v any, mutate func() error, maxRetries int, create bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("docstore update %s: v must be a non-nil pointer, got %T", key, v)
	}
	if maxRetries <= 0 {
		maxRetries = DefaultUpdateRetries
	}
	var lastErr error
	for attempt := 0; attempt <= maxRetries; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("docstore update %s: %w", key, err)
			}
		}
		rv.Elem().SetZero()
		etag, err := GetJSON(ctx, s, key, v)
		absent := errors.Is(err, ErrNotFound)
		if err != nil && !(absent && create) {
			return fmt.Errorf("docstore update %s: %w", key, err)
		}
		if err := mutate(); err != nil {
			if errors.Is(err, ErrUnchanged) {
				return nil
			}
			return fmt.Errorf("docstore update %s: %w", key, err)
		}
		opts := PutOptions{IfMatch: etag}
		if absent {
			opts = PutOptions{IfNoneMatch: true}
		}
		_, err = PutJSON(ctx, s, key, v, opts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrPrecondition) && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("docstore update %s: %w", key, err)
		}
		lastErr = err
	}
	return fmt.Errorf("docstore update %s: gave up after %d attempts: %w (last: %w)", key, maxRetries+1, ErrPrecondition, lastErr)
}

// backoff sleeps a jittered, exponentially growing pause (capped at about
// 100 ms) or until ctx ends.
func backoff(ctx context.Context, attempt int) error { return Backoff(ctx, attempt, 7) }

// Backoff sleeps between compare-and-swap attempts: a jittered pause of up
// to 1 ms << min(attempt, maxShift), or until ctx ends (its error). Every
// retry loop over the store uses it, so lost races spread out the same way.
func Backoff(ctx context.Context, attempt, maxShift int) error {
	ceiling := time.Millisecond << min(attempt, maxShift)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
