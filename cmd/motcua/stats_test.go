package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/stats"
)

func TestStatsRebuild(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	at := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	a := application.Application{Code: "STP-261102-0001", ProcedureCode: "T.TP.001", Agency: application.Agency{Code: "STP"},
		Status: application.StatusSubmitted, Channel: application.ChannelOnline, SubmittedAt: at, DueAt: at.AddDate(0, 0, 7), Version: 1}
	if _, err := docstore.PutJSON(ctx, store, application.Key(a.ID()), a, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"rebuild_json", []string{"stats", "rebuild", "--json"}, 0, `"applications":1`},
		{"rebuild_text", []string{"stats", "rebuild"}, 0, "stats rebuilt: 1 applications"},
		{"unknown_subcommand", []string{"stats", "drop"}, 2, ""},
		{"extra_argument", []string{"stats", "rebuild", "now"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{stdout: &out, stderr: &errOut, store: func(context.Context) (docstore.Store, error) { return store, nil }}
			if code := run(ctx, tc.args, e); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("stdout %q lacks %q", out.String(), tc.want)
			}
		})
	}
	var s stats.Summary
	if _, err := docstore.GetJSON(ctx, store, stats.SummaryKey("2026-11"), &s); err != nil {
		t.Fatalf("no November summary after the rebuild: %v", err)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"rcv":1`) {
		t.Fatalf("summary %s does not count the application", b)
	}
}
