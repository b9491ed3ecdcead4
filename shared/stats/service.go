package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/rating"
	"motcua/shared/workdays"
)

// Catalog is what the indicators need from the procedure catalog: the
// current index (catalog.Catalog implements it).
type Catalog interface {
	Index(ctx context.Context) (*catalog.Index, int, error)
}

var _ Catalog = (*catalog.Catalog)(nil)

// Service keeps the indicators: it applies events, rebuilds from the
// documents and answers queries. Safe for concurrent use.
type Service struct {
	store   docstore.Store
	apps    *application.Repository
	catalog Catalog
	cal     *workdays.Calendar
	now     func() time.Time
	log     *slog.Logger
}

// NewService returns the indicators service over the data bucket. now is
// the clock (nil: time.Now); it decides which open applications are
// overdue.
func NewService(store docstore.Store, cat Catalog, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) (*Service, error) {
	if store == nil || cat == nil || cal == nil {
		return nil, errors.New("stats: store, catalog and calendar are required")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, apps: application.NewRepository(store), catalog: cat, cal: cal, now: now, log: log}, nil
}

// procedure returns the catalog data of a procedure (zero when unknown).
func procedure(ix *catalog.Index, code string) Procedure {
	if ix == nil {
		return Procedure{}
	}
	p, err := ix.Get(code)
	if err != nil {
		return Procedure{}
	}
	return ProcedureOf(p)
}

// index returns the current catalog index; no catalog yet means none.
func (s *Service) index(ctx context.Context) (*catalog.Index, error) {
	ix, _, err := s.catalog.Index(ctx)
	if err != nil {
		if errors.Is(err, catalog.ErrNotLoaded) {
			return nil, nil
		}
		return nil, fmt.Errorf("stats: catalog: %w", err)
	}
	return ix, nil
}

// RefreshApplication re-reads application code (and its rating) and
// replaces its contribution. An unknown code is not an error (nothing to
// count).
func (s *Service) RefreshApplication(ctx context.Context, code string) error {
	c, err := application.ParseCode(code)
	if err != nil {
		return fmt.Errorf("%w: application code %q", ErrUnusableEvent, code)
	}
	a, _, err := s.apps.Get(ctx, c)
	if errors.Is(err, application.ErrNotFound) {
		s.log.InfoContext(ctx, "stats: application not found; nothing to count", "code", code)
		return nil
	}
	if err != nil {
		return err
	}
	var r *rating.Rating
	if got, err := rating.Get(ctx, s.store, a.Code); err == nil {
		r = &got
	} else if !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("stats: rating %s: %w", a.Code, err)
	}
	ix, err := s.index(ctx)
	if err != nil {
		return err
	}
	return Apply(ctx, s.store, ApplicationContribution(a, procedure(ix, a.ProcedureCode), r))
}

// RefreshFeedback re-reads feedback item id and replaces its contribution.
func (s *Service) RefreshFeedback(ctx context.Context, id string) error {
	var it FeedbackItem
	_, err := docstore.GetJSON(ctx, s.store, FeedbackKey(id), &it)
	if errors.Is(err, docstore.ErrNotFound) {
		s.log.InfoContext(ctx, "stats: feedback item not found; nothing to count", "id", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stats: feedback %s: %w", id, err)
	}
	return Apply(ctx, s.store, FeedbackContribution(it, s.cal))
}

// eventRef is the part of any event payload that names its document.
type eventRef struct {
	Code            string `json:"code"`
	ApplicationCode string `json:"applicationCode"`
	ID              string `json:"id"`
}

// ErrUnusableEvent means an event names no document the indicators can
// read (a bad payload); retrying it cannot help.
var ErrUnusableEvent = errors.New("stats: event names no document")

// validID accepts application codes and feedback ids: letters, digits, '-'
// and '_', at most 80 characters (they become parts of keys).
func validID(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// HandleEvent applies one event: whatever its type, it only says which
// document changed; the document itself is re-read and its contribution
// replaced, so duplicates, reordering and lost intermediate events change
// nothing. application.*, rating.*, payment.* and receipt.* events name an
// application (payload code or applicationCode); feedback.* events an item
// (payload id). Event types that name no document the indicators count
// (payment.failed without an application, …) are ignored.
func (s *Service) HandleEvent(ctx context.Context, env queue.Envelope) error {
	var ref eventRef
	if len(env.Payload) > 0 {
		if err := json.Unmarshal(env.Payload, &ref); err != nil {
			return fmt.Errorf("%w: payload: %v", ErrUnusableEvent, err)
		}
	}
	family, _, _ := strings.Cut(env.Type, ".")
	switch family {
	case "feedback":
		if !validID(ref.ID) {
			return fmt.Errorf("%w: %s without a valid id", ErrUnusableEvent, env.Type)
		}
		return s.RefreshFeedback(ctx, ref.ID)
	case "application", "rating", "payment", "receipt":
		code := ref.ApplicationCode
		if code == "" && (family == "application" || family == "rating") {
			code = ref.Code
		}
		if code == "" {
			s.log.DebugContext(ctx, "stats: event names no application; ignored", "type", env.Type, "event_id", env.ID)
			return nil
		}
		if !validID(code) {
			return fmt.Errorf("%w: %s with a bad application code", ErrUnusableEvent, env.Type)
		}
		return s.RefreshApplication(ctx, code)
	default:
		s.log.DebugContext(ctx, "stats: event type not counted; ignored", "type", env.Type, "event_id", env.ID)
		return nil
	}
}
