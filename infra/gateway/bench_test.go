package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"motcua/infra/buildctx/buildctxtest"
	"motcua/infra/gateway"
)

// startEchoProcess runs the echo function built on the real template as its
// own process and returns its base URL.
func startEchoProcess(b *testing.B) string {
	b.Helper()
	bin := buildctxtest.EchoBinary(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "MOTCUA_FN_ADDR=" + addr}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get(base + "/_/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("echo function never became healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return float64(sorted[i].Nanoseconds())
}

// BenchmarkGatewayOverhead posts 1 KiB to a real function process (the
// template's main with an echo handler) three ways, rotating the order call
// by call so all see the same load: directly, through the simplest Go reverse
// proxy (httputil.ReverseProxy, tuned transport, no logging) and through the
// gateway with its access log on (JSON lines through an AccessLog buffer to a file). It reports p50/p99 of
// each and the gateway's added latency over the bare proxy's added latency
// (target ≤ 1.2). "noop" answers at once (the hop's whole cost shows);
// "chunked-3k" posts 3 KiB, so the answer is over the 2 KiB the function's
// server buffers and goes out chunked (as a large GET answer does);
// "work-1ms" waits 1 ms in Handle, like a function making one S3 call:
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 3000x ./infra/gateway
func BenchmarkGatewayOverhead(b *testing.B) {
	fnURL := startEchoProcess(b)
	b.Run("noop", func(b *testing.B) { benchOverhead(b, fnURL, "", 1024) })
	b.Run("chunked-3k", func(b *testing.B) { benchOverhead(b, fnURL, "", 3072) })
	b.Run("work-1ms", func(b *testing.B) { benchOverhead(b, fnURL, "sleep=1ms", 1024) })
}

// bareProxy is the baseline hop: httputil.ReverseProxy to target with the
// gateway's tuned transport and nothing else.
func bareProxy(b *testing.B, target string) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.URL.Path = "/" },
		Transport: gateway.NewTransport(),
	}
	return httptest.NewServer(rp)
}

func benchOverhead(b *testing.B, fnURL, query string, size int) {
	src := &fakeSource{fns: map[string]gateway.Function{
		"echo": {Name: "echo", Image: "motcua/echo", Replicas: 1, AvailableReplicas: 1, URL: fnURL},
	}}
	logf, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	access := gateway.NewAccessLog(logf, 0)
	defer access.Close()
	h := gateway.New(gateway.Options{Functions: src,
		AccessLog: slog.New(slog.NewJSONHandler(access, nil))})
	defer h.Flush() // before access.Close
	gw := httptest.NewServer(h)
	defer gw.Close()
	bare := bareProxy(b, fnURL)
	defer bare.Close()

	client := &http.Client{Transport: gateway.NewTransport()}
	body := bytes.Repeat([]byte("a"), size)
	post := func(url string) time.Duration {
		start := time.Now()
		res, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != http.StatusOK || n != int64(len("POST  ")+len(query)+len(body)) {
			b.Fatalf("status %d, %d bytes", res.StatusCode, n)
		}
		return d
	}
	urls := []string{fnURL + "/?" + query, bare.URL + "/?" + query, gw.URL + "/function/echo?" + query}
	for range 50 { // warm the connection pools
		for _, u := range urls {
			post(u)
		}
	}
	got := make([][]time.Duration, len(urls))
	b.ResetTimer()
	for i := range b.N {
		for k := range urls {
			j := (i + k) % len(urls)
			got[j] = append(got[j], post(urls[j]))
		}
	}
	b.StopTimer()
	for _, s := range got {
		slices.Sort(s)
	}
	d50, d99 := percentile(got[0], 0.50), percentile(got[0], 0.99)
	p50, p99 := percentile(got[1], 0.50), percentile(got[1], 0.99)
	g50, g99 := percentile(got[2], 0.50), percentile(got[2], 0.99)
	b.ReportMetric(d50, "direct-p50-ns")
	b.ReportMetric(p50, "bare-p50-ns")
	b.ReportMetric(g50, "gateway-p50-ns")
	b.ReportMetric(g99, "gateway-p99-ns")
	b.ReportMetric(g50-d50, "added-p50-ns")
	if p50 > d50 {
		b.ReportMetric((g50-d50)/(p50-d50), "added-vs-bare-p50")
	}
	if p99 > d99 {
		b.ReportMetric((g99-d99)/(p99-d99), "added-vs-bare-p99")
	}
}

// BenchmarkHandlerCPU drives the bare reverse proxy and the gateway (access
// log on, into a discarding AccessLog) in-process against an in-process
// upstream, to compare the CPU and allocations each adds per call without
// the noise of a network client:
//
//	go test -run '^$' -bench HandlerCPU -benchtime 5000x -count 3 ./infra/gateway
func BenchmarkHandlerCPU(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "2")
		_, _ = w.Write([]byte("ok"))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, Transport: gateway.NewTransport()}
	al := gateway.NewAccessLog(io.Discard, 0)
	gw := gateway.New(gateway.Options{Functions: &fakeSource{fns: map[string]gateway.Function{"echo": {Name: "echo", URL: up.URL, Replicas: 1, AvailableReplicas: 1}}},
		AccessLog: slog.New(slog.NewJSONHandler(al, nil))})
	body := strings.Repeat("a", 1024)
	for _, c := range []struct {
		name string
		h    http.Handler
		path string
	}{{"bare", bare, "/"}, {"gateway", gw, "/function/echo"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, httptest.NewRequest("POST", c.path, strings.NewReader(body)))
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
