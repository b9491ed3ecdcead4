package checks_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/feedback"
	"motcua/shared/outbox"
	"motcua/shared/outbox/checks"
	"motcua/shared/queue"
)

func TestWritten_registers_every_tied_kind(t *testing.T) {
	w := checks.Written(docstore.NewMemStore("motcua-data"))
	for _, kind := range []string{application.OutboxKind, feedback.OutboxKind} {
		if w[kind] == nil {
			t.Errorf("no outbox check for tie kind %q", kind)
		}
	}
}

// A sweep with the registry: lost application and feedback changes are
// discarded (their records do not exist), untied markers (receipts) are
// published, and nothing is left failed.
func TestWritten_repairs_tied_and_untied_markers(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	q := queue.NewMemQueue("application-events", "feedback-events", "receipt-events")
	env := func(typ string) queue.Envelope {
		e, err := queue.NewEnvelope(typ, "", map[string]string{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	fid, err := feedback.NewID(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	app, fb, rc := env("application.submitted"), env("feedback.received"), env("receipt.issued")
	for _, s := range []struct {
		q   string
		e   queue.Envelope
		tie outbox.Tie
	}{
		{"application-events", app, outbox.Tie{Kind: application.OutboxKind, ID: "STP-261203-0001"}},
		{"feedback-events", fb, outbox.Tie{Kind: feedback.OutboxKind, ID: fid.String()}},
		{"receipt-events", rc, outbox.Tie{}},
	} {
		if err := outbox.Stage(ctx, store, s.q, s.e, s.tie); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	res, err := outbox.Repair(ctx, store, q, 0, checks.Written(store), quiet)
	if err != nil {
		t.Fatalf("repair: %v (%+v)", err, res)
	}
	if res.Published != 1 || res.Discarded != 2 || res.Failed != 0 {
		t.Fatalf("repair = %+v, want 1 published (receipt), 2 discarded (application, feedback never written)", res)
	}
	if got := q.Published("receipt-events"); len(got) != 1 || got[0].ID != rc.ID {
		t.Fatalf("receipt-events got %v, want the untied receipt.issued", got)
	}
}
