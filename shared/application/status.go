package application

import (
	"strings"
	"time"

	"motcua/shared/workdays"
)

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
	// Kind is "" for a status step, "result_downloaded" for the first
	// electronic delivery of the result (TimelineResultDownloaded).
	Kind string `json:"kind,omitempty"`
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
	// SettlementLabel is its short Vietnamese label (Sớm hạn, Đúng hạn,
	// Trễ hạn); null before.
	SettlementLabel *string `json:"settlementLabel"`
	// Result is the result once issued (with the postal tracking number or
	// the electronic download); null before.
	Result *ResultView `json:"result"`
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
			v, l := a.Settlement, SettlementLabelVi(a.Settlement)
			s.Settlement, s.SettlementLabel = &v, &l
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
	s.Result = newResultView(a)
	for _, e := range a.Timeline {
		s.Timeline = append(s.Timeline, TimelineStep{At: APITime(e.At), Step: e.Status, StepLabel: StatusLabelVi(e.Status), Who: who(a, e.Actor), Note: e.Note, Kind: e.Kind})
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
