package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua/shared/catalog"
	"motcua/shared/docstore"
)

func runCLI(t *testing.T, store docstore.Store, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, store: func(context.Context) (docstore.Store, error) { return store, nil },
		environ: []string{"MOTCUA_SECRETS_DIR=" + t.TempDir()}} // hermetic: no dev secrets of this machine
	code := run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestCatalogLoadAndList(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	for want := 1; want <= 2; want++ {
		code, out, errOut := runCLI(t, store, "catalog", "load")
		if code != 0 || !strings.Contains(out, fmt.Sprintf("current version is %d", want)) {
			t.Fatalf("load #%d: exit %d, out %q, err %q", want, code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, store, "catalog", "list", "--level", "commune")
	if code != 0 || !strings.Contains(out, "X.HT.001") || strings.Contains(out, "T.TP.001") || !strings.Contains(out, "catalog version 2") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, store, "catalog", "list", "--q", "ly lich tu phap", "--json")
	var got struct {
		Version    int                 `json:"version"`
		Procedures []catalog.Procedure `json:"procedures"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got.Procedures) != 1 || got.Procedures[0].Code != "T.TP.001" {
		t.Fatalf("list --json: exit %d, %v\n%s", code, err, out)
	}
}

func TestCatalogLoadFileAndInvalidFile(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	dir := t.TempDir()
	procs, err := catalog.SeedProcedures()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(procs[:3])
	goodPath := filepath.Join(dir, "good.json")
	if err := os.WriteFile(goodPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	procs[1].Code = procs[0].Code
	procs[2].Fee.AmountVND = -1
	bad, _ := json.Marshal(procs[:3])
	badPath := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badPath, bad, 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, errOut := runCLI(t, store, "catalog", "load", "--file", badPath)
	if code != 1 || !strings.Contains(errOut, "duplicate of procedures[0]") || !strings.Contains(errOut, "amountVND") {
		t.Fatalf("bad load: exit %d\n%s", code, errOut)
	}
	if keys := store.Keys(); len(keys) != 0 {
		t.Fatalf("invalid load wrote %v", keys)
	}
	if code, _, _ := runCLI(t, store, "catalog", "validate", "--file", badPath); code != 1 {
		t.Fatalf("validate bad: exit %d", code)
	}
	code, out, errOut := runCLI(t, store, "catalog", "load", "--file", goodPath)
	if code != 0 || !strings.Contains(out, "version 1 (3 procedures)") {
		t.Fatalf("good load: exit %d, %q %q", code, out, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	tests := []struct {
		name string
		args []string
	}{
		{"no_args", nil},
		{"unknown_group", []string{"frobnicate"}},
		{"catalog_no_sub", []string{"catalog"}},
		{"catalog_unknown_sub", []string{"catalog", "drop"}},
		{"unknown_flag", []string{"catalog", "list", "--nope"}},
		{"bad_level", []string{"catalog", "list", "--level", "ward"}},
		{"stray_argument", []string{"catalog", "load", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, _ := runCLI(t, store, tt.args...); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
}

func TestStoreFromEnvNamesMissingBucket(t *testing.T) {
	_, err := storeFromEnv(context.Background(), []string{"AWS_REGION=us-east-1"})
	if err == nil || !strings.Contains(err.Error(), "MOTCUA_BUCKET") {
		t.Fatalf("err = %v, want it to name MOTCUA_BUCKET", err)
	}
}
