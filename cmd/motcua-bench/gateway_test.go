package main

import "testing"

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		name     string
		p50, p99 []float64
		want     string
	}{
		{"both_medians_within", []float64{1.0, 1.1, 1.15}, []float64{0.5, 0.9, 1.1}, "met"},
		{"p99_median_over", []float64{1.0, 1.1, 1.15}, []float64{1.3, 1.4, 1.5}, "not met"},
		{"p50_median_over", []float64{1.25, 1.3, 1.4}, []float64{0.5, 0.6, 0.7}, "not met"},
		{"met_but_rounds_disagree", []float64{1.0, 1.1, 1.3}, []float64{0.5, 0.6, 0.7}, "met, spread crosses 1.2"},
		{"not_met_and_rounds_disagree", []float64{1.1, 1.3, 1.4}, []float64{0.5, 0.6, 0.7}, "not met, spread crosses 1.2"},
		{"exactly_the_target_is_met", []float64{1.2}, []float64{1.2}, "met"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := verdict(c.p50, c.p99); got != c.want {
				t.Fatalf("verdict(%v, %v) = %q, want %q", c.p50, c.p99, got, c.want)
			}
		})
	}
}
