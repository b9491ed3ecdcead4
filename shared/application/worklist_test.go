package application_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/staffauth"
)

// seedAgencies writes n applications of STP and n/5 of SYT with varied
// statuses, procedures and dates, through the repository (so the index is
// kept by the write path), and returns them.
func seedAgencies(t testing.TB, store docstore.Store, n int) []application.Application {
	t.Helper()
	ctx := context.Background()
	repo := application.NewRepository(store)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []application.Application
	for _, ag := range []struct {
		code string
		n    int
	}{{"STP", n}, {"SYT", n / 5}} {
		for i := 1; i <= ag.n; i++ {
			a := trApp(application.Statuses[rng.IntN(len(application.Statuses))])
			a.Code = fmt.Sprintf("%s-261201-%04d", ag.code, i)
			a.Agency = application.Agency{Code: ag.code, Name: ag.code}
			a.ProcedureCode = []string{"STP.01", "STP.02", "X.HT.004"}[rng.IntN(3)]
			a.DueAt = trMonday.Add(time.Duration(rng.IntN(60*24)-30*24) * time.Hour).UTC()
			if a.Status != application.StatusSubmitted {
				r := a.DueAt.Add(-time.Duration(rng.IntN(10*24)) * time.Hour)
				a.ReceivedAt = &r
			}
			if _, err := repo.Create(ctx, &a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
	}
	return out
}

func closedStatus(s application.Status) bool {
	return s == application.StatusRejected || s == application.StatusProcessed || s == application.StatusReturned || s == application.StatusCancelled
}

func openFamily(s application.Status) bool {
	return s != application.StatusRejected && s != application.StatusReturned && s != application.StatusCancelled
}

func TestWorkQueue_filters_paging_and_isolation(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(t, store) // now = trMonday
	apps := seedAgencies(t, store, 2500)
	day := func(d time.Time) *time.Time { return &d }
	from, to := trMonday.AddDate(0, 0, -5), trMonday.AddDate(0, 0, 5)
	for _, tc := range []struct {
		name  string
		q     application.WorkQueueQuery
		match func(a application.Application) bool
	}{
		{"default_open", application.WorkQueueQuery{}, func(a application.Application) bool { return openFamily(a.Status) }},
		{"status_processing", application.WorkQueueQuery{Statuses: []application.Status{application.StatusProcessing}},
			func(a application.Application) bool { return a.Status == application.StatusProcessing }},
		{"finished", application.WorkQueueQuery{Statuses: []application.Status{application.StatusReturned, application.StatusRejected}},
			func(a application.Application) bool {
				return a.Status == application.StatusReturned || a.Status == application.StatusRejected
			}},
		{"procedure", application.WorkQueueQuery{Procedure: "X.HT.004"},
			func(a application.Application) bool { return openFamily(a.Status) && a.ProcedureCode == "X.HT.004" }},
		{"received_range", application.WorkQueueQuery{ReceivedFrom: &from, ReceivedTo: &to},
			func(a application.Application) bool {
				return openFamily(a.Status) && a.ReceivedAt != nil && !a.ReceivedAt.Before(from) && !a.ReceivedAt.After(to)
			}},
		{"due_range", application.WorkQueueQuery{DueFrom: &from, DueTo: day(to)},
			func(a application.Application) bool {
				return openFamily(a.Status) && !a.DueAt.Before(from) && !a.DueAt.After(to)
			}},
		{"overdue", application.WorkQueueQuery{Overdue: true},
			func(a application.Application) bool { return !closedStatus(a.Status) && trMonday.After(a.DueAt) }},
		{"due_within_3_working_days", application.WorkQueueQuery{DueWithinDays: 3},
			func(a application.Application) bool {
				return openFamily(a.Status) && !a.DueAt.After(trCalendar(t).AddWorkingDays(trMonday, 3))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, a := range apps {
				if a.Agency.Code == "STP" && tc.match(a) {
					want = append(want, a.DueAt.UTC().Format("20060102T150405Z")+" "+a.Code)
				}
			}
			slices.Sort(want)
			if len(want) == 0 {
				t.Fatal("filter matches nothing: a useless case")
			}
			var got []string
			q := tc.q
			q.Limit = 37
			for pages := 0; ; pages++ {
				if pages > 200 {
					t.Fatal("paging does not end")
				}
				res, err := p.WorkQueue(ctx, trClaims, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Items) > 37 {
					t.Fatalf("page of %d", len(res.Items))
				}
				for _, it := range res.Items {
					if !strings.HasPrefix(it.Code, "STP-") {
						t.Fatalf("STP officer sees %s", it.Code)
					}
					got = append(got, it.DueAt.UTC().Format("20060102T150405Z")+" "+it.Code)
				}
				if res.NextCursor == nil {
					break
				}
				q.Cursor = *res.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %d items, want %d (first got %v, first want %v)", len(got), len(want), head(got), head(want))
			}
		})
	}
	t.Run("counts_per_status", func(t *testing.T) {
		res, err := p.WorkQueue(ctx, staffauth.Claims{Subject: "o", Agency: "syt", Roles: []string{staffauth.RoleStaff}}, application.WorkQueueQuery{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := map[application.Status]int{}
		for _, a := range apps {
			if a.Agency.Code == "SYT" {
				want[a.Status]++
			}
		}
		for _, s := range application.Statuses {
			if res.Counts[s] != want[s] {
				t.Fatalf("counts %v, want %v", res.Counts, want)
			}
		}
		if len(res.Items) != 1 || !strings.HasPrefix(res.Items[0].Code, "SYT-") {
			t.Fatalf("items %+v", res.Items)
		}
	})
}

func head(s []string) []string { return s[:min(3, len(s))] }

func TestWorkQueue_follows_status_changes_and_rebuild_repairs(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(t, store)
	trSeed(t, store, application.StatusSubmitted)
	if _, err := p.Process(ctx, trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReceive)}, ""); err != nil {
		t.Fatal(err)
	}
	res, err := p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Status != application.StatusReceived || res.Counts[application.StatusReceived] != 1 || res.Counts[application.StatusSubmitted] != 0 {
		t.Fatalf("after receive: %+v", res)
	}
	if _, err := p.Process(ctx, trClaims, application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReject)}, ""); err != nil {
		t.Fatal(err)
	}
	if res, _ = p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{}); len(res.Items) != 0 {
		t.Fatalf("rejected application still in the open queue: %+v", res.Items)
	}
	if res, _ = p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{Statuses: []application.Status{application.StatusRejected}}); len(res.Items) != 1 {
		t.Fatalf("rejected application not listed: %+v", res.Items)
	}
	// A stale entry (a crash between put and delete) and a lost counts
	// document are repaired by RebuildIndex.
	stale := application.IndexAgencyPrefix("STP") + "open/20260101T000000Z/STP-260302-0001/processing/STP.01/-"
	if _, err := store.Put(ctx, stale, nil, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = store.Delete(ctx, application.IndexCountsKey("STP"), "")
	rb, err := application.RebuildIndex(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Applications != 1 || rb.StaleRemoved != 1 {
		t.Fatalf("rebuild = %+v", rb)
	}
	res, _ = p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{})
	if len(res.Items) != 0 || res.Counts[application.StatusRejected] != 1 {
		t.Fatalf("after rebuild: %+v", res)
	}
}

func TestWorkQueue_refuses_bad_queries(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(t, store)
	for _, tc := range []struct {
		name string
		q    application.WorkQueueQuery
	}{
		{"unknown_status", application.WorkQueueQuery{Statuses: []application.Status{"lost"}}},
		{"mixed_families", application.WorkQueueQuery{Statuses: []application.Status{application.StatusProcessing, application.StatusReturned}}},
		{"bad_cursor", application.WorkQueueQuery{Cursor: "not-a-cursor!"}},
		{"limit_too_large", application.WorkQueueQuery{Limit: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.WorkQueue(context.Background(), trClaims, tc.q); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// indexEntries lists the work-queue entries in store (counts left out).
func indexEntries(t *testing.T, store *docstore.MemStore) []string {
	t.Helper()
	var out []string
	for _, key := range store.Keys() {
		if strings.HasPrefix(key, "index/agency/") && !strings.HasSuffix(key, "/counts.json") {
			out = append(out, key)
		}
	}
	return out
}

// TestWorkQueue_submission_writes_no_pointer_until_the_entry_moves follows
// a submitted application's index: the submission writes its first entry
// only; writes that keep the entry keep it without a pointer; the first
// write that moves it (receive) creates the pointer and deletes the first
// entry; a stale sync of version 1 afterwards changes nothing; and
// RebuildIndex keeps a pointerless first entry, removes another entry of the
// same application and keeps a young entry of an application not written.
func TestWorkQueue_submission_writes_no_pointer_until_the_entry_moves(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	out, err := e.svc.Submit(ctx, validInput(), "", "corr-1")
	if err != nil {
		t.Fatal(err)
	}
	_ = e.svc.Drain(ctx)
	code := mustCode(out.Code)
	repo := application.NewRepository(e.store)
	v1, _, err := repo.Get(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if v1.ExpectedDueAt == nil || !v1.ExpectedDueAt.Equal(v1.DueAt) {
		t.Fatalf("expectedDueAt %v, dueAt %v", v1.ExpectedDueAt, v1.DueAt)
	}
	first := application.IndexKey(v1)
	noPointer := func(step string) {
		t.Helper()
		if _, err := e.store.Head(ctx, application.IndexPointerKey(code)); !errors.Is(err, docstore.ErrNotFound) {
			t.Fatalf("%s: pointer %v, want none", step, err)
		}
	}
	onlyEntry := func(step, want string) {
		t.Helper()
		if got := indexEntries(t, e.store); len(got) != 1 || got[0] != want {
			t.Fatalf("%s: entries %v, want %s", step, got, want)
		}
	}
	noPointer("submitted")
	onlyEntry("submitted", first)

	agency := v1.Agency.Code
	claims := staffauth.Claims{Subject: "officer1", Agency: agency, Roles: []string{staffauth.RoleStaff}}
	cal := trCalendar(t)
	p, err := application.NewProcessor(e.store, e.q, eventsQueue, cal, func() time.Time { return e.now.Add(time.Hour) }, trQuiet)
	if err != nil {
		t.Fatal(err)
	}
	wq, err := p.WorkQueue(ctx, claims, application.WorkQueueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(wq.Items) != 1 || wq.Items[0].Code != out.Code || wq.Items[0].Status != application.StatusSubmitted || wq.Counts[application.StatusSubmitted] != 1 {
		t.Fatalf("queue after submit: %+v", wq)
	}

	// A write that keeps the entry (version 2) keeps it pointerless.
	if _, err := repo.Update(ctx, code, func(a *application.Application) error {
		a.ResultDelivery.Method = application.DeliveryOnline
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	noPointer("same-entry write")
	onlyEntry("same-entry write", first)

	// RebuildIndex: the first entry stays, a stray entry of the same
	// application goes, a young entry of an application never written
	// stays (it may be a submission in flight).
	// Beside an application stored before ExpectedDueAt existed: its
	// pointer was written at creation (legacy), and the rebuild keeps both.
	legacy := trSeed(t, e.store, application.StatusSubmitted)
	legacyEntry := application.IndexKey(legacy)
	if _, err := e.store.Head(ctx, application.IndexPointerKey(legacy.ID())); err != nil {
		t.Fatalf("legacy application without its pointer: %v", err)
	}
	stray := application.IndexAgencyPrefix(agency) + "open/20260101T000000Z/" + out.Code + "/processing/X.HT.004/-"
	inFlight := application.IndexAgencyPrefix(agency) + "open/20261130T000000Z/" + agency + "-261124-9999/submitted/X.HT.004/-"
	for _, k := range []string{stray, inFlight} {
		if _, err := e.store.Put(ctx, k, nil, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rb, err := application.RebuildIndex(ctx, e.store)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Applications != 2 || rb.StaleRemoved != 1 {
		t.Fatalf("rebuild = %+v", rb)
	}
	want := []string{first, inFlight, legacyEntry}
	slices.Sort(want)
	if got := indexEntries(t, e.store); !slices.Equal(got, want) {
		t.Fatalf("after rebuild: entries %v, want %v", got, want)
	}
	noPointer("rebuild")
	for _, k := range []string{inFlight, legacyEntry, application.IndexPointerKey(legacy.ID())} {
		if err := e.store.Delete(ctx, k, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.Delete(ctx, application.Key(legacy.ID()), ""); err != nil {
		t.Fatal(err)
	}

	// The first move creates the pointer and deletes the first entry.
	res, err := p.Process(ctx, claims, application.ProcessInput{Code: out.Code, Action: application.Action{Name: application.ActReceive}}, "")
	if err != nil {
		t.Fatal(err)
	}
	moved := application.IndexKey(res.Application.Application)
	if moved == first {
		t.Fatal("receive did not move the entry: a useless case")
	}
	onlyEntry("received", moved)
	var ptr struct {
		Key     string `json:"key"`
		Version int    `json:"version"`
	}
	if _, err := docstore.GetJSON(ctx, e.store, application.IndexPointerKey(code), &ptr); err != nil || ptr.Key != moved || ptr.Version != res.Application.Version {
		t.Fatalf("pointer %+v (%v), want %s version %d", ptr, err, moved, res.Application.Version)
	}
	// A late sync of version 1 (a retried submission, the outbox repair)
	// moves nothing back.
	if err := application.SyncIndex(ctx, e.store, v1); err != nil {
		t.Fatal(err)
	}
	onlyEntry("late version-1 sync", moved)
	if rb, err := application.RebuildIndex(ctx, e.store); err != nil || rb.StaleRemoved != 0 {
		t.Fatalf("rebuild after receive = %+v, %v", rb, err)
	}
	onlyEntry("rebuild after receive", moved)
}
