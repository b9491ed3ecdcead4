package application_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/httpx"
	"motcua/shared/platform"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// trMonday is Monday 2 March 2026, 09:00 in Hanoi (no holiday that week).
var trMonday = time.Date(2026, 3, 2, 9, 0, 0, 0, workdays.Location)

var trQuiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func trCalendar(t testing.TB) *workdays.Calendar {
	t.Helper()
	c, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func trApp(status application.Status) application.Application {
	due := trMonday.AddDate(0, 0, 10)
	return application.Application{
		Code: "STP-260302-0001", ProcedureCode: "STP.01", ProcedureName: "Cấp phiếu lý lịch tư pháp",
		ProcessingDays: 5, Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"},
		Status: status, Fee: application.Fee{AmountVND: 200000, Kind: "fee", PaymentState: application.PaymentUnpaid},
		SubmittedAt: trMonday.Add(-24 * time.Hour), DueAt: due,
		Timeline: []application.Event{{At: trMonday.Add(-24 * time.Hour), Status: application.StatusSubmitted, Actor: application.ActorCitizen}},
		Version:  1,
	}
}

var trStaff = application.Actor{Kind: application.ActorKindStaff, Agency: "STP", Officer: "officer1"}
var trCitizen = application.Actor{Kind: application.ActorKindCitizen}

// trValidAction returns name with valid parameters.
func trValidAction(name application.ActionName) application.Action {
	a := application.Action{Name: name}
	switch name {
	case application.ActReject:
		a.Reason = "Thiếu chữ ký"
	case application.ActRequestSupplement:
		a.Missing = []string{"Bản sao CCCD"}
	case application.ActComplete:
		a.Result = &application.Result{DocumentKey: "results/STP-260302-0001.pdf", Description: "Phiếu lý lịch tư pháp số 12"}
	case application.ActReturn:
		a.Delivery = &application.Delivery{Method: application.DeliveryOnline}
	}
	return a
}

func trActor(name application.ActionName) application.Actor {
	if name == application.ActCancel {
		return trCitizen
	}
	return trStaff
}

// TestApply_every_status_action_pair tries every action in every status
// against a legal table written out here independently of the code.
func TestApply_every_status_action_pair(t *testing.T) {
	S := func(s ...application.Status) []application.Status { return s }
	legal := map[application.ActionName]struct {
		from []application.Status
		to   application.Status
	}{
		application.ActReceive:           {S(application.StatusSubmitted), application.StatusReceived},
		application.ActReject:            {S(application.StatusSubmitted, application.StatusReceived), application.StatusRejected},
		application.ActStart:             {S(application.StatusReceived), application.StatusProcessing},
		application.ActRequestSupplement: {S(application.StatusReceived, application.StatusProcessing), application.StatusSupplementRequested},
		application.ActResume:            {S(application.StatusSupplementRequested), application.StatusProcessing},
		application.ActRequirePayment:    {S(application.StatusProcessing), application.StatusAwaitingPayment},
		application.ActComplete:          {S(application.StatusProcessing), application.StatusProcessed},
		application.ActReturn:            {S(application.StatusProcessed), application.StatusReturned},
		application.ActCancel:            {S(application.StatusSubmitted), application.StatusCancelled},
	}
	if len(legal) != len(application.Actions) {
		t.Fatalf("table covers %d actions, the machine has %d", len(legal), len(application.Actions))
	}
	cal := trCalendar(t)
	pairs := 0
	for _, status := range application.Statuses {
		for _, name := range application.Actions {
			pairs++
			row := legal[name]
			isLegal := false
			for _, f := range row.from {
				isLegal = isLegal || f == status
			}
			t.Run(string(status)+"_"+string(name), func(t *testing.T) {
				app := trApp(status)
				before := len(app.Timeline)
				ev, err := application.ApplyWith(cal, &app, trValidAction(name), trActor(name), trMonday)
				if application.Allowed(status, name) != isLegal {
					t.Fatalf("Allowed = %v, want %v", !isLegal, isLegal)
				}
				if !isLegal {
					if !errors.Is(err, application.ErrIllegalTransition) {
						t.Fatalf("err = %v, want ErrIllegalTransition", err)
					}
					var coded interface{ ProblemExtra() map[string]any }
					if !errors.As(err, &coded) || coded.ProblemExtra()["current_status"] != string(status) {
						t.Fatalf("problem extra = %v, want current_status %s", coded, status)
					}
					resp := httpx.FromError(context.Background(), trQuiet, err)
					if resp.StatusCode != 409 || !strings.Contains(string(resp.Body), `"illegal_transition"`) {
						t.Fatalf("response %d %s", resp.StatusCode, resp.Body)
					}
					if app.Status != status || len(app.Timeline) != before {
						t.Fatal("app changed by a refused action")
					}
					return
				}
				if err != nil {
					t.Fatalf("legal action refused: %v", err)
				}
				if app.Status != row.to || ev.Status != row.to {
					t.Fatalf("status = %s (event %s), want %s", app.Status, ev.Status, row.to)
				}
				if len(app.Timeline) != before+1 || app.Timeline[before] != ev {
					t.Fatalf("timeline not appended: %+v", app.Timeline)
				}
				wantActor := "STP"
				if name == application.ActCancel {
					wantActor = application.ActorCitizen
				}
				if ev.Actor != wantActor || strings.Contains(ev.Actor+ev.Note, "officer1") {
					t.Fatalf("event actor/note = %q/%q", ev.Actor, ev.Note)
				}
			})
		}
	}
	if pairs != 9*9 {
		t.Fatalf("tried %d pairs", pairs)
	}
}

func TestApply_actor_checks(t *testing.T) {
	cal := trCalendar(t)
	tests := []struct {
		name   string
		action application.ActionName
		actor  application.Actor
	}{
		{"citizen_cannot_receive", application.ActReceive, trCitizen},
		{"staff_cannot_cancel_for_applicant", application.ActCancel, trStaff},
		{"staff_without_agency", application.ActReceive, application.Actor{Kind: application.ActorKindStaff, Officer: "o"}},
		{"nobody", application.ActReject, application.Actor{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := trApp(application.StatusSubmitted)
			_, err := application.ApplyWith(cal, &app, trValidAction(tt.action), tt.actor, trMonday)
			if !errors.Is(err, application.ErrActorNotAllowed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	app := trApp(application.StatusSubmitted)
	if _, err := application.ApplyWith(cal, &app, application.Action{Name: "approve"}, trStaff, trMonday); !errors.Is(err, application.ErrUnknownAction) {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestApply_parameters(t *testing.T) {
	cal := trCalendar(t)
	tests := []struct {
		name   string
		status application.Status
		action application.Action
		field  string
	}{
		{"reject_without_reason", application.StatusReceived, application.Action{Name: application.ActReject, Reason: "  "}, "reason"},
		{"supplement_without_missing", application.StatusProcessing, application.Action{Name: application.ActRequestSupplement, Missing: []string{" ", ""}}, "missing"},
		{"complete_without_result", application.StatusProcessing, application.Action{Name: application.ActComplete}, "result.documentKey"},
		{"complete_without_description", application.StatusProcessing, application.Action{Name: application.ActComplete, Result: &application.Result{DocumentKey: "k"}}, "result.description"},
		{"return_without_delivery", application.StatusProcessed, application.Action{Name: application.ActReturn}, "delivery.method"},
		{"return_by_pigeon", application.StatusProcessed, application.Action{Name: application.ActReturn, Delivery: &application.Delivery{Method: "pigeon"}}, "delivery.method"},
		{"postal_without_tracking", application.StatusProcessed, application.Action{Name: application.ActReturn, Delivery: &application.Delivery{Method: "postal"}}, "delivery.trackingNumber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := trApp(tt.status)
			_, err := application.ApplyWith(cal, &app, tt.action, trStaff, trMonday)
			var ae *application.ActionError
			if !errors.As(err, &ae) || ae.Field != tt.field {
				t.Fatalf("err = %v, want ActionError on %s", err, tt.field)
			}
			resp := httpx.FromError(context.Background(), trQuiet, err)
			if resp.StatusCode != 422 || !strings.Contains(string(resp.Body), `"field":"`+tt.field+`"`) {
				t.Fatalf("response %d %s", resp.StatusCode, resp.Body)
			}
			if app.Status != tt.status {
				t.Fatal("app changed")
			}
		})
	}
	t.Run("postal_with_tracking_noted", func(t *testing.T) {
		app := trApp(application.StatusProcessed)
		ev, err := application.ApplyWith(cal, &app, application.Action{Name: application.ActReturn,
			Delivery: &application.Delivery{Method: "postal", TrackingNumber: "EMS123VN"}}, trStaff, trMonday)
		if err != nil || !strings.Contains(ev.Note, "EMS123VN") {
			t.Fatalf("ev = %+v, err = %v", ev, err)
		}
	})
}

func TestApply_require_payment_needs_unpaid_fee(t *testing.T) {
	cal := trCalendar(t)
	for _, tt := range []struct {
		name  string
		fee   application.Fee
		allow bool
	}{
		{"unpaid_fee", application.Fee{AmountVND: 1000, PaymentState: application.PaymentUnpaid}, true},
		{"free", application.Fee{AmountVND: 0, PaymentState: application.PaymentNotRequired}, false},
		{"already_paid", application.Fee{AmountVND: 1000, PaymentState: application.PaymentPaid}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := trApp(application.StatusProcessing)
			app.Fee = tt.fee
			_, err := application.ApplyWith(cal, &app, trValidAction(application.ActRequirePayment), trStaff, trMonday)
			if tt.allow != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if !tt.allow && !errors.Is(err, application.ErrNothingToPay) {
				t.Fatalf("err = %v, want ErrNothingToPay", err)
			}
		})
	}
}

func TestApply_dates(t *testing.T) {
	cal := trCalendar(t)
	app := trApp(application.StatusSubmitted)
	app.ProcessingDays = 3
	// Received Monday 09:00 with 3 working days: due Wednesday 17:00.
	if _, err := application.ApplyWith(cal, &app, trValidAction(application.ActReceive), trStaff, trMonday); err != nil {
		t.Fatal(err)
	}
	wantDue := time.Date(2026, 3, 4, 17, 0, 0, 0, workdays.Location)
	if app.ReceivedAt == nil || !app.ReceivedAt.Equal(trMonday) || !app.DueAt.Equal(wantDue) {
		t.Fatalf("received %v due %v, want due %v", app.ReceivedAt, app.DueAt, wantDue)
	}
	step := func(name application.ActionName, at time.Time) {
		t.Helper()
		if _, err := application.ApplyWith(cal, &app, trValidAction(name), trStaff, at); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step(application.ActStart, trMonday.Add(time.Hour))
	// Supplement asked Tuesday, arrives Friday the 6th: Wed, Thu, Fri = 3
	// working days paused, so due moves from Wed 4th to Mon 9th.
	step(application.ActRequestSupplement, trMonday.AddDate(0, 0, 1))
	step(application.ActResume, trMonday.AddDate(0, 0, 4))
	wantDue = time.Date(2026, 3, 9, 17, 0, 0, 0, workdays.Location)
	if !app.DueAt.Equal(wantDue) {
		t.Fatalf("due after supplement = %v, want %v", app.DueAt.In(workdays.Location), wantDue)
	}
	// Same-day supplement round trip moves nothing.
	step(application.ActRequestSupplement, trMonday.AddDate(0, 0, 4).Add(time.Hour))
	step(application.ActResume, trMonday.AddDate(0, 0, 4).Add(2*time.Hour))
	if !app.DueAt.Equal(wantDue) {
		t.Fatalf("same-day round trip moved due to %v", app.DueAt)
	}
	// Completed on the due day: on time.
	settled := time.Date(2026, 3, 9, 16, 0, 0, 0, workdays.Location)
	step(application.ActComplete, settled)
	if app.SettledAt == nil || !app.SettledAt.Equal(settled) || app.Settlement != workdays.OnTime {
		t.Fatalf("settled %v %q", app.SettledAt, app.Settlement)
	}
	for _, tt := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"early", time.Date(2026, 3, 6, 10, 0, 0, 0, workdays.Location), workdays.Early},
		{"late", time.Date(2026, 3, 10, 8, 0, 0, 0, workdays.Location), workdays.Late},
	} {
		t.Run("complete_"+tt.name, func(t *testing.T) {
			a := trApp(application.StatusProcessing)
			a.DueAt = wantDue
			if _, err := application.ApplyWith(cal, &a, trValidAction(application.ActComplete), trStaff, tt.at); err != nil {
				t.Fatal(err)
			}
			if a.Settlement != tt.want {
				t.Fatalf("settlement = %q, want %q", a.Settlement, tt.want)
			}
		})
	}
}

// trProcessor builds a Processor over store with a queue fake.
func trProcessor(t testing.TB, store docstore.Store) (*application.Processor, *queue.MemQueue) {
	t.Helper()
	q := queue.NewMemQueue("application-events")
	p, err := application.NewProcessor(store, q, "application-events", trCalendar(t), func() time.Time { return trMonday }, trQuiet)
	if err != nil {
		t.Fatal(err)
	}
	return p, q
}

func trSeed(t *testing.T, store docstore.Store, status application.Status) application.Application {
	t.Helper()
	a := trApp(status)
	a.PINHash, a.PINSalt = "pbkdf2-sha256$1$AAAA", "AAAA"
	if _, err := application.NewRepository(store).Create(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

var trClaims = staffauth.Claims{Subject: "officer1", Agency: "STP", Roles: []string{staffauth.RoleStaff}}

func TestProcessor_applies_publishes_and_audits(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, q := trProcessor(t, store)
	trSeed(t, store, application.StatusSubmitted)

	res, err := p.Process(ctx, trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReceive)}, "call-1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Application.Status != application.StatusReceived || res.Application.PINHash != "" || res.Event.EventID == "" {
		t.Fatalf("result = %+v", res)
	}
	got, _, err := application.NewRepository(store).Get(ctx, mustCode("STP-260302-0001"))
	if err != nil || got.Status != application.StatusReceived || got.Version != 2 {
		t.Fatalf("stored = %+v, %v", got, err)
	}
	pub := q.Published("application-events")
	if len(pub) != 1 || pub[0].Type != application.EventReceived || pub[0].ID != res.Event.EventID || pub[0].CorrelationID != "call-1" {
		t.Fatalf("published = %+v", pub)
	}
	if strings.Contains(string(pub[0].Payload), "officer1") {
		t.Fatal("officer id in the event")
	}
	if err := p.Drain(ctx); err != nil { // markers are deleted in the background
		t.Fatal(err)
	}
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, application.OutboxPrefix) {
			t.Fatalf("outbox marker left: %s", k)
		}
	}
	v, err := p.View(ctx, trClaims, "STP-260302-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Audit) != 1 || v.Audit[0].Officer != "officer1" || v.Audit[0].EventID != res.Event.EventID || v.Audit[0].From != application.StatusSubmitted {
		t.Fatalf("audit = %+v", v.Audit)
	}
	if strings.Join(actionStrings(v.AllowedActions), ",") != "reject,start,request_supplement" {
		t.Fatalf("allowed = %v", v.AllowedActions)
	}
	// The stored application (what citizens' look-ups read) has no officer id.
	obj, _ := store.Get(ctx, application.Key(mustCode("STP-260302-0001")))
	if strings.Contains(string(obj.Body), "officer1") {
		t.Fatal("officer id stored in the application document")
	}
}

func actionStrings(a []application.ActionName) []string {
	out := make([]string, len(a))
	for i, n := range a {
		out[i] = string(n)
	}
	return out
}

func TestProcessor_refusals(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, q := trProcessor(t, store)
	trSeed(t, store, application.StatusSubmitted)
	other := staffauth.Claims{Subject: "o2", Agency: "SYT", Roles: []string{staffauth.RoleStaff}}
	tests := []struct {
		name   string
		claims staffauth.Claims
		in     application.ProcessInput
		status int
		code   string
	}{
		{"other_agency", other, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReceive)}, 403, "wrong_agency"},
		{"unknown_code", trClaims, application.ProcessInput{Code: "STP-260302-9999", Action: trValidAction(application.ActReceive)}, 404, "application_not_found"},
		{"illegal", trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActComplete)}, 409, "illegal_transition"},
		{"bad_parameter", trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: application.Action{Name: application.ActReject}}, 422, "validation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Process(ctx, tt.claims, tt.in, "")
			resp := httpx.FromError(ctx, trQuiet, err)
			if resp.StatusCode != tt.status || !strings.Contains(string(resp.Body), `"code":"`+tt.code+`"`) {
				t.Fatalf("response %d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	if _, err := p.View(ctx, other, "STP-260302-0001"); !errors.Is(err, staffauth.ErrForbidden) {
		t.Fatalf("view by other agency: %v", err)
	}
	if n := len(q.Published("application-events")); n != 0 {
		t.Fatalf("%d events published by refused actions", n)
	}
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, "audit/") || strings.HasPrefix(k, application.OutboxPrefix) {
			t.Fatalf("record left by a refused action: %s", k)
		}
	}
}

// racingStore lets a test run a competing write between the Processor's
// read and its write.
type racingStore struct {
	docstore.Store
	once   sync.Once
	before func()
}

func (r *racingStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if opts.IfMatch != "" && strings.HasPrefix(key, "applications/") {
		r.once.Do(r.before)
	}
	return r.Store.Put(ctx, key, body, opts)
}

func TestProcessor_lost_race_is_409_concurrent_update(t *testing.T) {
	ctx := context.Background()
	mem := docstore.NewMemStore("motcua-data")
	trSeed(t, mem, application.StatusReceived)
	rival, _ := trProcessor(t, mem)
	rs := &racingStore{Store: mem}
	rs.before = func() {
		if _, err := rival.Process(ctx, trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReject)}, ""); err != nil {
			t.Errorf("rival: %v", err)
		}
	}
	p, q := trProcessor(t, rs)
	_, err := p.Process(ctx, trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActStart)}, "")
	if !errors.Is(err, application.ErrConcurrentUpdate) {
		t.Fatalf("err = %v, want ErrConcurrentUpdate", err)
	}
	resp := httpx.FromError(ctx, trQuiet, err)
	if resp.StatusCode != 409 || !strings.Contains(string(resp.Body), `"current_status":"rejected"`) {
		t.Fatalf("response %d %s", resp.StatusCode, resp.Body)
	}
	if n := len(q.Published("application-events")); n != 0 {
		t.Fatalf("loser published %d events", n)
	}
	got, _, _ := application.NewRepository(mem).Get(ctx, mustCode("STP-260302-0001"))
	if got.Status != application.StatusRejected || len(got.Timeline) != 2 {
		t.Fatalf("stored = %s, timeline %d", got.Status, len(got.Timeline))
	}
	v, err := rival.View(ctx, trClaims, "STP-260302-0001")
	if err != nil || len(v.Audit) != 1 || v.Audit[0].Action != application.ActReject {
		t.Fatalf("audit = %+v, %v", v.Audit, err)
	}
}

// TestProcessor_concurrent_officers_on_embedded_S3 has several officers act
// on one application at once through the real AWS SDK against the embedded
// S3 server (conditional PUTs): exactly one wins, the others get 409
// (concurrent_update, or illegal_transition if they read after the win),
// and the stored application, the audit trail and the events show one step.
func TestProcessor_concurrent_officers_on_embedded_S3(t *testing.T) {
	ctx := context.Background()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	trSeed(t, p.Store, application.StatusReceived)
	proc, q := trProcessor(t, p.Store)
	actions := []application.ActionName{application.ActStart, application.ActReject, application.ActRequestSupplement}
	const officers = 8
	var wg sync.WaitGroup
	wins := make(chan application.ProcessResult, officers)
	errs := make(chan error, officers)
	start := make(chan struct{})
	for i := range officers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claims := staffauth.Claims{Subject: "officer" + string(rune('A'+i)), Agency: "STP", Roles: []string{staffauth.RoleStaff}}
			res, err := proc.Process(ctx, claims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(actions[i%len(actions)])}, "")
			if err != nil {
				errs <- err
				return
			}
			wins <- res
		}()
	}
	close(start)
	wg.Wait()
	close(wins)
	close(errs)
	// Usually exactly one officer wins: all read version 1 and race. An
	// officer whose read comes after the first write (a slow goroutine on
	// a loaded machine) decides on the new state and may legitimately win
	// too: request_supplement is allowed after start. What compare-and-swap
	// guarantees is that the winners form one chain: distinct versions
	// 2, 3, ..., each step starting where the previous one ended, and each
	// visible once in the timeline, the audit trail and the events.
	byVersion := map[int]application.ProcessResult{}
	for r := range wins {
		v := r.Application.Version
		if prev, dup := byVersion[v]; dup {
			t.Fatalf("two officers both wrote version %d: %s and %s", v, prev.Application.Status, r.Application.Status)
		}
		byVersion[v] = r
	}
	if len(byVersion) == 0 {
		t.Fatal("no officer won")
	}
	won := make([]application.ProcessResult, len(byVersion))
	for v, r := range byVersion {
		if v < 2 || v > len(byVersion)+1 {
			t.Fatalf("winner wrote version %d, want 2..%d", v, len(byVersion)+1)
		}
		won[v-2] = r
	}
	statuses := map[application.Status]bool{}
	for _, r := range won {
		statuses[r.Application.Status] = true
	}
	for err := range errs {
		if !errors.Is(err, application.ErrConcurrentUpdate) && !errors.Is(err, application.ErrIllegalTransition) {
			t.Fatalf("loser got %v", err)
		}
		resp := httpx.FromError(ctx, trQuiet, err)
		named := false
		for st := range statuses {
			named = named || strings.Contains(string(resp.Body), `"current_status":"`+string(st)+`"`)
		}
		if resp.StatusCode != 409 || !named {
			t.Fatalf("loser answer %d %s (winners' statuses %v)", resp.StatusCode, resp.Body, statuses)
		}
	}
	t.Logf("%d winner(s), last status %s", len(won), won[len(won)-1].Application.Status)
	last := won[len(won)-1]
	got, _, err := application.NewRepository(p.Store).Get(ctx, mustCode("STP-260302-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != last.Application.Status || got.Version != len(won)+1 || len(got.Timeline) != len(won)+1 {
		t.Fatalf("stored %s v%d timeline %+v; %d winners, last %s", got.Status, got.Version, got.Timeline, len(won), last.Application.Status)
	}
	for i, r := range won {
		if got.Timeline[i+1].EventID != r.Event.EventID {
			t.Fatalf("timeline entry %d is event %s, winner of version %d wrote %s", i+1, got.Timeline[i+1].EventID, i+2, r.Event.EventID)
		}
	}
	trail, err := application.AuditTrail(ctx, p.Store, got)
	if err != nil || len(trail) != len(won) {
		t.Fatalf("audit trail %+v, %v; %d winners", trail, err, len(won))
	}
	for i, r := range won {
		if trail[i].EventID != r.Event.EventID {
			t.Fatalf("audit record %d is event %s, want %s", i, trail[i].EventID, r.Event.EventID)
		}
	}
	pub := q.Published("application-events")
	if len(pub) != len(won) {
		t.Fatalf("published %d events for %d winners", len(pub), len(won))
	}
	sent := map[string]bool{}
	for _, e := range pub {
		sent[e.ID] = true
	}
	for _, r := range won {
		if !sent[r.Event.EventID] {
			t.Fatalf("winner's event %s not published", r.Event.EventID)
		}
	}
	if err := proc.Drain(ctx); err != nil { // markers are deleted in the background
		t.Fatal(err)
	}
	page, err := p.Store.List(ctx, application.OutboxPrefix, "", 100)
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("outbox markers left: %+v, %v", page.Entries, err)
	}
}

func TestAllowedFor_offers_require_payment_only_with_a_fee_to_ask(t *testing.T) {
	cases := []struct {
		name string
		fee  application.Fee
		want bool
	}{
		{"unpaid_fee", application.Fee{AmountVND: 50000, PaymentState: application.PaymentUnpaid}, true},
		{"paid_fee", application.Fee{AmountVND: 50000, PaymentState: application.PaymentPaid}, false},
		{"free", application.Fee{AmountVND: 0, PaymentState: application.PaymentNotRequired}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := application.Application{Status: application.StatusProcessing, Fee: c.fee}
			if got := application.AllowedFor(a, application.ActRequirePayment); got != c.want {
				t.Fatalf("AllowedFor = %v, want %v", got, c.want)
			}
			if !application.AllowedFor(a, application.ActComplete) {
				t.Fatal("complete must stay offered")
			}
		})
	}
}

func TestProcessor_records_the_canonical_agency_code(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, q := trProcessor(t, store)
	trSeed(t, store, application.StatusSubmitted)
	lower := trClaims
	lower.Agency = "stp" // the token's spelling
	res, err := p.Process(ctx, lower, application.ProcessInput{Code: "stp-260302-0001", Action: trValidAction(application.ActReceive)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Event.Actor != "STP" {
		t.Fatalf("timeline actor %q, want the catalog's STP", res.Event.Actor)
	}
	v, err := p.View(ctx, lower, "STP-260302-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Audit) != 1 || v.Audit[0].Agency != "STP" {
		t.Fatalf("audit = %+v, want agency STP", v.Audit)
	}
	if pub := q.Published("application-events"); len(pub) != 1 || strings.Contains(string(pub[0].Payload), `"stp"`) {
		t.Fatalf("event = %+v", pub)
	}
}
