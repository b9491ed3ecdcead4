package payment

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// The follow-up of a confirmation — recording the payment on the
// application, publishing payment.confirmed and setting Applied — runs
// after the provider has been answered, in a small bounded pool of
// goroutines of the process. The payment document itself is the durable
// to-do: once it is paid with ConfirmEvent set and Applied false, any
// crash before the follow-up completes is finished by reconciliation
// (reconcile.Reconciler.CheckPayment, reconcile-payments mode
// "unfinished", scheduled every minute as reprocess-cron-followup) or by
// the next duplicate callback after finishGrace.

// Defaults of the follow-up pool.
const (
	// DefaultFollowUpWorkers is how many follow-ups run at once.
	DefaultFollowUpWorkers = 8
	// DefaultFollowUpQueue is how many follow-ups may wait; when it is
	// full the request runs its follow-up itself before answering
	// (back-pressure, never a dropped to-do).
	DefaultFollowUpQueue = 1024
	// followUpTimeout bounds one follow-up.
	followUpTimeout = 30 * time.Second
)

// followUp is one queued piece of work done after the answer.
type followUp struct {
	ctx context.Context
	fn  func(context.Context)
}

// followUps is the bounded background pool of a Service.
type followUps struct {
	start   sync.Once
	workers int
	ch      chan followUp

	mu   sync.Mutex
	n    int           // follow-ups submitted and not yet done
	idle chan struct{} // closed while n == 0
}

func newFollowUps(workers, queue int) *followUps {
	if workers <= 0 {
		workers = DefaultFollowUpWorkers
	}
	if queue <= 0 {
		queue = DefaultFollowUpQueue
	}
	idle := make(chan struct{})
	close(idle)
	return &followUps{workers: workers, ch: make(chan followUp, queue), idle: idle}
}

// submit queues fn, or runs it in the caller when the queue is full.
// ctx's values (call id for logs) are kept; its cancellation is not, since
// the provider has been answered.
func (f *followUps) submit(ctx context.Context, fn func(context.Context)) {
	f.start.Do(func() {
		for range f.workers {
			go f.loop()
		}
	})
	ctx = context.WithoutCancel(ctx)
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
	select {
	case f.ch <- followUp{ctx: ctx, fn: fn}:
	default:
		f.do(followUp{ctx: ctx, fn: fn})
	}
}

func (f *followUps) loop() {
	for fu := range f.ch {
		f.do(fu)
	}
}

// do runs one follow-up; a panic is logged, not fatal (it would kill the
// process and every request in flight), and the to-do stays for
// reconciliation.
func (f *followUps) do(fu followUp) {
	defer func() {
		if r := recover(); r != nil {
			slog.Default().ErrorContext(fu.ctx, "payment follow-up panicked: left for reconciliation", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
		f.mu.Lock()
		if f.n--; f.n == 0 {
			close(f.idle)
		}
		f.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(fu.ctx, followUpTimeout)
	defer cancel()
	fu.fn(ctx)
}

// wait blocks until every follow-up submitted so far is done or ctx ends.
func (f *followUps) wait(ctx context.Context) error {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitFollowUps blocks until the follow-ups of every confirmation answered
// so far (application update, payment.confirmed, Applied) have run, or ctx
// ends (tests use it; a process shutdown hook could). A follow-up that
// failed is left to reconciliation (the payment stays paid with Applied
// false).
func (s *Service) WaitFollowUps(ctx context.Context) error { return s.follow.wait(ctx) }

// later queues the follow-up of the paid payment p (with its ETag, or
// ""): finishFrom, a failure logged and left to reconciliation (the
// payment remains a durable to-do).
func (s *Service) later(ctx context.Context, p Payment, etag string) {
	s.follow.submit(ctx, func(ctx context.Context) {
		if _, err := s.finishFrom(ctx, p, etag); err != nil {
			s.log.WarnContext(ctx, "payment follow-up failed: left for reconciliation", "ref", p.Ref, "application", p.ApplicationCode, "error", err.Error())
		}
	})
}
