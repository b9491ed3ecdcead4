package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	cases := []struct {
		name string
		in   []time.Duration
		want Stat
	}{
		{"empty", nil, Stat{}},
		{"one_sample", []time.Duration{ms(7)}, Stat{N: 1, P50Ms: 7, P99Ms: 7, MinMs: 7, MaxMs: 7}},
		{"unsorted_hundred", func() []time.Duration {
			var d []time.Duration
			for i := 100; i >= 1; i-- {
				d = append(d, ms(i))
			}
			return d
		}(), Stat{N: 100, P50Ms: 50, P99Ms: 99, MinMs: 1, MaxMs: 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIsLoopbackURL(t *testing.T) {
	cases := []struct {
		name string
		url  string
		want bool
	}{
		{"ipv4_loopback", "http://127.0.0.1:4566", true},
		{"localhost", "http://localhost:4566/", true},
		{"ipv6_loopback", "http://[::1]:4566", true},
		{"remote_host", "http://example.com:4566", false},
		{"private_address", "http://10.0.0.5:4566", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isLoopbackURL(tc.url); got != tc.want {
				t.Fatalf("isLoopbackURL(%q) = %v", tc.url, got)
			}
		})
	}
}

func TestRun_rejects_bad_flags(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"zero_requests", []string{"-n", "0"}},
		{"remote_localstack", []string{"-localstack", "http://example.com:4566"}},
		{"unknown_flag", []string{"-nope"}},
		{"stats_too_few_applications", []string{"-stats", "-stats-apps", "5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, stderr %s", code, errOut.String())
			}
		})
	}
}

// TestRun_small_run_prints_every_table runs the whole command with tiny
// counts. It checks the report's shape, never its numbers.
func TestRun_small_run_prints_every_table(t *testing.T) {
	tmp := t.TempDir()
	jsonPath := filepath.Join(tmp, "bench.json")
	var out, errOut bytes.Buffer
	args := []string{"-timeout", "20m", "-n", "20", "-gw-rounds", "1", "-aws-n", "5", "-starts", "1", "-fn-starts", "1", "-app-n", "20", "-pay-n", "20", "-rcpt-n", "10", "-rcpt-m", "5", "-rcpt-rate", "20", "-stats", "-stats-apps", "40", "-stats-n", "5", "-nosync",
		"-build", filepath.Join(tmp, "build"), "-json", jsonPath}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"### Start-to-ready", "### Gateway added latency", "### S3 / SQS round trips",
		"POST 1 KiB → 405, concurrency 10", "S3 PUT+GET 1 KiB", "SQS send+receive+delete", "LocalStack not measured", "### Receipts", "through the connector", "### Indicators (40 applications"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Startup) != 2 || len(rep.Hops) != 4 || len(rep.Storage) != 2 || rep.Hops[0].Gateway.N != 20 || len(rep.Hops[0].AddedP50) != 1 {
		t.Fatalf("JSON report %s", b)
	}
}
