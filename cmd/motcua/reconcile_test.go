package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/reconcile"
)

func TestReconcileRunAndPending(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	q := queue.NewMemQueue(payment.DefaultEventsQueue)
	old := reconcilePublisher
	reconcilePublisher = func(context.Context, *env) (queue.Publisher, error) { return q, nil }
	t.Cleanup(func() { reconcilePublisher = old })

	created := time.Now().Add(-2 * time.Hour)
	for _, ref := range []string{"MCLOSTAAAAAAAA", "MCSTALEAAAAAAA"} {
		app := &application.Application{Code: "HS-" + ref + "-261203-0001", Status: application.StatusAwaitingPayment,
			Fee: application.Fee{AmountVND: 50000, Kind: "fee", PaymentState: application.PaymentUnpaid}}
		if _, err := application.NewRepository(store).Create(ctx, app); err != nil {
			t.Fatal(err)
		}
		p := &payment.Payment{Ref: ref, ApplicationCode: app.Code, AmountVND: 50000, Method: payment.MethodVNPay,
			State: payment.StatePending, CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute)}
		if err := payment.NewRepository(store).Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "vnpay-day.csv")
	day := created.In(time.FixedZone("GMT+7", 7*3600)).Format("2006-01-02")
	if err := os.WriteFile(good, []byte(reconcile.SettlementHeader+"\n"+day+",MCLOSTAAAAAAAA,50000,T1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(reconcile.SettlementHeader+"\n"+day+",MCLOSTAAAAAAAA,50.000,T1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no_subcommand", []string{"reconcile"}, 2, "", "usage"},
		{"run_without_file", []string{"reconcile", "run"}, 2, "", "--file is required"},
		{"bad_method", []string{"reconcile", "run", "--file", good, "--method", "cash"}, 2, "", "--method"},
		{"bad_file_changes_nothing", []string{"reconcile", "run", "--file", bad}, 1, "", "line 2: amount"},
		{"missing_key", []string{"reconcile", "run", "--file", "nope"}, 1, "", "not found"},
		{"run_local_file", []string{"reconcile", "run", "--file", good}, 0, "callback_lost      1", ""},
		{"run_again_by_name", []string{"reconcile", "run", "--file", "vnpay-day"}, 0, "ok                 1", ""},
		{"pending_expires_stale", []string{"reconcile", "pending", "--older-than", "1h"}, 0, "expired          1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, store, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, errOut)
			}
		})
	}
	p, _, err := payment.NewRepository(store).Get(ctx, "MCSTALEAAAAAAA")
	if err != nil || p.State != payment.StateExpired {
		t.Fatalf("stale payment %s, %v", p.State, err)
	}
	if n := len(q.Published(payment.DefaultEventsQueue)); n != 1 {
		t.Fatalf("%d events published, want 1 payment.confirmed", n)
	}
	code, out, _ := runCLI(t, store, "reconcile", "pending", "--json")
	var rep reconcile.PendingReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Kind != "pending" || rep.Checked != 0 {
		t.Fatalf("pending --json: exit %d, %v\n%s", code, err, out)
	}
}
