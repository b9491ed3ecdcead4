package payment

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestFollowUps_full_queue_runs_in_the_caller_and_panics_do_not_kill(t *testing.T) {
	f := newFollowUps(1, 1)
	release := make(chan struct{})
	var ran atomic.Int32
	block := func(context.Context) { <-release; ran.Add(1) }
	f.submit(context.Background(), block) // taken by the one worker
	deadline := time.Now().Add(5 * time.Second)
	for len(f.ch) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	f.submit(context.Background(), block) // waits in the one slot
	var inline bool
	caller := make(chan struct{})
	go func() {
		// The queue is full: this one runs here, before submit returns.
		f.submit(context.Background(), func(context.Context) { inline = true; panic("boom") })
		close(caller)
	}()
	select {
	case <-caller:
	case <-time.After(5 * time.Second):
		t.Fatal("a full queue blocked the caller instead of running inline")
	}
	if !inline {
		t.Fatal("the third follow-up did not run in the caller")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := f.wait(ctx); err == nil {
		t.Fatal("wait returned while two follow-ups were still blocked")
	}
	cancel()
	close(release)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.wait(ctx); err != nil || ran.Load() != 2 {
		t.Fatalf("wait = %v, ran %d, want nil and 2", err, ran.Load())
	}
}
