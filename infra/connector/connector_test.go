package connector

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"motcua/infra/asynccall"
)

func strAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func TestDelivery_ok_deletes_message_and_sets_headers(t *testing.T) {
	h := newHarness(t)
	qurl := h.queueURL("application-events") // provisioned from infra/resources.json
	var rec recorder
	h.gw.handle("on-event", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.WriteHeader(http.StatusAccepted)
	})
	h.gw.setFunctions(topicFn("on-event", "application-events"), functionStatus{Name: "no-topic"})
	h.start(func(o *Options) { o.GatewayUsername, o.GatewayPassword = "admin", "pw" })

	body := `{"id":"e-1","type":"application.submitted","payload":{}}`
	id := h.send(qurl, body, map[string]types.MessageAttributeValue{
		"correlation_id": strAttr("corr-42"),
		"event_type":     strAttr("application.submitted"),
		"weight":         {DataType: aws.String("Number"), StringValue: aws.String("7")},
	})
	waitFor(t, "message deleted", func() bool { return h.deletes.n.Load() == 1 })

	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("function called %d times, want 1", len(reqs))
	}
	got := reqs[0]
	if string(got.body) != body || got.method != http.MethodPost {
		t.Errorf("request = %s %q, want POST %q", got.method, got.body, body)
	}
	for name, want := range map[string]string{
		"Content-Type":              "application/json",
		"X-Message-Id":              id,
		"X-Receive-Count":           "1",
		"X-Queue-Name":              "application-events",
		"X-SQS-Message-ID":          id,
		"X-SQS-Queue-URL":           qurl,
		"X-Correlation-Id":          "corr-42",
		"X-Message-Attr-event_type": "application.submitted",
		"X-Message-Attr-weight":     "",
		"Authorization":             "", // gateway credentials never reach a function
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if _, err := uuid.Parse(got.header.Get("X-Call-Id")); err != nil {
		t.Errorf("X-Call-Id %q is not a UUID: %v", got.header.Get("X-Call-Id"), err)
	}
	if n := h.messagesLeft(qurl); n != 0 {
		t.Errorf("messages left on queue = %d, want 0", n)
	}
	if auth, _ := h.gw.listAuth.Load().(string); !strings.HasPrefix(auth, "Basic ") {
		t.Errorf("/system/functions Authorization = %q, want basic auth", auth)
	}
}

func TestDelivery_correlation_id_falls_back_to_envelope(t *testing.T) {
	h := newHarness(t)
	qurl, _ := h.createQueue("t-corr", 5, 3)
	var rec recorder
	h.gw.handle("on-event", func(w http.ResponseWriter, r *http.Request) { rec.add(r) })
	h.gw.setFunctions(topicFn("on-event", "t-corr"))
	h.start(nil)
	h.send(qurl, `{"id":"e-2","correlationId":"call-7"}`, nil)
	waitFor(t, "message deleted", func() bool { return h.deletes.n.Load() == 1 })
	if v := rec.all()[0].header.Get("X-Correlation-Id"); v != "call-7" {
		t.Errorf("X-Correlation-Id = %q, want call-7", v)
	}
}

func TestDelivery_failure_is_redelivered_then_dead_lettered(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"function_returns_500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}},
		{"function_times_out", func(w http.ResponseWriter, r *http.Request) {
			select { // far beyond the 1s call timeout of a 2s-visibility queue
			case <-r.Context().Done():
			case <-time.After(deadline):
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			qurl, dlqURL := h.createQueue("t-fail", 2, 2)
			var rec recorder
			h.gw.handle("flaky", func(w http.ResponseWriter, r *http.Request) {
				rec.add(r)
				tt.handler(w, r)
			})
			h.gw.setFunctions(topicFn("flaky", "t-fail"))
			h.start(nil)
			id := h.send(qurl, `{"id":"e-3"}`, nil)

			dead := h.receive(dlqURL)
			if aws.ToString(dead.MessageId) != id && aws.ToString(dead.Body) != `{"id":"e-3"}` {
				t.Errorf("dead-lettered message %s %q, want %s", aws.ToString(dead.MessageId), aws.ToString(dead.Body), id)
			}
			reqs := rec.all()
			if len(reqs) != 2 {
				t.Fatalf("function called %d times, want 2 (maxReceiveCount)", len(reqs))
			}
			for i, r := range reqs {
				if got, want := r.header.Get("X-Receive-Count"), []string{"1", "2"}[i]; got != want {
					t.Errorf("call %d X-Receive-Count = %s, want %s", i, got, want)
				}
			}
			if n := h.deletes.n.Load(); n != 0 {
				t.Errorf("deletes = %d, want 0", n)
			}
		})
	}
}

func TestConcurrency_bound_per_function_is_respected(t *testing.T) {
	tests := []struct {
		name        string
		annotations []string
		want        int
	}{
		{"annotation_bound_2", []string{ConcurrencyAnnotation, "2"}, 2},
		{"default_bound_3", nil, 3},
		{"bad_annotation_uses_default", []string{ConcurrencyAnnotation, "lots"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			qa, _ := h.createQueue("t-conc-a", 10, 5)
			qb, _ := h.createQueue("t-conc-b", 10, 5)
			var inflight, maxInflight, calls atomic.Int64
			h.gw.handle("worker", func(w http.ResponseWriter, r *http.Request) {
				n := inflight.Add(1)
				for {
					m := maxInflight.Load()
					if n <= m || maxInflight.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(150 * time.Millisecond)
				inflight.Add(-1)
				calls.Add(1)
			})
			const perQueue = 8
			for i := range perQueue {
				h.send(qa, `{"n":`+string(rune('0'+i))+`}`, nil)
				h.send(qb, `{"n":`+string(rune('0'+i))+`}`, nil)
			}
			// One function consuming two queues: the bound is per function.
			h.gw.setFunctions(topicFn("worker", "t-conc-a, t-conc-b", tt.annotations...))
			h.start(func(o *Options) { o.DefaultConcurrency = 3 })

			waitFor(t, "all messages deleted", func() bool { return h.deletes.n.Load() == 2*perQueue })
			if got := maxInflight.Load(); got > int64(tt.want) || got < 1 {
				t.Errorf("max in-flight = %d, want 1..%d", got, tt.want)
			}
			if got := calls.Load(); got != 2*perQueue {
				t.Errorf("calls = %d, want %d", got, 2*perQueue)
			}
		})
	}
}

func TestShutdown_mid_delivery(t *testing.T) {
	t.Run("delivery_finishing_within_grace_is_deleted_once", func(t *testing.T) {
		h := newHarness(t)
		qurl, _ := h.createQueue("t-drain", 2, 5)
		started, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		h.gw.handle("slow", func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				close(started)
			}
			<-release
		})
		h.gw.setFunctions(topicFn("slow", "t-drain"))
		stop := h.start(func(o *Options) { o.CallTimeout = deadline })
		h.send(qurl, `{"id":"e-4"}`, nil)
		<-started

		errc := make(chan error, 1)
		go func() { errc <- stop() }()
		time.Sleep(200 * time.Millisecond) // let the shutdown begin first
		close(release)
		if err := <-errc; err != nil {
			t.Fatalf("Run = %v, want nil after a clean drain", err)
		}
		if n := h.deletes.n.Load(); n != 1 {
			t.Errorf("deletes = %d, want exactly 1", n)
		}
		if n := h.messagesLeft(qurl); n != 0 {
			t.Errorf("messages left = %d, want 0", n)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
	})
	t.Run("delivery_exceeding_grace_is_left_for_redelivery", func(t *testing.T) {
		h := newHarness(t)
		qurl, _ := h.createQueue("t-abandon", 2, 5)
		started := make(chan struct{})
		var once sync.Once
		h.gw.handle("stuck", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
			once.Do(func() { close(started) })
			<-r.Context().Done()
		})
		h.gw.setFunctions(topicFn("stuck", "t-abandon"))
		stop := h.start(func(o *Options) { o.CallTimeout = deadline; o.ShutdownGrace = 300 * time.Millisecond })
		id := h.send(qurl, `{"id":"e-5"}`, nil)
		<-started

		if err := stop(); !errors.Is(err, ErrGraceExceeded) {
			t.Fatalf("Run = %v, want ErrGraceExceeded", err)
		}
		if n := h.deletes.n.Load(); n != 0 {
			t.Errorf("deletes = %d, want 0", n)
		}
		back := h.receive(qurl)
		if aws.ToString(back.MessageId) != id {
			t.Errorf("redelivered %s, want %s", aws.ToString(back.MessageId), id)
		}
		if rc := back.Attributes["ApproximateReceiveCount"]; rc != "2" {
			t.Errorf("receive count = %s, want 2", rc)
		}
	})
}

func TestRefresh_picks_up_new_topic_and_stops_removed_one(t *testing.T) {
	h := newHarness(t)
	qurl, _ := h.createQueue("t-refresh", 5, 5)
	var rec recorder
	h.gw.handle("late", func(w http.ResponseWriter, r *http.Request) { rec.add(r) })
	h.start(nil)
	h.gw.waitListCalls(t, 2)
	h.send(qurl, `{"id":"e-6"}`, nil)

	h.gw.setFunctions(topicFn("late", "t-refresh"))
	waitFor(t, "delivery after subscribe", func() bool { return h.deletes.n.Load() == 1 })

	h.gw.setFunctions()
	h.gw.waitListCalls(t, 2)
	h.send(qurl, `{"id":"e-7"}`, nil)
	time.Sleep(1500 * time.Millisecond) // room for a connector that failed to unsubscribe
	m := h.receive(qurl)
	if rc := m.Attributes["ApproximateReceiveCount"]; rc != "1" || aws.ToString(m.Body) != `{"id":"e-7"}` {
		t.Errorf("after unsubscribe got %q with receive count %s, want e-7 never received before", aws.ToString(m.Body), rc)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("function calls = %d, want 1", n)
	}
}

func TestAsyncCall(t *testing.T) {
	tests := []struct {
		name            string
		functionStatus  int
		callbackStatus  int
		wantCallbacks   int
		wantFunctionHit int
	}{
		{"function_ok_callback_posted", http.StatusCreated, http.StatusOK, 1, 1},
		{"function_error_is_reported_not_retried", http.StatusBadRequest, http.StatusNoContent, 1, 1},
		{"failing_callback_is_retried_then_dropped", http.StatusOK, http.StatusServiceUnavailable, DefaultCallbackAttempts, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var fnRec, cbRec recorder
			h.gw.handle("echo", func(w http.ResponseWriter, r *http.Request) {
				rec := fnRec.add(r)
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(tt.functionStatus)
				_, _ = w.Write(append([]byte("got:"), rec.body...))
			})
			cb := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				cbRec.add(r)
				w.WriteHeader(tt.callbackStatus)
			})
			h.start(nil)

			call := asynccall.Call{
				CallID: "call-123", Function: "echo", Method: http.MethodPut, Query: "a=1&b=x%20y",
				Header:      http.Header{"X-Custom": {"v"}, "Content-Type": {"application/json"}, "X-Callback-Url": {cb.URL}},
				Body:        []byte(`{"q":"hồ sơ"}`),
				CallbackURL: cb.URL + "/done",
			}
			msg, err := call.Encode()
			if err != nil {
				t.Fatal(err)
			}
			msgID := h.send(h.queueURL(asynccall.QueueName), string(msg), nil)
			waitFor(t, "async message deleted", func() bool { return h.deletes.n.Load() == 1 })

			fr := fnRec.all()
			if len(fr) != tt.wantFunctionHit {
				t.Fatalf("function calls = %d, want %d", len(fr), tt.wantFunctionHit)
			}
			f := fr[0]
			if f.method != http.MethodPut || f.query != "a=1&b=x%20y" || string(f.body) != `{"q":"hồ sơ"}` {
				t.Errorf("function got %s ?%s %q", f.method, f.query, f.body)
			}
			for name, want := range map[string]string{"X-Call-Id": "call-123", "X-Custom": "v", "Content-Type": "application/json", "X-Callback-Url": "", "X-SQS-Message-ID": msgID, "X-SQS-Queue-URL": h.queueURL(asynccall.QueueName)} {
				if v := f.header.Get(name); v != want {
					t.Errorf("function header %s = %q, want %q", name, v, want)
				}
			}
			cr := cbRec.all()
			if len(cr) != tt.wantCallbacks {
				t.Fatalf("callbacks = %d, want %d", len(cr), tt.wantCallbacks)
			}
			c := cr[0]
			if string(c.body) != `got:{"q":"hồ sơ"}` || c.method != http.MethodPost {
				t.Errorf("callback got %s %q", c.method, c.body)
			}
			for name, want := range map[string]string{
				"X-Call-Id": "call-123", "X-Function-Status": strconv.Itoa(tt.functionStatus),
				"X-Function-Name": "echo", "Content-Type": "text/plain; charset=utf-8",
			} {
				if v := c.header.Get(name); v != want {
					t.Errorf("callback header %s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

func TestAsyncCall_gateway_unreachable_is_redelivered(t *testing.T) {
	h := newHarness(t)
	var attempts recorder
	h.gw.handle("echo", func(w http.ResponseWriter, r *http.Request) {
		attempts.add(r)
		// Drop the connection: the gateway never answered.
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
	})
	h.start(nil)
	msg, _ := asynccall.Call{CallID: "call-9", Function: "echo", Method: http.MethodPost}.Encode()
	h.send(h.queueURL(asynccall.QueueName), string(msg), nil)
	waitFor(t, "second attempt", func() bool { return attempts.count() >= 2 })
	if got := attempts.all()[1].header.Get("X-Receive-Count"); got != "2" {
		t.Errorf("second attempt receive count = %s, want 2", got)
	}
	if n := h.deletes.n.Load(); n != 0 {
		t.Errorf("deletes = %d, want 0", n)
	}
}

func TestAsyncCall_function_not_reached_is_redelivered(t *testing.T) {
	h := newHarness(t)
	var attempts recorder
	h.gw.handle("echo", func(w http.ResponseWriter, r *http.Request) {
		attempts.add(r)
		if attempts.count() == 1 {
			// What the gateway answers while the function restarts.
			w.Header().Set(asynccall.HeaderGatewayError, "function_not_ready")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h.start(nil)
	msg, _ := asynccall.Call{CallID: "call-10", Function: "echo", Method: http.MethodPost}.Encode()
	h.send(h.queueURL(asynccall.QueueName), string(msg), nil)
	waitFor(t, "async message deleted after the retry", func() bool { return h.deletes.n.Load() == 1 })
	if got := attempts.count(); got != 2 {
		t.Errorf("attempts = %d, want 2 (first answered by the gateway, second by the function)", got)
	}
	if got := attempts.all()[1].header.Get("X-Receive-Count"); got != "2" {
		t.Errorf("second attempt receive count = %s, want 2", got)
	}
}

func TestRun_keeps_running_when_gateway_or_queue_is_missing(t *testing.T) {
	h := newHarness(t)
	h.gw.setFunctions(topicFn("orphan", "no-such-queue"))
	stop := h.start(nil)
	h.gw.waitListCalls(t, 3)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
