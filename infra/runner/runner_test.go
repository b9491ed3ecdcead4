package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua/infra/buildctx/buildctxtest"
	"motcua/infra/gateway"
	"motcua/infra/runner"
	"motcua/shared/config"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

// logBuffer is a goroutine-safe log sink.
type logBuffer = buildctxtest.SyncBuffer

type fixture struct {
	r       *runner.Runner
	logs    *logBuffer
	secrets string
	opts    runner.Options
}

func newRunner(t *testing.T, grace time.Duration, fns ...buildctxtest.Func) *fixture {
	t.Helper()
	stack := buildctxtest.NewRepo(t, fns...)
	logs := &logBuffer{}
	opts := runner.Options{
		StackFile:  stack,
		BuildDir:   filepath.Join(t.TempDir(), "build"),
		SecretsDir: filepath.Join(t.TempDir(), "secrets"),
		Env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "ap-southeast-1",
			"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret-key"},
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		StopGrace: grace,
	}
	r, err := runner.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{r: r, logs: logs, secrets: opts.SecretsDir, opts: opts}
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := f.r.Start(ctx); err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, f.logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = f.r.Stop(ctx)
	})
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func echoFn() buildctxtest.Func {
	return buildctxtest.Func{Name: "echo", Environment: map[string]string{"MOTCUA_BUCKET": "motcua-data"},
		Secrets: []string{"staff-jwt-secret"}, Annotations: map[string]string{"topic": "application-events"}}
}

func TestRunner_start_env_secrets_and_metadata(t *testing.T) {
	t.Setenv("MOTCUA_LEAK", "parent-only")
	f := newRunner(t, 5*time.Second, echoFn())
	f.start(t)
	url, ok := f.r.URL("echo")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, %v", url, ok)
	}
	if _, ok := f.r.URL("nope"); ok {
		t.Fatal("URL of an unknown function")
	}
	cases := []struct {
		name, query, want string
	}{
		{"stack_environment", "env=MOTCUA_BUCKET", "motcua-data"},
		{"aws_variables", "env=AWS_REGION", "ap-southeast-1"},
		{"aws_endpoint", "env=AWS_ENDPOINT_URL", "http://127.0.0.1:9"},
		{"parent_env_not_leaked", "env=MOTCUA_LEAK", ""},
		{"listen_address", "env=MOTCUA_FN_ADDR", strings.TrimPrefix(url, "http://")},
		{"secret_file_of_64_hex_chars", "secret=staff-jwt-secret", "64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := get(t, url+"/?"+tc.query); code != 200 || body != tc.want {
				t.Fatalf("got %d %q, want %q", code, body, tc.want)
			}
		})
	}
	val, err := os.ReadFile(filepath.Join(f.secrets, "staff-jwt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.logs.String(), "generated a development secret") || strings.Contains(f.logs.String(), string(val)) {
		t.Fatal("dev secret generation must be logged without the value")
	}
	if strings.Contains(f.logs.String(), "test-secret-key") {
		t.Fatal("AWS secret key logged")
	}
	fns := f.r.Functions()
	if len(fns) != 1 || fns[0].Name != "echo" || fns[0].URL != url || fns[0].AvailableReplicas != 1 ||
		fns[0].Annotations["topic"] != "application-events" || fns[0].Image != "motcua/echo:test" || fns[0].EnvProcess != "./handler" {
		t.Fatalf("Functions = %+v", fns)
	}
	// The function's own logs reach the runner's logger with its name.
	if !strings.Contains(f.logs.String(), `"msg":"echo: function listening"`) || !strings.Contains(f.logs.String(), `"function":"echo"`) {
		t.Fatalf("function logs not relayed:\n%s", f.logs)
	}
}

func TestRunner_keeps_existing_secret(t *testing.T) {
	f := newRunner(t, 5*time.Second, echoFn())
	if err := os.MkdirAll(f.secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.secrets, "staff-jwt-secret"), []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	url, _ := f.r.URL("echo")
	if code, body := get(t, url+"/?secret=staff-jwt-secret"); code != 200 || body != "10" {
		t.Fatalf("got %d %q", code, body)
	}
	if strings.Contains(f.logs.String(), "generated a development secret") {
		t.Fatal("an existing secret was regenerated")
	}
}

func TestRunner_restarts_crashed_process(t *testing.T) {
	f := newRunner(t, 5*time.Second, echoFn())
	f.start(t)
	url, _ := f.r.URL("echo")
	pid, _ := f.r.PID("echo")
	if _, err := http.Get(url + "/?exit=1"); err == nil {
		t.Fatal("the crash request got an answer")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		// The URL must be the new process's: read the PID on both sides
		// of it (a PID of 0 is "no process", not a new one).
		newPID, pidOK := f.r.PID("echo")
		newURL, ok := f.r.URL("echo")
		samePID, _ := f.r.PID("echo")
		if ok && pidOK && newPID != pid && samePID == newPID {
			if code, body := get(t, newURL+"/?x=1"); code != 200 || body != "GET x=1 " {
				t.Fatalf("restarted function answered %d %q", code, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted; logs:\n%s", f.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if f.r.Restarts("echo") < 1 {
		t.Fatal("Restarts not counted")
	}
	if !strings.Contains(f.logs.String(), "function process exited; restarting") {
		t.Fatal("crash not logged")
	}
}

func TestRunner_stop_drains_then_kills(t *testing.T) {
	f := newRunner(t, 300*time.Millisecond, buildctxtest.Func{Name: "echo",
		Environment: map[string]string{"write_timeout": "60s", "exec_timeout": "60s"}})
	f.start(t)
	url, _ := f.r.URL("echo")
	pid, _ := f.r.PID("echo")
	errc := make(chan error, 1)
	go func() {
		res, err := http.Get(url + "/?sleep=60s")
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(f.logs.String(), "echo: sleeping") {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the function")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after Stop: %v", pid, err)
	}
	if !strings.Contains(f.logs.String(), "did not stop in time; killing") {
		t.Fatal("hung process was not killed after the grace period")
	}
	if err := <-errc; err == nil {
		t.Fatal("the killed request got an answer")
	}
	if _, ok := f.r.URL("echo"); ok {
		t.Fatal("URL still given after Stop")
	}
	if err := f.r.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestRunner_graceful_stop(t *testing.T) {
	f := newRunner(t, 30*time.Second, echoFn())
	f.start(t)
	pid, _ := f.r.PID("echo")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process still exists: %v", err)
	}
	if strings.Contains(f.logs.String(), "killing") {
		t.Fatal("an idle function was killed instead of stopping on SIGTERM")
	}
	if !strings.Contains(f.logs.String(), `"msg":"echo: stopped"`) {
		t.Fatalf("function did not log its graceful stop:\n%s", f.logs)
	}
}

func TestRunner_start_fails_for_function_that_never_gets_ready(t *testing.T) {
	src := "package function\n\nimport (\n\t\"os\"\n\n\thandler \"github.com/openfaas/templates-sdk/go-http\"\n)\n\n" +
		"func init() { os.Exit(7) }\n\n// Handle is never reached.\nfunc Handle(req handler.Request) (handler.Response, error) { return handler.Response{}, nil }\n"
	f := newRunner(t, time.Second, buildctxtest.Func{Name: "crashy", Source: src})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := f.r.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "crashy") || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("Start = %v", err)
	}
	if _, ok := f.r.PID("crashy"); ok {
		t.Fatal("a process is left running after a failed Start")
	}
}

func TestNew_rejects_stack_with_missing_handler(t *testing.T) {
	stack := buildctxtest.NewRepo(t, buildctxtest.Func{Name: "echo"})
	if err := os.RemoveAll(filepath.Join(filepath.Dir(stack), "functions", "echo")); err != nil {
		t.Fatal(err)
	}
	_, err := runner.New(runner.Options{StackFile: stack, BuildDir: t.TempDir(), SecretsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "functions.echo.handler") {
		t.Fatalf("New = %v", err)
	}
}

func TestLogs_are_json_records(t *testing.T) {
	f := newRunner(t, 5*time.Second, echoFn())
	f.start(t)
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("runner log line is not JSON: %q", l)
		}
	}
}

func TestRunner_behind_gateway(t *testing.T) {
	f := newRunner(t, 5*time.Second, echoFn())
	f.start(t)
	gw := httptest.NewServer(gateway.New(gateway.Options{Functions: f.r}))
	defer gw.Close()
	res, err := http.Post(gw.URL+"/function/echo?a=1", "text/plain", strings.NewReader("hồ sơ"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "POST a=1 hồ sơ" || res.Header.Get("X-Seen-Call-Id") != res.Header.Get("X-Call-Id") {
		t.Fatalf("got %d %q %v", res.StatusCode, b, res.Header)
	}
	code, body := get(t, gw.URL+"/system/functions")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list) != 1 {
		t.Fatalf("system/functions %d %s", code, body)
	}
	if list[0]["name"] != "echo" || list[0]["availableReplicas"] != 1.0 || list[0]["invocationCount"] != 1.0 ||
		list[0]["annotations"].(map[string]any)["topic"] != "application-events" {
		t.Fatalf("entry %v", list[0])
	}
}

func TestRunner_function_timeout_follows_exec_timeout(t *testing.T) {
	f := newRunner(t, 5*time.Second, buildctxtest.Func{Name: "echo",
		Environment: map[string]string{"exec_timeout": "7s"}})
	f.start(t)
	fn, ok := f.r.Function("echo")
	if !ok {
		t.Fatal("echo not listed")
	}
	if want := 7*time.Second + 2*time.Second; fn.Timeout != want {
		t.Fatalf("Timeout = %s, want %s (exec_timeout plus the margin)", fn.Timeout, want)
	}
}

// The runner generates the staff token key pair once: the function gets
// only the public key set; the private key stays in the runner's secrets
// folder, where `motcua token mint` finds it. Tokens it signs verify
// against the set. The dev VNPAY terminal code is 8 characters.
func TestRunner_dev_staff_key_pair_and_terminal_code(t *testing.T) {
	fn := echoFn()
	fn.Secrets = []string{staffauth.PublicKeysSecret, "vnpay-tmn-code"}
	f := newRunner(t, 5*time.Second, fn)
	f.start(t)
	url, _ := f.r.URL("echo")
	if code, body := get(t, url+"/?secret="+staffauth.PrivateKeySecret); code == 200 && body != "" && body != "0" {
		t.Fatalf("the function can read the private key: %d %q", code, body)
	}
	signer := stafftest.LoadSigner(t, f.secrets)
	v, err := staffauth.NewVerifier(config.Secrets{Dir: f.secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify("Bearer "+stafftest.Token(t, signer, "o1", "STP"), time.Now()); err != nil {
		t.Fatalf("token of the generated key refused by the generated set: %v", err)
	}
	tmn, err := os.ReadFile(filepath.Join(f.secrets, "vnpay-tmn-code"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := regexp.Match(`^[A-Z0-9]{8}$`, tmn); !ok {
		t.Fatalf("dev vnpay-tmn-code = %q, want 8 upper-case letters or digits", tmn)
	}
	if strings.Contains(f.logs.String(), "PRIVATE KEY") || strings.Contains(f.logs.String(), string(tmn)) {
		t.Fatal("a generated secret was logged")
	}
}
