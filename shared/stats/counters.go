package stats

import "reflect"

// Counters are the additive figures of one document's contribution to one
// month (an Entry), and their sums (a cell of a month summary, a query's
// total). Every field adds up across documents, months and scopes; shares,
// averages and indices are computed from them only at query time, so the
// sum of months is exact.
type Counters struct {
	// Received counts applications filed in the month (submission date).
	Received int64 `json:"rcv,omitempty"`
	// Online, Direct and Postal split Received by channel (Decision 766's
	// channels 2, 1 and 3).
	Online int64 `json:"onl,omitempty"`
	Direct int64 `json:"dir,omitempty"`
	Postal int64 `json:"pst,omitempty"`
	// Open counts applications filed in the month that are still being
	// handled (not settled, refused or withdrawn).
	Open int64 `json:"open,omitempty"`
	// OpenDue counts Open applications by due day (YYYY-MM-DD in
	// Asia/Ho_Chi_Minh); a query counts those due before its reference day
	// as overdue.
	OpenDue map[string]int64 `json:"due,omitempty"`
	// Cancelled counts applications filed in the month and withdrawn.
	Cancelled int64 `json:"cxl,omitempty"`
	// Procedures counts the month's filings by procedure code (for "how
	// many procedures got applications").
	Procedures map[string]int64 `json:"proc,omitempty"`

	// Early, OnTime and Late count applications settled (result issued) in
	// the month by Decision 766's rule (see Classify).
	Early  int64 `json:"early,omitempty"`
	OnTime int64 `json:"ontime,omitempty"`
	Late   int64 `json:"late,omitempty"`
	// Refused counts applications refused in the month.
	Refused int64 `json:"ref,omitempty"`

	// FeeDue counts applications filed in the month with a fee or charge
	// to pay; PaidOnline those of them paid online.
	FeeDue     int64 `json:"feeDue,omitempty"`
	PaidOnline int64 `json:"paidOnl,omitempty"`
	// FeesVND sums the fees paid in the month (payment date), in đồng.
	FeesVND int64 `json:"feesVND,omitempty"`

	// Returned counts results handed over in the month; ReturnedOnline
	// those of them the applicant received electronically (downloaded; see
	// returnedAt), counted in the month of return too.
	Returned       int64 `json:"ret,omitempty"`
	ReturnedOnline int64 `json:"retOnl,omitempty"`

	// Ratings and RatingSum are the applicants' satisfaction ratings (1–5)
	// given in the month; the criteria sums and counts are the optional
	// per-criterion scores.
	Ratings       int64 `json:"rt,omitempty"`
	RatingSum     int64 `json:"rtSum,omitempty"`
	TimeN         int64 `json:"rtTimeN,omitempty"`
	TimeSum       int64 `json:"rtTime,omitempty"`
	AttitudeN     int64 `json:"rtAttN,omitempty"`
	AttitudeSum   int64 `json:"rtAtt,omitempty"`
	SimplicityN   int64 `json:"rtSimpN,omitempty"`
	SimplicitySum int64 `json:"rtSimp,omitempty"`

	// Complaints counts feedback items received in the month that concern
	// an application (they carry its code).
	Complaints int64 `json:"cmp,omitempty"`

	// FbReceived counts feedback items received in the month.
	FbReceived int64 `json:"fbRcv,omitempty"`
	// FbAnswered counts items first answered in the month; FbInTime those
	// answered within 15 working days of receipt.
	FbAnswered int64 `json:"fbAns,omitempty"`
	FbInTime   int64 `json:"fbAnsInTime,omitempty"`
	// FbRefused counts items refused in the month.
	FbRefused int64 `json:"fbRef,omitempty"`
	// FbRatings and FbRatingSum are senders' ratings (1–5) of answers,
	// given in the month.
	FbRatings   int64 `json:"fbRt,omitempty"`
	FbRatingSum int64 `json:"fbRtSum,omitempty"`
}

// Add adds o into c.
func (c *Counters) Add(o Counters) {
	c.Received += o.Received
	c.Online += o.Online
	c.Direct += o.Direct
	c.Postal += o.Postal
	c.Open += o.Open
	c.OpenDue = addMap(c.OpenDue, o.OpenDue)
	c.Cancelled += o.Cancelled
	c.Procedures = addMap(c.Procedures, o.Procedures)
	c.Early += o.Early
	c.OnTime += o.OnTime
	c.Late += o.Late
	c.Refused += o.Refused
	c.FeeDue += o.FeeDue
	c.PaidOnline += o.PaidOnline
	c.FeesVND += o.FeesVND
	c.Returned += o.Returned
	c.ReturnedOnline += o.ReturnedOnline
	c.Ratings += o.Ratings
	c.RatingSum += o.RatingSum
	c.TimeN += o.TimeN
	c.TimeSum += o.TimeSum
	c.AttitudeN += o.AttitudeN
	c.AttitudeSum += o.AttitudeSum
	c.SimplicityN += o.SimplicityN
	c.SimplicitySum += o.SimplicitySum
	c.Complaints += o.Complaints
	c.FbReceived += o.FbReceived
	c.FbAnswered += o.FbAnswered
	c.FbInTime += o.FbInTime
	c.FbRefused += o.FbRefused
	c.FbRatings += o.FbRatings
	c.FbRatingSum += o.FbRatingSum
}

// IsZero reports whether c counts nothing.
func (c Counters) IsZero() bool { return c.Equal(Counters{}) }

// Equal reports whether c and o hold the same figures (an empty map equals
// an absent one).
func (c Counters) Equal(o Counters) bool { return reflect.DeepEqual(c.norm(), o.norm()) }

func (c Counters) norm() Counters {
	if len(c.OpenDue) == 0 {
		c.OpenDue = nil
	}
	if len(c.Procedures) == 0 {
		c.Procedures = nil
	}
	return c
}

func addMap(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}
