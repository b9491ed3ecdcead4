package application

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/workdays"
)

// APITime is how every time leaves the API: RFC 3339 in Asia/Ho_Chi_Minh
// (+07:00), whatever zone it was stored in.
func APITime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(workdays.Location)
}

// InAPIZone returns a copy of a with every time in Asia/Ho_Chi_Minh, for
// answers (the stored document keeps whatever zone it was written in).
func (a Application) InAPIZone() Application {
	a.SubmittedAt, a.DueAt = APITime(a.SubmittedAt), APITime(a.DueAt)
	a.ReceivedAt, a.SettledAt = apiTimePtr(a.ReceivedAt), apiTimePtr(a.SettledAt)
	a.Fee.PaidAt = apiTimePtr(a.Fee.PaidAt)
	a.Timeline = eventsInAPIZone(a.Timeline)
	a.Documents = documentsInAPIZone(a.Documents)
	return a
}

func eventsInAPIZone(in []Event) []Event {
	if in == nil {
		return nil
	}
	out := make([]Event, len(in))
	for i, e := range in {
		e.At = APITime(e.At)
		out[i] = e
	}
	return out
}

func documentsInAPIZone(in []Document) []Document {
	if in == nil {
		return nil
	}
	out := make([]Document, len(in))
	for i, d := range in {
		d.UploadedAt = apiTimePtr(d.UploadedAt)
		if d.Rejection != nil {
			r := *d.Rejection
			r.At = APITime(r.At)
			d.Rejection = &r
		}
		out[i] = d
	}
	return out
}

func apiTimePtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := APITime(*t)
	return &v
}

// StatusQuery is the look-up request (POST body or GET query parameters).
type StatusQuery struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// PIN is the 8-digit look-up PIN given at submission.
	PIN string `json:"pin" validate:"required,max=32"`
}

// NamedRef is a code with its name.
type NamedRef struct {
	// Code identifies it.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
}

// TimelineStep is one public timeline entry.
type TimelineStep struct {
	// At is when it happened (RFC 3339, Asia/Ho_Chi_Minh).
	At time.Time `json:"at"`
	// Step is the status entered.
	Step Status `json:"step"`
	// StepLabel is its Vietnamese label.
	StepLabel string `json:"stepLabel"`
	// Who is the agency's name, "Người nộp hồ sơ" or "Hệ thống"; never an officer.
	Who string `json:"who"`
	// Note is the public explanation, if any.
	Note string `json:"note,omitempty"`
}

// FeeView is the fee and its payment state.
type FeeView struct {
	// AmountVND is the amount due in đồng.
	AmountVND int64 `json:"amountVND"`
	// Kind is fee, charge or free.
	Kind string `json:"kind"`
	// PaymentState is not_required, unpaid or paid.
	PaymentState string `json:"paymentState"`
	// PaymentRef, PaymentMethod and PaidAt say which payment paid the fee
	// (present once paid).
	PaymentRef    string     `json:"paymentRef,omitempty"`
	PaymentMethod string     `json:"paymentMethod,omitempty"`
	PaidAt        *time.Time `json:"paidAt,omitempty"`
}

// DocumentView is one declared document and whether it was uploaded.
type DocumentView struct {
	// Code is the catalog document code.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
	// Required mirrors the catalog.
	Required bool `json:"required"`
	// Uploaded is true once the file arrived.
	Uploaded bool `json:"uploaded"`
}

// ReceiptLink is the link to the fee receipt (null until receipts are issued).
type ReceiptLink struct {
	// Number is the receipt's number in its series.
	Number string `json:"number"`
	// URL verifies or downloads it.
	URL string `json:"url"`
}

// StatusView is the answer of a successful status look-up.
type StatusView struct {
	// Code is the application code.
	Code string `json:"code"`
	// Procedure is the catalog procedure.
	Procedure NamedRef `json:"procedure"`
	// Agency settles the
	Agency NamedRef `json:"agency"`
	// Status is the current status and StatusLabel its Vietnamese label.
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// SubmittedAt, ReceivedAt, DueAt and SettledAt are the key dates.
	SubmittedAt time.Time  `json:"submittedAt"`
	ReceivedAt  *time.Time `json:"receivedAt"`
	DueAt       *time.Time `json:"dueAt"`
	SettledAt   *time.Time `json:"settledAt"`
	// WorkingDaysLeft counts working days until the due day (0 = due
	// today) while the application is open and not overdue; null otherwise.
	WorkingDaysLeft *int `json:"workingDaysLeft"`
	// WorkingDaysLate counts working days past the due day (open and
	// overdue, or settled late); null otherwise.
	WorkingDaysLate *int `json:"workingDaysLate"`
	// Settlement is early, on_time or late once settled; null before.
	Settlement *string `json:"settlement"`
	// Fee is the fee and its payment state.
	Fee FeeView `json:"fee"`
	// Timeline lists every step, oldest first.
	Timeline []TimelineStep `json:"timeline"`
	// Documents lists the declared documents.
	Documents []DocumentView `json:"documents"`
	// Receipt is the fee receipt once issued; null until then.
	Receipt *ReceiptLink `json:"receipt"`
}

// closed reports statuses in which the legal clock no longer runs.
func closed(s Status) bool {
	switch s {
	case StatusRejected, StatusProcessed, StatusReturned, StatusCancelled:
		return true
	}
	return false
}

// BuildStatus makes the citizen's view of a at now: agencies by name,
// never officers; no applicant data; dates in Asia/Ho_Chi_Minh.
func BuildStatus(a Application, cal *workdays.Calendar, now time.Time) StatusView {
	s := StatusView{
		Code: a.Code, Procedure: NamedRef{a.ProcedureCode, a.ProcedureName}, Agency: NamedRef{a.Agency.Code, a.Agency.Name},
		Status: a.Status, StatusLabel: StatusLabelVi(a.Status),
		SubmittedAt: APITime(a.SubmittedAt), ReceivedAt: apiTimePtr(a.ReceivedAt), SettledAt: apiTimePtr(a.SettledAt),
		Fee:       NewFeeView(a.Fee),
		Timeline:  make([]TimelineStep, 0, len(a.Timeline)),
		Documents: make([]DocumentView, 0, len(a.Documents)),
	}
	if !a.DueAt.IsZero() {
		due := APITime(a.DueAt)
		s.DueAt = &due
		switch {
		case a.Settlement != "":
			v := a.Settlement
			s.Settlement = &v
			if a.SettledAt != nil && a.Settlement == workdays.Late {
				late := max(0, cal.WorkingDaysBetween(a.DueAt, *a.SettledAt))
				s.WorkingDaysLate = &late
			}
		case !closed(a.Status):
			if n := cal.WorkingDaysBetween(now, a.DueAt); n >= 0 {
				s.WorkingDaysLeft = &n
			} else {
				late := -n
				s.WorkingDaysLate = &late
			}
		}
	}
	for _, e := range a.Timeline {
		s.Timeline = append(s.Timeline, TimelineStep{At: APITime(e.At), Step: e.Status, StepLabel: StatusLabelVi(e.Status), Who: who(a, e.Actor), Note: e.Note})
	}
	for _, d := range a.Documents {
		s.Documents = append(s.Documents, DocumentView{d.Code, d.Name, d.Required, d.Uploaded})
	}
	return s
}

// who names an actor for citizens: agencies by name, never officers.
func who(a Application, actor string) string {
	switch {
	case actor == ActorCitizen:
		return "Người nộp hồ sơ"
	case actor == ActorSystem || actor == "":
		return "Hệ thống"
	case strings.EqualFold(actor, a.Agency.Code) && a.Agency.Name != "":
		return a.Agency.Name
	default:
		return actor
	}
}

// NewFeeView is the citizen's view of the fee, with the payment once paid.
func NewFeeView(f Fee) FeeView {
	return FeeView{AmountVND: f.AmountVND, Kind: f.Kind, PaymentState: f.PaymentState, PaymentRef: f.PaymentRef,
		PaymentMethod: f.PaymentMethod, PaidAt: apiTimePtr(f.PaidAt)}
}

// statusNotFound is the one answer for an unknown code and a wrong PIN.
func statusNotFound() *httpx.Problem {
	return httpx.NewProblem(http.StatusNotFound, "application_not_found", "Not Found", httpx.StatusTitleVi(http.StatusNotFound)).
		WithDetail("No application matches this code and PIN. Check both and try again.",
			"Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu (PIN) đã nhập. Vui lòng kiểm tra lại.")
}

// StatusHTTP serves the application-status function: the applicant's
// look-up (tra cứu hồ sơ) by code and PIN through the citizen guard.
//
//	POST {"code": "STP-260302-0001", "pin": "12345678"}   preferred: the PIN stays out of URLs and logs
//	GET  ?code=STP-260302-0001&pin=12345678               for simple links and clients
//
// 200 answers a StatusView. A wrong PIN and an unknown code get the same
// 404 "application_not_found" at the same cost; a malformed code is a 400
// naming "code"; throttled guesses get 429 "too_many_attempts" with
// Retry-After (see shared/citizenguard).
type StatusHTTP struct {
	access *Access
	cal    *workdays.Calendar
	now    func() time.Time
	log    *slog.Logger
}

// NewStatusHTTP returns the look-up API; now and log may be nil.
func NewStatusHTTP(access *Access, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) *StatusHTTP {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &StatusHTTP{access: access, cal: cal, now: now, log: log}
}

// Methods are the HTTP methods the look-up answers.
func (h *StatusHTTP) Methods() []string { return []string{http.MethodPost, http.MethodGet} }

// Serve answers one GET or POST.
func (h *StatusHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, h.Methods()...); p != nil {
		return httpx.ProblemResponse(p)
	}
	var q StatusQuery
	if strings.EqualFold(req.Method, http.MethodGet) {
		v := httpx.Query(req)
		q = StatusQuery{Code: v.Get("code"), PIN: v.Get("pin")}
	} else if err := httpx.DecodeJSON(req, &q, httpx.MaxBytes(4<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	q.Code, q.PIN = strings.TrimSpace(q.Code), strings.TrimSpace(q.PIN)
	if err := httpx.Validate(&q); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	code, err := ParseCode(q.Code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	a, err := h.access.Authorize(ctx, code, q.PIN, h.access.Guard().Client(req.Header))
	if errors.Is(err, ErrWrongPIN) {
		return httpx.FromError(ctx, h.log, statusNotFound())
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, BuildStatus(a, h.cal, h.now()), http.Header{"Cache-Control": {"no-store"}})
}
