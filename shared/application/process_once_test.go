package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
)

// failingAppWrite fails the application writes (If-Match PUTs of
// applications/…) while on is set: the process dying between the staged
// records and the application write.
type failingAppWrite struct {
	docstore.Store
	on atomic.Bool
}

var errCrash = errors.New("simulated crash before the application write")

func (f *failingAppWrite) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if f.on.Load() && opts.IfMatch != "" && strings.HasPrefix(key, "applications/") {
		return "", errCrash
	}
	return f.Store.Put(ctx, key, body, opts)
}

// TestProcessOnce_rerun_of_a_written_step_answers_it: a staff request run
// again with the same request key (a retry that took over the lock of a
// run cut short after its write) answers the step that run wrote — 200,
// the same event — instead of 409 illegal_transition, writes nothing
// more, and publishes the event if the first run could not.
func TestProcessOnce_rerun_of_a_written_step_answers_it(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, q := trProcessor(t, store)
	trSeed(t, store, application.StatusSubmitted)
	in := application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReceive)}
	q.FailNextPublish(errors.New("queue down")) // the first run's event stays in its marker
	first, err := p.ProcessOnce(ctx, trClaims, in, "call-1", "key-1\x00digest")
	if err != nil {
		t.Fatal(err)
	}
	if first.Event.EventID != application.StaffEventID("officer1", "key-1\x00digest") {
		t.Fatalf("event id %s, want the one derived from the request", first.Event.EventID)
	}
	if n := len(q.Published("application-events")); n != 0 {
		t.Fatalf("%d events published through a failing queue", n)
	}
	again, err := p.ProcessOnce(ctx, trClaims, in, "call-1", "key-1\x00digest")
	if err != nil {
		t.Fatalf("re-run: %v, want the step answered again", err)
	}
	if again.Event.EventID != first.Event.EventID || again.Application.Status != application.StatusReceived || again.Application.Version != first.Application.Version {
		t.Fatalf("re-run answered %+v / %+v, first %+v / %+v", again.Event, again.Application.Version, first.Event, first.Application.Version)
	}
	got, _, err := application.NewRepository(store).Get(ctx, mustCode("STP-260302-0001"))
	if err != nil || got.Version != 2 || len(got.Timeline) != 2 {
		t.Fatalf("stored v%d with %d timeline entries (%v), want the one step", got.Version, len(got.Timeline), err)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	pub := q.Published("application-events")
	if len(pub) != 1 || pub[0].ID != first.Event.EventID {
		t.Fatalf("published %+v, want the step's event once", pub)
	}
	if keys, _ := store.List(ctx, application.OutboxPrefix, "", 10); len(keys.Entries) != 0 {
		t.Fatalf("markers left: %+v", keys.Entries)
	}
	// Another key is another request: the step is refused as before.
	if _, err := p.ProcessOnce(ctx, trClaims, in, "call-2", "key-2\x00digest"); !errors.Is(err, application.ErrIllegalTransition) {
		t.Fatalf("another request: %v, want ErrIllegalTransition", err)
	}
	// So is the same key from another officer.
	other := trClaims
	other.Subject = "officer2"
	if _, err := p.ProcessOnce(ctx, other, in, "call-3", "key-1\x00digest"); !errors.Is(err, application.ErrIllegalTransition) {
		t.Fatalf("another officer's key: %v, want ErrIllegalTransition", err)
	}
}

// TestProcessOnce_rerun_after_a_run_cut_before_the_write: the first run
// staged its audit record and marker and stopped before the application
// write; the re-run writes over them and the step lands once, audited
// once, its event published once.
func TestProcessOnce_rerun_after_a_run_cut_before_the_write(t *testing.T) {
	ctx := context.Background()
	mem := docstore.NewMemStore("motcua-data")
	store := &failingAppWrite{Store: mem}
	p, q := trProcessor(t, store)
	trSeed(t, mem, application.StatusSubmitted)
	in := application.ProcessInput{Code: "STP-260302-0001", Action: trValidAction(application.ActReceive)}
	store.on.Store(true)
	if _, err := p.ProcessOnce(ctx, trClaims, in, "call-1", "key-1\x00digest"); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	store.on.Store(false)
	res, err := p.ProcessOnce(ctx, trClaims, in, "call-1", "key-1\x00digest")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := application.NewRepository(mem).Get(ctx, mustCode("STP-260302-0001"))
	if err != nil || got.Status != application.StatusReceived || got.Version != 2 {
		t.Fatalf("stored %+v, %v", got.Status, err)
	}
	trail, err := application.AuditTrail(ctx, mem, got)
	if err != nil || len(trail) != 1 || trail[0].EventID != res.Event.EventID || trail[0].Officer != "officer1" {
		t.Fatalf("audit trail %+v, %v", trail, err)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if pub := q.Published("application-events"); len(pub) != 1 || pub[0].ID != res.Event.EventID {
		t.Fatalf("published %+v, want the step's event once", pub)
	}
	if keys, _ := mem.List(ctx, application.OutboxPrefix, "", 10); len(keys.Entries) != 0 {
		t.Fatalf("markers left: %+v", keys.Entries)
	}
}

// TestStaffHTTP_retry_after_a_cut_run_answers_the_step: the client's
// retry with the same Idempotency-Key, after the run that wrote the step
// died before recording its answer (its lock left pending, then stale),
// takes the lock over and gets 200 with the step — not 409
// illegal_transition.
func TestStaffHTTP_retry_after_a_cut_run_answers_the_step(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, q := trProcessor(t, store)
	trSeed(t, store, application.StatusProcessing)
	auth := func(string, time.Time) (staffauth.Claims, error) { return trClaims, nil }
	srv := application.NewStaffHTTP(p, idempotency.New(store, "idempotency/process-application", time.Hour, idempotency.WithLockTTL(time.Minute)),
		auth, func() time.Time { return trMonday }, trQuiet)
	req := handler.Request{Method: http.MethodPost, Body: []byte(`{"code":"STP-260302-0001","action":"request_supplement","missing":["Bản sao CCCD"]}`),
		Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer x"}, "Idempotency-Key": {"k-1"}}}
	first := srv.Serve(ctx, req)
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first: %d %s", first.StatusCode, first.Body)
	}
	// The run "died" before recording its answer: its record is a stale lock.
	page, err := store.List(ctx, "idempotency/process-application/", "", 10)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("idempotency records %+v, %v", page.Entries, err)
	}
	var rec map[string]any
	if _, err := docstore.GetJSON(ctx, store, page.Entries[0].Key, &rec); err != nil {
		t.Fatal(err)
	}
	rec["state"], rec["locked_at"] = "pending", "2000-01-01T00:00:00Z"
	delete(rec, "status")
	delete(rec, "body")
	if _, err := docstore.PutJSON(ctx, store, page.Entries[0].Key, rec, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	retry := srv.Serve(ctx, req)
	if retry.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d %s, want 200 with the step", retry.StatusCode, retry.Body)
	}
	var a, b application.ProcessResult
	if json.Unmarshal(first.Body, &a) != nil || json.Unmarshal(retry.Body, &b) != nil || a.Event.EventID != b.Event.EventID || b.Application.Status != application.StatusSupplementRequested {
		t.Fatalf("retry answered %s\nfirst %s", retry.Body, first.Body)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if pub := q.Published("application-events"); len(pub) != 1 {
		t.Fatalf("%d events published, want 1", len(pub))
	}
}
