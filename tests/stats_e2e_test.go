package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

// The indicators end to end: an application is filed, processed to its
// return and rated through the gateway; the events reach the stats
// function only through the fan-out copy on stats-events and the queue
// connector (stack.yml topic); the figures show it, a rebuild from the
// documents gives the same figures, and headless Chromium renders the
// public page served by the running function.
func TestIndicators_through_the_gateway_and_the_connector(t *testing.T) {
	f := newFixture(t)
	pdf := minimalPDF("To khai - stats")
	sub := f.submit(t, submitBody(t, len(pdf)))
	staff := f.token(t, "officer-stats", e2eAgency)
	for _, a := range []map[string]any{
		{"action": "receive"},
		{"action": "start"},
		{"action": "complete", "result": map[string]any{"description": "Đã cấp Phiếu lý lịch tư pháp"}},
		{"action": "return", "delivery": map[string]any{"method": "online"}},
	} {
		a["code"] = sub.Code
		if r, ok := a["result"].(map[string]any); ok {
			r["documentKey"] = f.uploadResult(t, staff, sub.Code, minimalPDF("Phieu"))
		}
		if code, _, b := f.process(t, staff, a); code != http.StatusOK {
			t.Fatalf("%v: %d %s", a["action"], code, b)
		}
	}
	rate, _ := json.Marshal(map[string]any{"code": sub.Code, "pin": sub.PIN, "overall": 5, "attitude": 4})
	if code, _, b := do(t, http.MethodPost, f.gw+"/function/rate-application", bytes.NewReader(rate), "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("rate: %d %s", code, b)
	}

	month := stats.MonthOf(time.Now())
	query := f.gw + "/function/stats?period=month&month=" + month + "&agency=" + e2eAgency
	var last stats.Report
	figure := func(r stats.Report, id string) float64 {
		fg, ok := r.Figure(id)
		if !ok || fg.Value == nil {
			return -1
		}
		return *fg.Value
	}
	read := func() {
		code, _, b := do(t, http.MethodGet, query, nil)
		if code != http.StatusOK {
			t.Fatalf("stats: %d %s", code, b)
		}
		last = stats.Report{}
		if err := json.Unmarshal(b, &last); err != nil {
			t.Fatal(err)
		}
	}
	// Returned online but not downloaded yet: returned, not (yet) delivered
	// electronically — the indicator reads delivery.electronicDeliveredAt.
	waitFor(t, 90*time.Second, "the stats function to count the returned, rated application", func() bool {
		read()
		return figure(last, "applications_received") == 1 && figure(last, "results_returned") == 1 &&
			figure(last, "satisfaction_applications") == 5 && figure(last, "satisfaction_attitude") == 4
	})
	if got := figure(last, "results_electronic"); got != 0 {
		t.Errorf("results_electronic before any download = %v, want 0", got)
	}
	// The applicant's first download is the electronic delivery; its event
	// (application.result_downloaded) reaches stats like any other.
	if code, _, b := f.post(t, "/function/application-status?action=download-result", map[string]string{"code": sub.Code, "pin": sub.PIN}); code != http.StatusOK {
		t.Fatalf("download: %d %s", code, b)
	}
	waitFor(t, 90*time.Second, "the stats function to count the electronic delivery", func() bool {
		read()
		return figure(last, "results_electronic") == 1 && figure(last, "electronic_result_share") == 100
	})
	if got := figure(last, "applications_online"); got != 1 {
		t.Errorf("applications_online = %v, want 1", got)
	}
	if got := figure(last, "settled"); got != 1 {
		t.Errorf("settled = %v, want 1", got)
	}

	// A rebuild from the documents in the same bucket gives the same figures.
	store := docstore.NewS3Store(f.a.S3(), nil, dataBucket)
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := stats.NewService(store, catalog.NewCatalog(store), cal, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Rebuild(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Applications < 1 || res.Ratings != 1 {
		t.Fatalf("rebuild read %+v", res)
	}
	_, _, b := do(t, http.MethodGet, query, nil)
	var rebuilt stats.Report
	if err := json.Unmarshal(b, &rebuilt); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(last.Figures)
	c, _ := json.Marshal(rebuilt.Figures)
	if !bytes.Equal(a, c) {
		t.Fatalf("rebuilt figures differ from the incremental ones:\n%s\n%s", a, c)
	}

	t.Run("page_in_headless_chromium", func(t *testing.T) {
		checkPageInChromium(t, f.gw+"/function/stats?period=month&month="+month+"&format=html")
	})
}

var (
	e2eChartSection = regexp.MustCompile(`(?s)<section class="chart" id="([a-z-]+)">(.*?)</section>`)
	e2eBar          = regexp.MustCompile(`<rect class="bar [a-z-]+" [^>]*height="([0-9.]+)"`)
	e2eConsole      = regexp.MustCompile(`(?i)(CONSOLE\(|Uncaught|Refused to (load|apply|execute))`)
)

// checkPageInChromium loads url in headless Chromium: the trend chart of
// applications must be drawn, the console must stay silent, and a
// phone-sized screenshot is taken (kept at $STATS_SCREENSHOT when set).
func checkPageInChromium(t *testing.T, url string) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required in CI (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed: browser check skipped (apt-get install -y chromium)")
	}
	run := func(args ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	dom, logs := run("--dump-dom", url)
	if m := e2eConsole.FindString(logs); m != "" {
		t.Fatalf("console output (%q):\n%s", m, logs)
	}
	drawn := map[string]int{}
	for _, s := range e2eChartSection.FindAllStringSubmatch(dom, -1) {
		for _, b := range e2eBar.FindAllStringSubmatch(s[2], -1) {
			if b[1] != "0" {
				drawn[s[1]]++
			}
		}
	}
	// One returned, rated, settled application: the channel trend and the
	// timeliness chart have bars; there is no feedback yet.
	for _, id := range []string{"chart-channels", "chart-timeliness"} {
		if drawn[id] == 0 {
			t.Errorf("chart %s is empty (drawn: %v)", id, drawn)
		}
	}
	shot := filepath.Join(t.TempDir(), "stats.png")
	if p := os.Getenv("STATS_SCREENSHOT"); p != "" {
		shot = p
	}
	_, logs = run("--window-size=412,1400", "--hide-scrollbars", "--screenshot="+shot, url)
	if m := e2eConsole.FindString(logs); m != "" {
		t.Fatalf("console output (%q):\n%s", m, logs)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatal(fmt.Sprintf("screenshot missing or blank: %v", err))
	}
}
