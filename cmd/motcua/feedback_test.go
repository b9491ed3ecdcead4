package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua/shared/docstore"
)

func TestFeedbackTables_load_show_route(t *testing.T) {
	store := docstore.NewMemStore("data")
	if code, out, errOut := runCLI(t, store, "feedback", "routing", "validate"); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("validate seed: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, store, "feedback", "route", "--field", "HO_TICH", "--lat", "21.1375", "--long", "105.8842"); code != 0 ||
		!strings.Contains(out, "UBND-X-VIETHUNG") {
		t.Fatalf("route: %d %s", code, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "routing.json")
	if err := os.WriteFile(bad, []byte(`{"agencies":[{"code":"A","name":"A"}],"rules":[{"field":"X","agency":"B"}],"default":"A"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, store, "feedback", "routing", "load", "--file", bad); code != 1 || !strings.Contains(errOut, `"B"`) {
		t.Fatalf("invalid table: %d %s", code, errOut)
	}
	good := filepath.Join(dir, "fields.json")
	if err := os.WriteFile(good, []byte(`{"fields":[{"code":"KHAC","name":"Khác","nameEn":"Other","description":""}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, store, "feedback", "fields", "load", "--file", good); code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("load: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, store, "feedback", "fields", "show"); code != 0 || !strings.Contains(out, `"version": 2`) {
		t.Fatalf("show: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, store, "feedback", "nope"); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}
