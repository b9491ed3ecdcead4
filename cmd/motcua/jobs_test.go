package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

// slowKind plans n items and applies each after a short pause, failing
// the items listed in fail.
type slowKind struct {
	n     int
	pause time.Duration
	fail  map[string]bool
}

func (k *slowKind) Name() string           { return "slow" }
func (k *slowKind) Check(jobs.Scope) error { return nil }
func (k *slowKind) Plan(_ context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	for i := range k.n {
		if err := emit(jobs.Item{Key: fmt.Sprintf("k%03d", i), Action: "touch"}); err != nil {
			return err
		}
	}
	return nil
}
func (k *slowKind) Apply(_ context.Context, _ jobs.Scope, it jobs.Item) (jobs.Result, error) {
	time.Sleep(k.pause)
	if k.fail[it.Key] {
		return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: "refused"}, nil
	}
	return jobs.Result{Outcome: jobs.OutcomeChanged}, nil
}

// apiServer serves the real jobs API (shared/jobs.HTTP) over HTTP at
// /function/reprocess, with a background worker draining the queue.
type apiServer struct {
	url, admin, staff string
}

func startAPI(t *testing.T, k jobs.Kind) *apiServer {
	t.Helper()
	dir := t.TempDir()
	signer := stafftest.WriteKeys(t, dir)
	verifier, err := staffauth.NewVerifier(config.SecretsFrom(config.MapSource{config.SecretsDirKey: dir}))
	if err != nil {
		t.Fatal(err)
	}
	store := docstore.NewMemStore("d")
	q := queue.NewMemQueue()
	q.CreateQueue(jobs.DefaultQueue, time.Minute, 3)
	svc := jobs.New(store, q, jobs.NewRegistry(k), jobs.Options{ChunkSize: 2})
	api := jobs.NewHTTP(svc, jobs.StaffAdmin(verifier.Verify, nil), nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := handler.Request{Body: b, Header: r.Header, QueryString: r.URL.RawQuery, Method: r.Method}
		req.WithContext(r.Context())
		resp := api.Serve(r.Context(), req)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			msgs, _ := q.Receive(ctx, jobs.DefaultQueue, 10, 50*time.Millisecond)
			for _, m := range msgs {
				if svc.Handle(ctx, []byte(m.Body), m.ReceiveCount) == nil {
					_ = q.Delete(ctx, jobs.DefaultQueue, m.ReceiptHandle)
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); srv.Close() })
	return &apiServer{url: srv.URL, admin: stafftest.Token(t, signer, "admin-cli", "STP", staffauth.RoleStaff, jobs.RoleAdmin),
		staff: stafftest.Token(t, signer, "admin-cli", "STP")}
}

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

var idRe = regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}`)

func TestJobsCLI_dry_run_confirm_watch_report(t *testing.T) {
	api := startAPI(t, &slowKind{n: 12, fail: map[string]bool{"k007": true}})
	common := []string{"--gateway", api.url, "--token", api.admin}

	code, out, errOut := cli(t, append([]string{"jobs", "start", "slow"}, common...)...)
	id := idRe.FindString(out)
	if code != 0 || id == "" || !strings.Contains(out, "plan: 12 item(s)") || !strings.Contains(out, "--confirm "+id) {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = cli(t, append([]string{"jobs", "start", "--confirm", id, "--json"}, common...)...)
	var v jobs.View
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.ID != id || v.Status == jobs.StatusPlanned {
		t.Fatalf("confirm --json: %d %v\n%s", code, err, out)
	}
	// watch --json: one JSON object per poll; exit 3 as one item failed.
	code, out, errOut = cli(t, append([]string{"jobs", "watch", id, "--json", "--interval", "100ms"}, common...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last jobs.View
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("last watch line %q: %v", lines[len(lines)-1], err)
	}
	if code != exitFailedItems || last.Status != jobs.StatusCompleted || last.Progress.Failed != 1 || !strings.Contains(errOut, "1 failed item") {
		t.Fatalf("watch: exit %d, %+v\n%s", code, last.Progress, errOut)
	}
	// Plain watch when stdout is not a terminal: timestamped lines.
	code, out, _ = cli(t, append([]string{"jobs", "watch", id}, common...)...)
	if code != exitFailedItems || !strings.Contains(out, "completed 12/12 (100%) done=11 failed=1 skipped=0") || strings.Contains(out, "\r") {
		t.Fatalf("plain watch: %d %q", code, out)
	}
	code, out, _ = cli(t, append([]string{"jobs", "report", id}, common...)...)
	if code != 0 || !strings.HasPrefix(out, "index,key,action") || !strings.Contains(out, "7,k007,touch,,failed,refused") {
		t.Fatalf("report: %d\n%s", code, out)
	}
	code, out, _ = cli(t, append([]string{"jobs", "list"}, common...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "admin-cli") {
		t.Fatalf("list: %d\n%s", code, out)
	}
}

func TestJobsCLI_exit_statuses(t *testing.T) {
	api := startAPI(t, &slowKind{n: 40, pause: 20 * time.Millisecond})
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no_admin_role", []string{"jobs", "list", "--gateway", api.url, "--token", api.staff}, exitDenied},
		{"bad_token", []string{"jobs", "list", "--gateway", api.url, "--token", "nope"}, exitDenied},
		{"unknown_job", []string{"jobs", "watch", "20261203T000000Z-000000", "--gateway", api.url, "--token", api.admin}, exitNotFound},
		{"unknown_kind", []string{"jobs", "start", "nope", "--gateway", api.url, "--token", api.admin}, 2},
		{"bad_id", []string{"jobs", "watch", "x", "--gateway", api.url, "--token", api.admin}, 2},
		{"remote_gateway_needs_a_token", []string{"jobs", "list", "--gateway", "http://10.1.2.3:8080"}, exitDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errOut := cli(t, tt.args...); code != tt.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.want, out, errOut)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		common := []string{"--gateway", api.url, "--token", api.admin}
		_, out, _ := cli(t, append([]string{"jobs", "start", "slow"}, common...)...)
		id := idRe.FindString(out)
		cli(t, append([]string{"jobs", "start", "slow", "--confirm", id}, common...)...)
		if code, out, errOut := cli(t, append([]string{"jobs", "cancel", id}, common...)...); code != 0 {
			t.Fatalf("cancel: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := cli(t, append([]string{"jobs", "watch", id, "--interval", "100ms"}, common...)...); code != exitCancelled {
			t.Fatalf("watch of a cancelled job: exit %d %s", code, errOut)
		}
	})
}

// TestMain lets the test binary act as the motcua command (for the
// pseudo-terminal test).
func TestMain(m *testing.M) {
	if os.Getenv("MOTCUA_CLI_CHILD") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()}))
	}
	os.Exit(m.Run())
}

func TestJobsCLI_watch_draws_a_progress_bar_in_a_terminal(t *testing.T) {
	api := startAPI(t, &slowKind{n: 30, pause: 30 * time.Millisecond})
	common := []string{"--gateway", api.url, "--token", api.admin}
	_, out, _ := cli(t, append([]string{"jobs", "start", "slow"}, common...)...)
	id := idRe.FindString(out)
	cli(t, append([]string{"jobs", "start", "slow", "--confirm", id}, common...)...)

	cmd := exec.Command(os.Args[0], append([]string{"jobs", "watch", id, "--interval", "100ms"}, common...)...)
	cmd.Env = append(os.Environ(), "MOTCUA_CLI_CHILD=1")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminal in CI: %v", err)
		}
		t.Skipf("no pseudo-terminal here (/dev/ptmx): %v", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, f); close(done) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch in a terminal: %v\n%q", err, buf.String())
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	got := buf.String()
	if !strings.Contains(got, "\r\x1b[K[") || !strings.Contains(got, "items/s") || !strings.Contains(got, "ETA") ||
		!strings.Contains(got, "100% 30/30") || !strings.Contains(got, "█") {
		t.Fatalf("terminal output lacks a live bar:\n%q", got)
	}
	if strings.Count(got, "\r\x1b[K") < 2 {
		t.Fatalf("the bar was drawn once only (no live update):\n%q", got)
	}
}
