package stats

import (
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/rating"
	"motcua/shared/workdays"
)

// Place is where a document's contribution for one month is kept: the
// month (YYYY-MM, Asia/Ho_Chi_Minh) and the responsible agency's code.
type Place struct {
	// Month is YYYY-MM.
	Month string `json:"m"`
	// Agency is the agency code ("_" when unknown).
	Agency string `json:"a"`
}

// Contribution is everything one source document adds to the indicators:
// its counters per place, all in one cell (field and procedure level) of
// the agency. It is a pure function of the document (and, for an
// application, its rating and the catalog), which is what makes the
// incremental figures equal to a rebuild's.
type Contribution struct {
	// Doc identifies the source document: "a:<code>" or "f:<id>".
	Doc string
	// Version is the source document's version; an older version never
	// replaces a newer one.
	Version int64
	// Cell is the scope cell within the agency (CellKey).
	Cell string
	// Places holds the counters per month and agency.
	Places map[Place]Counters
}

// Procedure is what the indicators need from the catalog about one
// procedure.
type Procedure struct {
	// Field is the procedure's field (lĩnh vực).
	Field string
	// Level is province, district or commune.
	Level string
}

// ProcedureOf returns p's field and level.
func ProcedureOf(p catalog.Procedure) Procedure {
	return Procedure{Field: p.Field, Level: string(p.Level)}
}

// CellKey is the key of a scope cell inside an agency: field and
// procedure level joined by "|" (feedback items have no level).
func CellKey(field, level string) string { return field + "|" + level }

// splitCell is CellKey's inverse.
func splitCell(k string) (field, level string) {
	field, level, _ = strings.Cut(k, "|")
	return field, level
}

// MonthOf returns t's month (YYYY-MM) in Asia/Ho_Chi_Minh.
func MonthOf(t time.Time) string { return t.In(workdays.Location).Format("2006-01") }

// DayOf returns t's day (YYYY-MM-DD) in Asia/Ho_Chi_Minh.
func DayOf(t time.Time) string { return t.In(workdays.Location).Format(time.DateOnly) }

func agencyKey(code string) string {
	if code = strings.TrimSpace(code); code == "" {
		return "_"
	}
	return code
}

// ApplicationDoc is the Doc of an application's contribution.
func ApplicationDoc(code string) string { return "a:" + code }

// FeedbackDoc is the Doc of a feedback item's contribution.
func FeedbackDoc(id string) string { return "f:" + id }

// onlinePayment reports whether a payment method is an online one. Every
// method the portal takes (VNPAY, VietQR transfer) is; a method this code
// does not know (e.g. cash at the counter, if staff ever record it) is not.
func onlinePayment(method string) bool {
	switch strings.ToLower(method) {
	case "vnpay", "vietqr", "bank", "card", "ewallet":
		return true
	}
	return false
}

// Supplements counts the supplement requests in a's timeline (entries
// entering supplement_requested). The application document has no counter
// of its own; the timeline is the record.
func Supplements(a application.Application) int {
	n := 0
	for _, e := range a.Timeline {
		if e.Status == application.StatusSupplementRequested {
			n++
		}
	}
	return n
}

// Classify returns an application's settlement class under Decision
// 766/QĐ-TTg ("early", "on_time" or "late", "" when not settled with a
// result): the class the document recorded when it was completed (settled
// day against the due day, the due day already pushed back by the working
// days spent waiting for the citizen's supplement), except that more than
// one supplement request makes it late whatever the dates.
func Classify(a application.Application) string {
	if a.SettledAt == nil || a.Status == application.StatusRejected || !settledWithResult(a) {
		return ""
	}
	if Supplements(a) > 1 {
		return workdays.Late
	}
	if a.Settlement != "" {
		return a.Settlement
	}
	return workdays.Settlement(a.DueAt, *a.SettledAt)
}

func settledWithResult(a application.Application) bool {
	return a.Status == application.StatusProcessed || a.Status == application.StatusReturned
}

// returnedAt finds the step that handed the result over (its time, the
// month the result counts in) and whether the applicant received the
// result electronically.
//
// Electronic delivery is read from the explicit record: the applicant's
// first download of the result document sets delivery.electronicDeliveredAt
// (shared/application ResultDownloads, with the result_downloaded timeline
// entry and event), so a result returned "online" that nobody downloaded is
// not counted as delivered electronically, and a result the applicant
// downloaded counts whatever the return method. The result still counts in
// the month of its return, like results_returned, so the share is a share
// of the same results; a later download changes that month's figure (the
// contribution is replaced, not added).
//
// Documents written before that record existed have no delivery at all
// (return recorded only in the timeline): for them the old rule stands,
// the return step's public note ("Trả kết quả qua bưu chính, …" for a
// postal return, "Trả kết quả trực tuyến" otherwise).
func returnedAt(a application.Application) (time.Time, bool, bool) {
	for _, e := range a.Timeline {
		if e.Status == application.StatusReturned {
			if a.Delivery != nil {
				return e.At, a.Delivery.ElectronicDeliveredAt != nil, true
			}
			return e.At, !strings.HasPrefix(e.Note, "Trả kết quả qua bưu chính"), true
		}
	}
	return time.Time{}, false, false
}

// ApplicationContribution computes an application's contribution. proc is
// the procedure's catalog data (zero when the catalog no longer has it);
// r is its satisfaction rating, nil when none.
//
// Months: filing figures (received, channel, open, overdue, fee due and
// paid online, procedures) count in the submission month; early / on time
// / late and refused in the month of settlement; fees collected in the
// month of payment; results returned in the month of return; the rating in
// the month it was given. Every one of those dates is set once, so an
// application's places only ever grow.
func ApplicationContribution(a application.Application, proc Procedure, r *rating.Rating) Contribution {
	agency := agencyKey(a.Agency.Code)
	// The rating is a separate document written once after the return (a
	// final status), so 2×version + 1 orders "rated" after every version
	// of the application, and a late computation that missed the rating
	// cannot replace one that saw it.
	v := 2 * int64(a.Version)
	if r != nil {
		v++
	}
	c := Contribution{Doc: ApplicationDoc(a.Code), Version: v, Cell: CellKey(proc.Field, proc.Level), Places: map[Place]Counters{}}
	add := func(t time.Time, f func(*Counters)) {
		p := Place{Month: MonthOf(t), Agency: agency}
		k := c.Places[p]
		f(&k)
		c.Places[p] = k
	}
	add(a.SubmittedAt, func(k *Counters) {
		k.Received = 1
		switch a.Channel {
		case application.ChannelOnline:
			k.Online = 1
		case application.ChannelDirect:
			k.Direct = 1
		case application.ChannelPostal:
			k.Postal = 1
		}
		k.Procedures = map[string]int64{a.ProcedureCode: 1}
		switch {
		case a.Status == application.StatusCancelled:
			k.Cancelled = 1
		case a.SettledAt == nil:
			k.Open = 1
			k.OpenDue = map[string]int64{DayOf(a.DueAt): 1}
		}
		if a.Fee.AmountVND > 0 {
			k.FeeDue = 1
			if a.Fee.PaymentState == application.PaymentPaid && onlinePayment(a.Fee.PaymentMethod) {
				k.PaidOnline = 1
			}
		}
	})
	if a.Fee.PaymentState == application.PaymentPaid && a.Fee.PaidAt != nil && a.Fee.AmountVND > 0 {
		add(*a.Fee.PaidAt, func(k *Counters) { k.FeesVND = a.Fee.AmountVND })
	}
	if a.SettledAt != nil {
		if a.Status == application.StatusRejected {
			add(*a.SettledAt, func(k *Counters) { k.Refused = 1 })
		} else {
			switch Classify(a) {
			case workdays.Early:
				add(*a.SettledAt, func(k *Counters) { k.Early = 1 })
			case workdays.OnTime:
				add(*a.SettledAt, func(k *Counters) { k.OnTime = 1 })
			case workdays.Late:
				add(*a.SettledAt, func(k *Counters) { k.Late = 1 })
			}
		}
	}
	if at, online, ok := returnedAt(a); ok {
		add(at, func(k *Counters) {
			k.Returned = 1
			if online {
				k.ReturnedOnline = 1
			}
		})
	}
	if r != nil && r.Overall >= rating.MinScore {
		add(r.At, func(k *Counters) {
			k.Ratings, k.RatingSum = 1, int64(r.Overall)
			if r.Time != nil {
				k.TimeN, k.TimeSum = 1, int64(*r.Time)
			}
			if r.Attitude != nil {
				k.AttitudeN, k.AttitudeSum = 1, int64(*r.Attitude)
			}
			if r.Simplicity != nil {
				k.SimplicityN, k.SimplicitySum = 1, int64(*r.Simplicity)
			}
		})
	}
	return c
}
