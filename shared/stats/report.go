package stats

import (
	"context"
	"math"
	"time"
)

// Figure is one indicator with its value and how it was computed.
type Figure struct {
	// ID is the stable machine name, e.g. "online_share".
	ID string `json:"id"`
	// Label is the Vietnamese name; LabelEn the English one.
	Label   string `json:"label"`
	LabelEn string `json:"labelEn"`
	// Value is the figure: a count, an amount (VND), a percentage (0–100,
	// two decimals) or an average score (1–5, two decimals). Null when its
	// denominator is zero.
	Value *float64 `json:"value"`
	// Unit is count, vnd, percent or score.
	Unit string `json:"unit"`
	// Numerator and Denominator are the counts a share or average is made
	// of (absent for plain counts).
	Numerator   *int64 `json:"numerator,omitempty"`
	Denominator *int64 `json:"denominator,omitempty"`
	// Formula says how the value is computed (and, where Decision
	// 766/QĐ-TTg defines the figure, by which rule).
	Formula string `json:"formula"`
}

// MonthRow is one month of the trend series: the month's counts (same
// meaning as the figures of the same names).
type MonthRow struct {
	// Month is YYYY-MM.
	Month string `json:"month"`
	// Received, Online, Direct and Postal count filings by channel.
	Received int64 `json:"received"`
	Online   int64 `json:"online"`
	Direct   int64 `json:"direct"`
	Postal   int64 `json:"postal"`
	// Early, OnTime and Late count settlements by Decision 766's rule.
	Early  int64 `json:"early"`
	OnTime int64 `json:"onTime"`
	Late   int64 `json:"late"`
	// FbReceived, FbAnswered and FbInTime count feedback items received,
	// first answered, and answered within 15 working days.
	FbReceived int64 `json:"feedbackReceived"`
	FbAnswered int64 `json:"feedbackAnswered"`
	FbInTime   int64 `json:"feedbackAnsweredInTime"`
}

// Report is the answer to a Query.
type Report struct {
	Query Query `json:"query"`
	// AsOf is the reference day of "overdue" (YYYY-MM-DD, Asia/Ho_Chi_Minh).
	AsOf string `json:"asOf"`
	// Figures are the indicators in a fixed order.
	Figures []Figure `json:"figures"`
	// Months is the per-month series of the period.
	Months []MonthRow `json:"months"`
	// GeneratedAt is when the report was computed.
	GeneratedAt time.Time `json:"generatedAt"`
}

// Figure returns the figure with id (ok false when absent).
func (r Report) Figure(id string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.ID == id {
			return f, true
		}
	}
	return Figure{}, false
}

// Report answers q: the period's totals in scope turned into figures.
func (s *Service) Report(ctx context.Context, q Query) (Report, error) {
	total, per, err := s.Totals(ctx, q)
	if err != nil {
		return Report{}, err
	}
	ix, err := s.index(ctx)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	r := Report{Query: q, AsOf: DayOf(now), GeneratedAt: now.UTC()}
	r.Figures = figures(total, q, r.AsOf, func(got map[string]int64) (map[string]int64, map[string]int64, int64) {
		return offered(ix, q, got)
	})
	for _, m := range per {
		c := m.C
		r.Months = append(r.Months, MonthRow{Month: m.Month, Received: c.Received, Online: c.Online, Direct: c.Direct,
			Postal: c.Postal, Early: c.Early, OnTime: c.OnTime, Late: c.Late,
			FbReceived: c.FbReceived, FbAnswered: c.FbAnswered, FbInTime: c.FbInTime})
	}
	return r, nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func countFig(id, vi, en string, n int64, formula string) Figure {
	v := float64(n)
	return Figure{ID: id, Label: vi, LabelEn: en, Value: &v, Unit: "count", Formula: formula}
}

func ratioFig(id, vi, en, unit string, num, den int64, formula string) Figure {
	f := Figure{ID: id, Label: vi, LabelEn: en, Unit: unit, Numerator: &num, Denominator: &den, Formula: formula}
	if den > 0 {
		v := float64(num) / float64(den)
		if unit == "percent" {
			v *= 100
		}
		v = round2(v)
		f.Value = &v
	}
	return f
}

// figures turns totals into the indicator list. Every formula string here
// is also in api/openapi.yaml.
func figures(c Counters, q Query, asOf string, procs func(map[string]int64) (map[string]int64, map[string]int64, int64)) []Figure {
	settled := c.Early + c.OnTime + c.Late
	var overdue int64
	for day, n := range c.OpenDue {
		if day < asOf {
			overdue += n
		}
	}
	byOnline, byLevel, withApps := procs(c.Procedures)
	offeredTotal := byOnline["full"] + byOnline["partial"]
	fs := []Figure{
		countFig("applications_received", "Hồ sơ tiếp nhận", "Applications received", c.Received,
			"count of applications whose submission date is in the period"),
		countFig("applications_online", "Hồ sơ nộp trực tuyến", "Applications filed online", c.Online,
			"received with channel = online (Decision 766 channel 2)"),
		countFig("applications_direct", "Hồ sơ nộp trực tiếp", "Applications filed at the counter", c.Direct,
			"received with channel = direct (channel 1)"),
		countFig("applications_postal", "Hồ sơ nộp qua bưu chính công ích", "Applications filed by post", c.Postal,
			"received with channel = postal (channel 3)"),
		ratioFig("online_share", "Tỷ lệ hồ sơ trực tuyến", "Online share", "percent", c.Online, c.Received,
			"applications_online / applications_received × 100"),
		countFig("settled", "Hồ sơ đã giải quyết", "Applications settled", settled,
			"early + on_time + late: applications whose result was issued in the period"),
		countFig("settled_early", "Giải quyết trước hạn", "Settled early", c.Early,
			"settled on a day before the due day (due date = received + legal working days, pushed back by the working days spent waiting for the citizen's supplement)"),
		countFig("settled_on_time", "Giải quyết đúng hạn", "Settled on time", c.OnTime,
			"settled on the due day (same due date rule)"),
		countFig("settled_late", "Giải quyết trễ hạn", "Settled late", c.Late,
			"settled after the due day, or with more than one supplement request whatever the dates (Decision 766)"),
		ratioFig("early_share", "Tỷ lệ trước hạn", "Early share", "percent", c.Early, settled, "settled_early / settled × 100"),
		ratioFig("on_time_share", "Tỷ lệ đúng hạn", "On-time share", "percent", c.OnTime, settled, "settled_on_time / settled × 100"),
		ratioFig("late_share", "Tỷ lệ trễ hạn", "Late share", "percent", c.Late, settled, "settled_late / settled × 100"),
		ratioFig("in_time_share", "Tỷ lệ đúng và trước hạn", "Early or on-time share", "percent", c.Early+c.OnTime, settled,
			"(settled_early + settled_on_time) / settled × 100 (Decision 766 'đúng hạn')"),
		countFig("refused", "Hồ sơ từ chối", "Applications refused", c.Refused, "applications refused in the period (not counted as settled)"),
		countFig("processing", "Hồ sơ đang xử lý", "Still processing", c.Open,
			"received in the period and not yet settled, refused or withdrawn"),
		countFig("overdue", "Hồ sơ đang xử lý quá hạn", "Still processing and overdue", overdue,
			"processing whose due day is before asOf"),
		countFig("procedures_online", "Thủ tục cung cấp trực tuyến", "Procedures offered online", offeredTotal,
			"catalog procedures in scope with online level full or partial (Decree 42/2022)"),
		countFig("procedures_online_full", "Thủ tục trực tuyến toàn trình", "Procedures fully online", byOnline["full"],
			"catalog procedures in scope with online level full"),
		countFig("procedures_online_partial", "Thủ tục trực tuyến một phần", "Procedures partly online", byOnline["partial"],
			"catalog procedures in scope with online level partial"),
		countFig("procedures_province", "Thủ tục cấp tỉnh", "Procedures at province level", byLevel["province"],
			"procedures_online at level province"),
		countFig("procedures_district", "Thủ tục cấp huyện", "Procedures at district level", byLevel["district"],
			"procedures_online at level district"),
		countFig("procedures_commune", "Thủ tục cấp xã", "Procedures at commune level", byLevel["commune"],
			"procedures_online at level commune"),
		countFig("procedures_with_applications", "Thủ tục trực tuyến có phát sinh hồ sơ", "Online procedures that got applications", withApps,
			"procedures_online with at least one application received in the period"),
		ratioFig("procedures_with_applications_share", "Tỷ lệ thủ tục có phát sinh hồ sơ", "Share of online procedures that got applications", "percent",
			withApps, offeredTotal, "procedures_with_applications / procedures_online × 100"),
		countFig("fee_due", "Hồ sơ có phí, lệ phí", "Applications with a fee", c.FeeDue, "received in the period with a fee or charge > 0"),
		countFig("paid_online", "Hồ sơ thanh toán trực tuyến", "Applications paid online", c.PaidOnline,
			"fee_due applications whose fee was paid through an online method (VNPAY, VietQR)"),
		ratioFig("online_payment_share", "Tỷ lệ thanh toán trực tuyến", "Online payment share", "percent", c.PaidOnline, c.FeeDue,
			"paid_online / fee_due × 100 (Decision 766)"),
		{ID: "fees_collected_vnd", Label: "Phí, lệ phí đã thu", LabelEn: "Fees collected", Value: ptr(float64(c.FeesVND)), Unit: "vnd",
			Formula: "sum of fees paid in the period (payment date), in đồng"},
		countFig("results_returned", "Kết quả đã trả", "Results returned", c.Returned, "results handed over in the period"),
		countFig("results_electronic", "Kết quả trả điện tử", "Results returned electronically", c.ReturnedOnline,
			"results_returned whose result the applicant received electronically (first download, delivery.electronicDeliveredAt; documents from before that record: an online return)"),
		ratioFig("electronic_result_share", "Tỷ lệ trả kết quả điện tử", "Electronic result share", "percent", c.ReturnedOnline, c.Returned,
			"results_electronic / results_returned × 100 (Decision 766)"),
		countFig("feedback_received", "Phản ánh, kiến nghị tiếp nhận", "Feedback received", c.FbReceived, "feedback items received in the period"),
		countFig("feedback_answered", "PAKN đã trả lời", "Feedback answered", c.FbAnswered, "feedback items first answered in the period"),
		countFig("feedback_answered_in_time", "PAKN trả lời đúng hạn", "Feedback answered in time", c.FbInTime,
			"feedback_answered on or before the 15th working day after receipt"),
		ratioFig("feedback_in_time_share", "Tỷ lệ PAKN trả lời đúng hạn", "Feedback answered in time, share", "percent", c.FbInTime, c.FbAnswered,
			"feedback_answered_in_time / feedback_answered × 100"),
		countFig("feedback_refused", "PAKN từ chối", "Feedback refused", c.FbRefused, "feedback items refused in the period"),
		ratioFig("feedback_handled_share", "Tỷ lệ PAKN đã xử lý", "Feedback handled, share", "percent", c.FbAnswered+c.FbRefused, c.FbReceived,
			"(feedback_answered + feedback_refused) / feedback_received × 100"),
		ratioFig("satisfaction_applications", "Mức độ hài lòng với hồ sơ (1–5)", "Average application rating (1–5)", "score", c.RatingSum, c.Ratings,
			"sum of overall ratings / number of ratings given in the period"),
		ratioFig("satisfaction_time", "Hài lòng về thời gian (1–5)", "Average score for time (1–5)", "score", c.TimeSum, c.TimeN,
			"sum of time scores / number of time scores"),
		ratioFig("satisfaction_attitude", "Hài lòng về thái độ cán bộ (1–5)", "Average score for staff attitude (1–5)", "score", c.AttitudeSum, c.AttitudeN,
			"sum of attitude scores / number of attitude scores"),
		ratioFig("satisfaction_simplicity", "Hài lòng về sự đơn giản của thủ tục (1–5)", "Average score for simplicity (1–5)", "score", c.SimplicitySum, c.SimplicityN,
			"sum of simplicity scores / number of simplicity scores"),
		ratioFig("satisfaction_feedback", "Mức độ hài lòng với trả lời PAKN (1–5)", "Average feedback-answer rating (1–5)", "score", c.FbRatingSum, c.FbRatings,
			"sum of senders' ratings / number of ratings given in the period"),
		ratioFig("complaint_share", "Tỷ lệ hồ sơ bị phản ánh", "Share of applications with complaints", "percent", c.Complaints, settled,
			"feedback items received in the period that name an application / settled × 100"),
	}
	idx := ratioFig("satisfaction_index", "Chỉ số hài lòng (QĐ 766)", "Satisfaction index (Decision 766)", "percent", 0, settled,
		"100 − late_share − complaint_share (Decision 766/QĐ-TTg)")
	if settled > 0 {
		v := round2(100 - 100*float64(c.Late)/float64(settled) - 100*float64(c.Complaints)/float64(settled))
		idx.Value, idx.Numerator, idx.Denominator = &v, nil, nil
	} else {
		idx.Numerator, idx.Denominator = nil, nil
	}
	return append(fs, idx)
}

func ptr[T any](v T) *T { return &v }
