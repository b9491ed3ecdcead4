package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/rating"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// fakeCatalog serves a fixed index.
type fakeCatalog struct{ ix *catalog.Index }

func (f fakeCatalog) Index(context.Context) (*catalog.Index, int, error) { return f.ix, 1, nil }

var fixtureProcs = []catalog.Procedure{
	{Code: "P1", Name: "Đăng ký khai sinh", Field: "Hộ tịch", Agency: catalog.Agency{Code: "UBND-X-01"}, Level: catalog.LevelCommune, OnlineLevel: catalog.OnlineFull, ProcessingDays: 3},
	{Code: "P2", Name: "Cấp giấy chứng nhận", Field: "Đất đai", Agency: catalog.Agency{Code: "STNMT"}, Level: catalog.LevelProvince, OnlineLevel: catalog.OnlinePartial, ProcessingDays: 10},
	{Code: "P3", Name: "Cấp bản sao trích lục", Field: "Hộ tịch", Agency: catalog.Agency{Code: "STP"}, Level: catalog.LevelProvince, OnlineLevel: catalog.OnlineFull, ProcessingDays: 1},
}

// vn returns 09:00 Asia/Ho_Chi_Minh on day (YYYY-MM-DD).
func vn(day string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" 09:00", workdays.Location)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func tp(day string) *time.Time { t := vn(day); return &t }

func ip(n int) *int { return &n }

// appSpec describes one fixture application.
type appSpec struct {
	code, proc  string
	channel     application.Channel
	status      application.Status
	submitted   string
	due         string
	settled     string
	settlement  string
	supplements int
	returned    string
	postal      bool
	// record: the return wrote the explicit delivery record (documents
	// since results were downloadable); without it the document is of the
	// older shape, read by the return note. downloaded: the applicant's
	// first download (delivery.electronicDeliveredAt).
	record     bool
	downloaded string
	fee        int64
	paid       string
	method     string
}

func (s appSpec) build() application.Application {
	agency := map[string]string{"P1": "UBND-X-01", "P2": "STNMT", "P3": "STP"}[s.proc]
	a := application.Application{
		Code: s.code, ProcedureCode: s.proc, Agency: application.Agency{Code: agency}, Channel: s.channel,
		Status: s.status, SubmittedAt: vn(s.submitted), Version: 3,
		Fee:      application.Fee{AmountVND: s.fee, PaymentState: application.PaymentNotRequired},
		Timeline: []application.Event{{At: vn(s.submitted), Status: application.StatusSubmitted, Actor: "citizen"}},
	}
	if s.due != "" {
		a.DueAt = vn(s.due)
	}
	for i := 0; i < s.supplements; i++ {
		a.Timeline = append(a.Timeline, application.Event{At: vn(s.submitted), Status: application.StatusSupplementRequested},
			application.Event{At: vn(s.submitted), Status: application.StatusProcessing})
	}
	if s.settled != "" {
		a.SettledAt = tp(s.settled)
		a.Settlement = s.settlement
	}
	if s.returned != "" {
		note := "Trả kết quả trực tuyến"
		if s.postal {
			note = "Trả kết quả qua bưu chính, mã vận đơn EB123"
		}
		a.Timeline = append(a.Timeline, application.Event{At: vn(s.returned), Status: application.StatusReturned, Note: note})
		if s.record {
			a.Delivery = &application.DeliveryRecord{Method: application.DeliveryOnline, ReturnedAt: vn(s.returned)}
			if s.postal {
				a.Delivery.Method, a.Delivery.TrackingNumber = application.DeliveryPostal, "EB123"
			}
			if s.downloaded != "" {
				a.Delivery.ElectronicDeliveredAt, a.Delivery.Downloads = tp(s.downloaded), 1
				a.Timeline = append(a.Timeline, application.Event{At: vn(s.downloaded), Status: application.StatusReturned,
					Actor: application.ActorCitizen, Kind: application.TimelineResultDownloaded})
			}
		}
	}
	if s.fee > 0 {
		a.Fee.PaymentState = application.PaymentUnpaid
		if s.paid != "" {
			a.Fee.PaymentState, a.Fee.PaidAt, a.Fee.PaymentMethod = application.PaymentPaid, tp(s.paid), s.method
		}
	}
	return a
}

// The fixture (all dates 09:00 Asia/Ho_Chi_Minh; November 2026 starts on
// a Sunday and has no public holiday).
var fixtureApps = []appSpec{
	// a1: online, settled early 11-05, returned online 11-06 and downloaded by
	// the applicant on 12-01 (explicit record: electronic, counted in
	// November, the month of return); rated 5 (time 4) on 11-07.
	{code: "TEST-261101-0001", proc: "P1", channel: application.ChannelOnline, status: application.StatusReturned, submitted: "2026-11-02", due: "2026-11-05", settled: "2026-11-04", settlement: workdays.Early, returned: "2026-11-06", record: true, downloaded: "2026-12-01"},
	// a2: direct, recorded on_time but two supplement requests → late (766); returned by post 11-11 (explicit record, never downloaded); rated 3 on 11-12.
	{code: "TEST-261101-0002", proc: "P1", channel: application.ChannelDirect, status: application.StatusReturned, submitted: "2026-11-03", due: "2026-11-10", settled: "2026-11-10", settlement: workdays.OnTime, supplements: 2, returned: "2026-11-11", postal: true, record: true},
	// a3: online, settled late 11-20, fee 50 000 paid by VNPAY 11-05, not returned.
	{code: "TEST-261101-0003", proc: "P2", channel: application.ChannelOnline, status: application.StatusProcessed, submitted: "2026-11-04", due: "2026-11-18", settled: "2026-11-20", settlement: workdays.Late, fee: 50000, paid: "2026-11-05", method: "vnpay"},
	// a4: postal, still processing, due 11-10 → overdue on 11-30; fee 30 000 unpaid.
	{code: "TEST-261101-0004", proc: "P2", channel: application.ChannelPostal, status: application.StatusProcessing, submitted: "2026-11-05", due: "2026-11-10", fee: 30000},
	// a5: online, received, due 12-05 → not overdue on 11-30.
	{code: "TEST-261101-0005", proc: "P1", channel: application.ChannelOnline, status: application.StatusReceived, submitted: "2026-11-25", due: "2026-12-05"},
	// a6: online, refused 11-07.
	{code: "TEST-261101-0006", proc: "P2", channel: application.ChannelOnline, status: application.StatusRejected, submitted: "2026-11-06", due: "2026-11-20", settled: "2026-11-07"},
	// a7: online, withdrawn.
	{code: "TEST-261101-0007", proc: "P1", channel: application.ChannelOnline, status: application.StatusCancelled, submitted: "2026-11-08", due: "2026-11-11"},
	// a8: filed in October, settled on time 11-03, returned online 11-04 (a document from before the explicit delivery record: electronic by its return note), fee 20 000 paid by VietQR 10-29.
	{code: "TEST-261101-0008", proc: "P1", channel: application.ChannelOnline, status: application.StatusReturned, submitted: "2026-10-28", due: "2026-11-03", settled: "2026-11-03", settlement: workdays.OnTime, returned: "2026-11-04", fee: 20000, paid: "2026-10-29", method: "vietqr"},
	// a9: filed and settled early in October (10-09), returned online 11-02 with
	// the explicit record but never downloaded: returned, not electronic
	// (its note still says "trực tuyến"; the record decides).
	{code: "TEST-261101-0009", proc: "P1", channel: application.ChannelOnline, status: application.StatusReturned, submitted: "2026-10-05", due: "2026-10-12", settled: "2026-10-09", settlement: workdays.Early, returned: "2026-11-02", record: true},
}

var fixtureRatings = []rating.Rating{
	{Code: "TEST-261101-0001", Overall: 5, Time: ip(4), At: vn("2026-11-07")},
	{Code: "TEST-261101-0002", Overall: 3, At: vn("2026-11-12")},
}

func feedbackDoc(id, agency, field, received string, answered, refused string, app string, score int, ratedAt string) map[string]any {
	d := map[string]any{"id": id, "version": 2, "fieldCode": "F", "fieldName": field, "agency": map[string]string{"code": agency},
		"status": "received", "receivedAt": vn(received), "applicationCode": app}
	if answered != "" {
		d["firstAnsweredAt"] = vn(answered)
	}
	if refused != "" {
		d["refusedAt"] = vn(refused)
	}
	if score > 0 {
		d["rating"] = map[string]any{"score": score, "at": vn(ratedAt)}
	}
	return d
}

var fixtureFeedback = []map[string]any{
	// f1: answered 11-10 (6th working day: in time), about application A2 → a complaint; rated 4.
	feedbackDoc("F1", "UBND-X-01", "Hộ tịch", "2026-11-02", "2026-11-10", "", "TEST-261101-0002", 4, "2026-11-12"),
	// f2: received Tue 11-03, due the 15th working day (11-23), answered 11-30 → late.
	feedbackDoc("F2", "STNMT", "Đất đai", "2026-11-03", "2026-11-30", "", "", 0, ""),
	// f3: refused 11-21.
	feedbackDoc("F3", "STNMT", "Đất đai", "2026-11-20", "", "2026-11-21", "", 0, ""),
	// f4: still open.
	feedbackDoc("F4", "STP", "Hộ tịch", "2026-11-25", "", "", "", 0, ""),
}

// loadFixture writes the fixture documents into a fresh store.
func loadFixture(t testing.TB) *docstore.MemStore {
	t.Helper()
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	for _, s := range fixtureApps {
		a := s.build()
		if _, err := docstore.PutJSON(ctx, store, application.Key(a.ID()), a, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range fixtureRatings {
		if _, err := docstore.PutJSON(ctx, store, rating.Key(r.Code), r, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtureFeedback {
		if _, err := docstore.PutJSON(ctx, store, stats.FeedbackKey(f["id"].(string)), f, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func newService(t testing.TB, store docstore.Store, now time.Time) *stats.Service {
	t.Helper()
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := stats.NewService(store, fakeCatalog{catalog.NewIndex(fixtureProcs)}, cal, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func figureValues(t *testing.T, r stats.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range r.Figures {
		if f.Value == nil {
			out[f.ID] = "null"
		} else {
			out[f.ID] = fmt.Sprint(*f.Value)
		}
	}
	return out
}

func TestReport_matches_the_hand_computed_fixture(t *testing.T) {
	ctx := context.Background()
	store := loadFixture(t)
	svc := newService(t, store, vn("2026-11-30"))
	if _, err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query stats.Query
		want  map[string]string
	}{
		{
			name:  "november_whole_province",
			query: stats.Query{Period: "month", From: "2026-11", To: "2026-11"},
			want: map[string]string{
				"applications_received":              "7",     // A1..A7 (A8 was filed in October)
				"applications_online":                "5",     // A1 A3 A5 A6 A7
				"applications_direct":                "1",     // A2
				"applications_postal":                "1",     // A4
				"online_share":                       "71.43", // 5/7 = 71.428…
				"settled":                            "4",     // settled in November: A1 A2 A3 A8
				"settled_early":                      "1",     // A1
				"settled_on_time":                    "1",     // A8 (A2 recorded on time but had 2 supplement requests)
				"settled_late":                       "2",     // A2 (766 rule) + A3
				"early_share":                        "25",    // 1/4
				"on_time_share":                      "25",    // 1/4
				"late_share":                         "50",    // 2/4
				"in_time_share":                      "50",    // (1+1)/4
				"refused":                            "1",     // A6
				"processing":                         "2",     // A4 A5 (A7 withdrawn, A6 refused)
				"overdue":                            "1",     // A4 due 11-10 < 11-30; A5 due 12-05
				"procedures_online":                  "3",     // P1 P2 P3
				"procedures_online_full":             "2",     // P1 P3
				"procedures_online_partial":          "1",     // P2
				"procedures_province":                "2",     // P2 P3
				"procedures_district":                "0",
				"procedures_commune":                 "1",     // P1
				"procedures_with_applications":       "2",     // P1 P2
				"procedures_with_applications_share": "66.67", // 2/3
				"fee_due":                            "2",     // A3 A4 (filed in November with a fee)
				"paid_online":                        "1",     // A3
				"online_payment_share":               "50",    // 1/2
				"fees_collected_vnd":                 "50000", // A3 paid 11-05 (A8's 20 000 was paid in October)
				"results_returned":                   "4",     // A1 A2 A8 A9
				"results_electronic":                 "2",     // A1 (downloaded 12-01, counted at its return) A8 (older document, online note); A2 by post, A9 never downloaded
				"electronic_result_share":            "50",    // 2/4
				"feedback_received":                  "4",     // F1..F4
				"feedback_answered":                  "2",     // F1 F2
				"feedback_answered_in_time":          "1",     // F1 (F2 after its 15th working day)
				"feedback_in_time_share":             "50",    // 1/2
				"feedback_refused":                   "1",     // F3
				"feedback_handled_share":             "75",    // (2+1)/4
				"satisfaction_applications":          "4",     // (5+3)/2
				"satisfaction_time":                  "4",     // 4/1
				"satisfaction_attitude":              "null",  // no score given
				"satisfaction_simplicity":            "null",
				"satisfaction_feedback":              "4",  // 4/1
				"complaint_share":                    "25", // 1 feedback naming an application / 4 settled
				"satisfaction_index":                 "25", // 100 − 50 − 25
			},
		},
		{
			name:  "november_province_level_only",
			query: stats.Query{Period: "month", From: "2026-11", To: "2026-11", Level: "province"},
			want: map[string]string{
				"applications_received":        "3",   // A3 A4 A6 (P2)
				"settled_late":                 "1",   // A3
				"late_share":                   "100", // 1/1
				"feedback_received":            "0",   // feedback has no level
				"procedures_online":            "2",   // P2 P3
				"procedures_with_applications": "1",   // P2
			},
		},
		{
			name:  "november_agency_ubnd",
			query: stats.Query{Period: "month", From: "2026-11", To: "2026-11", Agency: "UBND-X-01"},
			want: map[string]string{
				"applications_received": "4",     // A1 A2 A5 A7
				"settled":               "3",     // A1 A2 A8
				"feedback_received":     "1",     // F1
				"complaint_share":       "33.33", // 1/3
				// late share 1/3 (A2), complaints 1/3 (F1):
				// 100 − 33.33… − 33.33… = 33.33
				"satisfaction_index": "33.33",
			},
		},
		{
			name:  "fourth_quarter",
			query: stats.Query{Period: "quarter", From: "2026-10", To: "2026-12"},
			want: map[string]string{
				"applications_received": "9",     // A1..A9
				"results_returned":      "4",     // A1 A2 A8 A9 (all in November)
				"results_electronic":    "2",     // A1 A8
				"fees_collected_vnd":    "70000", // 50 000 + 20 000
				"fee_due":               "3",     // A3 A4 A8
				"paid_online":           "2",     // A3 A8
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := svc.Report(ctx, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got := figureValues(t, r)
			for id, want := range tc.want {
				if got[id] != want {
					t.Errorf("%s = %s, want %s", id, got[id], want)
				}
			}
			for _, f := range r.Figures {
				if f.Formula == "" || f.Label == "" {
					t.Errorf("figure %s lacks its formula or label", f.ID)
				}
			}
		})
	}
}

// The incremental path over the same documents gives the same figures.
func TestRefresh_of_every_document_equals_the_rebuild(t *testing.T) {
	ctx := context.Background()
	store := loadFixture(t)
	svc := newService(t, store, vn("2026-11-30"))
	for _, s := range fixtureApps {
		if err := svc.RefreshApplication(ctx, s.code); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fixtureFeedback {
		if err := svc.RefreshFeedback(ctx, f["id"].(string)); err != nil {
			t.Fatal(err)
		}
	}
	q := stats.Query{Period: "quarter", From: "2026-10", To: "2026-12"}
	inc, err := svc.Report(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	reb, err := svc.Report(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(inc.Figures)
	b, _ := json.Marshal(reb.Figures)
	if string(a) != string(b) {
		t.Fatalf("incremental != rebuilt:\n%s\n%s", a, b)
	}
}
