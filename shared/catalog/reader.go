package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"motcua/shared/docstore"
)

// DefaultRefreshInterval is how often a Catalog checks the pointer's ETag.
const DefaultRefreshInterval = 30 * time.Second

// snapshot is one loaded catalog version.
type snapshot struct {
	version int
	etag    string // of the pointer it was loaded through
	index   *Index
}

// Catalog reads the current catalog version from a store, loads it once and
// reloads it when the pointer's ETag changes. The pointer is checked with a
// Head at most once per refresh interval; between checks every call is
// served from memory. If a check or reload fails while a version is already
// held, the held version keeps being served (and the failure logged), so a
// storage hiccup does not take search down. Safe for concurrent use.
type Catalog struct {
	store docstore.Store
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu        sync.Mutex
	snap      *snapshot
	checkedAt time.Time
}

// CatalogOption configures a Catalog.
type CatalogOption func(*Catalog)

// WithRefreshInterval sets how often the pointer is checked (default 30 s;
// 0 checks on every call).
func WithRefreshInterval(d time.Duration) CatalogOption {
	return func(c *Catalog) { c.every = d }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) CatalogOption {
	return func(c *Catalog) { c.now = now }
}

// WithLogger sets the logger for refresh failures (default slog.Default()).
func WithLogger(log *slog.Logger) CatalogOption {
	return func(c *Catalog) { c.log = log }
}

// NewCatalog returns a reader over store. Nothing is read until first use.
func NewCatalog(store docstore.Store, opts ...CatalogOption) *Catalog {
	c := &Catalog{store: store, log: slog.Default(), every: DefaultRefreshInterval, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Index returns the current catalog's index and version, loading or
// refreshing it as needed. An ErrNotLoaded *Error when the store holds no
// catalog.
func (c *Catalog) Index(ctx context.Context) (*Index, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.snap != nil && now.Sub(c.checkedAt) < c.every {
		return c.snap.index, c.snap.version, nil
	}
	snap, err := c.refresh(ctx)
	if err != nil {
		if c.snap != nil && !errors.Is(err, ErrNotLoaded) {
			c.log.WarnContext(ctx, "catalog refresh failed; serving the held version",
				slog.Int("version", c.snap.version), slog.String("error", err.Error()))
			c.checkedAt = now // retry after the next interval, not on every call
			return c.snap.index, c.snap.version, nil
		}
		return nil, 0, err
	}
	c.snap, c.checkedAt = snap, now
	return snap.index, snap.version, nil
}

// refresh Heads the pointer and reloads when its ETag moved. Called with
// c.mu held.
func (c *Catalog) refresh(ctx context.Context) (*snapshot, error) {
	head, err := c.store.Head(ctx, PointerKey)
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, notLoaded(err)
	}
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", PointerKey, err)
	}
	if c.snap != nil && head.ETag == c.snap.etag {
		return c.snap, nil
	}
	p, etag, err := readPointer(ctx, c.store)
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, notLoaded(err)
	}
	if err != nil {
		return nil, err
	}
	v, err := readVersion(ctx, c.store, p)
	if err != nil {
		return nil, err
	}
	if c.snap != nil {
		c.log.InfoContext(ctx, "catalog reloaded", slog.Int("from_version", c.snap.version), slog.Int("version", v.Version))
	}
	return &snapshot{version: v.Version, etag: etag, index: NewIndex(v.Procedures)}, nil
}

// Search validates q and searches the current catalog.
func (c *Catalog) Search(ctx context.Context, q Query) (Page[Procedure], error) {
	if err := q.Validate(); err != nil {
		return Page[Procedure]{}, err
	}
	ix, _, err := c.Index(ctx)
	if err != nil {
		return Page[Procedure]{}, err
	}
	return ix.Search(q), nil
}

// Get returns the procedure with the code from the current catalog, or an
// ErrNotFound *Error.
func (c *Catalog) Get(ctx context.Context, code string) (Procedure, error) {
	ix, _, err := c.Index(ctx)
	if err != nil {
		return Procedure{}, err
	}
	return ix.Get(code)
}
