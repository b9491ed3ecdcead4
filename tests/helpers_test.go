// Package e2e holds end-to-end tests of the whole local stack, started
// in-process the way `make run` starts it (motcua/cmd/motcua-local/app): the
// embedded S3/SQS stack, every function as its own OS process, the gateway
// and the queue connector, all on 127.0.0.1. They need nothing but Go.
//
// Set MOTCUA_TEST_LOG=1 to stream every component's logs to stderr.
package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/buildctx/buildctxtest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = buildctxtest.SyncBuffer

// repoRoot is the motcua repository this test runs in.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := app.FindRepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startApp starts the local stack on free loopback ports over temporary
// folders, stops it when the test ends and dumps its logs if the test failed.
func startApp(t *testing.T, cfg app.Config) (*app.App, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	var w io.Writer = logs
	if os.Getenv("MOTCUA_TEST_LOG") == "1" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	tmp := t.TempDir()
	cfg.EdgeAddr = "127.0.0.1:0"
	cfg.GatewayAddr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(tmp, "data")
	cfg.BuildDir = filepath.Join(tmp, "build")
	cfg.NoSync = true
	cfg.Logger = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if externalAWS() {
		// The production-path leg (tests/production-path/run.sh): the same
		// functions against LocalStack, whose buckets and queues come from
		// the CloudFormation template, so nothing is provisioned here.
		cfg.ExternalAWS, cfg.NoProvision = true, true
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 5 * time.Second
	}
	if cfg.ConnectorWaitTime == 0 {
		cfg.ConnectorWaitTime = time.Second
	}
	if cfg.ConnectorShutdownGrace == 0 {
		cfg.ConnectorShutdownGrace = 5 * time.Second
	}
	start := 3 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("MOTCUA_E2E_START_TIMEOUT")); err == nil && d > 0 {
		start = d // building every function on a loaded machine can take longer
	}
	ctx, cancel := context.WithTimeout(context.Background(), start)
	defer cancel()
	a, err := app.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("app.Start: %v\nlogs:\n%s", err, logs)
	}
	t.Logf("stack started in %.3fs (external AWS: %v)", a.StartupDuration().Seconds(), cfg.ExternalAWS)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if t.Failed() && os.Getenv("MOTCUA_TEST_LOG") != "1" {
			t.Logf("stack logs:\n%s", logs)
		}
	})
	return a, logs
}

// externalAWS reports whether MOTCUA_E2E_EXTERNAL_AWS=1 asks the end-to-end
// tests to run the stack against the standard AWS environment
// (AWS_ENDPOINT_URL) instead of the embedded S3/SQS.
func externalAWS() bool { return os.Getenv("MOTCUA_E2E_EXTERNAL_AWS") == "1" }

// do sends one request and returns the status, headers and body.
func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (int, http.Header, []byte) {
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
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res.StatusCode, res.Header, b
}

// problemBody is the part of an RFC 9457 problem the tests check.
type problemBody struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	TitleVI string `json:"title_vi"`
	Status  int    `json:"status"`
}

func decodeProblem(t *testing.T, hdr http.Header, b []byte) problemBody {
	t.Helper()
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, b)
	}
	var p problemBody
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem body %s: %v", b, err)
	}
	if p.Title == "" || p.TitleVI == "" {
		t.Fatalf("problem lacks English or Vietnamese title: %s", b)
	}
	return p
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
