package connector

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestCron_invokes_scheduled_functions_through_the_gateway(t *testing.T) {
	h := newHarness(t)
	var calls, bad atomic.Int64
	var header atomic.Value
	h.gw.handle("tick", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		header.Store(r.Header.Get(HeaderConnector) + "|" + r.Header.Get(HeaderCronSchedule) + "|" + r.Method)
		w.WriteHeader(http.StatusAccepted)
	})
	h.gw.handle("broken", func(w http.ResponseWriter, r *http.Request) { bad.Add(1) })
	h.gw.setFunctions(
		topicFn("tick", CronTopic, ScheduleAnnotation, "@every 1s"),
		topicFn("broken", CronTopic, ScheduleAnnotation, "not a schedule"),
		topicFn("no-schedule", CronTopic),
	)
	stop := h.start(nil)
	waitFor(t, "two scheduled calls", func() bool { return calls.Load() >= 2 })
	if got := header.Load(); got != "cron-connector|@every 1s|POST" {
		t.Fatalf("headers = %v", got)
	}
	// Removing the function stops its schedule.
	h.gw.setFunctions()
	h.gw.waitListCalls(t, 2)
	n := calls.Load()
	time.Sleep(1500 * time.Millisecond)
	if calls.Load() > n+1 {
		t.Fatalf("still called after removal: %d → %d", n, calls.Load())
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if bad.Load() != 0 {
		t.Fatal("a function with a bad schedule was invoked")
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name, spec string
		ok         bool
	}{
		{"every_15_minutes", "*/15 * * * *", true},
		{"daily_utc", "30 18 * * *", true},
		{"descriptor", "@hourly", true},
		{"six_fields_refused", "0 */15 * * * *", false},
		{"garbage", "soon", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSchedule(tt.spec); (err == nil) != tt.ok {
				t.Fatalf("ParseSchedule(%q) = %v", tt.spec, err)
			}
		})
	}
}
