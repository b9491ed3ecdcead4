package gateway_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
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
// template's main with an echo handler), alternating a direct call and a call
// through the gateway, and reports p50/p99 of both, their ratios and the
// absolute overhead. "noop" answers at once (the hop's whole cost shows);
// "work-1ms" waits 1 ms in Handle, like a function making one S3 call:
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 3000x ./infra/gateway
func BenchmarkGatewayOverhead(b *testing.B) {
	fnURL := startEchoProcess(b)
	b.Run("noop", func(b *testing.B) { benchOverhead(b, fnURL, "") })
	b.Run("work-1ms", func(b *testing.B) { benchOverhead(b, fnURL, "sleep=1ms") })
}

func benchOverhead(b *testing.B, fnURL, query string) {
	src := &fakeSource{fns: map[string]gateway.Function{
		"echo": {Name: "echo", Image: "motcua/echo", Replicas: 1, AvailableReplicas: 1, URL: fnURL},
	}}
	gw := httptest.NewServer(gateway.New(gateway.Options{Functions: src}))
	defer gw.Close()

	client := &http.Client{Transport: gateway.NewTransport()}
	body := bytes.Repeat([]byte("a"), 1024)
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
	// Warm both connection pools.
	for range 50 {
		post(fnURL + "/?" + query)
		post(gw.URL + "/function/echo?" + query)
	}
	direct := make([]time.Duration, 0, b.N)
	viaGW := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			direct = append(direct, post(fnURL+"/?"+query))
			viaGW = append(viaGW, post(gw.URL+"/function/echo?"+query))
		} else {
			viaGW = append(viaGW, post(gw.URL+"/function/echo?"+query))
			direct = append(direct, post(fnURL+"/?"+query))
		}
	}
	b.StopTimer()
	slices.Sort(direct)
	slices.Sort(viaGW)
	d50, d99 := percentile(direct, 0.50), percentile(direct, 0.99)
	g50, g99 := percentile(viaGW, 0.50), percentile(viaGW, 0.99)
	b.ReportMetric(d50, "direct-p50-ns")
	b.ReportMetric(d99, "direct-p99-ns")
	b.ReportMetric(g50, "gateway-p50-ns")
	b.ReportMetric(g99, "gateway-p99-ns")
	b.ReportMetric(g50-d50, "overhead-p50-ns")
	if d50 > 0 && d99 > 0 {
		b.ReportMetric(g50/d50, "p50-ratio")
		b.ReportMetric(g99/d99, "p99-ratio")
	}
}
