package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestPayOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"disabled_ignores_counts", []string{"-payments=false", "-pay-n", "0"}, true},
		{"zero_payments", []string{"-pay-n", "0"}, false},
		{"zero_banks", []string{"-pay-c", "0"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o payOptions
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := o.validate(); (err == nil) != tc.ok {
				t.Fatalf("validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPrintPayments(t *testing.T) {
	r := &PayReport{Payments: 4, Callbacks: 5, Duplicates: 1, Concurrency: 50, PerSecond: 100,
		Latency: Stat{N: 5, P50Ms: 2, P99Ms: 4}, Floor: Stat{N: 5, P50Ms: 1, P99Ms: 2}, FloorPerSecond: 400,
		Replies: map[string]int{"00": 4, "02": 1}, Paid: 4, AppsMoved: 4, Confirmed00: 4, Applied: 4, EventIDs: 4, EventMessages: 4, RefsWithOneEvent: 4,
		TargetP99Ratio: 2, TargetMet: true}
	var b bytes.Buffer
	printPayments(&b, r)
	for _, want := range []string{"### Payment callbacks", "50 banks, 20% duplicates", "4 payments + 1 duplicates", "p50 2.0×, p99 2.0× (target: p99 ≤ 2× the floor — met)", "follow-ups done (Applied): 4/4",
		"00×4 02×1", "nothing double-counted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	r.Problems = []string{"MCX got 2 replies 00"}
	b.Reset()
	printPayments(&b, r)
	if !strings.Contains(b.String(), "FAILED") || !strings.Contains(b.String(), "MCX got 2") {
		t.Errorf("problems not shown:\n%s", b.String())
	}
	b.Reset()
	printPayments(&b, nil)
	if b.Len() != 0 {
		t.Errorf("nil report printed %q", b.String())
	}
}
