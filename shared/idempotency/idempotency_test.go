package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
	"motcua/shared/logx"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counter is a hand-written work function that records its calls.
type counter struct {
	calls  atomic.Int32
	status int
	err    error
}

func (c *counter) fn() (handler.Response, error) {
	n := c.calls.Add(1)
	if c.err != nil {
		return handler.Response{}, c.err
	}
	status := c.status
	if status == 0 {
		status = http.StatusCreated
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Location", "?id=HS-1")
	h.Set("Set-Cookie", "session=abc")
	return handler.Response{StatusCode: status, Header: h, Body: fmt.Appendf(nil, `{"id":"HS-1","run":%d}`, n)}, nil
}

func request(key, body string) handler.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if key != "" {
		h.Set(HeaderKey, key)
	}
	return handler.Request{Method: http.MethodPost, Header: h, Body: []byte(body)}
}

func problemOf(t *testing.T, resp handler.Response) httpx.Problem {
	t.Helper()
	var p httpx.Problem
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		t.Fatalf("not a problem: %v: %s", err, resp.Body)
	}
	return p
}

func newKeeper(store docstore.Store, c *clock, logs *bytes.Buffer) *Keeper {
	return New(store, "idempotency/submit-application", time.Hour,
		WithClock(c.Now), WithLockTTL(time.Minute), WithLogger(logx.New(logs, "debug")))
}

func TestDo(t *testing.T) {
	type step struct {
		scope      string
		req        handler.Request
		work       *counter // nil: the test's shared counter
		advance    time.Duration
		wantStatus int
		wantCode   string // problem code, "" for a work response
		wantReplay bool
		wantRun    int // the "run" number in the body, 0 to skip
	}
	tests := []struct {
		name      string
		status    int   // shared counter's status
		err       error // shared counter's error
		steps     []step
		wantCalls int32
		wantKeys  int // records left in the store
	}{
		{
			name: "no_key_runs_every_time",
			steps: []step{
				{req: request("", `{"a":1}`), wantStatus: 201, wantRun: 1},
				{req: request("", `{"a":1}`), wantStatus: 201, wantRun: 2},
			},
			wantCalls: 2, wantKeys: 0,
		},
		{
			name: "replay_same_request",
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantRun: 1},
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantReplay: true, wantRun: 1},
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantReplay: true, wantRun: 1},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name:   "client_errors_are_replayed_too",
			status: 422,
			steps: []step{
				{req: request("k-1", `{}`), wantStatus: 422, wantRun: 1},
				{req: request("k-1", `{}`), wantStatus: 422, wantReplay: true, wantRun: 1},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name: "reuse_with_different_body",
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 201},
				{req: request("k-1", `{"a":2}`), wantStatus: 409, wantCode: "idempotency_key_reused"},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name: "reuse_with_different_method",
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 201},
				{req: func() handler.Request { r := request("k-1", `{"a":1}`); r.Method = http.MethodPut; return r }(), wantStatus: 409, wantCode: "idempotency_key_reused"},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name: "reuse_with_different_query",
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 201},
				{req: func() handler.Request { r := request("k-1", `{"a":1}`); r.QueryString = "id=2"; return r }(), wantStatus: 409, wantCode: "idempotency_key_reused"},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name: "scopes_do_not_collide",
			steps: []step{
				{scope: "citizen-a", req: request("k-1", `{"a":1}`), wantStatus: 201, wantRun: 1},
				{scope: "citizen-b", req: request("k-1", `{"a":1}`), wantStatus: 201, wantRun: 2},
				{scope: "citizen-a", req: request("k-1", `{"a":1}`), wantStatus: 201, wantReplay: true, wantRun: 1},
			},
			wantCalls: 2, wantKeys: 2,
		},
		{
			name:   "server_errors_are_not_stored",
			status: 503,
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 503, wantRun: 1},
				{req: request("k-1", `{"a":1}`), wantStatus: 503, wantRun: 2},
			},
			wantCalls: 2, wantKeys: 0,
		},
		{
			name: "retry_after_5xx_then_success_is_stored",
			steps: []step{
				{req: request("k-1", `{"a":1}`), work: &counter{status: 500}, wantStatus: 500},
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantRun: 1},
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantReplay: true, wantRun: 1},
			},
			wantCalls: 1, wantKeys: 1,
		},
		{
			name: "expired_record_runs_again",
			steps: []step{
				{req: request("k-1", `{"a":1}`), wantStatus: 201, wantRun: 1},
				{req: request("k-1", `{"a":2}`), advance: 2 * time.Hour, wantStatus: 201, wantRun: 2},
				{req: request("k-1", `{"a":2}`), wantStatus: 201, wantReplay: true, wantRun: 2},
			},
			wantCalls: 2, wantKeys: 1,
		},
		{
			name: "invalid_keys_refused",
			steps: []step{
				{req: request(strings.Repeat("k", 256), `{}`), wantStatus: 400, wantCode: "invalid_idempotency_key"},
				{req: request("tab\tkey", `{}`), wantStatus: 400, wantCode: "invalid_idempotency_key"},
				{req: request("khóa", `{}`), wantStatus: 400, wantCode: "invalid_idempotency_key"},
				{req: func() handler.Request {
					r := request("a", `{}`)
					r.Header.Add(HeaderKey, "b")
					return r
				}(), wantStatus: 400, wantCode: "invalid_idempotency_key"},
				{req: func() handler.Request {
					r := request("", `{}`)
					r.Header[HeaderKey] = []string{""}
					return r
				}(), wantStatus: 400, wantCode: "invalid_idempotency_key"},
				{req: request(strings.Repeat("k", 255), `{}`), wantStatus: 201},
			},
			wantCalls: 1, wantKeys: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := docstore.NewMemStore("test")
			c := newClock()
			var logs bytes.Buffer
			k := newKeeper(store, c, &logs)
			shared := &counter{status: tt.status, err: tt.err}
			for i, s := range tt.steps {
				c.Advance(s.advance)
				work := shared
				if s.work != nil {
					work = s.work
				}
				resp, err := k.Do(context.Background(), s.scope, s.req, work.fn)
				if err != nil {
					t.Fatalf("step %d: Do: %v", i, err)
				}
				if resp.StatusCode != s.wantStatus {
					t.Fatalf("step %d: status %d, want %d: %s", i, resp.StatusCode, s.wantStatus, resp.Body)
				}
				if s.wantCode != "" {
					p := problemOf(t, resp)
					if p.Code != s.wantCode || p.DetailVi == "" || p.Detail == "" {
						t.Errorf("step %d: problem %+v, want code %q with both texts", i, p, s.wantCode)
					}
					continue
				}
				replayed := resp.Header.Get(HeaderReplayed) == "true"
				if replayed != s.wantReplay {
					t.Errorf("step %d: replayed = %v, want %v", i, replayed, s.wantReplay)
				}
				if s.wantRun != 0 && !bytes.Contains(resp.Body, fmt.Appendf(nil, `"run":%d`, s.wantRun)) {
					t.Errorf("step %d: body %s, want run %d", i, resp.Body, s.wantRun)
				}
				if replayed {
					if resp.Header.Get("Location") != "?id=HS-1" || resp.Header.Get("Content-Type") != "application/json" {
						t.Errorf("step %d: replayed headers %v", i, resp.Header)
					}
					if resp.Header.Get("Set-Cookie") != "" {
						t.Errorf("step %d: Set-Cookie was stored", i)
					}
				}
			}
			if got := shared.calls.Load(); got != tt.wantCalls {
				t.Errorf("work ran %d times, want %d", got, tt.wantCalls)
			}
			if keys := store.Keys(); len(keys) != tt.wantKeys {
				t.Errorf("store keys = %v, want %d", keys, tt.wantKeys)
			}
			for _, key := range store.Keys() {
				if !strings.HasPrefix(key, "idempotency/submit-application/") || strings.Contains(key, "k-1") || strings.Contains(key, "citizen") {
					t.Errorf("record key %q is not hashed under the prefix", key)
				}
			}
		})
	}
}

func TestDoWorkErrorReleasesLock(t *testing.T) {
	store := docstore.NewMemStore("test")
	var logs bytes.Buffer
	k := newKeeper(store, newClock(), &logs)
	boom := errors.New("bank down")
	failing := &counter{err: boom}
	_, err := k.Do(context.Background(), "", request("k-1", `{}`), failing.fn)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the work's error", err)
	}
	if len(store.Keys()) != 0 {
		t.Fatalf("lock not released: %v", store.Keys())
	}
	ok := &counter{}
	resp, err := k.Do(context.Background(), "", request("k-1", `{}`), ok.fn)
	if err != nil || resp.StatusCode != 201 || ok.calls.Load() != 1 {
		t.Fatalf("retry: %d %v calls=%d", resp.StatusCode, err, ok.calls.Load())
	}
}

func TestDoConcurrentSameKey(t *testing.T) {
	const n = 8
	store := docstore.NewMemStore("test")
	var logs bytes.Buffer
	k := newKeeper(store, newClock(), &logs)

	release := make(chan struct{})
	var calls atomic.Int32
	work := func() (handler.Response, error) {
		calls.Add(1)
		<-release
		return handler.Response{StatusCode: 201, Body: []byte(`{"id":"HS-1"}`)}, nil
	}
	type result struct {
		resp handler.Response
		err  error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			resp, err := k.Do(context.Background(), "", request("same", `{"a":1}`), work)
			results <- result{resp, err}
		}()
	}
	// Everybody but the winner returns at once; then let the winner finish.
	deadline := time.After(30 * time.Second)
	var got []result
	for len(got) < n-1 {
		select {
		case r := <-results:
			got = append(got, r)
		case <-deadline:
			t.Fatalf("only %d of %d requests returned", len(got), n-1)
		}
	}
	close(release)
	select {
	case r := <-results:
		got = append(got, r)
	case <-deadline:
		t.Fatal("winner never returned")
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("work ran %d times, want 1", c)
	}
	var created, inProgress int
	for _, r := range got {
		if r.err != nil {
			t.Fatalf("Do: %v", r.err)
		}
		switch r.resp.StatusCode {
		case 201:
			created++
		case 409:
			p := problemOf(t, r.resp)
			if p.Code != "idempotency_in_progress" || r.resp.Header.Get("Retry-After") == "" {
				t.Errorf("409 = %+v %v", p, r.resp.Header)
			}
			inProgress++
		default:
			t.Errorf("unexpected status %d: %s", r.resp.StatusCode, r.resp.Body)
		}
	}
	if created != 1 || inProgress != n-1 {
		t.Errorf("created=%d inProgress=%d", created, inProgress)
	}
	resp, err := k.Do(context.Background(), "", request("same", `{"a":1}`), work)
	if err != nil || resp.StatusCode != 201 || resp.Header.Get(HeaderReplayed) != "true" || calls.Load() != 1 {
		t.Errorf("after completion: %d %v replayed=%q calls=%d", resp.StatusCode, err, resp.Header.Get(HeaderReplayed), calls.Load())
	}
}

func TestDoStaleLockTakeover(t *testing.T) {
	store := docstore.NewMemStore("test")
	c := newClock()
	var logs bytes.Buffer
	k := newKeeper(store, c, &logs)

	// The first request hangs (say its process is frozen).
	started, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan handler.Response, 1)
	go func() {
		resp, _ := k.Do(context.Background(), "", request("k-1", `{}`), func() (handler.Response, error) {
			close(started)
			<-release
			return handler.Response{StatusCode: 201, Body: []byte(`{"by":"first"}`)}, nil
		})
		firstDone <- resp
	}()
	<-started

	second := func() (handler.Response, error) {
		return handler.Response{StatusCode: 201, Body: []byte(`{"by":"second"}`)}, nil
	}
	// While the lock is fresh the retry is told to wait.
	resp, err := k.Do(context.Background(), "", request("k-1", `{}`), second)
	if err != nil || resp.StatusCode != 409 || problemOf(t, resp).Code != "idempotency_in_progress" {
		t.Fatalf("fresh lock: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	// Once the lock is older than the lock TTL, the retry takes it over.
	c.Advance(time.Minute + time.Second)
	resp, err = k.Do(context.Background(), "", request("k-1", `{}`), second)
	if err != nil || resp.StatusCode != 201 || string(resp.Body) != `{"by":"second"}` {
		t.Fatalf("takeover: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	if !strings.Contains(logs.String(), "took over a stale lock") {
		t.Errorf("takeover not logged: %s", logs.String())
	}
	// The first request finally completes; it must not overwrite the record.
	close(release)
	select {
	case r := <-firstDone:
		if string(r.Body) != `{"by":"first"}` {
			t.Errorf("first got %s", r.Body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("first request never returned")
	}
	resp, err = k.Do(context.Background(), "", request("k-1", `{}`), second)
	if err != nil || resp.Header.Get(HeaderReplayed) != "true" || string(resp.Body) != `{"by":"second"}` {
		t.Errorf("replay after takeover: %d %v %s", resp.StatusCode, err, resp.Body)
	}
}

// failingStore is a hand-written fake that fails chosen operations.
type failingStore struct {
	*docstore.MemStore
	putErr error
}

func (f *failingStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if f.putErr != nil {
		return "", f.putErr
	}
	return f.MemStore.Put(ctx, key, body, opts)
}

func TestDoStoreFailureBeforeWork(t *testing.T) {
	unavailable := errors.New("s3: 503 slow down")
	store := &failingStore{MemStore: docstore.NewMemStore("test"), putErr: unavailable}
	var logs bytes.Buffer
	k := newKeeper(store, newClock(), &logs)
	work := &counter{}
	_, err := k.Do(context.Background(), "", request("k-1", `{}`), work.fn)
	if !errors.Is(err, unavailable) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if work.calls.Load() != 0 {
		t.Errorf("work ran without a lock")
	}
}

func TestDoCallerGoneStillStores(t *testing.T) {
	store := docstore.NewMemStore("test")
	var logs bytes.Buffer
	k := newKeeper(store, newClock(), &logs)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := k.Do(ctx, "", request("k-1", `{}`), func() (handler.Response, error) {
		cancel() // the mobile client drops off mid-request
		return handler.Response{StatusCode: 201, Body: []byte(`{}`)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := k.Do(context.Background(), "", request("k-1", `{}`), (&counter{}).fn)
	if err != nil || resp.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("result of the dropped request was not kept: %d %v", resp.StatusCode, err)
	}
}
