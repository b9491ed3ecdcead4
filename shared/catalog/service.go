package catalog

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"motcua/shared/docstore"
)

// Service is what the procedures function calls: search and lookup over
// the current catalog, seeding the bucket with the embedded catalog the
// first time it finds none (when SeedIfEmpty is set).
type Service struct {
	catalog     *Catalog
	store       docstore.Store
	log         *slog.Logger
	seedIfEmpty bool
}

// ServiceOptions configures NewService.
type ServiceOptions struct {
	// SeedIfEmpty makes the service load the embedded seed catalog (create
	// once, safe under concurrent cold starts) when the bucket has none.
	SeedIfEmpty bool
	// RefreshInterval is passed to the Catalog (0 = DefaultRefreshInterval).
	RefreshInterval time.Duration
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// NewService returns a Service reading the catalog from store.
func NewService(store docstore.Store, log *slog.Logger, o ServiceOptions) *Service {
	if log == nil {
		log = slog.Default()
	}
	opts := []CatalogOption{WithLogger(log)}
	if o.RefreshInterval > 0 {
		opts = append(opts, WithRefreshInterval(o.RefreshInterval))
	}
	if o.Now != nil {
		opts = append(opts, WithClock(o.Now))
	}
	return &Service{catalog: NewCatalog(store, opts...), store: store, log: log, seedIfEmpty: o.SeedIfEmpty}
}

// Search returns a page of procedures matching q; an ErrInvalidQuery *Error
// names a bad parameter.
func (s *Service) Search(ctx context.Context, q Query) (Page[Procedure], error) {
	if err := q.Validate(); err != nil {
		return Page[Procedure]{}, err
	}
	if err := s.ensure(ctx); err != nil {
		return Page[Procedure]{}, err
	}
	return s.catalog.Search(ctx, q)
}

// Get returns one procedure; an ErrNotFound *Error when no procedure has
// the code, an ErrInvalidQuery *Error naming "code" when code is blank.
func (s *Service) Get(ctx context.Context, code string) (Procedure, error) {
	code = strings.TrimSpace(code)
	// 64 characters, as the API document's maxLength counts them (not
	// bytes: a 64-letter Vietnamese code is a well-formed unknown code).
	if code == "" || utf8.RuneCountInString(code) > 64 {
		return Procedure{}, InvalidParam(ParamCode, "Mã thủ tục không được để trống và tối đa 64 ký tự.", "code must be 1 to 64 characters.")
	}
	if err := s.ensure(ctx); err != nil {
		return Procedure{}, err
	}
	return s.catalog.Get(ctx, code)
}

// ensure seeds the store when it holds no catalog and seeding is on.
func (s *Service) ensure(ctx context.Context) error {
	_, _, err := s.catalog.Index(ctx)
	if err == nil || !errors.Is(err, ErrNotLoaded) || !s.seedIfEmpty {
		return err
	}
	procs, err := SeedProcedures()
	if err != nil {
		return err
	}
	created, err := Seed(ctx, s.store, procs)
	if err != nil {
		return err
	}
	if created {
		s.log.InfoContext(ctx, "catalog seeded from the embedded catalog", slog.Int("procedures", len(procs)))
	}
	return nil
}
