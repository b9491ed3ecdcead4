package buildctx_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua/infra/buildctx/buildctxtest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = buildctxtest.SyncBuffer

// startEcho runs the echo function built on the template and waits until
// /_/health answers 200.
func startEcho(t *testing.T, env ...string) (string, *exec.Cmd, *syncBuffer) {
	t.Helper()
	bin := buildctxtest.EchoBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "MOTCUA_FN_ADDR=" + addr}, env...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/_/health")
		if err == nil {
			res.Body.Close()
			// The health answer names the process, so an answer from
			// another process that took the port is not taken for ours.
			if res.StatusCode == http.StatusOK && res.Header.Get("X-Function-Pid") == strconv.Itoa(cmd.Process.Pid) {
				return base, cmd, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("function never became healthy; logs:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func call(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

const problem500 = `{"type":"about:blank","title":"Internal Server Error","status":500}`

func TestTemplate_main_behaviour(t *testing.T) {
	base, _, logs := startEcho(t, "MOTCUA_MAX_BODY=1024", "exec_timeout=5s")
	cases := []struct {
		name       string
		method     string
		query      string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"passes_method_query_body", http.MethodPut, "a=1&b=x", "xin chào", 200, "PUT a=1&b=x xin chào"},
		{"status_zero_is_200", http.MethodGet, "", "", 200, "GET  "},
		{"status_from_response", http.MethodPost, "status=422", "", 422, "POST status=422 "},
		{"error_is_500_problem_not_echoed", http.MethodPost, "fail=1", "", 500, problem500},
		{"panic_is_500", http.MethodPost, "panic=1", "", 500, problem500},
		{"still_serving_after_panic", http.MethodPost, "", "ok", 200, "POST  ok"},
		{"context_has_exec_deadline", http.MethodGet, "deadline=1", "", 200, "true"},
		{"body_at_limit_accepted", http.MethodPost, "", strings.Repeat("a", 1024-len("POST  ")), 200, "POST  " + strings.Repeat("a", 1024-len("POST  "))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, got := call(t, tc.method, base+"/?"+tc.query, strings.NewReader(tc.body))
			if res.StatusCode != tc.wantStatus || got != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, got, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 500 && res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("500 content type %q", res.Header.Get("Content-Type"))
			}
		})
	}
	t.Run("headers_round_trip", func(t *testing.T) {
		res, _ := call(t, http.MethodGet, base+"/", nil, "X-Call-Id", "abc-123")
		if res.Header.Get("X-Echo") != "yes" || res.Header.Get("X-Seen-Call-Id") != "abc-123" {
			t.Fatalf("headers: %v", res.Header)
		}
	})
	t.Run("body_over_limit_413", func(t *testing.T) {
		res, _ := call(t, http.MethodPost, base+"/", strings.NewReader(strings.Repeat("a", 1025)))
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("chunked_body_over_limit_413", func(t *testing.T) {
		// io.MultiReader hides the length, so the client sends it chunked.
		res, _ := call(t, http.MethodPost, base+"/", io.MultiReader(strings.NewReader(strings.Repeat("a", 4096))))
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	// The error and the panic are logged, never sent to the caller.
	deadline := time.Now().Add(10 * time.Second)
	for !(strings.Contains(logs.String(), "secret internal detail") && strings.Contains(logs.String(), "boom")) {
		if time.Now().After(deadline) {
			t.Fatalf("error and panic not logged; logs:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTemplate_graceful_shutdown_drains_in_flight(t *testing.T) {
	base, cmd, logs := startEcho(t, "write_timeout=20s", "exec_timeout=20s")
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.Post(base+"/?sleep=500ms", "text/plain", strings.NewReader("late"))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- result{res.StatusCode, string(b), err}
	}()
	// Wait until the handler is running.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "echo: sleeping") {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the handler")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.status != 200 || r.body != "POST sleep=500ms late" {
		t.Fatalf("in-flight request not drained: %d %q %v", r.status, r.body, r.err)
	}
	// After draining the process exits and stops listening.
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, err := http.Get(base + "/_/health")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("process still serving after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTemplate_rejects_bad_config(t *testing.T) {
	bin := buildctxtest.EchoBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"MOTCUA_FN_ADDR=127.0.0.1:0", "MOTCUA_MAX_BODY=lots", "exec_timeout=soon"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("process started with a bad configuration")
	}
	for _, w := range []string{"MOTCUA_MAX_BODY", "exec_timeout"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("log does not name %s: %s", w, out)
		}
	}
}

// TestTemplate_gc_target checks the collector settings a function process
// starts with, from its start log line: GOGC 400 unless the environment
// sets GOGC, and the environment's GOMEMLIMIT kept as given.
func TestTemplate_gc_target(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       []string
		wantGC    string
		wantLimit string
	}{
		{name: "default", wantGC: `"gc_percent":400`},
		{name: "gogc_from_environment", env: []string{"GOGC=150"}, wantGC: `"gc_percent":150`},
		{name: "gomemlimit_from_environment", env: []string{"GOMEMLIMIT=96MiB"}, wantGC: `"gc_percent":400`,
			wantLimit: `"memory_limit":100663296`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, logs := startEcho(t, tc.env...)
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), "function listening") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			line := logs.String()
			if !strings.Contains(line, tc.wantGC) {
				t.Errorf("start log lacks %s:\n%s", tc.wantGC, line)
			}
			if tc.wantLimit != "" && !strings.Contains(line, tc.wantLimit) {
				t.Errorf("start log lacks %s:\n%s", tc.wantLimit, line)
			}
		})
	}
}
