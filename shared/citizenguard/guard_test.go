package citizenguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
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

var errRefused = errors.New("refused: unknown code or wrong pin")

// fixture is a guard with a pepper over an in-memory store holding one
// record "A-1" with PIN 12345678, hashed with the pepper.
type fixture struct {
	g     *Guard
	st    *docstore.MemStore
	clk   *clock
	hash  Hashed
	loads int
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	pep := testPepper(t, "k1")
	h, err := pep.Hash("12345678")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: docstore.NewMemStore("motcua-data"), clk: &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}, hash: h}
	pol := DefaultPolicy
	pol.GlobalRate = 0
	f.g = New(f.st, append([]Option{WithPolicy(pol), WithClock(f.clk.now), WithPepper(pep)}, opts...)...)
	return f
}

func (f *fixture) try(id, client, pin string) error {
	_, err := Check(context.Background(), f.g, Attempt{Kind: "application", ID: id, Client: client, Secret: pin, Refusal: errRefused},
		func(context.Context) (string, Hashed, error) {
			f.loads++
			if id != "A-1" {
				return "", Hashed{}, fmt.Errorf("get %s: %w", id, docstore.ErrNotFound)
			}
			return "record", f.hash, nil
		})
	return err
}

func retryAfter(t *testing.T, err error) (string, time.Duration) {
	t.Helper()
	var lim *LimitedError
	if !errors.As(err, &lim) {
		t.Fatalf("err = %v, want *LimitedError", err)
	}
	return lim.Scope, lim.RetryAfter
}

func TestCheck_answers(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, id, pin string
		want          error
	}{
		{"right_pin", "A-1", "12345678", nil},
		{"wrong_pin", "A-1", "87654321", errRefused},
		{"unknown_id", "A-2", "12345678", errRefused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := f.try(c.id, "203.0.113.7", c.pin); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestCheck_pair_backs_off_exponentially_and_success_clears_it(t *testing.T) {
	f := newFixture(t)
	for i := range DefaultPolicy.Pair.Free {
		if err := f.try("A-1", "203.0.113.7", "00000000"); !errors.Is(err, errRefused) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	scope, wait := retryAfter(t, f.try("A-1", "203.0.113.7", "00000000"))
	if scope != ScopePair || wait != 30*time.Second {
		t.Fatalf("after 5 failures: %s %s, want pair 30s", scope, wait)
	}
	f.clk.add(30 * time.Second)
	if err := f.try("A-1", "203.0.113.7", "00000000"); !errors.Is(err, errRefused) {
		t.Fatalf("after the wait: %v", err)
	}
	if _, wait := retryAfter(t, f.try("A-1", "203.0.113.7", "00000000")); wait != time.Minute {
		t.Fatalf("second delay = %s, want 1m (doubled)", wait)
	}
	f.clk.add(time.Minute)
	if err := f.try("A-1", "203.0.113.7", "12345678"); err != nil {
		t.Fatalf("right PIN after the wait: %v", err)
	}
	if err := f.try("A-1", "203.0.113.7", "00000000"); !errors.Is(err, errRefused) {
		t.Fatalf("after a success the pair is clear: %v", err)
	}
}

func TestCheck_attacker_cannot_lock_the_owner_out(t *testing.T) {
	f := newFixture(t)
	// A distributed attacker: many addresses, 3 guesses each, all on A-1.
	refusedByID := 0
	for i := range 40 {
		err := f.try("A-1", fmt.Sprintf("198.51.100.%d", i), "00000000")
		var lim *LimitedError
		if errors.As(err, &lim) && lim.Scope == ScopeID {
			refusedByID++
		}
	}
	if refusedByID == 0 {
		t.Fatal("40 wrong guesses from 40 addresses never hit the per-code counter")
	}
	// The owner, from their own address, is at worst asked to wait the
	// fixed per-code delay, never longer, however long the attack goes on.
	err := f.try("A-1", "203.0.113.7", "12345678")
	if err != nil {
		scope, wait := retryAfter(t, err)
		if scope != ScopeID || wait > DefaultPolicy.ID.Max {
			t.Fatalf("owner refused by %s for %s", scope, wait)
		}
		f.clk.add(wait)
		if err := f.try("A-1", "203.0.113.7", "12345678"); err != nil {
			t.Fatalf("owner after %s: %v", wait, err)
		}
	}
}

func TestCheck_per_client_limit(t *testing.T) {
	f := newFixture(t)
	for i := range DefaultPolicy.Client.Free {
		if err := f.try(fmt.Sprintf("X-%d", i), "203.0.113.9", "00000000"); !errors.Is(err, errRefused) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	scope, wait := retryAfter(t, f.try("X-99", "203.0.113.9", "00000000"))
	if scope != ScopeClient || wait != time.Minute {
		t.Fatalf("got %s %s, want client 1m", scope, wait)
	}
	if err := f.try("A-1", "203.0.113.10", "12345678"); err != nil {
		t.Fatalf("another client is not affected: %v", err)
	}
}

func TestCheck_counters_age_out(t *testing.T) {
	f := newFixture(t)
	for range DefaultPolicy.Pair.Free {
		_ = f.try("A-1", "203.0.113.7", "00000000")
	}
	f.clk.add(DefaultPolicy.Pair.Window + time.Second)
	if err := f.try("A-1", "203.0.113.7", "00000000"); !errors.Is(err, errRefused) {
		t.Fatalf("after the window: %v", err)
	}
}

func TestCheck_store_fault_fails_closed_and_gives_the_attempt_back(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("s3 down")
	for range 10 {
		_, err := Check(context.Background(), f.g, Attempt{Kind: "application", ID: "A-1", Client: "203.0.113.7", Secret: "00000000", Refusal: errRefused},
			func(context.Context) (string, Hashed, error) { return "", Hashed{}, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the store fault", err)
		}
	}
	if err := f.try("A-1", "203.0.113.7", "12345678"); err != nil {
		t.Fatalf("faults were counted as failures: %v", err)
	}
}

func TestCheck_global_rate(t *testing.T) {
	f := newFixture(t)
	pol := DefaultPolicy
	pol.GlobalRate, pol.GlobalBurst = 0.001, 2
	f.g = New(f.st, WithPolicy(pol), WithClock(f.clk.now))
	_ = f.try("A-1", "203.0.113.7", "12345678")
	_ = f.try("A-1", "203.0.113.7", "12345678")
	if scope, _ := retryAfter(t, f.try("A-1", "203.0.113.7", "12345678")); scope != ScopeGlobal {
		t.Fatalf("scope = %s, want global", scope)
	}
}

func TestCheck_counter_keys_hide_identifiers(t *testing.T) {
	f := newFixture(t)
	_ = f.try("A-1", "203.0.113.7", "00000000")
	page, err := f.st.List(context.Background(), DefaultPrefix, "", 100)
	keys := page.Entries
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys = %v, want 3 counters", keys)
	}
	for _, k := range keys {
		if regexp.MustCompile(`A-1|203\.0`).MatchString(k.Key) {
			t.Fatalf("counter key %q holds a raw identifier or address", k.Key)
		}
	}
}

func TestClientAddress(t *testing.T) {
	p, err := ParseProxies("127.0.0.1/32, ::1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		xff  []string
		want string
	}{
		{"no_header", nil, ""},
		{"direct_client", []string{"203.0.113.7"}, "203.0.113.7"},
		{"through_gateway", []string{"203.0.113.7, 127.0.0.1"}, "203.0.113.7"},
		{"spoofed_left_entries_ignored", []string{"1.2.3.4, 203.0.113.7, 10.1.2.3, 127.0.0.1"}, "203.0.113.7"},
		{"several_header_lines", []string{"1.2.3.4", "203.0.113.7", "127.0.0.1"}, "203.0.113.7"},
		{"all_trusted_leftmost", []string{"10.0.0.5, 127.0.0.1"}, "10.0.0.5"},
		{"garbage_after_untrusted_ignored", []string{"garbage, 203.0.113.7"}, "203.0.113.7"},
		{"garbage_from_trusted_hop", []string{"203.0.113.7, garbage, 127.0.0.1"}, ""},
		{"ipv6_per_64", []string{"2001:db8:1:2:3:4:5:6, ::1"}, "2001:db8:1:2::/64"},
		{"port_dropped", []string{"203.0.113.7:5555, 127.0.0.1"}, "203.0.113.7"},
		{"mapped_v4", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.xff {
				h.Add("X-Forwarded-For", v)
			}
			h.Set("X-Real-Ip", "6.6.6.6")
			if got := p.ClientAddress(h); got != c.want {
				t.Fatalf("ClientAddress = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseProxies_rejects_garbage(t *testing.T) {
	if _, err := ParseProxies("10.0.0.0/8, gateway"); err == nil {
		t.Fatal("a host name was accepted as a proxy")
	}
	p, err := ProxiesFromEnv(func(string) (string, bool) { return "", false })
	if err != nil || !p.Trusted(mustAddr("127.0.0.1")) || !p.Trusted(mustAddr("10.1.2.3")) || p.Trusted(mustAddr("127.0.0.2")) || p.Trusted(mustAddr("203.0.113.7")) {
		t.Fatalf("default proxies = %+v, %v; want the gateway's loopback address and private networks", p, err)
	}
}

func TestKind_Parse(t *testing.T) {
	k := Kind{Field: "code", Pattern: regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9]+)*-[0-9]{6}-[0-9]{4,8}$`), MaxLen: 80, Upper: true,
		NameVi: "mã hồ sơ", NameEn: "application code", Example: "STP-261203-0001"}
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"valid", "STP-261203-0001", "STP-261203-0001", true},
		{"lower_and_spaces", "  stp-261203-0001 ", "STP-261203-0001", true},
		{"blank", "   ", "", false},
		{"dot_dot_slash", "../STP-261203-0001", "", false},
		{"percent_2f", "STP%2F261203-0001", "", false},
		{"slash", "STP/261203-0001", "", false},
		{"unicode", "STP-261203-０001", "", false},
		{"nul", "STP-261203-0001\x00", "", false},
		{"very_long", string(make([]byte, 10000)), "", false},
		{"newline", "STP-261203-0001\n.json", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := k.Parse(c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("Parse(%q) = %q, %v", c.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidID) && !errors.Is(err, ErrMissingID) {
				t.Fatalf("error %v is not a citizenguard identifier error", err)
			}
		})
	}
}

func FuzzKind_Parse(f *testing.F) {
	k := Kind{Field: "ref", Pattern: regexp.MustCompile(`^MC[A-Z2-7]{12}$`), MaxLen: 14, Upper: true, NameVi: "mã thanh toán", NameEn: "payment reference"}
	for _, s := range []string{"MCABCDEFGHIJKL", "../x", "mc%2f", ""} {
		f.Add(s)
	}
	safe := regexp.MustCompile(`^MC[A-Z2-7]{12}$`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := k.Parse(s)
		if err == nil && !safe.MatchString(v) {
			t.Fatalf("Parse(%q) accepted %q", s, v)
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func FuzzClientAddress(f *testing.F) {
	p, _ := ParseProxies(DefaultTrustedProxies + ",10.0.0.0/8")
	for _, s := range []string{"203.0.113.7, 127.0.0.1", "garbage", "::ffff:1.2.3.4", "[::1]:80", "1.2.3.4:5, , 10.0.0.1", `"1.2.3.4"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, xff string) {
		h := http.Header{"X-Forwarded-For": {xff}}
		got := p.ClientAddress(h)
		if got == "" {
			return
		}
		// Whatever it returns is an address or a /64 prefix, never raw input.
		if _, err := netip.ParseAddr(got); err != nil {
			if _, err := netip.ParsePrefix(got); err != nil {
				t.Fatalf("ClientAddress(%q) = %q, neither an address nor a prefix", xff, got)
			}
		}
	})
}

// counters returns the failures stored in each counter under the guard's
// prefix, by scope.
func (f *fixture) counters(t *testing.T) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	page, err := f.st.List(context.Background(), DefaultPrefix, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		var c counter
		if _, err := docstore.GetJSON(context.Background(), f.st, e.Key, &c); err != nil {
			t.Fatal(err)
		}
		scope := e.Key[len(DefaultPrefix):]
		scope = scope[:len(scope)-len("/")-len(hexKeyLen)-len(".json")]
		out[scope] = append(out[scope], len(c.Failures))
	}
	return out
}

// hexKeyLen is as long as a counter key's hash part.
const hexKeyLen = "0123456789abcdef0123456789abcdef"

// TestCheck_success_leaves_no_counter: an honest attempt creates its
// three counters and deletes them again, so the store holds nothing
// afterwards and the next attempt creates them again (no read first).
func TestCheck_success_leaves_no_counter(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		if err := f.try("A-1", "203.0.113.7", "12345678"); err != nil {
			t.Fatal(err)
		}
		if got := f.counters(t); len(got) != 0 {
			t.Fatalf("counters left after a success: %v", got)
		}
	}
}

// TestCheck_success_keeps_failures_counted_meanwhile: a right attempt
// whose counters were written by a wrong one while it was in flight gives
// back only its own failure: the identifier's counter keeps the other's,
// the client's counters of the other address too.
func TestCheck_success_keeps_failures_counted_meanwhile(t *testing.T) {
	f := newFixture(t)
	loading := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Check(context.Background(), f.g, Attempt{Kind: "application", ID: "A-1", Client: "203.0.113.7", Secret: "12345678", Refusal: errRefused},
			func(context.Context) (string, Hashed, error) {
				close(loading)
				<-release
				return "record", f.hash, nil
			})
		done <- err
	}()
	<-loading // the right attempt is counted (its counters created) and looking up
	if err := f.try("A-1", "198.51.100.9", "00000000"); !errors.Is(err, errRefused) {
		t.Fatalf("wrong attempt: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("right attempt: %v", err)
	}
	got := f.counters(t)
	// Left: the wrong attempt's client and pair counters (1 failure each)
	// and the identifier's, written by both and given back by the right
	// one only (1 failure). The right attempt's client and pair: deleted.
	want := map[string][]int{ScopeClient: {1}, ScopePair: {1}, ScopeID: {1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counters %v, want %v", got, want)
	}
}

// TestCheck_overlapping_successes_leave_no_counter: two right attempts from
// one address whose counting overlaps (the second finds the first's fresh
// counters and adds to them) leave nothing behind once both succeeded: a
// counter emptied by a give-back is deleted, not kept as an empty list.
func TestCheck_overlapping_successes_leave_no_counter(t *testing.T) {
	f := newFixture(t)
	loading := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Check(context.Background(), f.g, Attempt{Kind: "application", ID: "A-1", Client: "203.0.113.7", Secret: "12345678", Refusal: errRefused},
			func(context.Context) (string, Hashed, error) {
				close(loading)
				<-release
				return "record", f.hash, nil
			})
		done <- err
	}()
	<-loading
	if err := f.try("A-1", "203.0.113.7", "12345678"); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	if got := f.counters(t); len(got) != 0 {
		t.Fatalf("counters left: %v", got)
	}
}
