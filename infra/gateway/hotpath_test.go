package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"motcua/infra/gateway"
)

func TestFunction_generated_call_ids_are_distinct_uuid_v4(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	seen := map[string]bool{}
	for range 200 {
		res, _ := do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, nil)
		id := res.Header.Get(gateway.HeaderCallID)
		u, err := uuid.Parse(id)
		if err != nil || len(id) != 36 || u.Version() != 4 || u.Variant() != uuid.RFC4122 || id != strings.ToLower(id) {
			t.Fatalf("call id %q is not a lower-case version 4 UUID (%v)", id, err)
		}
		if seen[id] {
			t.Fatalf("call id %q given twice", id)
		}
		seen[id] = true
	}
}

// bigFixture is a gateway with the default 1 MiB body limit in front of the
// recording upstream.
func bigFixture(t *testing.T) (*httptest.Server, *upstream) {
	t.Helper()
	up := newUpstream(t)
	h := gateway.New(gateway.Options{Functions: &fakeSource{fns: map[string]gateway.Function{
		"procedures": {Name: "procedures", Replicas: 1, AvailableReplicas: 1, URL: up.srv.URL}}}})
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return gw, up
}

func TestFunction_bodies_reach_the_function_whole(t *testing.T) {
	gw, up := bigFixture(t)
	for _, c := range []struct {
		name string
		body io.Reader
		size int
	}{
		{"small_known_length_read_first", strings.NewReader(strings.Repeat("s", 1000)), 1000},
		{"at_the_buffer_bound", strings.NewReader(strings.Repeat("b", 64<<10)), 64 << 10},
		{"large_known_length_streamed", strings.NewReader(strings.Repeat("l", 300<<10)), 300 << 10},
		{"chunked_under_the_limit_streamed", io.MultiReader(strings.NewReader(strings.Repeat("c", 200<<10))), 200 << 10},
		{"empty", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, b := do(t, http.MethodPost, gw.URL+"/function/procedures", c.body, nil)
			if res.StatusCode != http.StatusCreated || len(b) != len("echo:")+c.size {
				t.Fatalf("status %d, %d bytes back", res.StatusCode, len(b))
			}
			if got := len(up.seen().body); got != c.size {
				t.Fatalf("function got %d bytes, want %d", got, c.size)
			}
		})
	}
}

func TestFunction_expect_continue_is_answered_by_the_gateway(t *testing.T) {
	gw, up := bigFixture(t)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	req, err := http.NewRequest(http.MethodPost, gw.URL+"/function/procedures", strings.NewReader("chờ 100"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Expect", "100-continue")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || string(b) != "echo:chờ 100" {
		t.Fatalf("status %d %q", res.StatusCode, b)
	}
	if s := up.seen(); s.body != "chờ 100" || s.header.Get("Expect") != "" {
		t.Fatalf("function saw body %q, Expect %q", s.body, s.header.Get("Expect"))
	}
}

func TestFunction_body_shorter_than_its_length_is_400(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /function/procedures HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\nonly-this")
	_ = conn.(*net.TCPConn).CloseWrite()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if p := decodeProblem(t, res, b); p.Status != http.StatusBadRequest || p.Code != "bad_request" {
		t.Fatalf("problem %+v", p)
	}
	if f.up.count() != 0 {
		t.Fatal("a truncated body reached the function")
	}
}

func TestFunction_xff_is_the_callers_address_not_its_claim(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, map[string]string{"X-Forwarded-For": "203.0.113.7"})
	if got := f.up.seen().header.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Fatalf("X-Forwarded-For %q", got)
	}
}

// lockedBuffer is a bytes.Buffer safe for the queue's goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAccessLog_lines_are_written_without_Flush(t *testing.T) {
	var out lockedBuffer
	h := gateway.New(gateway.Options{AccessLog: slog.New(slog.NewJSONHandler(&out, nil))})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	// The queue's own goroutine writes the line within milliseconds; wait
	// generously (this checks that it happens, not how fast).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"route":"healthz"`) {
		if time.Now().After(deadline) {
			t.Fatal("the access line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAccessLog_every_concurrent_call_once_in_order_per_caller(t *testing.T) {
	var out lockedBuffer
	up := newUpstream(t)
	h := gateway.New(gateway.Options{Functions: &fakeSource{fns: map[string]gateway.Function{
		"procedures": {Name: "procedures", Replicas: 1, AvailableReplicas: 1, URL: up.srv.URL}}},
		AccessLog: slog.New(slog.NewJSONHandler(&out, nil))})
	const callers, calls = 8, 40
	// The gateway puts its answer on the wire before it queues the call's
	// line, so a caller can have its answer, and send its next call, while
	// the line is still to be queued. "In order per caller" is about calls
	// that are sequential at the gateway: each caller sends its next call
	// once the gateway's handler has returned from the previous one.
	handled := make([]chan struct{}, callers)
	for c := range handled {
		handled[c] = make(chan struct{}, 1)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		id := r.Header.Get(gateway.HeaderCallID)
		c, err := strconv.Atoi(id[1:strings.IndexByte(id, '-')])
		if err != nil {
			t.Errorf("call id %q: %v", id, err)
			return
		}
		handled[c] <- struct{}{}
	}))
	defer gw.Close()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				req, _ := http.NewRequest(http.MethodGet, gw.URL+"/function/procedures", nil)
				req.Header.Set(gateway.HeaderCallID, fmt.Sprintf("c%d-%03d", c, i))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				<-handled[c]
			}
		})
	}
	wg.Wait()
	gw.Close()
	h.Flush()
	last := map[string]string{}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			Msg    string `json:"msg"`
			CallID string `json:"call_id"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Msg != "call" || m.Status != http.StatusCreated {
			t.Fatalf("line %q (%v)", l, err)
		}
		caller := m.CallID[:strings.IndexByte(m.CallID, '-')]
		if m.CallID <= last[caller] {
			t.Fatalf("line for %s after %s", m.CallID, last[caller])
		}
		last[caller] = m.CallID
		n++
	}
	if n != callers*calls {
		t.Fatalf("%d lines, want %d", n, callers*calls)
	}
}
