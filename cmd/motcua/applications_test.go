package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
)

func TestApplicationsReindex(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	a := application.Application{Code: "STP-260302-0001", ProcedureCode: "T.TP.001",
		Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"}, Status: application.StatusSubmitted,
		SubmittedAt: time.Now().UTC(), DueAt: time.Now().UTC().Add(72 * time.Hour), Version: 1}
	// Written without the repository, as a restore would: no index yet.
	if _, err := docstore.PutJSON(ctx, store, application.Key(a.ID()), a, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, store: func(context.Context) (docstore.Store, error) { return store, nil }}
	if code := run(ctx, []string{"applications", "reindex", "--json"}, e); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res application.RebuildResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Applications != 1 {
		t.Fatalf("result %s (%v)", out.String(), err)
	}
	if _, err := store.Head(ctx, application.IndexKey(a)); err != nil {
		t.Fatalf("index entry missing after reindex: %v", err)
	}
	if code := run(ctx, []string{"applications", "bogus"}, e); code != 2 {
		t.Fatalf("bad usage exit %d", code)
	}
}
