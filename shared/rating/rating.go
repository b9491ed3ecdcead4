// Package rating is the applicant's satisfaction rating of an application
// (đánh giá mức độ hài lòng): once the result has been returned, the
// applicant (application code + PIN) rates it once, 1–5 overall, with
// optional 1–5 scores for processing time, staff attitude and procedure
// simplicity, and an optional comment.
//
// Storage (data bucket):
//
//	ratings/applications/<code>.json   one Rating, written create-once (If-None-Match: *)
//
// Each rating is announced by one "rating.application_rated" event on the
// application events queue, published through the application outbox
// (marker staged before the rating is written, so a crash in between is
// repaired by `motcua outbox repair`). The indicators (shared/stats) read
// the rating document itself; the event only tells them to look.
package rating

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/outbox"
	"motcua/shared/queue"
)

// Score bounds.
const (
	// MinScore is the lowest score (rất không hài lòng).
	MinScore = 1
	// MaxScore is the highest score (rất hài lòng).
	MaxScore = 5
	// MaxComment is the longest comment, in characters.
	MaxComment = 1000
)

// EventRated is the type of the event published for a new rating.
const EventRated = "rating.application_rated"

// Prefix is the key prefix of application ratings.
const Prefix = "ratings/applications/"

// Key returns the document key of the rating of application code.
func Key(code string) string { return Prefix + code + ".json" }

// CodeFromKey returns the application code of a rating key ("" if key is
// not one).
func CodeFromKey(key string) string {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok || !strings.HasSuffix(rest, ".json") || strings.Contains(rest, "/") {
		return ""
	}
	return strings.TrimSuffix(rest, ".json")
}

// Rating is one applicant's rating of one application.
type Rating struct {
	// Code is the application code.
	Code string `json:"code"`
	// AgencyCode and ProcedureCode locate the application (for readers
	// that do not load it).
	AgencyCode    string `json:"agencyCode"`
	ProcedureCode string `json:"procedureCode"`
	// Overall is the overall satisfaction, 1–5.
	Overall int `json:"overall"`
	// Time, Attitude and Simplicity are the optional per-criterion scores
	// (processing time, staff attitude, procedure simplicity), 1–5.
	Time       *int `json:"time,omitempty"`
	Attitude   *int `json:"attitude,omitempty"`
	Simplicity *int `json:"simplicity,omitempty"`
	// Comment is the applicant's optional remark (NFC, trimmed).
	Comment string `json:"comment,omitempty"`
	// At is when the rating was given (UTC).
	At time.Time `json:"at"`
	// EventID is the ID of the rating.application_rated event.
	EventID string `json:"eventId"`
}

// Input is the body of a rating request.
type Input struct {
	// Code is the application code (parsed with application.ParseCode).
	Code string `json:"code" validate:"required,max=80"`
	// PIN is the lookup PIN given at submission.
	PIN string `json:"pin" validate:"required,len=8,number"`
	// Overall is the overall satisfaction, 1–5.
	Overall int `json:"overall" validate:"required,min=1,max=5"`
	// Time is the optional score for processing time, 1–5.
	Time *int `json:"time" validate:"omitnil,min=1,max=5"`
	// Attitude is the optional score for staff attitude, 1–5.
	Attitude *int `json:"attitude" validate:"omitnil,min=1,max=5"`
	// Simplicity is the optional score for the procedure's simplicity, 1–5.
	Simplicity *int `json:"simplicity" validate:"omitnil,min=1,max=5"`
	// Comment is optional, at most MaxComment characters.
	Comment string `json:"comment" validate:"max=1000"`
}

// sameAnswer reports whether r is what in asks for (a retried request).
func (r Rating) sameAnswer(in Input) bool {
	eq := func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return r.Overall == in.Overall && eq(r.Time, in.Time) && eq(r.Attitude, in.Attitude) &&
		eq(r.Simplicity, in.Simplicity) && r.Comment == in.Comment
}

const domain = "rating"

// Errors of the rating rules.
var (
	// ErrAlreadyRated means the application has a rating already (409).
	ErrAlreadyRated = fault.New(domain, "already_rated", http.StatusConflict,
		"Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ được đánh giá một lần.",
		"This application has been rated already; each application is rated once.")
	// ErrNotReturned means the result has not been returned yet (409,
	// with current_status).
	ErrNotReturned = fault.New(domain, "not_returned", http.StatusConflict,
		"Chỉ có thể đánh giá sau khi hồ sơ đã được trả kết quả.",
		"An application can be rated only after its result has been returned.")
)

// Authenticator checks an applicant's code and PIN and returns the
// application: *application.Access, the citizen guard every PIN check of
// the portal goes through (throttle, constant-cost comparison, a wrong PIN
// answered exactly like an unknown code).
type Authenticator interface {
	Authorize(ctx context.Context, code application.Code, pin, client string) (application.Application, error)
}

var _ Authenticator = (*application.Access)(nil)

// Service records ratings. Safe for concurrent use.
type Service struct {
	store     docstore.Store
	auth      Authenticator
	pub       queue.Publisher
	queueName string
	now       func() time.Time
	log       *slog.Logger
	cleaner   *outbox.Cleaner // deletes the markers of published events in batches
}

// NewService returns a rating service writing to store and announcing
// ratings on queueName.
func NewService(store docstore.Store, auth Authenticator, pub queue.Publisher, queueName string, now func() time.Time, log *slog.Logger) (*Service, error) {
	if store == nil || auth == nil || pub == nil || queueName == "" {
		return nil, errors.New("rating: store, authenticator, publisher and queue name are required")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, auth: auth, pub: pub, queueName: queueName, now: now, log: log,
		cleaner: outbox.NewCleaner(store, log)}, nil
}

// Drain waits until the outbox markers of published events are deleted
// (tests and graceful shutdown), or ctx ends.
func (s *Service) Drain(ctx context.Context) error { return s.cleaner.Drain(ctx) }

// Result is the answer to a rating request.
type Result struct {
	// Rating is the stored rating.
	Rating Rating `json:"rating"`
	// Replayed is true when the same rating had been recorded before (a
	// retried request).
	Replayed bool `json:"-"`
}

// EventPayload is the payload of rating.application_rated.
type EventPayload struct {
	// Code is the application code.
	Code string `json:"code"`
	// AgencyCode is the settling agency.
	AgencyCode string `json:"agencyCode"`
	// Overall is the overall score.
	Overall int `json:"overall"`
	// At is when the rating was given.
	At time.Time `json:"at"`
}

// Rate records the applicant's rating. Rules: the code and PIN must match
// (the authenticator's error otherwise); the application must be returned
// (ErrNotReturned); one rating per application (ErrAlreadyRated), except
// that repeating exactly the same rating answers the stored one again
// (Replayed) and makes sure its event was published.
func (s *Service) Rate(ctx context.Context, in Input, client, correlationID string) (Result, error) {
	code, err := application.ParseCode(in.Code)
	if err != nil {
		return Result{}, err
	}
	a, err := s.auth.Authorize(ctx, code, in.PIN, client)
	if err != nil {
		return Result{}, err
	}
	// An application is rated only once returned, and a returned one stays
	// returned: checking the status first answers as the stored rating
	// would. An existing rating is found by the create-once write below
	// (a retry, or a second rating), not read up front: most calls are
	// first ratings.
	if a.Status != application.StatusReturned {
		return Result{}, ErrNotReturned.With("current_status", string(a.Status))
	}
	now := s.now().UTC()
	r := Rating{
		Code: a.Code, AgencyCode: a.Agency.Code, ProcedureCode: a.ProcedureCode,
		Overall: in.Overall, Time: in.Time, Attitude: in.Attitude, Simplicity: in.Simplicity,
		Comment: strings.TrimSpace(in.Comment), At: now,
	}
	env, err := queue.NewEnvelope(EventRated, correlationID, EventPayload{Code: r.Code, AgencyCode: r.AgencyCode, Overall: r.Overall, At: now})
	if err != nil {
		return Result{}, err
	}
	r.EventID = env.ID
	// Marker first: a crash after the rating is written still publishes.
	// Untied: a marker whose rating write failed is published by the
	// repair anyway, which is harmless (the consumer re-reads the rating
	// and finds none).
	if err := outbox.Stage(ctx, s.store, s.queueName, env, outbox.Tie{}); err != nil {
		return Result{}, err
	}
	_, err = docstore.PutJSON(ctx, s.store, Key(r.Code), r, docstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, docstore.ErrConflict) {
		// Another request won the race: this event announces nothing.
		s.discard(ctx, env.ID)
		existing, gerr := s.get(ctx, a.Code)
		if gerr != nil {
			return Result{}, gerr
		}
		return s.replay(ctx, existing, in)
	}
	if err != nil {
		s.discard(ctx, env.ID)
		return Result{}, fmt.Errorf("rating: put %s: %w", r.Code, err)
	}
	if err := outbox.Send(context.WithoutCancel(ctx), s.pub, s.cleaner, s.queueName, env); err != nil {
		// The rating is durable; the marker stays for the outbox repair.
		s.log.WarnContext(ctx, "rating event not published yet; outbox marker kept", "code", r.Code, "event_id", env.ID, "error", err.Error())
	}
	s.log.InfoContext(ctx, "application rated", "code", r.Code, "overall", r.Overall)
	return Result{Rating: r}, nil
}

// replay answers a request for an application that has a rating: the same
// rating again is a retry (the event is re-published, which consumers
// de-duplicate on its ID); anything else is a second rating.
func (s *Service) replay(ctx context.Context, existing Rating, in Input) (Result, error) {
	cmp := in
	cmp.Comment = strings.TrimSpace(cmp.Comment)
	if !existing.sameAnswer(cmp) {
		return Result{}, ErrAlreadyRated
	}
	env, err := queue.NewEnvelope(EventRated, "", EventPayload{Code: existing.Code, AgencyCode: existing.AgencyCode, Overall: existing.Overall, At: existing.At})
	if err == nil && existing.EventID != "" {
		env.ID, env.Time = existing.EventID, existing.At
		if perr := outbox.Publish(ctx, s.store, s.pub, s.queueName, env); perr != nil {
			s.log.WarnContext(ctx, "rating event re-publish failed; outbox marker kept", "code", existing.Code, "error", perr.Error())
		}
	}
	return Result{Rating: existing, Replayed: true}, nil
}

func (s *Service) discard(ctx context.Context, eventID string) {
	if err := outbox.Discard(context.WithoutCancel(ctx), s.store, eventID); err != nil {
		s.log.WarnContext(ctx, "outbox marker not discarded", "event_id", eventID, "error", err.Error())
	}
}

// Get returns the rating of application code (docstore.ErrNotFound when
// there is none).
func Get(ctx context.Context, store docstore.Store, code string) (Rating, error) {
	var r Rating
	if _, err := docstore.GetJSON(ctx, store, Key(code), &r); err != nil {
		return Rating{}, err
	}
	return r, nil
}

func (s *Service) get(ctx context.Context, code string) (Rating, error) {
	return Get(ctx, s.store, code)
}
