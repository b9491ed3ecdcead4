package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/logx"
	"motcua/shared/queue"
)

// SentPrefix holds one marker per event and channel.
const SentPrefix = "notifications/sent/"

// SentKey returns the marker key of an event's notification on a channel.
func SentKey(eventID string, ch Channel) string {
	return SentPrefix + eventID + "/" + string(ch) + ".json"
}

// Marker states.
const (
	// StateSending: the provider is being (or was, before a crash) called.
	StateSending = "sending"
	// StateSent: the provider accepted the message. Final.
	StateSent = "sent"
	// StateFailed: the last attempt failed transiently; the next delivery retries.
	StateFailed = "failed"
	// StateRefused: the provider refused it for good (bad address). Final.
	StateRefused = "refused"
)

// Record is the marker of one event's notification on one channel; it is
// also the log of what was sent (`motcua notifications list`).
type Record struct {
	// EventID and EventType name the event.
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// Kind is the template; Channel sms or email.
	Kind    Kind    `json:"kind"`
	Channel Channel `json:"channel"`
	// To is the masked recipient (logx.Mask): the marker is no second copy
	// of the contact details.
	To string `json:"to"`
	// ApplicationCode or FeedbackID names the subject.
	ApplicationCode string `json:"applicationCode,omitempty"`
	FeedbackID      string `json:"feedbackId,omitempty"`
	// Subject (e-mail) and Body are what was sent.
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	// State is sending, sent, failed or refused.
	State string `json:"state"`
	// Attempts counts calls of the provider.
	Attempts int `json:"attempts"`
	// ProviderID is the provider's message id (SMSID, Message-ID).
	ProviderID string `json:"providerId,omitempty"`
	// LastError is the last failure (masked).
	LastError string `json:"lastError,omitempty"`
	// CreatedAt, UpdatedAt and SentAt are UTC.
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}

// Options configures a Service.
type Options struct {
	// PortalURL is the public status look-up page shown in messages.
	PortalURL string
	// SenderName signs the e-mails.
	SenderName string
	// Lease is how long a "sending" marker keeps other deliveries off
	// (DefaultLease when zero); it must exceed a sender's timeout.
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log is the logger (slog.Default when nil); it should mask (logx).
	Log *slog.Logger
}

// DefaultLease is the default Options.Lease.
const DefaultLease = 45 * time.Second

// Service turns events into notifications. Safe for concurrent use.
type Service struct {
	store   docstore.Store
	apps    *application.Repository
	senders map[Channel]Sender
	opts    Options
	now     func() time.Time
	log     *slog.Logger
}

// NewService returns a Service reading documents from store and sending
// through senders (at most one per channel; a channel without a sender is
// skipped).
func NewService(store docstore.Store, senders []Sender, opts Options) (*Service, error) {
	if store == nil {
		return nil, errors.New("notify.NewService: store is required")
	}
	m := map[Channel]Sender{}
	for _, s := range senders {
		if s == nil {
			continue
		}
		if _, dup := m[s.Channel()]; dup {
			return nil, fmt.Errorf("notify.NewService: two senders for %s", s.Channel())
		}
		m[s.Channel()] = s
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, apps: application.NewRepository(store), senders: m, opts: opts, now: now, log: log}, nil
}

// Outcomes of one channel.
const (
	// OutcomeSent: sent by this delivery.
	OutcomeSent = "sent"
	// OutcomeAlreadySent: a marker says an earlier delivery sent it.
	OutcomeAlreadySent = "already_sent"
	// OutcomeRefused: the provider refused it for good (now or before).
	OutcomeRefused = "refused"
	// OutcomeNoContact: the person gave no contact on this channel.
	OutcomeNoContact = "no_contact"
	// OutcomeNoSender: the channel is not configured.
	OutcomeNoSender = "no_sender"
)

// ChannelResult is what happened on one channel.
type ChannelResult struct {
	// Channel is sms or email.
	Channel Channel `json:"channel"`
	// Outcome is one of the Outcome* values.
	Outcome string `json:"outcome"`
}

// Result is the answer for one event.
type Result struct {
	// EventID is the envelope id.
	EventID string `json:"eventId"`
	// Kind is the template used ("" when ignored).
	Kind Kind `json:"kind,omitempty"`
	// Ignored is true for event types that notify nobody.
	Ignored bool `json:"ignored"`
	// Channels lists each channel's outcome.
	Channels []ChannelResult `json:"channels,omitempty"`
}

// ErrInFlight means another delivery of the same event is sending right
// now; the caller retries later.
var ErrInFlight = errors.New("notify: the same notification is being sent by another delivery")

// eventIDRe is the shape of envelope ids accepted into storage keys.
var eventIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// Handle notifies the people concerned by env, at most once per channel
// (see the package doc for the marker protocol). It fails with ErrBadEvent
// for an unusable event, ErrInFlight while a concurrent delivery sends, and
// the first transient failure otherwise; channels that succeeded are not
// sent again on the retry.
func (s *Service) Handle(ctx context.Context, env queue.Envelope) (Result, error) {
	if err := env.Validate(); err != nil || !eventIDRe.MatchString(env.ID) {
		return Result{}, fmt.Errorf("%w: envelope id %q type %q", ErrBadEvent, env.ID, env.Type)
	}
	res := Result{EventID: env.ID}
	p, ok, err := s.plan(ctx, env)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		res.Ignored = true
		return res, nil
	}
	res.Kind = p.Kind
	msg, err := Render(p.Kind, p.Data)
	if err != nil {
		return Result{}, err
	}
	// The channels are independent (a marker each): they are sent side by
	// side, so an event waits for the slower provider, not for both.
	channels := []Channel{ChannelSMS, ChannelEmail}
	res.Channels = make([]ChannelResult, len(channels))
	errs := make([]error, len(channels))
	var wg sync.WaitGroup
	for i, ch := range channels {
		to, body, subject := p.To.Phone, msg.SMS, ""
		if ch == ChannelEmail {
			to, body, subject = p.To.Email, msg.Body, msg.Subject
		}
		res.Channels[i] = ChannelResult{Channel: ch}
		sender := s.senders[ch]
		switch {
		case to == "":
			res.Channels[i].Outcome = OutcomeNoContact
		case sender == nil:
			res.Channels[i].Outcome = OutcomeNoSender
		default:
			rec := Record{EventID: env.ID, EventType: env.Type, Kind: p.Kind, Channel: ch, To: logx.Mask(to),
				ApplicationCode: p.ApplicationCode, FeedbackID: p.FeedbackID, Subject: subject, Body: body}
			out := Outgoing{To: to, Name: p.To.Name, Subject: subject, Body: body, RequestID: env.ID + ":" + string(ch)}
			wg.Go(func() {
				outcome, err := s.sendOnce(ctx, sender, rec, out)
				res.Channels[i].Outcome = outcome
				if err != nil {
					errs[i] = fmt.Errorf("%s: %w", ch, err)
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	return res, nil
}

// sendOnce sends out unless the marker says it was sent (or is being sent).
func (s *Service) sendOnce(ctx context.Context, sender Sender, rec Record, out Outgoing) (string, error) {
	key := SentKey(rec.EventID, rec.Channel)
	log := s.log.With("event_id", rec.EventID, "event_type", rec.EventType, "channel", string(rec.Channel), "to", rec.To)
	// Claim: create the marker, or take over a failed / stale one (CAS).
	// The first delivery of an event (the common case) finds no marker, so
	// it tries the create-once write first and reads the marker only when
	// one exists: one request less per channel, the same guarantee (the
	// If-None-Match write is what claims it either way).
	var etag string
	created := false
	{
		now := s.now().UTC()
		first := rec
		first.State, first.Attempts, first.CreatedAt, first.UpdatedAt = StateSending, 1, now, now
		tag, err := docstore.PutJSON(ctx, s.store, key, first, docstore.PutOptions{IfNoneMatch: true})
		switch {
		case err == nil:
			rec, etag, created = first, tag, true
		case errors.Is(err, docstore.ErrConflict) || errors.Is(err, docstore.ErrPrecondition):
			// A marker exists: read it below.
		default:
			return "", fmt.Errorf("claim %s: %w", key, err)
		}
	}
	for attempt := 0; !created; attempt++ {
		if attempt > 5 {
			return "", fmt.Errorf("claim %s: %w", key, docstore.ErrPrecondition)
		}
		now := s.now().UTC()
		var cur Record
		tag, err := docstore.GetJSON(ctx, s.store, key, &cur)
		switch {
		case errors.Is(err, docstore.ErrNotFound):
			rec.State, rec.Attempts, rec.CreatedAt, rec.UpdatedAt = StateSending, 1, now, now
			etag, err = docstore.PutJSON(ctx, s.store, key, rec, docstore.PutOptions{IfNoneMatch: true})
			if errors.Is(err, docstore.ErrConflict) || errors.Is(err, docstore.ErrPrecondition) {
				continue // another delivery claimed it first: look again
			}
			if err != nil {
				return "", fmt.Errorf("claim %s: %w", key, err)
			}
		case err != nil:
			return "", fmt.Errorf("read %s: %w", key, err)
		case cur.State == StateSent:
			log.InfoContext(ctx, "notification already sent", "attempts", cur.Attempts)
			return OutcomeAlreadySent, nil
		case cur.State == StateRefused:
			return OutcomeRefused, nil
		case cur.State == StateSending && now.Sub(cur.UpdatedAt) < s.opts.Lease:
			return "", ErrInFlight
		default: // failed, or a sending marker whose delivery died: take over
			rec.State, rec.Attempts, rec.CreatedAt, rec.UpdatedAt = StateSending, cur.Attempts+1, cur.CreatedAt, now
			etag, err = docstore.PutJSON(ctx, s.store, key, rec, docstore.PutOptions{IfMatch: tag})
			if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("claim %s: %w", key, err)
			}
			if cur.State == StateSending {
				log.WarnContext(ctx, "taking over a stale sending marker: the message may go out twice", "attempts", rec.Attempts)
			}
		}
		break
	}
	id, sendErr := sender.Send(ctx, out)
	now := s.now().UTC()
	rec.UpdatedAt = now
	outcome := OutcomeSent
	switch {
	case sendErr == nil:
		rec.State, rec.ProviderID, rec.SentAt, rec.LastError = StateSent, id, &now, ""
	case errors.Is(sendErr, ErrPermanent):
		rec.State, rec.LastError = StateRefused, logx.Mask(sendErr.Error())
		outcome = OutcomeRefused
	default:
		rec.State, rec.LastError = StateFailed, logx.Mask(sendErr.Error())
	}
	// The marker write must not be cut short by the caller's deadline: the
	// message is out, record it.
	if _, err := docstore.PutJSON(context.WithoutCancel(ctx), s.store, key, rec, docstore.PutOptions{IfMatch: etag}); err != nil {
		log.ErrorContext(ctx, "notification marker not updated", "state", rec.State, "error", err.Error())
		if sendErr == nil {
			return "", fmt.Errorf("record sent %s: %w", key, err)
		}
	}
	switch rec.State {
	case StateSent:
		log.InfoContext(ctx, "notification sent", "kind", string(rec.Kind), "attempts", rec.Attempts, "provider_id", id)
		return outcome, nil
	case StateRefused:
		log.ErrorContext(ctx, "notification refused by the provider; not retried", "kind", string(rec.Kind), "error", rec.LastError)
		return outcome, nil
	default:
		log.WarnContext(ctx, "notification failed; the event will be redelivered", "kind", string(rec.Kind), "attempts", rec.Attempts, "error", rec.LastError)
		return "", sendErr
	}
}
