package citizenguard

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestPolicyFromEnv(t *testing.T) {
	def := DefaultPolicy
	tests := []struct {
		name      string
		env       map[string]string
		rate      float64
		burst     int
		wantErrOn string
	}{
		{name: "unset_keeps_the_default", env: nil, rate: def.GlobalRate, burst: def.GlobalBurst},
		{name: "rate_and_burst_set", env: map[string]string{EnvGlobalRate: "250", EnvGlobalBurst: " 400 "}, rate: 250, burst: 400},
		{name: "fractional_rate", env: map[string]string{EnvGlobalRate: "12.5"}, rate: 12.5, burst: def.GlobalBurst},
		{name: "zero_rate_refused", env: map[string]string{EnvGlobalRate: "0"}, wantErrOn: EnvGlobalRate},
		{name: "negative_rate_refused", env: map[string]string{EnvGlobalRate: "-5"}, wantErrOn: EnvGlobalRate},
		{name: "nan_rate_refused", env: map[string]string{EnvGlobalRate: "NaN"}, wantErrOn: EnvGlobalRate},
		{name: "huge_rate_refused", env: map[string]string{EnvGlobalRate: "1e9"}, wantErrOn: EnvGlobalRate},
		{name: "words_refused", env: map[string]string{EnvGlobalRate: "fast"}, wantErrOn: EnvGlobalRate},
		{name: "empty_rate_refused", env: map[string]string{EnvGlobalRate: ""}, wantErrOn: EnvGlobalRate},
		{name: "zero_burst_refused", env: map[string]string{EnvGlobalBurst: "0"}, wantErrOn: EnvGlobalBurst},
		{name: "fractional_burst_refused", env: map[string]string{EnvGlobalBurst: "2.5"}, wantErrOn: EnvGlobalBurst},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PolicyFromEnv(envOf(tc.env))
			if tc.wantErrOn != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrOn) {
					t.Fatalf("err = %v, want an error naming %s", err, tc.wantErrOn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.GlobalRate != tc.rate || p.GlobalBurst != tc.burst {
				t.Fatalf("rate, burst = %v, %d; want %v, %d", p.GlobalRate, p.GlobalBurst, tc.rate, tc.burst)
			}
			if p.Client != def.Client || p.Pair != def.Pair || p.ID != def.ID {
				t.Fatal("the per-client, per-pair and per-identifier rules must stay the default")
			}
		})
	}
}

// The configured rate is the one the guard enforces: with a burst of 3,
// the fourth check at once is refused with scope global.
func TestPolicyFromEnv_burst_is_enforced(t *testing.T) {
	p, err := PolicyFromEnv(envOf(map[string]string{EnvGlobalRate: "0.001", EnvGlobalBurst: "3"}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.g = New(f.st, WithPolicy(p), WithClock(f.clk.now), WithPepper(f.g.Pepper()))
	for i := range 3 {
		if err := f.try("A-1", "203.0.113."+string(rune('1'+i)), "12345678"); err != nil {
			t.Fatalf("check %d: %v", i+1, err)
		}
	}
	if scope, _ := retryAfter(t, f.try("A-1", "203.0.113.9", "12345678")); scope != ScopeGlobal {
		t.Fatalf("4th check: scope = %s, want %s", scope, ScopeGlobal)
	}
}
