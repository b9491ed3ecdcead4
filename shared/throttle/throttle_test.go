package throttle

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTest(t *testing.T) (*Throttle, *docstore.MemStore, *clock) {
	t.Helper()
	st := docstore.NewMemStore("motcua-data")
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	return New(st, WithClock(clk.now)), st, clk
}

// fail makes one failed attempt and returns Acquire's error.
func fail(t *testing.T, th *Throttle, code, client string) error {
	t.Helper()
	_, err := th.Acquire(context.Background(), code, client)
	return err
}

func limited(t *testing.T, err error) *LimitedError {
	t.Helper()
	var lim *LimitedError
	if !errors.As(err, &lim) {
		t.Fatalf("err = %v, want *LimitedError", err)
	}
	return lim
}

func TestPerCodeLimitAndWindow(t *testing.T) {
	th, _, clk := newTest(t)
	for i := range DefaultPerCode {
		if err := fail(t, th, "HS-001", "203.0.113.7"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		clk.add(time.Minute)
	}
	// 5 failures at 09:00..09:04; now 09:05.
	lim := limited(t, fail(t, th, "hs-001 ", "198.51.100.1")) // other client, same code (normalised)
	if lim.Scope != ScopeCode || lim.RetryAfter != 10*time.Minute {
		t.Fatalf("limited = %+v, want code scope, 10m", lim)
	}
	if err := fail(t, th, "HS-002", "203.0.113.7"); err != nil {
		t.Fatalf("another code from the same client refused: %v", err)
	}
	clk.add(10 * time.Minute) // 09:15: the 09:00 failure ages out
	if err := fail(t, th, "HS-001", "198.51.100.1"); err != nil {
		t.Fatalf("after the oldest failure aged out: %v", err)
	}
	limited(t, fail(t, th, "HS-001", "198.51.100.1"))
}

func TestPerClientLimit(t *testing.T) {
	th, _, clk := newTest(t)
	for i := range DefaultPerClient {
		if err := fail(t, th, "HS-"+string(rune('A'+i)), "203.0.113.7"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
	}
	clk.add(5 * time.Minute)
	lim := limited(t, fail(t, th, "HS-NEW", "203.0.113.7"))
	if lim.Scope != ScopeClient || lim.RetryAfter != 10*time.Minute {
		t.Fatalf("limited = %+v", lim)
	}
	// The refused attempt took nothing from the fresh code.
	for range DefaultPerCode {
		if err := fail(t, th, "HS-NEW", "198.51.100.1"); err != nil {
			t.Fatalf("fresh code from another client: %v", err)
		}
	}
}

func TestSucceedClearsCodeNotClient(t *testing.T) {
	th, _, _ := newTest(t)
	ctx := context.Background()
	for range DefaultPerCode - 1 {
		if err := fail(t, th, "HS-001", "203.0.113.7"); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := th.Acquire(ctx, "HS-001", "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Succeed(ctx); err != nil {
		t.Fatal(err)
	}
	// Code counter cleared: 5 more failures allowed.
	for i := range DefaultPerCode {
		if err := fail(t, th, "HS-001", "198.51.100.9"); err != nil {
			t.Fatalf("code attempt %d after success: %v", i+1, err)
		}
	}
	// Client counter kept its 4 failures, not the success: 16 more allowed.
	for i := range DefaultPerClient - (DefaultPerCode - 1) {
		if err := fail(t, th, "X-"+string(rune('A'+i)), "203.0.113.7"); err != nil {
			t.Fatalf("client attempt %d: %v", i+1, err)
		}
	}
	limited(t, fail(t, th, "X-Z", "203.0.113.7"))
}

func TestReleaseGivesBackTheAttempt(t *testing.T) {
	th, _, _ := newTest(t)
	ctx := context.Background()
	for range 3 * DefaultPerCode {
		tk, err := th.Acquire(ctx, "HS-001", "203.0.113.7")
		if err != nil {
			t.Fatalf("released attempts still counted: %v", err)
		}
		if err := tk.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnknownClientCountsCodeOnly(t *testing.T) {
	th, st, _ := newTest(t)
	for range DefaultPerCode {
		if err := fail(t, th, "HS-001", ""); err != nil {
			t.Fatal(err)
		}
	}
	limited(t, fail(t, th, "HS-001", ""))
	for _, k := range st.Keys() {
		if strings.Contains(k, "/client/") {
			t.Fatalf("client counter %s written for an unknown client", k)
		}
	}
}

func TestKeysAreHashed(t *testing.T) {
	th, st, _ := newTest(t)
	if err := fail(t, th, "HS-SECRET-CODE", "203.0.113.77"); err != nil {
		t.Fatal(err)
	}
	keys := st.Keys()
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, DefaultPrefix) || strings.Contains(strings.ToUpper(k), "SECRET") || strings.Contains(k, "203.0.113") {
			t.Fatalf("key %q not a hash under %s", k, DefaultPrefix)
		}
	}
}

func TestConcurrentAttemptsNeverOverrun(t *testing.T) {
	th, _, _ := newTest(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := th.Acquire(context.Background(), "HS-001", ""); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
			} else {
				var lim *LimitedError
				if !errors.As(err, &lim) {
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if admitted != DefaultPerCode {
		t.Fatalf("admitted %d concurrent attempts, want exactly %d", admitted, DefaultPerCode)
	}
}

func TestLimitedProblem(t *testing.T) {
	resp := httpx.FromError(context.Background(), nil, &LimitedError{Scope: ScopeClient, RetryAfter: 90*time.Second + time.Millisecond})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got := http.Header(resp.Header).Get("Retry-After"); got != "91" {
		t.Fatalf("Retry-After = %q, want 91", got)
	}
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["code"] != "too_many_attempts" || body["retry_after"] != float64(91) || !strings.Contains(body["detail_vi"].(string), "2 phút") {
		t.Fatalf("body = %v", body)
	}
}

func TestClientAddress(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{"xff_first_address", http.Header{"X-Forwarded-For": {"203.0.113.7, 10.0.0.1"}}, "203.0.113.7"},
		{"xff_with_port", http.Header{"X-Forwarded-For": {"203.0.113.7:5555"}}, "203.0.113.7"},
		{"xff_ipv6_per_64", http.Header{"X-Forwarded-For": {"2001:db8:1:2:3:4:5:6"}}, "2001:db8:1:2::/64"},
		{"xff_mapped_ipv4", http.Header{"X-Forwarded-For": {"::ffff:203.0.113.7"}}, "203.0.113.7"},
		{"xff_garbage_falls_back_to_real_ip", http.Header{"X-Forwarded-For": {"unknown"}, "X-Real-Ip": {"198.51.100.2"}}, "198.51.100.2"},
		{"real_ip_only", http.Header{"X-Real-Ip": {"198.51.100.2"}}, "198.51.100.2"},
		{"none", http.Header{}, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientAddress(tt.h); got != tt.want {
				t.Fatalf("ClientAddress = %q, want %q", got, tt.want)
			}
		})
	}
}
