package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
)

// Event types of other families the notifier understands. receipt.issued
// is published by the receipt book (branch receipts, shared/receipt/book:
// IssuedPayload); feedback.* by the feedback service (shared/feedback). The
// payload shapes below read only the JSON names those packages publish.
const (
	// EventReceiptIssued is published once per e-receipt.
	EventReceiptIssued = "receipt.issued"
	// EventFeedbackReceived and the others are feedback.* steps.
	EventFeedbackReceived      = "feedback.received"
	EventFeedbackInfoRequested = "feedback.info_requested"
	EventFeedbackAnswered      = "feedback.answered"
	EventFeedbackRefused       = "feedback.refused"
)

// otpRe is the shape of a PIN-recovery one-time code.
var otpRe = regexp.MustCompile(`^[0-9]{6}$`)

// kindOf maps an event type to its template: the one table of which events
// tell someone something. Types not listed are acknowledged and ignored.
var kindOf = map[string]Kind{
	application.EventSubmitted:            KindSubmitted,
	application.EventReceived:             KindReceived,
	application.EventSupplementRequested:  KindSupplementRequested,
	application.EventPaymentRequired:      KindPaymentRequired,
	application.EventProcessed:            KindProcessed,
	application.EventReturned:             KindReturned,
	application.EventRejected:             KindRejected,
	payment.EventConfirmed:                KindPaid,
	EventReceiptIssued:                    KindReceiptIssued,
	EventFeedbackReceived:                 KindFeedbackReceived,
	EventFeedbackInfoRequested:            KindFeedbackInfoRequested,
	EventFeedbackAnswered:                 KindFeedbackAnswered,
	EventFeedbackRefused:                  KindFeedbackRefused,
	application.EventPINRecoveryRequested: KindPINRecovery,
	application.EventPINReset:             KindPINReset,
}

// KindFor returns the template kind of an event type, if it has one.
func KindFor(eventType string) (Kind, bool) {
	k, ok := kindOf[eventType]
	return k, ok
}

// ErrBadEvent means an event cannot be turned into a notification (payload
// undecodable, the application or item it names does not exist): it is
// refused and left to the queue's retries and dead-letter queue.
var ErrBadEvent = errors.New("notify: unusable event")

// Contact is where a notification goes.
type Contact struct {
	// Name is the addressee.
	Name string
	// Phone is an E.164 mobile number ("" if none).
	Phone string
	// Email is an e-mail address ("" if none).
	Email string
}

// Plan is one event's notification before sending.
type Plan struct {
	// Kind is the template.
	Kind Kind
	// Data fills it.
	Data Data
	// To is the contact.
	To Contact
	// ApplicationCode or FeedbackID names the subject of the event.
	ApplicationCode string
	FeedbackID      string
}

// receiptIssued reads receipt.issued's payload (shared/receipt/book.IssuedPayload).
type receiptIssued struct {
	Series          string    `json:"series"`
	Number          uint32    `json:"number"`
	ApplicationCode string    `json:"applicationCode"`
	TotalVND        int64     `json:"totalVND"`
	IssuedAt        time.Time `json:"issuedAt"`
}

// receiptIndex reads the receipt book's JSON index (shared/receipt/book.Record).
type receiptIndex struct {
	Receipt struct {
		ApplicationCode string `json:"applicationCode"`
	} `json:"receipt"`
}

// seriesRe is the shape of receipt series symbols accepted into keys.
var seriesRe = regexp.MustCompile(`^[A-Z0-9]{1,16}$`)

// ReceiptIndexKey is where the receipt book keeps a receipt's JSON index
// (receipts/<series>/<number, 8 digits>.json).
func ReceiptIndexKey(series string, number uint32) string {
	return fmt.Sprintf("receipts/%s/%08d.json", series, number)
}

// feedbackEvent reads feedback.*'s payload (shared/feedback).
type feedbackEvent struct {
	ID            string `json:"id"`
	RefusalReason string `json:"refusalReason,omitempty"`
}

// feedbackItem reads the parts of feedback/items/<id>.json the notifier needs.
type feedbackItem struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Contact *struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
		Email string `json:"email"`
	} `json:"contact"`
}

// feedbackIDRe is the shape of feedback ids (PAKN-yymmdd-XXXXXXXX); only
// ids of this shape become storage keys.
var feedbackIDRe = regexp.MustCompile(`^PAKN-[0-9]{6}-[0-9A-Z]{4,16}$`)

// FeedbackItemKey is where the feedback service stores an item.
func FeedbackItemKey(id string) string { return "feedback/items/" + id + ".json" }

// plan builds the notification of env, or ok=false for an event type
// without one.
func (s *Service) plan(ctx context.Context, env queue.Envelope) (Plan, bool, error) {
	kind, ok := kindOf[env.Type]
	if !ok {
		return Plan{}, false, nil
	}
	p := Plan{Kind: kind, Data: Data{Date: FormatDateTime(env.Time), PortalURL: s.opts.PortalURL, Sender: s.opts.SenderName}}
	switch {
	case env.Type == application.EventPINRecoveryRequested || env.Type == application.EventPINReset:
		// Published by application-status to notify-events only (never to
		// the event families: the one-time code must not reach other
		// consumers), and not part of the timeline. The contacts are taken
		// from the stored application, never from the payload, so an event
		// cannot redirect a code; only connector-signed deliveries get here.
		var pl application.RecoveryNotice
		if err := json.Unmarshal(env.Payload, &pl); err != nil {
			return Plan{}, false, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
		}
		if kind == KindPINRecovery {
			if !otpRe.MatchString(pl.OneTimeCode) || pl.ExpiresAt == nil {
				return Plan{}, false, fmt.Errorf("%w: recovery event without a one-time code", ErrBadEvent)
			}
			p.Data.OneTimeCode, p.Data.CodeExpires = pl.OneTimeCode, FormatDateTime(*pl.ExpiresAt)
		}
		if !pl.At.IsZero() {
			p.Data.Date = FormatDateTime(pl.At)
		}
		return p, true, s.fromApplication(ctx, &p, pl.Code, env, false)
	case strings.HasPrefix(env.Type, "application."):
		var pl application.EventPayload
		if err := json.Unmarshal(env.Payload, &pl); err != nil {
			return Plan{}, false, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
		}
		if !pl.At.IsZero() {
			p.Data.Date = FormatDateTime(pl.At)
		}
		return p, true, s.fromApplication(ctx, &p, pl.Code, env, true)
	case env.Type == payment.EventConfirmed:
		var pl payment.ConfirmedPayload
		if err := json.Unmarshal(env.Payload, &pl); err != nil {
			return Plan{}, false, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
		}
		// The stored payment is the truth: it must be paid and have
		// published this very event (a forged or stray envelope is refused).
		ref, err := payment.ParseRef(pl.Ref)
		if err != nil {
			return Plan{}, false, fmt.Errorf("%w: payment reference: %v", ErrBadEvent, err)
		}
		var pay payment.Payment
		if _, err := docstore.GetJSON(ctx, s.store, payment.Key(ref), &pay); err != nil {
			if errors.Is(err, docstore.ErrNotFound) {
				return Plan{}, false, fmt.Errorf("%w: payment %s not found", ErrBadEvent, ref)
			}
			return Plan{}, false, err
		}
		if pay.State != payment.StatePaid || pay.ConfirmEvent == nil || pay.ConfirmEvent.ID != env.ID {
			return Plan{}, false, fmt.Errorf("%w: payment %s did not publish event %s", ErrBadEvent, ref, env.ID)
		}
		p.Data.Amount, p.Data.PaymentRef, p.Data.Method = FormatVND(pay.AmountVND), pay.Ref, methodName(string(pay.Method))
		if pay.PaidAt != nil {
			p.Data.Date = FormatDateTime(*pay.PaidAt)
		}
		return p, true, s.fromApplication(ctx, &p, pay.ApplicationCode, env, false)
	case env.Type == EventReceiptIssued:
		var pl receiptIssued
		if err := json.Unmarshal(env.Payload, &pl); err != nil {
			return Plan{}, false, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
		}
		// The receipt must be stored (its JSON index, shared/receipt/book)
		// for the application the event names.
		if !seriesRe.MatchString(pl.Series) || pl.Number == 0 {
			return Plan{}, false, fmt.Errorf("%w: receipt %q %d", ErrBadEvent, pl.Series, pl.Number)
		}
		var idx receiptIndex
		if _, err := docstore.GetJSON(ctx, s.store, ReceiptIndexKey(pl.Series, pl.Number), &idx); err != nil {
			if errors.Is(err, docstore.ErrNotFound) {
				return Plan{}, false, fmt.Errorf("%w: receipt %s-%08d not found", ErrBadEvent, pl.Series, pl.Number)
			}
			return Plan{}, false, err
		}
		if !strings.EqualFold(idx.Receipt.ApplicationCode, pl.ApplicationCode) {
			return Plan{}, false, fmt.Errorf("%w: receipt %s-%08d is not of application %s", ErrBadEvent, pl.Series, pl.Number, pl.ApplicationCode)
		}
		p.Data.Amount, p.Data.ReceiptNumber = FormatVND(pl.TotalVND), fmt.Sprintf("%s-%08d", pl.Series, pl.Number)
		if !pl.IssuedAt.IsZero() {
			p.Data.Date = FormatDateTime(pl.IssuedAt)
		}
		return p, true, s.fromApplication(ctx, &p, pl.ApplicationCode, env, false)
	default: // feedback.*
		var pl feedbackEvent
		if err := json.Unmarshal(env.Payload, &pl); err != nil {
			return Plan{}, false, fmt.Errorf("%w: payload: %v", ErrBadEvent, err)
		}
		return p, true, s.fromFeedback(ctx, &p, pl)
	}
}

// fromApplication fills p from the stored application and, for staff
// steps, the step's audit record.
func (s *Service) fromApplication(ctx context.Context, p *Plan, rawCode string, env queue.Envelope, inTimeline bool) error {
	code, err := application.ParseCode(rawCode)
	if err != nil {
		return fmt.Errorf("%w: application code: %v", ErrBadEvent, err)
	}
	a, _, err := s.apps.Get(ctx, code)
	if errors.Is(err, docstore.ErrNotFound) || errors.Is(err, application.ErrNotFound) {
		return fmt.Errorf("%w: application %s not found", ErrBadEvent, code)
	}
	if err != nil {
		return err
	}
	if inTimeline && !slices.ContainsFunc(a.Timeline, func(e application.Event) bool { return e.EventID == env.ID }) {
		// Every application event is written into the timeline before it
		// is published (outbox): one that is not there never happened.
		return fmt.Errorf("%w: event %s is not in the timeline of %s", ErrBadEvent, env.ID, code)
	}
	p.ApplicationCode = a.Code
	p.To = Contact{Name: a.Applicant.Name, Phone: a.Applicant.Phone, Email: a.Applicant.Email}
	d := &p.Data
	d.Name, d.Code, d.ProcedureName, d.AgencyName = a.Applicant.Name, a.Code, a.ProcedureName, a.Agency.Name
	d.DueDate, d.Delivery = FormatDate(a.DueAt), a.ResultDelivery.Method
	if p.Kind == KindPaymentRequired {
		d.Amount = FormatVND(a.Fee.AmountVND)
	}
	if !strings.HasPrefix(env.Type, "application.") || p.Kind == KindSubmitted {
		return nil
	}
	// The step's details (what is missing, the reason, the result, the
	// tracking number) are in its audit record, keyed by the event id.
	for _, e := range a.Timeline {
		if e.EventID == env.ID {
			d.Note, d.Reason = e.Note, e.Note
		}
	}
	var rec application.AuditRecord
	if _, err := docstore.GetJSON(ctx, s.store, application.AuditKey(code, env.ID), &rec); err != nil {
		if !errors.Is(err, docstore.ErrNotFound) {
			return err
		}
		return nil // an older step without a record: the timeline note stands
	}
	names := map[string]string{}
	for _, doc := range a.Documents {
		names[doc.Code] = doc.Name
	}
	for _, m := range rec.Missing {
		if n, ok := names[m]; ok && n != "" {
			m = n
		}
		d.Missing = append(d.Missing, m)
	}
	if rec.Note != "" {
		d.Note = rec.Note
	}
	if rec.Reason != "" {
		d.Reason = rec.Reason
	}
	if rec.Result != nil {
		d.Result = rec.Result.Description
	}
	if rec.Delivery != nil {
		d.TrackingNumber = rec.Delivery.TrackingNumber
		if rec.Delivery.Method != "" {
			d.Delivery = rec.Delivery.Method
		}
	}
	return nil
}

// fromFeedback fills p from the stored feedback item.
func (s *Service) fromFeedback(ctx context.Context, p *Plan, ev feedbackEvent) error {
	if !feedbackIDRe.MatchString(ev.ID) {
		return fmt.Errorf("%w: feedback id %q", ErrBadEvent, ev.ID)
	}
	var it feedbackItem
	if _, err := docstore.GetJSON(ctx, s.store, FeedbackItemKey(ev.ID), &it); err != nil {
		if errors.Is(err, docstore.ErrNotFound) {
			return fmt.Errorf("%w: feedback %s not found", ErrBadEvent, ev.ID)
		}
		return err
	}
	p.FeedbackID = ev.ID
	p.Data.FeedbackID, p.Data.Title, p.Data.Reason = ev.ID, it.Title, refusalReason(ev.RefusalReason)
	if it.Contact != nil {
		p.To = Contact{Name: it.Contact.Name, Phone: it.Contact.Phone, Email: it.Contact.Email}
	}
	p.Data.Name = p.To.Name
	if p.Data.Name == "" {
		p.Data.Name = "Quý ông/bà"
	}
	return nil
}

func refusalReason(r string) string {
	switch r {
	case "duplicate":
		return "trùng với phản ánh, kiến nghị đã tiếp nhận"
	case "out_of_scope":
		return "không thuộc phạm vi xử lý"
	}
	return r
}

func methodName(m string) string {
	switch m {
	case string(payment.MethodVNPay):
		return "VNPAY"
	case string(payment.MethodVietQR):
		return "chuyển khoản VietQR"
	}
	return m
}
