package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/rating"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// history is every snapshot a generated document went through, oldest
// first; each one is what a consumer reading the document at that moment
// would have seen.
type history struct {
	apps     map[string][]appSnap
	feedback map[string][]stats.FeedbackItem
}

type appSnap struct {
	a application.Application
	r *rating.Rating
}

var staff = application.Actor{Kind: application.ActorKindStaff, Agency: "X"}

// genApp runs one application through a random path of the real state
// machine (application.ApplyWith), recording every version.
func genApp(rng *rand.Rand, cal *workdays.Calendar, i int) []appSnap {
	proc := fixtureProcs[rng.IntN(len(fixtureProcs))]
	ch := []application.Channel{application.ChannelOnline, application.ChannelOnline, application.ChannelDirect, application.ChannelPostal}[rng.IntN(4)]
	at := time.Date(2026, time.Month(1+rng.IntN(6)), 1+rng.IntN(28), 1+rng.IntN(10), 0, 0, 0, time.UTC)
	a := application.Application{
		Code: fmt.Sprintf("R-260101-%04d", i), ProcedureCode: proc.Code, ProcessingDays: proc.ProcessingDays,
		Agency: application.Agency{Code: proc.Agency.Code}, Channel: ch, Status: application.StatusSubmitted,
		SubmittedAt: at, DueAt: cal.AddWorkingDays(at, proc.ProcessingDays).UTC(), Version: 1,
		Fee:      application.Fee{PaymentState: application.PaymentNotRequired},
		Timeline: []application.Event{{At: at, Status: application.StatusSubmitted, Actor: "citizen"}},
	}
	if rng.IntN(3) == 0 {
		a.Fee = application.Fee{AmountVND: int64(10000 * (1 + rng.IntN(9))), PaymentState: application.PaymentUnpaid}
	}
	snaps := []appSnap{{a: a}}
	step := func(act application.Action) bool {
		at = at.Add(time.Duration(1+rng.IntN(96)) * time.Hour)
		actor := staff
		if act.Name == application.ActCancel {
			actor = application.Actor{Kind: application.ActorKindCitizen}
		}
		if _, err := application.ApplyWith(cal, &a, act, actor, at); err != nil {
			return false
		}
		a.Version++
		snaps = append(snaps, appSnap{a: clone(a)})
		return true
	}
	switch rng.IntN(10) {
	case 0:
		step(application.Action{Name: application.ActCancel})
		return snaps
	case 1:
		step(application.Action{Name: application.ActReject, Reason: "thiếu giấy tờ"})
		return snaps
	}
	if !step(application.Action{Name: application.ActReceive}) || rng.IntN(8) == 0 {
		return snaps
	}
	step(application.Action{Name: application.ActStart})
	for n := rng.IntN(4); n > 0 && rng.IntN(2) == 0; n-- {
		step(application.Action{Name: application.ActRequestSupplement, Missing: []string{"bản sao"}})
		step(application.Action{Name: application.ActResume})
	}
	if a.Fee.AmountVND > 0 && rng.IntN(3) > 0 {
		step(application.Action{Name: application.ActRequirePayment})
		at = at.Add(time.Hour)
		method := []string{"vnpay", "vietqr"}[rng.IntN(2)]
		application.ApplyPaymentConfirmed(&a, application.PaymentConfirmation{Ref: "PAY-" + a.Code, Method: method, AmountVND: a.Fee.AmountVND, PaidAt: at})
		a.Version++
		snaps = append(snaps, appSnap{a: clone(a)})
	}
	if rng.IntN(6) == 0 {
		return snaps // still processing
	}
	if !step(application.Action{Name: application.ActComplete, Result: &application.Result{DocumentKey: "k", Description: "Kết quả"}}) {
		return snaps
	}
	if rng.IntN(5) == 0 {
		return snaps
	}
	d := &application.Delivery{Method: application.DeliveryOnline}
	if rng.IntN(3) == 0 {
		d = &application.Delivery{Method: application.DeliveryPostal, TrackingNumber: "EB1"}
	}
	step(application.Action{Name: application.ActReturn, Delivery: d})
	// The applicant's first download (the explicit electronic-delivery
	// record, as application.ResultDownloads writes it), before or after
	// the rating, sometimes in a later month than the return.
	var r *rating.Rating
	download := func() {
		dl := at.Add(time.Duration(1+rng.IntN(24*40)) * time.Hour)
		rec := *a.Delivery
		rec.ElectronicDeliveredAt, rec.Downloads, rec.LastDownloadAt = &dl, 1, &dl
		a.Delivery = &rec
		a.Timeline = append(a.Timeline, application.Event{At: dl, Status: a.Status, Actor: application.ActorCitizen,
			Kind: application.TimelineResultDownloaded})
		a.Version++
		snaps = append(snaps, appSnap{a: clone(a), r: r})
	}
	downloads := rng.IntN(3) > 0
	if downloads && rng.IntN(2) == 0 {
		download()
		downloads = false
	}
	if rng.IntN(2) == 0 {
		rr := rating.Rating{Code: a.Code, Overall: 1 + rng.IntN(5), At: at.Add(time.Duration(rng.IntN(200)) * time.Hour)}
		if rng.IntN(2) == 0 {
			rr.Attitude = ip(1 + rng.IntN(5))
		}
		r = &rr
		snaps = append(snaps, appSnap{a: clone(a), r: r})
	}
	if downloads {
		download()
	}
	return snaps
}

func clone(a application.Application) application.Application {
	b, _ := json.Marshal(a)
	var c application.Application
	_ = json.Unmarshal(b, &c)
	return c
}

// genFeedback gives an item a random history, reassignments included.
func genFeedback(rng *rand.Rand, i int) []stats.FeedbackItem {
	agencies := []string{"STP", "STNMT", "UBND-X-01"}
	at := time.Date(2026, time.Month(1+rng.IntN(6)), 1+rng.IntN(28), 2, 0, 0, 0, time.UTC)
	it := stats.FeedbackItem{ID: fmt.Sprintf("FB-%04d", i), Version: 1, FieldName: []string{"Hộ tịch", "Đất đai"}[rng.IntN(2)], ReceivedAt: at, Status: "received"}
	it.Agency.Code = agencies[rng.IntN(3)]
	if rng.IntN(4) == 0 {
		it.ApplicationCode = fmt.Sprintf("R-260101-%04d", rng.IntN(50))
	}
	snaps := []stats.FeedbackItem{it}
	next := func(f func(*stats.FeedbackItem)) {
		at = at.Add(time.Duration(1+rng.IntN(240)) * time.Hour)
		f(&it)
		it.Version++
		snaps = append(snaps, it)
	}
	for n := rng.IntN(3); n > 0; n-- {
		next(func(x *stats.FeedbackItem) { x.Agency.Code = agencies[rng.IntN(3)] }) // reassign
	}
	switch rng.IntN(3) {
	case 0:
		next(func(x *stats.FeedbackItem) { t := at; x.RefusedAt = &t; x.Status = "refused" })
	case 1:
		next(func(x *stats.FeedbackItem) { t := at; x.FirstAnsweredAt = &t; x.Status = "answered" })
		if rng.IntN(2) == 0 {
			next(func(x *stats.FeedbackItem) {
				x.Rating = &struct {
					Score int       `json:"score"`
					At    time.Time `json:"at"`
				}{Score: 1 + rng.IntN(5), At: at}
			})
		}
	}
	return snaps
}

func TestIncremental_equals_rebuild_under_random_orders_and_duplicates(t *testing.T) {
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(seed, 766))
			h := history{apps: map[string][]appSnap{}, feedback: map[string][]stats.FeedbackItem{}}
			for i := range 60 {
				s := genApp(rng, cal, i)
				h.apps[s[0].a.Code] = s
			}
			for i := range 25 {
				s := genFeedback(rng, i)
				h.feedback[s[0].ID] = s
			}
			ix := catalog.NewIndex(fixtureProcs)
			var deliveries []stats.Contribution
			for _, snaps := range h.apps {
				for _, s := range snaps {
					p, _ := ix.Get(s.a.ProcedureCode)
					c := stats.ApplicationContribution(s.a, stats.ProcedureOf(p), s.r)
					for range 1 + rng.IntN(3) { // duplicates
						deliveries = append(deliveries, c)
					}
				}
			}
			for _, snaps := range h.feedback {
				for _, s := range snaps {
					c := stats.FeedbackContribution(s, cal)
					for range 1 + rng.IntN(3) {
						deliveries = append(deliveries, c)
					}
				}
			}
			rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

			incStore := docstore.NewMemStore("inc")
			if seed%2 == 0 {
				for _, c := range deliveries {
					if err := stats.Apply(ctx, incStore, c); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				// Odd seeds: eight consumers at once, as the connector runs
				// them, split over two "processes" (two store values over the
				// same documents: each coalesces its own pushes, and the two
				// race through compare-and-swap on shards, parts, summaries).
				work := make(chan stats.Contribution)
				errs := make(chan error, 8)
				var wg sync.WaitGroup
				procs := []docstore.Store{incStore, &otherProcess{incStore}}
				for i := range 8 {
					wg.Go(func() {
						for c := range work {
							if err := stats.Apply(ctx, procs[i%2], c); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				for _, c := range deliveries {
					work <- c
				}
				close(work)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}

			// The rebuild sees only the final documents (the incremental
			// store holds them too, for the rebuild over it below).
			rebStore := docstore.NewMemStore("reb")
			for _, st := range []docstore.Store{rebStore, incStore} {
				for _, snaps := range h.apps {
					last := snaps[len(snaps)-1]
					mustPut(t, st, application.Key(last.a.ID()), last.a)
					if last.r != nil {
						mustPut(t, st, rating.Key(last.r.Code), last.r)
					}
				}
				for _, snaps := range h.feedback {
					last := snaps[len(snaps)-1]
					mustPut(t, st, stats.FeedbackKey(last.ID), last)
				}
			}
			now := time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC)
			reb := newService(t, rebStore, now)
			if _, err := reb.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			inc := newService(t, incStore, now)
			for _, q := range []stats.Query{
				{Period: "custom", From: "2026-01", To: "2026-12"},
				{Period: "custom", From: "2026-01", To: "2026-12", Agency: "STNMT"},
				{Period: "custom", From: "2026-01", To: "2026-12", Field: "Hộ tịch"},
				{Period: "custom", From: "2026-01", To: "2026-12", Level: "commune"},
				{Period: "quarter", From: "2026-04", To: "2026-06"},
			} {
				a, b := reportJSON(t, inc, q), reportJSON(t, reb, q)
				if a != b {
					t.Fatalf("query %+v: incremental != rebuilt\nincremental: %s\nrebuilt:     %s", q, a, b)
				}
			}
			// Not vacuous: something was counted.
			r, _ := reb.Report(ctx, stats.Query{Period: "custom", From: "2026-01", To: "2026-12"})
			if f, _ := r.Figure("applications_received"); f.Value == nil || *f.Value != 60 {
				t.Fatalf("applications_received = %v, want 60", f.Value)
			}
			// Rebuilding the incremental store changes nothing either.
			if _, err := inc.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			q := stats.Query{Period: "custom", From: "2026-01", To: "2026-12"}
			if a, b := reportJSON(t, inc, q), reportJSON(t, reb, q); a != b {
				t.Fatalf("rebuild over the incremental aggregates differs:\n%s\n%s", a, b)
			}
		})
	}
}

func mustPut(t *testing.T, s docstore.Store, key string, v any) {
	t.Helper()
	if _, err := docstore.PutJSON(context.Background(), s, key, v, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func reportJSON(t *testing.T, svc *stats.Service, q stats.Query) string {
	t.Helper()
	r, err := svc.Report(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(struct {
		F []stats.Figure
		M []stats.MonthRow
	}{r.Figures, r.Months})
	return string(b)
}

// otherProcess is a second handle on the same documents, as another stats
// process would have.
type otherProcess struct{ docstore.Store }
