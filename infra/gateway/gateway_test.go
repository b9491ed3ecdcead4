package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/infra/asynccall"
	"motcua/infra/gateway"
)

// fakeSource is a hand-written FunctionSource.
type fakeSource struct {
	mu  sync.Mutex
	fns map[string]gateway.Function
}

func (f *fakeSource) Functions() []gateway.Function {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]gateway.Function, 0, len(f.fns))
	for _, fn := range f.fns {
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *fakeSource) Function(name string) (gateway.Function, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fns[name]
	return fn, ok
}

// fakeQueue records enqueued bodies.
type fakeQueue struct {
	mu     sync.Mutex
	bodies [][]byte
	err    error
}

func (q *fakeQueue) Enqueue(_ context.Context, body []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.bodies = append(q.bodies, bytes.Clone(body))
	return nil
}

// seen is what the upstream received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

type upstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	last  seen
	calls int
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last = seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()}
		u.calls++
		u.mu.Unlock()
		if r.URL.Query().Get("sleep") != "" {
			select {
			case <-time.After(time.Minute):
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("X-Fn", "yes")
		w.Header().Set("X-Call-Id", "upstream-must-not-win")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("echo:"), b...))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// count is the number of calls the upstream received.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls
}

func (u *upstream) seen() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

type fixture struct {
	gw    *httptest.Server
	up    *upstream
	queue *fakeQueue
	src   *fakeSource
	logs  *bytes.Buffer
	h     *gateway.Gateway
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	up := newUpstream(t)
	src := &fakeSource{fns: map[string]gateway.Function{
		"procedures": {Name: "procedures", Image: "motcua/procedures:latest", EnvProcess: "./handler",
			Labels: map[string]string{"com.openfaas.scale.min": "1"}, Annotations: map[string]string{"topic": "application-events"},
			Replicas: 1, AvailableReplicas: 1, URL: up.srv.URL},
		"starting": {Name: "starting", Image: "motcua/starting:latest", Replicas: 1},
		"dead":     {Name: "dead", Image: "motcua/dead:latest", Replicas: 1, AvailableReplicas: 1, URL: "http://127.0.0.1:1"},
	}}
	q := &fakeQueue{}
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	h := gateway.New(gateway.Options{Functions: src, Async: q, MaxBody: 1024, Timeout: timeout, Logger: logger})
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return &fixture{gw: gw, up: up, queue: q, src: src, logs: logs, h: h}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func do(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

type problemBody struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Code     string `json:"code"`
	TitleVI  string `json:"title_vi"`
	DetailVI string `json:"detail_vi"`
	Errors   []struct {
		Field, Code, Message string
		MessageVI            string `json:"message_vi"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, res *http.Response, b []byte) problemBody {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, body %s", ct, b)
	}
	var p problemBody
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != res.StatusCode || p.Title == "" || p.TitleVI == "" || p.Detail == "" || p.DetailVI == "" || p.Instance == "" ||
		!strings.HasPrefix(p.Type, gateway.ProblemTypeBase) {
		t.Fatalf("incomplete problem: %+v", p)
	}
	return p
}

func TestFunction_passes_method_query_headers_body(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(strings.ToLower(method), func(t *testing.T) {
			res, b := do(t, method, f.gw.URL+"/function/procedures/some/path?code=1.000123&q=thủ+tục",
				strings.NewReader("xin chào"), map[string]string{"X-Custom": "v", "Authorization": "Bearer t",
					"Connection": "X-Drop-Me", "X-Drop-Me": "hop"})
			if res.StatusCode != http.StatusCreated || string(b) != "echo:xin chào" || res.Header.Get("X-Fn") != "yes" {
				t.Fatalf("got %d %q %v", res.StatusCode, b, res.Header)
			}
			s := f.up.seen()
			if s.method != method || s.path != "/some/path" || s.query != "code=1.000123&q=thủ+tục" ||
				s.body != "xin chào" || s.header.Get("X-Custom") != "v" || s.header.Get("Authorization") != "Bearer t" {
				t.Fatalf("upstream saw %+v", s)
			}
			if s.header.Get("X-Drop-Me") != "" {
				t.Fatal("hop-by-hop header listed in Connection was forwarded")
			}
			id := res.Header.Get(gateway.HeaderCallID)
			if id == "" || id != s.header.Get(gateway.HeaderCallID) || len(res.Header.Values(gateway.HeaderCallID)) != 1 {
				t.Fatalf("X-Call-Id: response %v, upstream %q", res.Header.Values(gateway.HeaderCallID), s.header.Get(gateway.HeaderCallID))
			}
			if s.header.Get(gateway.HeaderStartTime) == "" || res.Header.Get(gateway.HeaderDuration) == "" {
				t.Fatal("X-Start-Time / X-Duration-Seconds missing")
			}
		})
	}
}

func TestFunction_keeps_caller_call_id(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	res, _ := do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, map[string]string{"X-Call-Id": "abc-123_x.y:z"})
	if got := res.Header.Get(gateway.HeaderCallID); got != "abc-123_x.y:z" || f.up.seen().header.Get(gateway.HeaderCallID) != got {
		t.Fatalf("call id %q", got)
	}
	res, _ = do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, nil)
	if got := res.Header.Get(gateway.HeaderCallID); got == "" || f.up.seen().header.Get(gateway.HeaderCallID) != got {
		t.Fatalf("generated call id %q", got)
	}
}

func TestFunction_malformed_headers_are_refused(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	cases := []struct {
		name, path, header, value string
	}{
		{"call_id_with_space_and_quotes", "/function/procedures", "X-Call-Id", `bad id "{json}"`},
		{"call_id_too_long", "/function/procedures", "X-Call-Id", strings.Repeat("a", 129)},
		{"call_id_non_ascii", "/async-function/procedures", "X-Call-Id", "hồ-sơ"},
		{"callback_not_a_url", "/async-function/procedures", "X-Callback-Url", "not a url"},
		{"callback_relative", "/async-function/procedures", "X-Callback-Url", "/function/x"},
		{"callback_ftp", "/async-function/procedures", "X-Callback-Url", "ftp://example.test/x"},
		{"callback_user_info", "/function/procedures", "X-Callback-Url", "http://user:pw@example.test/x"},
		{"callback_no_host", "/async-function/procedures", "X-Callback-Url", "http:///x"},
		{"callback_too_long", "/async-function/procedures", "X-Callback-Url", "http://example.test/" + strings.Repeat("a", 2048)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.up.count()
			res, b := do(t, http.MethodPost, f.gw.URL+tc.path, strings.NewReader("{}"), map[string]string{tc.header: tc.value})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", res.StatusCode, b)
			}
			p := decodeProblem(t, res, b)
			if p.Code != "invalid_header" || p.Type != gateway.ProblemTypeBase+"invalid_header" || len(p.Errors) != 1 || p.Errors[0].Field != tc.header {
				t.Fatalf("problem %+v", p)
			}
			if f.up.count() != before {
				t.Fatal("the function was called")
			}
		})
	}
	t.Run("valid_callback_accepted", func(t *testing.T) {
		res, b := do(t, http.MethodPost, f.gw.URL+"/function/procedures", strings.NewReader("{}"),
			map[string]string{"X-Callback-Url": "https://portal.example.test/cb?x=1"})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("status %d; body %s", res.StatusCode, b)
		}
	})
}

func TestHealthz_methods(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if res, _ := do(t, m, f.gw.URL+"/healthz", nil, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz: %d", m, res.StatusCode)
		}
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodTrace, "/healthz"}, {http.MethodPost, "/healthz"}, {http.MethodDelete, "/healthz"},
		{http.MethodTrace, "/function/procedures"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			res, b := do(t, tc.method, f.gw.URL+tc.path, nil, nil)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") == "" {
				t.Fatalf("status %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
			}
			if p := decodeProblem(t, res, b); p.Code != "method_not_allowed" {
				t.Fatalf("problem %+v", p)
			}
		})
	}
}

func TestFunction_problems(t *testing.T) {
	f := newFixture(t, 300*time.Millisecond)
	cases := []struct {
		name     string
		method   string
		path     string
		body     io.Reader
		status   int
		typeSlug string
	}{
		{"unknown_function_404", http.MethodGet, "/function/nope", nil, 404, "function_not_found"},
		{"empty_function_name_404", http.MethodGet, "/function/", nil, 404, "function_not_found"},
		{"unknown_route_404", http.MethodGet, "/nothing", nil, 404, "not_found"},
		{"body_over_limit_413", http.MethodPost, "/function/procedures", strings.NewReader(strings.Repeat("a", 1025)), 413, "payload_too_large"},
		{"chunked_body_over_limit_413", http.MethodPost, "/function/procedures", io.MultiReader(strings.NewReader(strings.Repeat("a", 5000))), 413, "payload_too_large"},
		{"not_ready_503", http.MethodGet, "/function/starting", nil, 503, "function_not_ready"},
		{"down_502", http.MethodGet, "/function/dead", nil, 502, "function_unavailable"},
		{"timeout_504", http.MethodGet, "/function/procedures?sleep=1", nil, 504, "function_timeout"},
		{"async_unknown_404", http.MethodPost, "/async-function/nope", nil, 404, "function_not_found"},
		{"async_over_limit_413", http.MethodPost, "/async-function/procedures", strings.NewReader(strings.Repeat("a", 1025)), 413, "payload_too_large"},
		{"system_post_405", http.MethodPost, "/system/functions", nil, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, b := do(t, tc.method, f.gw.URL+tc.path, tc.body, nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tc.status, b)
			}
			p := decodeProblem(t, res, b)
			if p.Type != gateway.ProblemTypeBase+tc.typeSlug || p.Code != tc.typeSlug || res.Header.Get("X-Gateway-Error") != tc.typeSlug {
				t.Fatalf("type %q code %q", p.Type, p.Code)
			}
			if want := "urn:motcua:call:" + res.Header.Get(gateway.HeaderCallID); p.Instance != want {
				t.Fatalf("instance %q, want %q", p.Instance, want)
			}
		})
	}
	t.Run("not_found_shape", func(t *testing.T) {
		res, b := do(t, http.MethodGet, f.gw.URL+"/function/nope", nil, nil)
		p := decodeProblem(t, res, b)
		if p.Title != "Function not found" || p.TitleVI != "Không tìm thấy chức năng" || !strings.Contains(p.Detail, `"nope"`) {
			t.Fatalf("%+v", p)
		}
		if res.Header.Get(gateway.HeaderCallID) == "" {
			t.Fatal("problem response lacks X-Call-Id")
		}
	})
}

func TestFunction_timeout_is_the_functions_own(t *testing.T) {
	// The gateway's default is long; the function's own timeout (from its
	// exec_timeout, via the runner) decides.
	f := newFixture(t, time.Minute)
	f.src.mu.Lock()
	fn := f.src.fns["procedures"]
	fn.Timeout = 200 * time.Millisecond
	f.src.fns["procedures"] = fn
	f.src.mu.Unlock()
	start := time.Now()
	res, b := do(t, http.MethodGet, f.gw.URL+"/function/procedures?sleep=1", nil, nil)
	if res.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504; body %s", res.StatusCode, b)
	}
	if p := decodeProblem(t, res, b); !strings.Contains(p.Detail, "200ms") {
		t.Fatalf("detail %q does not name the function's timeout", p.Detail)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("the gateway's one-minute default was applied instead of the function's timeout")
	}
}

func TestAsync_queues_call_and_answers_202(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	res, b := do(t, http.MethodPost, f.gw.URL+"/async-function/procedures?x=1", strings.NewReader(`{"a":1}`),
		map[string]string{"X-Callback-Url": "http://127.0.0.1:9/cb", "X-Custom": "v", "Connection": "keep-alive"})
	if res.StatusCode != http.StatusAccepted || len(b) != 0 {
		t.Fatalf("got %d %q", res.StatusCode, b)
	}
	id := res.Header.Get(gateway.HeaderCallID)
	if id == "" {
		t.Fatal("no X-Call-Id")
	}
	if len(f.queue.bodies) != 1 {
		t.Fatalf("queued %d messages", len(f.queue.bodies))
	}
	call, err := asynccall.Decode(f.queue.bodies[0])
	if err != nil {
		t.Fatal(err)
	}
	if call.CallID != id || call.Function != "procedures" || call.Method != http.MethodPost || call.Query != "x=1" ||
		string(call.Body) != `{"a":1}` || call.CallbackURL != "http://127.0.0.1:9/cb" ||
		call.Header.Get("X-Custom") != "v" || call.Header.Get(gateway.HeaderCallID) != id || call.Header.Get("Connection") != "" {
		t.Fatalf("queued call %+v", call)
	}
	if f.up.seen().method != "" {
		t.Fatal("async call reached the function synchronously")
	}
}

func TestAsync_queue_failure_is_503(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	f.queue.err = errors.New("sqs down")
	res, b := do(t, http.MethodPost, f.gw.URL+"/async-function/procedures", strings.NewReader("x"), nil)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", res.StatusCode)
	}
	decodeProblem(t, res, b)
}

func TestSystemFunctions_shape(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, nil)
	do(t, http.MethodGet, f.gw.URL+"/function/procedures", nil, nil)
	res, b := do(t, http.MethodGet, f.gw.URL+"/system/functions", nil, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0]["name"] != "dead" || list[2]["name"] != "starting" {
		t.Fatalf("list %s", b)
	}
	p := list[1]
	for _, k := range []string{"name", "image", "envProcess", "labels", "annotations", "replicas", "availableReplicas", "invocationCount"} {
		if _, ok := p[k]; !ok {
			t.Errorf("missing field %s in %s", k, b)
		}
	}
	if p["invocationCount"] != 2.0 || p["image"] != "motcua/procedures:latest" || p["availableReplicas"] != 1.0 ||
		p["annotations"].(map[string]any)["topic"] != "application-events" {
		t.Fatalf("procedures entry %v", p)
	}
	if list[2]["labels"] == nil {
		t.Fatal("labels must be an object, not null")
	}
	res, b = do(t, http.MethodGet, f.gw.URL+"/system/function/procedures", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"name":"procedures"`) {
		t.Fatalf("one function: %d %s", res.StatusCode, b)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, time.Second)
	res, b := do(t, http.MethodGet, f.gw.URL+"/healthz", nil, nil)
	if res.StatusCode != 200 || string(b) != "OK" {
		t.Fatalf("%d %q", res.StatusCode, b)
	}
}

func TestAccessLog_one_line_per_call_without_secrets(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	do(t, http.MethodPost, f.gw.URL+"/function/procedures?cccd=001099012345", strings.NewReader("body-secret"),
		map[string]string{"Authorization": "Bearer very-secret-token", "X-Call-Id": "log-test-1"})
	f.gw.Close() // no call is running any more
	f.h.Flush()  // the queued access lines are written
	var line map[string]any
	found := 0
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == "call" && m["call_id"] == "log-test-1" {
			line = m
			found++
		}
	}
	if found != 1 {
		t.Fatalf("want one access line, got %d: %s", found, f.logs)
	}
	if line["function"] != "procedures" || line["method"] != "POST" || line["status"] != 201.0 ||
		line["bytes"] != float64(len("echo:body-secret")) || line["duration_ms"] == nil {
		t.Fatalf("access line %v", line)
	}
	for _, secret := range []string{"very-secret-token", "body-secret", "001099012345"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Fatalf("log contains %q", secret)
		}
	}
}
