package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProvOptions_validate(t *testing.T) {
	base := provOptions{enabled: true, apps: 100000, feedback: 10000, scale: 0.001, c: 4, retryFor: 1}
	cases := []struct {
		name string
		mod  func(*provOptions)
		ok   bool
	}{
		{"small_scale_is_fine", func(*provOptions) {}, true},
		{"disabled_is_never_checked", func(o *provOptions) { o.enabled, o.apps = false, 0 }, true},
		{"fewer_than_ten_applications", func(o *provOptions) { o.scale = 0.00005 }, false},
		{"zero_scale", func(o *provOptions) { o.scale = 0 }, false},
		{"no_clients", func(o *provOptions) { o.c = 0 }, false},
		{"negative_feedback", func(o *provOptions) { o.feedback = -1 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			if err := o.validate(); (err == nil) != tc.ok {
				t.Fatalf("validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestNewCitizen_is_valid_and_distinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 2000 {
		c := newCitizen(newRng(7, i), i)
		if seen[c.From] {
			t.Fatalf("citizen %d shares address %s", i, c.From)
		}
		seen[c.From] = true
		if c.From == "127.0.0.1" || !strings.HasPrefix(c.From, "127.") {
			t.Fatalf("citizen %d comes from %s", i, c.From)
		}
	}
}

// runProvinceSmoke runs the scenario at a small scale and checks the
// report: every check PASS, every stage present, the JSON complete.
func runProvinceSmoke(t *testing.T, extra ...string) ProvinceReport {
	t.Helper()
	tmp := t.TempDir()
	jsonPath := filepath.Join(tmp, "province.json")
	args := append([]string{"-province", "-province-apps", "100000", "-scale", "0.001", "-province-c", "8",
		"-build", filepath.Join(tmp, "build"), "-json", jsonPath, "-timeout", "12m"}, extra...)
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nreport:\n%s\nstderr:\n%s", code, out.String(), tail(errOut.String(), 4000))
	}
	for _, want := range []string{"### Stages", "| submit |", "| payments (pay-fee + bank) |", "| reconcile (reprocess job) |",
		"| receipts (connector) |", "| feedback |", "Bound by:", "### Functions", "PASS each receipt series is gapless"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("a check failed:\n%s", out.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep ProvinceReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Applications != 100 || rep.Feedback != 10 || len(rep.Checks) < 7 || rep.DiskBytes == 0 || rep.Bound == "" {
		t.Fatalf("JSON report %s", b)
	}
	return rep
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestProvince_small_scale runs the whole province-year at 0.1 % (100
// applications, 10 feedback items) through motcua-local as a child
// process, so the scenario cannot rot.
func TestProvince_small_scale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack and files 100 applications (about a minute); skipped with -short")
	}
	rep := runProvinceSmoke(t)
	if len(rep.Kills) != 0 {
		t.Fatalf("kills without -chaos: %+v", rep.Kills)
	}
}

// TestProvince_chaos_small_scale is the same with -chaos: two SIGKILLs of
// the whole stack, the same checks. It runs when MOTCUA_BENCH_CHAOS=1
// (.ci/run sets it).
func TestProvince_chaos_small_scale(t *testing.T) {
	if os.Getenv("MOTCUA_BENCH_CHAOS") != "1" {
		t.Skip("set MOTCUA_BENCH_CHAOS=1 to SIGKILL the stack twice during a small province-year (.ci/run does)")
	}
	rep := runProvinceSmoke(t, "-chaos", "-seed", "3")
	if len(rep.Kills) != 2 {
		t.Fatalf("kills %+v, want 2", rep.Kills)
	}
	for _, k := range rep.Kills {
		if k.ClientErrors != "" {
			t.Fatalf("kill %+v", k)
		}
	}
}
