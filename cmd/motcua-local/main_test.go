package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua/infra/buildctx/buildctxtest"
	"motcua/infra/embedded"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = buildctxtest.SyncBuffer

func TestRun_rejects_bad_arguments(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown_flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"bad_log_level", []string{"-log-level", "loud"}, 2, "-log-level"},
		{"no_repository", []string{"-repo", "/"}, 1, "repository not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
}

var gatewayRE = regexp.MustCompile(`gateway   (http://127\.0\.0\.1:\d+)`)

// TestRun_serves_then_stops_on_SIGINT runs the command as `make run` does,
// once on the embedded stack and once with -external-aws pointed (through
// the standard AWS variables) at a separately started embedded stack, reads
// the banner, calls a function through the gateway, then sends SIGINT and
// expects a clean exit.
func TestRun_serves_then_stops_on_SIGINT(t *testing.T) {
	cases := []struct {
		name     string
		external bool
	}{
		{"embedded_stack", false},
		{"external_aws_environment", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			args := []string{"-edge-addr", "127.0.0.1:0", "-gateway-addr", "127.0.0.1:0",
				"-data", filepath.Join(tmp, "data"), "-build", filepath.Join(tmp, "build"), "-log-level", "warn"}
			if tc.external {
				st := embedded.StartForTest(t)
				for _, kv := range st.Env() {
					k, v, _ := strings.Cut(kv, "=")
					t.Setenv(k, v)
				}
				t.Setenv("AWS_CONFIG_FILE", filepath.Join(tmp, "none"))
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(tmp, "none"))
				args = append(args, "-external-aws")
			}
			out, errOut := &syncBuffer{}, &syncBuffer{}
			done := make(chan int, 1)
			go func() { done <- run(args, out, errOut) }()
			deadline := time.Now().Add(3 * time.Minute)
			for !strings.Contains(out.String(), "Ctrl-C stops everything") {
				select {
				case code := <-done:
					t.Fatalf("exited %d before ready; stderr:\n%s", code, errOut)
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("no banner; stderr:\n%s", errOut)
				}
			}
			banner := out.String()
			m := gatewayRE.FindStringSubmatch(banner)
			if m == nil || !strings.Contains(banner, "procedures") || !strings.Contains(banner, "ready in") {
				t.Fatalf("banner:\n%s", banner)
			}
			if tc.external != strings.Contains(banner, "external AWS environment") {
				t.Fatalf("banner does not name the backend:\n%s", banner)
			}
			res, err := http.Get(m[1] + "/function/procedures?code=X.HT.001")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "X.HT.001") {
				t.Fatalf("procedures answered %d %s", res.StatusCode, body)
			}
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d after SIGINT; stderr:\n%s", code, errOut)
				}
			case <-time.After(time.Minute):
				t.Fatal("did not stop within a minute of SIGINT")
			}
		})
	}
}
