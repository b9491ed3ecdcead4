package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

const outboxQueue = "application-events"

// stagedOutbox writes three markers into store: one whose application's
// timeline holds the event (a crash after the write: republish), one
// whose application was never written (a crash before it: discard) and
// one not tied to an application (its cause is durable: republish). It
// returns the IDs of the events to be republished and of the discarded one.
func stagedOutbox(t *testing.T, store docstore.Store) (republish []string, discard string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	app := application.Application{Code: "STP-260302-0001", ProcedureCode: "T.TP.001",
		Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"}, Status: application.StatusSubmitted,
		Channel: application.ChannelOnline, SubmittedAt: now, Version: 1}
	written, err := application.NewEvent(application.EventSubmitted, "call-1", app, now)
	if err != nil {
		t.Fatal(err)
	}
	app.Timeline = []application.Event{{At: now, Status: application.StatusSubmitted, Actor: application.ActorCitizen, EventID: written.ID}}
	if err := application.StageOutbox(ctx, store, outboxQueue, written, app.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := application.NewRepository(store).Create(ctx, &app); err != nil {
		t.Fatal(err)
	}
	lost := app
	lost.Code = "STP-260302-0002"
	never, err := application.NewEvent(application.EventSubmitted, "call-2", lost, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := application.StageOutbox(ctx, store, outboxQueue, never, lost.Code); err != nil {
		t.Fatal(err)
	}
	plain, err := application.NewEvent(application.EventDocumentsUploaded, "call-3", app, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := application.StageOutbox(ctx, store, outboxQueue, plain, ""); err != nil {
		t.Fatal(err)
	}
	return []string{written.ID, plain.ID}, never.ID
}

func runOutboxCLI(t *testing.T, e *env, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e.stdout, e.stderr = &out, &errOut
	code := run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestOutboxRepair_republishes_written_and_discards_lost_events(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	q := queue.NewMemQueue(outboxQueue)
	old := openOutbox
	openOutbox = func(context.Context, []string) (outboxBackend, error) {
		return outboxBackend{store: store, pub: q}, nil
	}
	t.Cleanup(func() { openOutbox = old })
	republish, discard := stagedOutbox(t, store)
	e := &env{}

	code, out, errOut := runOutboxCLI(t, e, "outbox", "repair", "--older-than", "1h")
	if code != 0 || !strings.Contains(out, "0 republished, 0 discarded, 3 pending, 0 failed") {
		t.Fatalf("young markers: exit %d, out %q, err %q", code, out, errOut)
	}
	if got := q.Published(outboxQueue); len(got) != 0 {
		t.Fatalf("young markers published: %v", got)
	}

	code, out, errOut = runOutboxCLI(t, e, "outbox", "repair", "--older-than", "0s", "--json")
	if code != 0 {
		t.Fatalf("repair: exit %d, err %q", code, errOut)
	}
	var res application.RepairResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res != (application.RepairResult{Published: 2, Discarded: 1}) {
		t.Fatalf("repair result %q (%v)", out, err)
	}
	got := q.Published(outboxQueue)
	if len(got) != 2 || !containsID(got, republish[0]) || !containsID(got, republish[1]) || containsID(got, discard) {
		t.Fatalf("published %v, want %v and never %s", got, republish, discard)
	}
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, application.OutboxPrefix) {
			t.Fatalf("marker %s left after repair", k)
		}
	}
	if !strings.Contains(errOut, discard) || !strings.Contains(errOut, republish[0]) {
		t.Fatalf("stderr does not log each event id:\n%s", errOut)
	}
}

func containsID(envs []queue.Envelope, id string) bool {
	for _, e := range envs {
		if e.ID == id {
			return true
		}
	}
	return false
}

func TestOutboxRepair_usage_errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no_sub", []string{"outbox"}},
		{"unknown_sub", []string{"outbox", "flush"}},
		{"bad_duration", []string{"outbox", "repair", "--older-than", "soon"}},
		{"negative_duration", []string{"outbox", "repair", "--older-than", "-1m"}},
		{"stray_argument", []string{"outbox", "repair", "now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, _ := runOutboxCLI(t, &env{}, tc.args...); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
}

func TestOutboxRepair_names_missing_bucket(t *testing.T) {
	_, err := outboxFromEnv(context.Background(), []string{"AWS_REGION=us-east-1"})
	if err == nil || !strings.Contains(err.Error(), "MOTCUA_BUCKET") {
		t.Fatalf("err = %v, want it to name MOTCUA_BUCKET", err)
	}
}

// TestOutboxRepairThroughStandardAWSEnv runs outbox repair as an operator
// would (MOTCUA_BUCKET, MOTCUA_EVENTS_QUEUE and the AWS SDK's standard
// variables only) against the embedded S3/SQS, and receives the
// republished events from the real queue.
func TestOutboxRepairThroughStandardAWSEnv(t *testing.T) {
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	s3c, sqsc, err := stack.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	republish, discard := stagedOutbox(t, docstore.NewS3Store(s3c, nil, "motcua-data"))
	environ := append(stack.Env(), "MOTCUA_BUCKET=motcua-data", "MOTCUA_EVENTS_QUEUE="+outboxQueue)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	code, out, errOut := runOutboxCLI(t, &env{environ: os.Environ()}, "outbox", "repair", "--older-than", "0s")
	if code != 0 || !strings.Contains(out, "2 republished, 1 discarded, 0 pending, 0 failed") {
		t.Fatalf("repair: exit %d, out %q, err %q", code, out, errOut)
	}
	left, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: strPtr("motcua-data"), Prefix: strPtr(application.OutboxPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Contents) != 0 {
		t.Fatalf("%d markers left", len(left.Contents))
	}
	c := queue.NewConsumer(sqsc)
	var got []queue.Envelope
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		msgs, err := c.Receive(ctx, outboxQueue, 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			env, err := m.Envelope()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, env)
		}
	}
	if len(got) != 2 || !containsID(got, republish[0]) || !containsID(got, republish[1]) || containsID(got, discard) {
		t.Fatalf("queue holds %v, want %v and never %s", got, republish, discard)
	}
}

func strPtr(s string) *string { return &s }
