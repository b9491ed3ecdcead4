package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
)

// updateRetries bounds the compare-and-swap attempts of Repository.Update.
const updateRetries = 32

// ActiveMarker names the active payment of an application
// (payments/by-application/<code>.json). It is created once and then
// replaced by compare-and-swap, so an application has one active payment
// even under concurrent requests.
type ActiveMarker struct {
	// Ref is the active payment.
	Ref string `json:"ref"`
	// UpdatedAt is when the marker was last written.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Repository stores payments in the data bucket. Safe for concurrent use.
type Repository struct {
	store docstore.Store
}

// NewRepository returns a repository over store (the motcua-data bucket).
func NewRepository(store docstore.Store) *Repository { return &Repository{store: store} }

// Store returns the underlying document store.
func (r *Repository) Store() docstore.Store { return r.store }

// Get reads payment ref and its ETag. Unknown refs give an error matching
// ErrNotFound.
func (r *Repository) Get(ctx context.Context, ref string) (Payment, string, error) {
	id, perr := ParseRef(ref)
	if perr != nil || id.String() != ref {
		return Payment{}, "", fmt.Errorf("get payment %q: %w", ref, ErrNotFound)
	}
	var p Payment
	etag, err := docstore.GetJSON(ctx, r.store, Key(id), &p)
	if errors.Is(err, docstore.ErrNotFound) {
		return Payment{}, "", fmt.Errorf("get payment %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Payment{}, "", fmt.Errorf("get payment %s: %w", ref, err)
	}
	return p, etag, nil
}

// Create writes a new payment once (If-None-Match: *) with Version 1.
func (r *Repository) Create(ctx context.Context, p *Payment) error {
	id, err := ParseRef(p.Ref)
	if err != nil || id.String() != p.Ref {
		return fmt.Errorf("create payment %q: malformed reference", p.Ref)
	}
	p.Version = 1
	if _, err := docstore.PutJSON(ctx, r.store, Key(id), p, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		p.Version = 0
		return fmt.Errorf("create payment %s: %w", p.Ref, err)
	}
	return nil
}

// Update applies mutate in a compare-and-swap loop and returns the payment
// as stored. mutate may run several times on fresh copies; returning
// docstore.ErrUnchanged skips the write, any other error aborts and is
// returned wrapped.
func (r *Repository) Update(ctx context.Context, ref string, mutate func(*Payment) error) (Payment, error) {
	id, perr := ParseRef(ref)
	if perr != nil || id.String() != ref {
		return Payment{}, fmt.Errorf("update payment %q: %w", ref, ErrNotFound)
	}
	var p Payment
	err := docstore.Update(ctx, r.store, Key(id), &p, func() error {
		if err := mutate(&p); err != nil {
			return err
		}
		p.Version++
		return nil
	}, updateRetries)
	if errors.Is(err, docstore.ErrNotFound) {
		return Payment{}, fmt.Errorf("update payment %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("update payment %s: %w", ref, err)
	}
	return p, nil
}

// UpdateFrom is Update starting from a copy of the payment already read
// (cur, with its ETag): the first write is a compare-and-swap on etag
// without a second read; if another writer got there first it re-reads
// and retries like Update. It returns the payment as stored and its new
// ETag (for a follow-up compare-and-swap that need not read it again).
// An etag of "" reads first. mutate returning docstore.ErrUnchanged skips
// the write and returns the payment as read (and its ETag).
func (r *Repository) UpdateFrom(ctx context.Context, cur Payment, etag string, mutate func(*Payment) error) (Payment, string, error) {
	id, perr := ParseRef(cur.Ref)
	if perr != nil || id.String() != cur.Ref {
		return Payment{}, "", fmt.Errorf("update payment %q: %w", cur.Ref, ErrNotFound)
	}
	ref := cur.Ref
	var lastErr error
	for attempt := 0; attempt <= updateRetries; attempt++ {
		if attempt > 0 || etag == "" {
			if attempt > 1 {
				if err := docstore.Backoff(ctx, attempt, 6); err != nil { // capped near 64 ms
					return Payment{}, "", fmt.Errorf("update payment %s: %w", ref, err)
				}
			}
			p, tag, err := r.Get(ctx, ref)
			if err != nil {
				return Payment{}, "", err
			}
			cur, etag = p, tag
		}
		next := clonePayment(cur)
		if err := mutate(&next); err != nil {
			if errors.Is(err, docstore.ErrUnchanged) {
				return cur, etag, nil
			}
			return Payment{}, "", fmt.Errorf("update payment %s: %w", ref, err)
		}
		next.Version++
		tag, err := docstore.PutJSON(ctx, r.store, Key(id), next, docstore.PutOptions{IfMatch: etag})
		if err == nil {
			return next, tag, nil
		}
		if errors.Is(err, docstore.ErrNotFound) {
			return Payment{}, "", fmt.Errorf("update payment %s: %w", ref, ErrNotFound)
		}
		if !lostRace(err) {
			return Payment{}, "", fmt.Errorf("update payment %s: %w", ref, err)
		}
		lastErr = err
	}
	return Payment{}, "", fmt.Errorf("update payment %s: gave up after %d attempts: %w", ref, updateRetries+1, lastErr)
}

// clonePayment copies p deeply enough that a mutate function changing the
// copy (its timeline, provider, event) leaves p as read.
func clonePayment(p Payment) Payment {
	q := p
	q.Timeline = slices.Clone(p.Timeline)
	if p.Provider != nil {
		prov := *p.Provider
		q.Provider = &prov
	}
	if p.ConfirmEvent != nil {
		env := *p.ConfirmEvent
		q.ConfirmEvent = &env
	}
	if p.PaidAt != nil {
		t := *p.PaidAt
		q.PaidAt = &t
	}
	return q
}

// Active reads the active-payment marker of application code and its
// ETag; an application without one gives docstore.ErrNotFound.
func (r *Repository) Active(ctx context.Context, code application.Code) (ActiveMarker, string, error) {
	var m ActiveMarker
	etag, err := docstore.GetJSON(ctx, r.store, ActiveKey(code), &m)
	if err != nil {
		return ActiveMarker{}, "", fmt.Errorf("active payment of %s: %w", code, err)
	}
	return m, etag, nil
}

// SetActive points application code's marker at ref: create once when
// etag is "", else only if the marker still has etag. A lost race gives an
// error matching docstore.ErrConflict or docstore.ErrPrecondition.
func (r *Repository) SetActive(ctx context.Context, code application.Code, ref, etag string, now time.Time) error {
	opts := docstore.PutOptions{IfMatch: etag}
	if etag == "" {
		opts = docstore.PutOptions{IfNoneMatch: true}
	}
	if _, err := docstore.PutJSON(ctx, r.store, ActiveKey(code), ActiveMarker{Ref: ref, UpdatedAt: now.UTC()}, opts); err != nil {
		return fmt.Errorf("set active payment of %s: %w", code, err)
	}
	return nil
}

// lostRace reports a create-once or compare-and-swap write that lost.
func lostRace(err error) bool {
	return errors.Is(err, docstore.ErrConflict) || errors.Is(err, docstore.ErrPrecondition)
}

// Each calls fn with every stored payment (payments/<ref>.json, not the
// markers, events, unmatched or audit records under payments/), in
// reference order, stopping at fn's first error. Reconciliation uses it to
// find pending payments to re-check and paid ones not yet finished.
func (r *Repository) Each(ctx context.Context, fn func(Payment) error) error {
	next := ""
	for {
		page, err := r.store.List(ctx, Prefix, next, 1000)
		if err != nil {
			return fmt.Errorf("list payments: %w", err)
		}
		for _, e := range page.Entries {
			name := strings.TrimPrefix(e.Key, Prefix)
			if strings.Contains(name, "/") || !strings.HasSuffix(name, ".json") {
				continue
			}
			p, _, err := r.Get(ctx, strings.TrimSuffix(name, ".json"))
			if errors.Is(err, ErrNotFound) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}
