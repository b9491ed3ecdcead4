package application

import (
	"context"
	"errors"
	"fmt"

	"motcua/shared/docstore"
)

// updateRetries bounds Repository.Update's compare-and-swap attempts.
const updateRetries = 16

// Repository stores applications as JSON documents (Key(code)) in the data
// bucket, and keeps the staff work-queue index in step (SyncIndex after
// every write). Safe for concurrent use; concurrent writers are serialised by
// ETag compare-and-swap.
type Repository struct {
	store docstore.Store
}

// NewRepository returns a repository over store (the motcua-data bucket).
func NewRepository(store docstore.Store) *Repository {
	return &Repository{store: store}
}

// Store returns the underlying document store.
func (r *Repository) Store() docstore.Store { return r.store }

// Get reads an application and the ETag to pass to UpdateIfMatch. An
// unknown code gives an error matching ErrNotFound (and docstore.ErrNotFound).
func (r *Repository) Get(ctx context.Context, code Code) (Application, string, error) {
	if code.IsZero() {
		return Application{}, "", fmt.Errorf("get application: zero code: %w", ErrNotFound)
	}
	var a Application
	etag, err := docstore.GetJSON(ctx, r.store, Key(code), &a)
	if errors.Is(err, docstore.ErrNotFound) {
		return Application{}, "", fmt.Errorf("get application %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return Application{}, "", fmt.Errorf("get application %s: %w", code, err)
	}
	return a, etag, nil
}

// Create writes a new application once (If-None-Match: *), with Version 1,
// and returns its ETag. An existing code gives an error matching ErrExists.
func (r *Repository) Create(ctx context.Context, a *Application) (string, error) {
	return r.create(ctx, a, true)
}

// create is Create; index false leaves the work-queue index to the caller
// (Submit writes it concurrently with the application).
func (r *Repository) create(ctx context.Context, a *Application, index bool) (string, error) {
	if a.ID().IsZero() {
		return "", fmt.Errorf("create application: malformed code %q", a.Code)
	}
	a.Version = 1
	etag, err := docstore.PutJSON(ctx, r.store, Key(a.ID()), a, docstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, docstore.ErrConflict) {
		return "", fmt.Errorf("create application %s: %w", a.Code, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("create application %s: %w", a.Code, err)
	}
	if index {
		indexAfterWrite(ctx, r.store, *a)
	}
	return etag, nil
}

// Exists reports whether the application code is stored (one HEAD).
func (r *Repository) Exists(ctx context.Context, code Code) (bool, error) {
	if code.IsZero() {
		return false, nil
	}
	_, err := r.store.Head(ctx, Key(code))
	if errors.Is(err, docstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("head application %s: %w", code, err)
	}
	return true, nil
}

// UpdateIfMatch writes a (read earlier with ETag etag) back only if the
// stored document still has that ETag; it increments a.Version and returns
// the new ETag. On a lost race the error wraps docstore.ErrPrecondition:
// re-read with Get, re-check and re-apply, or report a conflict.
func (r *Repository) UpdateIfMatch(ctx context.Context, a *Application, etag string) (string, error) {
	return r.updateIfMatch(ctx, a, etag, true)
}

// updateIfMatch is UpdateIfMatch; index false leaves the work-queue index
// to the caller (Processor.Process syncs it while it publishes the event).
func (r *Repository) updateIfMatch(ctx context.Context, a *Application, etag string, index bool) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("update application %s: empty etag: %w", a.Code, docstore.ErrPrecondition)
	}
	a.Version++
	newTag, err := docstore.PutJSON(ctx, r.store, Key(a.ID()), a, docstore.PutOptions{IfMatch: etag})
	if err != nil {
		a.Version--
		return "", fmt.Errorf("update application %s: %w", a.Code, err)
	}
	if index {
		indexAfterWrite(ctx, r.store, *a)
	}
	return newTag, nil
}

// Update applies mutate to the stored application in a compare-and-swap
// loop and returns the application as written. mutate may run several
// times (once per attempt, on a fresh copy), so it must derive its change
// from the application it is given; returning docstore.ErrUnchanged skips
// the write (the current application is returned), any other error aborts
// and is returned wrapped (domain *Error values stay visible to errors.As).
// When every attempt loses the race the error wraps docstore.ErrPrecondition.
func (r *Repository) Update(ctx context.Context, code Code, mutate func(*Application) error) (Application, error) {
	return r.update(ctx, code, mutate, true)
}

// update is Update; index false leaves the work-queue index to the caller.
func (r *Repository) update(ctx context.Context, code Code, mutate func(*Application) error, index bool) (Application, error) {
	if code.IsZero() {
		return Application{}, fmt.Errorf("update application: zero code: %w", ErrNotFound)
	}
	var a Application
	err := docstore.Update(ctx, r.store, Key(code), &a, func() error {
		if err := mutate(&a); err != nil {
			return err
		}
		a.Version++
		return nil
	}, updateRetries)
	if errors.Is(err, docstore.ErrNotFound) {
		return Application{}, fmt.Errorf("update application %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return Application{}, fmt.Errorf("update application %s: %w", code, err)
	}
	if index {
		indexAfterWrite(ctx, r.store, a)
	}
	return a, nil
}
