package function

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/throttle"
	"motcua/shared/workdays"
)

// Query is the look-up request (POST body or GET query parameters).
type Query struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// PIN is the 8-digit look-up PIN given at submission.
	PIN string `json:"pin" validate:"required,max=32"`
}

// Named is a code with its name.
type Named struct {
	// Code identifies it.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
}

// Step is one public timeline entry.
type Step struct {
	// At is when it happened (RFC 3339, UTC).
	At time.Time `json:"at"`
	// Step is the status entered.
	Step application.Status `json:"step"`
	// StepLabel is its Vietnamese label.
	StepLabel string `json:"stepLabel"`
	// Who is the agency's name, "Người nộp hồ sơ" or "Hệ thống"; never an officer.
	Who string `json:"who"`
	// Note is the public explanation, if any.
	Note string `json:"note,omitempty"`
}

// Fee is the fee and its payment state.
type Fee struct {
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

// DocumentState is one declared document and whether it was uploaded.
type DocumentState struct {
	// Code is the catalog document code.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
	// Required mirrors the catalog.
	Required bool `json:"required"`
	// Uploaded is true once the file arrived.
	Uploaded bool `json:"uploaded"`
}

// Receipt is the link to the fee receipt.
type Receipt struct {
	// Number is the receipt's number in its series.
	Number string `json:"number"`
	// URL verifies or downloads it.
	URL string `json:"url"`
}

// Status is the answer of a successful look-up.
type Status struct {
	// Code is the application code.
	Code string `json:"code"`
	// Procedure is the catalog procedure.
	Procedure Named `json:"procedure"`
	// Agency settles the application.
	Agency Named `json:"agency"`
	// Status is the current status and StatusLabel its Vietnamese label.
	Status      application.Status `json:"status"`
	StatusLabel string             `json:"statusLabel"`
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
	Fee Fee `json:"fee"`
	// Timeline lists every step, oldest first.
	Timeline []Step `json:"timeline"`
	// Documents lists the declared documents.
	Documents []DocumentState `json:"documents"`
	// Receipt is the fee receipt once issued; null until then.
	Receipt *Receipt `json:"receipt"`
}

// closed reports statuses in which the legal clock no longer runs.
func closed(s application.Status) bool {
	switch s {
	case application.StatusRejected, application.StatusProcessed, application.StatusReturned, application.StatusCancelled:
		return true
	}
	return false
}

// buildStatus makes the public view of a at now.
func buildStatus(a application.Application, cal *workdays.Calendar, now time.Time) Status {
	s := Status{
		Code: a.Code, Procedure: Named{a.ProcedureCode, a.ProcedureName}, Agency: Named{a.Agency.Code, a.Agency.Name},
		Status: a.Status, StatusLabel: application.StatusLabelVi(a.Status),
		SubmittedAt: a.SubmittedAt.UTC(), ReceivedAt: a.ReceivedAt, SettledAt: a.SettledAt,
		Fee:       feeView(a.Fee),
		Timeline:  make([]Step, 0, len(a.Timeline)),
		Documents: make([]DocumentState, 0, len(a.Documents)),
	}
	if !a.DueAt.IsZero() {
		due := a.DueAt.UTC()
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
		s.Timeline = append(s.Timeline, Step{At: e.At.UTC(), Step: e.Status, StepLabel: application.StatusLabelVi(e.Status), Who: who(a, e.Actor), Note: e.Note})
	}
	for _, d := range a.Documents {
		s.Documents = append(s.Documents, DocumentState{d.Code, d.Name, d.Required, d.Uploaded})
	}
	return s
}

// who names an actor for citizens: agencies by name, never officers.
func who(a application.Application, actor string) string {
	switch {
	case actor == application.ActorCitizen:
		return "Người nộp hồ sơ"
	case actor == application.ActorSystem || actor == "":
		return "Hệ thống"
	case strings.EqualFold(actor, a.Agency.Code) && a.Agency.Name != "":
		return a.Agency.Name
	default:
		return actor
	}
}

// notFound is the one answer for an unknown code and a wrong PIN.
func notFound() *httpx.Problem {
	return httpx.NewProblem(http.StatusNotFound, "application_not_found", "Not Found", httpx.StatusTitleVi(http.StatusNotFound)).
		WithDetail("No application matches this code and PIN. Check both and try again.",
			"Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu (PIN) đã nhập. Vui lòng kiểm tra lại.")
}

// dummy carries a hash of the default cost, so unknown codes cost a PIN
// check too (PBKDF2 of 32 zero bytes; no PIN matches it in practice).
var dummy = application.Application{
	PINHash: "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	PINSalt: "AAAAAAAAAAAAAAAAAAAAAA",
}

// getter is what the look-up needs from the repository.
type getter interface {
	Get(ctx context.Context, code string) (application.Application, string, error)
}

// server answers look-ups.
type server struct {
	repo     getter
	throttle *throttle.Throttle
	cal      *workdays.Calendar
	now      func() time.Time
	log      *slog.Logger
	// receipt reads the receipt link (nil: not linked).
	receipt func(ctx context.Context, code string) (*Receipt, error)
}

func newServer(repo getter, t *throttle.Throttle, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) *server {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &server{repo: repo, throttle: t, cal: cal, now: now, log: log}
}

// serve answers one GET or POST.
func (s *server) serve(ctx context.Context, req handler.Request) handler.Response {
	var q Query
	if strings.EqualFold(req.Method, http.MethodGet) {
		v := httpx.Query(req)
		q = Query{Code: v.Get("code"), PIN: v.Get("pin")}
	} else if err := httpx.DecodeJSON(req, &q, httpx.MaxBytes(4<<10)); err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	q.Code, q.PIN = strings.TrimSpace(q.Code), strings.TrimSpace(q.PIN)
	if err := httpx.Validate(&q); err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	st, err := s.lookup(ctx, q, throttle.ClientAddress(http.Header(req.Header)))
	if err != nil {
		return httpx.FromError(ctx, s.log, err)
	}
	return httpx.JSON(http.StatusOK, st, http.Header{"Cache-Control": {"no-store"}})
}

// lookup checks the throttle, then code and PIN.
func (s *server) lookup(ctx context.Context, q Query, client string) (Status, error) {
	tk, err := s.throttle.Acquire(ctx, q.Code, client)
	if err != nil {
		return Status{}, err
	}
	a, _, err := s.repo.Get(ctx, q.Code)
	switch {
	case errors.Is(err, application.ErrNotFound):
		application.CheckPIN(dummy, q.PIN)
		s.log.InfoContext(ctx, "status look-up refused", "reason", "unknown_code_or_wrong_pin")
		return Status{}, notFound()
	case err != nil:
		if rerr := tk.Release(context.WithoutCancel(ctx)); rerr != nil {
			s.log.WarnContext(ctx, "throttle release failed", "error", rerr.Error())
		}
		return Status{}, err
	case !application.CheckPIN(a, q.PIN):
		s.log.InfoContext(ctx, "status look-up refused", "reason", "unknown_code_or_wrong_pin")
		return Status{}, notFound()
	}
	if err := tk.Succeed(context.WithoutCancel(ctx)); err != nil {
		s.log.WarnContext(ctx, "throttle success not recorded", "error", err.Error())
	}
	st := buildStatus(a, s.cal, s.now())
	if s.receipt != nil {
		r, err := s.receipt(ctx, a.Code)
		if err != nil {
			return Status{}, err
		}
		st.Receipt = r
	}
	return st, nil
}

// feeView is the citizen's view of the fee, with the payment once paid.
func feeView(f application.Fee) Fee {
	v := Fee{AmountVND: f.AmountVND, Kind: f.Kind, PaymentState: f.PaymentState, PaymentRef: f.PaymentRef, PaymentMethod: f.PaymentMethod}
	if f.PaidAt != nil && !f.PaidAt.IsZero() {
		t := *f.PaidAt
		v.PaidAt = &t
	}
	return v
}
