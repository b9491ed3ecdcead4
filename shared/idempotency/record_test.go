package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

func recordReq(key, body string) handler.Request {
	h := http.Header{}
	if key != "" {
		h.Set(HeaderKey, key)
	}
	return handler.Request{Method: http.MethodPost, Body: []byte(body), Header: h}
}

func answer(body string) handler.Response {
	return httpx.JSON(http.StatusCreated, map[string]string{"code": body}, http.Header{"Cache-Control": {"no-store"}})
}

func TestRecord_outcomes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		prior     func(k *Keeper, c *clock) // before the request under test
		body      string
		wantWon   bool
		wantCode  string // problem code
		wantStale bool
		wantPrior bool
	}{
		{"first_request_wins", nil, "a", true, "", false, false},
		{"same_request_gets_the_prior_answer", func(k *Keeper, c *clock) { mustRecord(t, k, "a") }, "a", false, "", false, true},
		{"other_body_is_refused", func(k *Keeper, c *clock) { mustRecord(t, k, "a") }, "b", false, "idempotency_key_reused", false, false},
		{"young_record_is_not_stale", func(k *Keeper, c *clock) { mustRecord(t, k, "a"); c.Advance(time.Minute) }, "a", false, "", false, true},
		{"old_record_is_stale", func(k *Keeper, c *clock) { mustRecord(t, k, "a"); c.Advance(3 * time.Minute) }, "a", false, "", true, true},
		{"abandoned_record_is_stale_at_once", func(k *Keeper, c *clock) { k.Abandon(ctx, mustRecord(t, k, "a")) }, "a", false, "", true, true},
		{"expired_record_is_replaced", func(k *Keeper, c *clock) { mustRecord(t, k, "a"); c.Advance(25 * time.Hour) }, "b", true, "", false, false},
		{"running_do_lock_is_in_progress", func(k *Keeper, c *clock) {
			started, release := make(chan struct{}), make(chan struct{})
			go func() {
				_, _ = k.Do(ctx, "s", recordReq("key-1", "a"), func() (handler.Response, error) {
					close(started)
					<-release
					return answer("a"), nil
				})
			}()
			<-started
			t.Cleanup(func() { close(release) })
		}, "a", false, "idempotency_in_progress", false, false},
		{"done_do_record_is_a_prior_answer", func(k *Keeper, c *clock) {
			_, _ = k.Do(ctx, "s", recordReq("key-1", "a"), func() (handler.Response, error) { return answer("a"), nil })
		}, "a", false, "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			k := New(docstore.NewMemStore("b"), "idem", 24*time.Hour, WithClock(c.Now), WithLockTTL(2*time.Minute))
			if tc.prior != nil {
				tc.prior(k, c)
			}
			r, err := k.Record(ctx, "s", recordReq("key-1", tc.body), answer(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.Won != tc.wantWon || r.Stale != tc.wantStale {
				t.Fatalf("won %v stale %v, want %v %v", r.Won, r.Stale, tc.wantWon, tc.wantStale)
			}
			gotCode := ""
			if r.Problem != nil {
				gotCode = problemCode(t, *r.Problem)
			}
			if gotCode != tc.wantCode {
				t.Fatalf("problem %q, want %q", gotCode, tc.wantCode)
			}
			if tc.wantPrior {
				if r.Prior.StatusCode != http.StatusCreated || string(r.Prior.Body) != `{"code":"a"}` {
					t.Fatalf("prior %d %s", r.Prior.StatusCode, r.Prior.Body)
				}
				if rp := r.Replay(); rp.Header.Get(HeaderReplayed) != "true" || rp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("replay headers %v", rp.Header)
				}
			}
		})
	}
}

func mustRecord(t *testing.T, k *Keeper, body string) Recorded {
	t.Helper()
	r, err := k.Record(context.Background(), "s", recordReq("key-1", body), answer(body))
	if err != nil || !r.Won {
		t.Fatalf("record: won %v, %v", r.Won, err)
	}
	return r
}

func problemCode(t *testing.T, resp handler.Response) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		t.Fatalf("problem body %s: %v", resp.Body, err)
	}
	return p.Code
}

func TestRecord_without_key_writes_nothing(t *testing.T) {
	store := docstore.NewMemStore("b")
	k := New(store, "idem", 0)
	r, err := k.Record(context.Background(), "s", recordReq("", "a"), answer("a"))
	if err != nil || !r.Won || r.Key != "" || len(store.Keys()) != 0 {
		t.Fatalf("won %v key %q err %v keys %v", r.Won, r.Key, err, store.Keys())
	}
	if _, bad := CheckKey(recordReq("", "a")); bad != nil {
		t.Fatal("no key is not an error")
	}
	if _, bad := CheckKey(recordReq("bad\x01key", "a")); bad == nil || bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid key accepted: %+v", bad)
	}
}

// TestTakeOver_one_of_many_wins: retries that all found the record stale
// race to take it over: one does, the others are told it is taken.
func TestTakeOver_one_of_many_wins(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	k := New(docstore.NewMemStore("b"), "idem", 0, WithClock(c.Now), WithLockTTL(time.Minute))
	mustRecord(t, k, "a")
	c.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	found := make([]Recorded, 8)
	for i := range found {
		r, err := k.Record(ctx, "s", recordReq("key-1", "a"), answer("a"))
		if err != nil || !r.Stale {
			t.Fatalf("stale %v err %v", r.Stale, err)
		}
		found[i] = r
	}
	for i := range found {
		wg.Go(func() {
			r := found[i]
			err := k.TakeOver(ctx, &r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && r.Won:
				won++
			case errors.Is(err, ErrTakenOver):
				lost++
			default:
				t.Errorf("take over: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("%d took over, %d lost", won, lost)
	}
	// Taken over: young again, so a new retry waits.
	r, err := k.Record(ctx, "s", recordReq("key-1", "a"), answer("a"))
	if err != nil || r.Stale || r.Won {
		t.Fatalf("after take-over: won %v stale %v err %v", r.Won, r.Stale, err)
	}
}
