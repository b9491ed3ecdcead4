package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

func TestJSONOfSize(t *testing.T) {
	for _, n := range []int{12, 100, 1512} {
		b := jsonOfSize(n)
		var v map[string]string
		if len(b) != n || json.Unmarshal(b, &v) != nil {
			t.Fatalf("jsonOfSize(%d) = %d bytes, valid JSON %v", n, len(b), json.Unmarshal(b, &v) == nil)
		}
	}
}

func TestHammer(t *testing.T) {
	t.Run("runs_every_call_once", func(t *testing.T) {
		var calls atomic.Int64
		ds, _, err := hammer(context.Background(), 7, 100, func(context.Context) error { calls.Add(1); return nil })
		if err != nil || len(ds) != 100 || calls.Load() != 100 {
			t.Fatalf("%d latencies, %d calls, %v", len(ds), calls.Load(), err)
		}
	})
	t.Run("first_error_stops_the_series", func(t *testing.T) {
		boom := errors.New("boom")
		var calls atomic.Int64
		_, _, err := hammer(context.Background(), 3, 1000, func(context.Context) error {
			if calls.Add(1) == 10 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || calls.Load() >= 1000 {
			t.Fatalf("err %v after %d calls", err, calls.Load())
		}
	})
}

func TestAppOptions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"disabled_ignores_counts", []string{"-applications=false", "-app-n", "0"}, true},
		{"zero_submissions", []string{"-app-n", "0"}, false},
		{"zero_clients", []string{"-app-c", "0"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o appOptions
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := o.validate(); (err == nil) != tc.ok {
				t.Fatalf("validate() = %v", err)
			}
		})
	}
	var o appOptions
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	o.register(fs)
	if !o.enabled || o.n != 1000 || o.c != 50 {
		t.Fatalf("defaults %+v, want on, 1000 submissions, 50 clients", o)
	}
}

func TestPrintApplications(t *testing.T) {
	var b strings.Builder
	printApplications(&b, &AppReport{Procedure: appProcedure, Concurrency: 50, Submit: Stat{N: 10, P50Ms: 30, P99Ms: 60},
		Floor: Stat{N: 10, P50Ms: 20, P99Ms: 50}, P50Ratio: 1.5, P99Ratio: 1.2, TargetP99Ratio: 2, TargetMet: true,
		Codes: 10, DistinctCodes: 10, StoredApplications: 10})
	for _, want := range []string{"### Application submissions", "| submit / floor | | | 1.50× | 1.20× | |", "Target p99 ≤ 2.0× the floor: met (1.20×)", "10 distinct"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printApplications(&b, nil)
	if b.Len() != 0 {
		t.Fatalf("nil report printed %q", b.String())
	}
}
