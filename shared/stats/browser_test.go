package stats_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/stats"
)

// serveFunction serves the stats function's HTTP adapter the way the
// golang-http template does (method, query, headers, body in; status,
// headers, body out).
func serveFunction(h *stats.HTTP) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res := h.Serve(r.Context(), handler.Request{Body: body, Header: r.Header, QueryString: r.URL.RawQuery, Method: r.Method})
		for k, vs := range res.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(res.Body)
	}))
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed: the browser check of the indicators page is skipped (apt-get install -y chromium)")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

var (
	reSection = regexp.MustCompile(`(?s)<section class="chart" id="([a-z-]+)">(.*?)</section>`)
	reBar     = regexp.MustCompile(`<rect class="bar [a-z-]+" x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"`)
	reConsole = regexp.MustCompile(`(?i)(CONSOLE\(|Uncaught|Refused to (load|apply|execute))`)
)

// The public page, served by the function's adapter over the fixture, is
// loaded by headless Chromium: every chart must have drawn bars of
// non-zero height, the console must stay silent (no script errors, no
// content-security-policy refusals), and a phone-sized screenshot is taken
// (kept at $STATS_SCREENSHOT when set, for a human to look at).
func TestBrowser_renders_the_public_page(t *testing.T) {
	bin := chromium(t)
	store := loadFixture(t)
	svc := newService(t, store, vn("2026-11-30"))
	if _, err := svc.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := serveFunction(stats.NewHTTP(svc, nil, nil))
	defer srv.Close()
	url := srv.URL + "/?period=quarter&quarter=2026-Q4&format=html"

	dom, logs := runChromium(t, bin, "--dump-dom", url)
	if m := reConsole.FindString(logs); m != "" {
		t.Fatalf("console output while loading the page (%q):\n%s", m, logs)
	}
	charts := reSection.FindAllStringSubmatch(dom, -1)
	if len(charts) != 3 {
		t.Fatalf("%d charts in the rendered DOM, want 3", len(charts))
	}
	for _, c := range charts {
		bars := reBar.FindAllStringSubmatch(c[2], -1)
		drawn := 0
		for _, b := range bars {
			if b[1] != "0" {
				drawn++
			}
		}
		if drawn == 0 {
			t.Errorf("chart %s is empty", c[1])
		}
	}
	if !strings.Contains(dom, `name="viewport"`) || !strings.Contains(dom, "Tỷ lệ hồ sơ trực tuyến") {
		t.Error("the page lacks its viewport meta or its Vietnamese labels")
	}

	shot := filepath.Join(t.TempDir(), "stats.png")
	if p := os.Getenv("STATS_SCREENSHOT"); p != "" {
		shot = p
	}
	_, logs = runChromium(t, bin, "--window-size=412,1400", "--hide-scrollbars", "--screenshot="+shot, url)
	if m := reConsole.FindString(logs); m != "" {
		t.Fatalf("console output while taking the screenshot (%q):\n%s", m, logs)
	}
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot missing or blank: %v %v", fi, err)
	}
}
