package application

// The staff state machine (and the applicant's cancel), the internal audit
// trail of staff steps, and the Processor behind the process-application
// function.
//
//	action              from                          to
//	receive             submitted                     received
//	reject              submitted, received           rejected             reason required
//	start               received                      processing
//	request_supplement  received, processing          supplement_requested what is missing required
//	resume              supplement_requested          processing           due date pushed back
//	require_payment     processing                    awaiting_payment     only with a fee > 0, unpaid
//	complete            processing                    processed            result required; settlement
//	return              processed                     returned             method online|postal (+ tracking no.)
//	cancel (applicant)  submitted                     cancelled
//
// Due dates: receive sets ReceivedAt and recomputes DueAt as
// ProcessingDays working days from receipt (workdays.AddWorkingDays). While
// an application waits for a supplement the legal clock is paused (Decree
// 61/2018/NĐ-CP: the time the applicant takes to supplement is not counted):
// resume pushes DueAt back by the working days that passed between the
// request (exclusive) and the resumption (inclusive), as counted by
// workdays.WorkingDaysBetween; resuming on the day of the request moves
// nothing. complete sets SettledAt and Settlement (early / on_time / late
// against DueAt); reject sets SettledAt (a refusal is a settlement) but no
// Settlement class.
//
// Officers' ids never enter the Application document (which citizens see
// through the status look-up): the timeline's Actor is the agency code. The
// officer and the step's details go to an AuditRecord, a separate document
// written before the application (create once, keyed by the step's event
// ID) and counted only when the application's timeline holds that event ID,
// the same rule the outbox follows. The model has no fields for a step's
// result document or tracking number; they live in the AuditRecord and, in
// words, in the timeline note.

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"motcua/shared/fault"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// ActionName names a transition.
type ActionName string

// Actions of the state machine.
const (
	// ActReceive accepts a submitted application (tiếp nhận).
	ActReceive ActionName = "receive"
	// ActReject refuses it (từ chối), with a reason.
	ActReject ActionName = "reject"
	// ActStart starts processing a received application.
	ActStart ActionName = "start"
	// ActRequestSupplement asks the applicant for missing documents.
	ActRequestSupplement ActionName = "request_supplement"
	// ActResume resumes processing once the supplement arrived.
	ActResume ActionName = "resume"
	// ActRequirePayment asks for the (unpaid) fee.
	ActRequirePayment ActionName = "require_payment"
	// ActComplete records the result (có kết quả).
	ActComplete ActionName = "complete"
	// ActReturn hands the result over (trả kết quả).
	ActReturn ActionName = "return"
	// ActCancel is the applicant withdrawing the application (PIN
	// checked by the caller).
	ActCancel ActionName = "cancel"
)

// Actions lists every action in lifecycle order.
var Actions = []ActionName{
	ActReceive, ActReject, ActStart, ActRequestSupplement, ActResume,
	ActRequirePayment, ActComplete, ActReturn, ActCancel,
}

// Event types published for the actions (application.<past tense>, like
// EventSubmitted and EventCancelled).
const (
	// EventReceived follows ActReceive.
	EventReceived = "application.received"
	// EventRejected follows ActReject.
	EventRejected = "application.rejected"
	// EventProcessingStarted follows ActStart.
	EventProcessingStarted = "application.processing_started"
	// EventSupplementRequested follows ActRequestSupplement.
	EventSupplementRequested = "application.supplement_requested"
	// EventResumed follows ActResume.
	EventResumed = "application.resumed"
	// EventPaymentRequired follows ActRequirePayment.
	EventPaymentRequired = "application.payment_required"
	// EventProcessed follows ActComplete.
	EventProcessed = "application.processed"
	// EventReturned follows ActReturn.
	EventReturned = "application.returned"
)

// transition is one row of the state machine.
type transition struct {
	from  []Status
	to    Status
	event string
	// citizen is true for the applicant's action; staff actions are the others.
	citizen bool
}

var transitions = map[ActionName]transition{
	ActReceive:           {from: []Status{StatusSubmitted}, to: StatusReceived, event: EventReceived},
	ActReject:            {from: []Status{StatusSubmitted, StatusReceived}, to: StatusRejected, event: EventRejected},
	ActStart:             {from: []Status{StatusReceived}, to: StatusProcessing, event: EventProcessingStarted},
	ActRequestSupplement: {from: []Status{StatusReceived, StatusProcessing}, to: StatusSupplementRequested, event: EventSupplementRequested},
	ActResume:            {from: []Status{StatusSupplementRequested}, to: StatusProcessing, event: EventResumed},
	ActRequirePayment:    {from: []Status{StatusProcessing}, to: StatusAwaitingPayment, event: EventPaymentRequired},
	ActComplete:          {from: []Status{StatusProcessing}, to: StatusProcessed, event: EventProcessed},
	ActReturn:            {from: []Status{StatusProcessed}, to: StatusReturned, event: EventReturned},
	ActCancel:            {from: []Status{StatusSubmitted}, to: StatusCancelled, event: EventCancelled, citizen: true},
}

// Allowed reports whether action may be applied in status (ignoring the
// action's parameters and the actor).
func Allowed(status Status, action ActionName) bool {
	t, ok := transitions[action]
	return ok && slices.Contains(t.from, status)
}

// AllowedFor reports whether action may be applied to app as it is now: the
// status allows it and its preconditions on the application hold (a fee to
// ask for before require_payment). The staff view offers only these.
func AllowedFor(app Application, action ActionName) bool {
	if !Allowed(app.Status, action) {
		return false
	}
	if action == ActRequirePayment {
		return hasFeeToAsk(app)
	}
	return true
}

// hasFeeToAsk reports whether the application has an unpaid fee.
func hasFeeToAsk(app Application) bool {
	return app.Fee.AmountVND > 0 && app.Fee.PaymentState != PaymentPaid && app.Fee.PaymentState != PaymentNotRequired
}

// EventType returns the event type published after action ("" if unknown).
func EventType(action ActionName) string { return transitions[action].event }

// Result is the outcome document of a completed application.
type Result struct {
	// DocumentKey is the object key of the result document (e.g. the
	// signed decision in the uploads bucket).
	DocumentKey string `json:"documentKey"`
	// Description says what the result is, in Vietnamese (public).
	Description string `json:"description"`
}

// Delivery is how a result was handed over.
type Delivery struct {
	// Method is online or postal.
	Method string `json:"method"`
	// TrackingNumber is the postal tracking number (postal only).
	TrackingNumber string `json:"trackingNumber,omitempty"`
}

// Action is one requested transition with its parameters.
type Action struct {
	// Name is the transition.
	Name ActionName `json:"action"`
	// Reason explains a rejection (required for reject).
	Reason string `json:"reason,omitempty"`
	// Missing lists what the applicant must supplement (required for
	// request_supplement).
	Missing []string `json:"missing,omitempty"`
	// Result is the outcome (required for complete).
	Result *Result `json:"result,omitempty"`
	// Delivery is how the result went back (required for return).
	Delivery *Delivery `json:"delivery,omitempty"`
	// Note is an optional public remark for the other actions.
	Note string `json:"note,omitempty"`
}

// ActorKind says who acts.
type ActorKind string

// Actor kinds.
const (
	// ActorKindStaff is an officer of an agency.
	ActorKindStaff ActorKind = "staff"
	// ActorKindCitizen is the applicant (authenticated by PIN).
	ActorKindCitizen ActorKind = "citizen"
)

// Actor is who applies an action.
type Actor struct {
	// Kind is staff or citizen.
	Kind ActorKind
	// Agency is the officer's agency code (staff).
	Agency string
	// Officer is the officer's id (staff); kept in the audit trail only.
	Officer string
}

// StaffActor returns the actor of a verified staff token.
func StaffActor(c staffauth.Claims) Actor {
	return Actor{Kind: ActorKindStaff, Agency: c.Agency, Officer: c.Subject}
}

// Errors of the state machine, on top of errors.go's.
var (
	// ErrIllegalTransition means the action is not allowed from the
	// current status; the problem carries current_status.
	ErrIllegalTransition = fault.New(domain, "illegal_transition", http.StatusConflict,
		"Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.",
		"This action is not allowed in the application's current status.")
	// ErrConcurrentUpdate means another request changed the application
	// between read and write; the problem carries current_status.
	ErrConcurrentUpdate = fault.New(domain, "concurrent_update", http.StatusConflict,
		"Hồ sơ vừa được cập nhật bởi người khác; vui lòng tải lại và thử lại.",
		"The application was changed by someone else meanwhile; reload it and try again.")
	// ErrActorNotAllowed means the actor may not take this action (a
	// citizen on a staff action, staff on the applicant's cancel).
	ErrActorNotAllowed = fault.New(domain, "actor_not_allowed", http.StatusForbidden,
		"Bạn không có quyền thực hiện thao tác này.",
		"You may not take this action.")
	// ErrNothingToPay means require_payment on a free or paid application.
	ErrNothingToPay = fault.New(domain, "nothing_to_pay", http.StatusConflict,
		"Hồ sơ không có phí, lệ phí phải thanh toán.",
		"The application has no unpaid fee.")
	// ErrUnknownAction means the action name is not one of Actions.
	ErrUnknownAction = fault.New(domain, "unknown_action", http.StatusUnprocessableEntity,
		"Thao tác không hợp lệ.",
		"Unknown action; use one of: "+strings.Join(actionNames(), ", ")+".")
)

func actionNames() []string {
	out := make([]string, len(Actions))
	for i, a := range Actions {
		out[i] = string(a)
	}
	return out
}

// ActionError is a missing or bad action parameter (422
// "validation_failed", naming the field).
type ActionError struct {
	// Field is the JSON field, e.g. "reason" or "delivery.trackingNumber".
	Field string
	// Code is the slug of the problem with the field ("required", "oneof").
	Code string
	// En and Vi explain it.
	En, Vi string
}

// Error implements error.
func (e *ActionError) Error() string { return "application: " + e.Field + ": " + e.En }

// ProblemCode is "validation_failed".
func (e *ActionError) ProblemCode() string { return "validation_failed" }

// StatusCode is 422.
func (e *ActionError) StatusCode() int { return http.StatusUnprocessableEntity }

// MessageEn is the English detail.
func (e *ActionError) MessageEn() string {
	return "The action is missing a parameter or has a bad one."
}

// MessageVi is the Vietnamese detail.
func (e *ActionError) MessageVi() string {
	return "Thao tác thiếu thông tin hoặc có thông tin không hợp lệ."
}

// ProblemFields names the bad field (httpx.ProblemFields).
func (e *ActionError) ProblemFields() [][4]string {
	return [][4]string{{e.Field, e.Code, e.En, e.Vi}}
}

// Parameter limits.
const (
	maxReason  = 2000
	maxMissing = 50
	maxItem    = 500
	maxKey     = 1024
)

// check validates a's parameters for its action and returns it normalised
// (NFC is the decoder's job; this trims and bounds).
func (a Action) check() (Action, error) {
	a.Reason = strings.TrimSpace(a.Reason)
	a.Note = strings.TrimSpace(a.Note)
	if len([]rune(a.Note)) > maxReason {
		return a, &ActionError{"note", "max", fmt.Sprintf("At most %d characters.", maxReason), fmt.Sprintf("Tối đa %d ký tự.", maxReason)}
	}
	switch a.Name {
	case ActReject:
		if a.Reason == "" {
			return a, &ActionError{"reason", "required", "A reason is required to reject an application.", "Phải nêu lý do từ chối hồ sơ."}
		}
		if len([]rune(a.Reason)) > maxReason {
			return a, &ActionError{"reason", "max", fmt.Sprintf("At most %d characters.", maxReason), fmt.Sprintf("Tối đa %d ký tự.", maxReason)}
		}
	case ActRequestSupplement:
		var items []string
		for _, m := range a.Missing {
			if m = strings.TrimSpace(m); m != "" {
				items = append(items, m)
			}
		}
		if len(items) == 0 {
			return a, &ActionError{"missing", "required", "List what the applicant must supplement.", "Phải nêu rõ thành phần hồ sơ cần bổ sung."}
		}
		if len(items) > maxMissing {
			return a, &ActionError{"missing", "max", fmt.Sprintf("At most %d items.", maxMissing), fmt.Sprintf("Tối đa %d mục.", maxMissing)}
		}
		for _, m := range items {
			if len([]rune(m)) > maxItem {
				return a, &ActionError{"missing", "max", fmt.Sprintf("Each item has at most %d characters.", maxItem), fmt.Sprintf("Mỗi mục tối đa %d ký tự.", maxItem)}
			}
		}
		a.Missing = items
	case ActComplete:
		if a.Result == nil || strings.TrimSpace(a.Result.DocumentKey) == "" {
			return a, &ActionError{"result.documentKey", "required", "The result document is required.", "Phải có văn bản kết quả giải quyết."}
		}
		r := Result{DocumentKey: strings.TrimSpace(a.Result.DocumentKey), Description: strings.TrimSpace(a.Result.Description)}
		if r.Description == "" {
			return a, &ActionError{"result.description", "required", "Describe the result.", "Phải mô tả kết quả giải quyết."}
		}
		if len(r.DocumentKey) > maxKey || len([]rune(r.Description)) > maxReason {
			return a, &ActionError{"result", "max", "The result key or description is too long.", "Khóa hoặc mô tả kết quả quá dài."}
		}
		a.Result = &r
	case ActReturn:
		if a.Delivery == nil || a.Delivery.Method == "" {
			return a, &ActionError{"delivery.method", "required", "Say how the result was returned (online or postal).", "Phải nêu hình thức trả kết quả (online hoặc postal)."}
		}
		d := Delivery{Method: strings.TrimSpace(a.Delivery.Method), TrackingNumber: strings.TrimSpace(a.Delivery.TrackingNumber)}
		switch d.Method {
		case DeliveryOnline:
			d.TrackingNumber = ""
		case DeliveryPostal:
			if d.TrackingNumber == "" {
				return a, &ActionError{"delivery.trackingNumber", "required", "A postal return needs the tracking number.", "Trả kết quả qua bưu chính phải có mã vận đơn."}
			}
			if len(d.TrackingNumber) > 64 {
				return a, &ActionError{"delivery.trackingNumber", "max", "At most 64 characters.", "Tối đa 64 ký tự."}
			}
		default:
			return a, &ActionError{"delivery.method", "oneof", "Must be online or postal.", "Phải là online hoặc postal."}
		}
		a.Delivery = &d
	}
	return a, nil
}

var (
	calOnce sync.Once
	cal     *workdays.Calendar
	calErr  error
)

// DefaultCalendar is the working-day calendar Apply uses: the embedded
// Vietnamese calendar merged with MOTCUA_HOLIDAYS_FILE, loaded once.
func DefaultCalendar() (*workdays.Calendar, error) {
	calOnce.Do(func() { cal, calErr = workdays.FromEnv(os.Getenv) })
	return cal, calErr
}

// Apply applies action by actor at now to app with DefaultCalendar: it
// checks the transition, the actor and the parameters, changes app (status,
// dates, fee state) and appends the step to app.Timeline, returning that
// Event (its EventID is left for the caller to set). On error app is left
// unchanged. Errors: ErrUnknownAction, ErrIllegalTransition (409 with
// current_status), ErrActorNotAllowed (403), ErrNothingToPay (409),
// *ActionError (422).
func Apply(app *Application, action Action, actor Actor, now time.Time) (Event, error) {
	c, err := DefaultCalendar()
	if err != nil {
		return Event{}, fmt.Errorf("apply %s: %w", action.Name, err)
	}
	return ApplyWith(c, app, action, actor, now)
}

// ApplyWith is Apply with an explicit calendar.
func ApplyWith(c *workdays.Calendar, app *Application, action Action, actor Actor, now time.Time) (Event, error) {
	t, ok := transitions[action.Name]
	if !ok {
		return Event{}, ErrUnknownAction
	}
	if !slices.Contains(t.from, app.Status) {
		return Event{}, withStatus(ErrIllegalTransition, app.Status)
	}
	switch {
	case t.citizen && actor.Kind != ActorKindCitizen,
		!t.citizen && (actor.Kind != ActorKindStaff || actor.Agency == ""):
		return Event{}, ErrActorNotAllowed
	}
	action, err := action.check()
	if err != nil {
		return Event{}, err
	}
	if action.Name == ActRequirePayment && !hasFeeToAsk(*app) {
		return Event{}, withStatus(ErrNothingToPay, app.Status)
	}
	now = now.UTC()
	next := *app
	next.Status = t.to
	note := action.Note
	switch action.Name {
	case ActReceive:
		at := now
		next.ReceivedAt = &at
		next.DueAt = c.AddWorkingDays(now, app.ProcessingDays).UTC()
	case ActReject:
		at := now
		next.SettledAt = &at
		note = action.Reason
	case ActRequestSupplement:
		note = "Cần bổ sung: " + strings.Join(action.Missing, "; ")
	case ActResume:
		if since, ok := supplementRequestedAt(*app); ok && !next.DueAt.IsZero() {
			if paused := c.WorkingDaysBetween(since, now); paused > 0 {
				next.DueAt = c.AddWorkingDays(next.DueAt, paused).UTC()
			}
		}
	case ActRequirePayment:
		next.Fee.PaymentState = PaymentUnpaid
	case ActComplete:
		at := now
		next.SettledAt = &at
		next.Settlement = workdays.Settlement(next.DueAt, now)
		note = action.Result.Description
		next.Result = &ResultRecord{DocumentKey: action.Result.DocumentKey, Description: action.Result.Description, RecordedAt: now}
	case ActReturn:
		next.Delivery = &DeliveryRecord{Method: action.Delivery.Method, TrackingNumber: action.Delivery.TrackingNumber, ReturnedAt: now}
		if action.Delivery.Method == DeliveryPostal {
			note = "Trả kết quả qua bưu chính, mã vận đơn " + action.Delivery.TrackingNumber
		} else {
			note = "Trả kết quả trực tuyến"
		}
	}
	ev := Event{At: now, Status: t.to, Actor: actor.Agency, Note: note}
	if t.citizen {
		ev.Actor = ActorCitizen
	}
	next.Timeline = append(slices.Clip(app.Timeline), ev)
	*app = next
	return ev, nil
}

// supplementRequestedAt returns when the pending supplement was asked for:
// the latest timeline entry entering supplement_requested.
func supplementRequestedAt(a Application) (time.Time, bool) {
	for i := len(a.Timeline) - 1; i >= 0; i-- {
		if a.Timeline[i].Status == StatusSupplementRequested {
			return a.Timeline[i].At, true
		}
	}
	return time.Time{}, false
}

// statusLabels are the Vietnamese names of the statuses as the national
// portal shows them.
var statusLabels = map[Status]string{
	StatusSubmitted:           "Đã nộp, chờ tiếp nhận",
	StatusReceived:            "Đã tiếp nhận",
	StatusRejected:            "Từ chối tiếp nhận",
	StatusProcessing:          "Đang xử lý",
	StatusSupplementRequested: "Yêu cầu bổ sung hồ sơ",
	StatusAwaitingPayment:     "Chờ thanh toán phí, lệ phí",
	StatusProcessed:           "Đã có kết quả",
	StatusReturned:            "Đã trả kết quả",
	StatusCancelled:           "Đã rút hồ sơ",
}

// settlementLabels are the short Vietnamese names of the settlement classes.
var settlementLabels = map[string]string{
	workdays.Early:  "Sớm hạn",
	workdays.OnTime: "Đúng hạn",
	workdays.Late:   "Trễ hạn",
}

// SettlementLabelVi returns the short Vietnamese label of a settlement class
// (early, on_time, late); the class itself if unknown.
func SettlementLabelVi(s string) string {
	if l, ok := settlementLabels[s]; ok {
		return l
	}
	return s
}

// StatusLabelVi returns the Vietnamese label of s (s itself if unknown).
func StatusLabelVi(s Status) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}
