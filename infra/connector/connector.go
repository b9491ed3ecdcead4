// Package connector is motcua's queue connector: the long-running service
// that plays the role of OpenFaaS's queue connectors.
//
// It lists the functions deployed behind the gateway (GET /system/functions),
// reads the queue(s) each one consumes from its `topic` annotation, long-polls
// those SQS-compatible queues and invokes each function through the gateway
// (POST /function/NAME) once per message. A 2xx answer deletes the message;
// anything else leaves it on the queue so SQS redelivers it after the
// visibility timeout and dead-letters it after the queue's maxReceiveCount.
//
// It also executes asynchronous calls queued by the gateway's
// /async-function/NAME route (see package motcua/infra/asynccall) and posts
// their results to the caller's callback URL.
//
// Delivery is at least once: a message may reach a function more than once
// (after a crash, a timeout, or a shutdown that cut a call short), so
// functions must be idempotent on X-Message-Id or on their own natural keys.
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/infra/asynccall"
)

// Annotation names read from each function listed by the gateway.
const (
	// TopicAnnotation names the queue(s) a function consumes, comma separated.
	TopicAnnotation = "topic"
	// ConcurrencyAnnotation bounds the in-flight deliveries to one function.
	ConcurrencyAnnotation = "com.openfaas.queue.concurrency"
)

// Defaults applied by New to zero-valued Options fields.
const (
	DefaultConcurrency      = 4
	DefaultWaitTime         = 20 * time.Second
	DefaultRefreshInterval  = 30 * time.Second
	DefaultShutdownGrace    = 30 * time.Second
	DefaultRetryBaseDelay   = time.Second
	DefaultCallbackAttempts = 3
	// defaultCallTimeout is used when a queue's visibility timeout is unknown.
	defaultCallTimeout = 25 * time.Second
	// maxCallMargin is the most the per-call timeout stays below the
	// visibility timeout.
	maxCallMargin = 5 * time.Second
	// maxMessagesPerReceive is SQS's limit for one ReceiveMessage call.
	maxMessagesPerReceive = 10
	// ackTimeout bounds DeleteMessage / ChangeMessageVisibility calls.
	ackTimeout = 10 * time.Second
)

// ErrInvalidOptions is wrapped by New when Options are unusable.
var ErrInvalidOptions = errors.New("connector: invalid options")

// ErrGraceExceeded is wrapped by Run when in-flight deliveries were still
// running at the end of the shutdown grace period and had to be abandoned;
// their messages were not deleted and will be redelivered.
var ErrGraceExceeded = errors.New("connector: shutdown grace period exceeded")

// ErrAlreadyRun is returned by a second call to Run.
var ErrAlreadyRun = errors.New("connector: Run called twice")

// Options configures a Connector. GatewayURL and SQS are required; every
// other zero value selects a default.
type Options struct {
	// GatewayURL is the OpenFaaS gateway's base URL, e.g. http://gateway:8080.
	GatewayURL string
	// SQS is the client used for every queue operation.
	SQS *sqs.Client
	// HTTPClient calls the gateway and async callbacks; per-call deadlines
	// come from contexts, so it should have no overall Timeout. Default: a
	// new http.Client.
	HTTPClient *http.Client
	// DefaultConcurrency bounds in-flight deliveries per function when it has
	// no ConcurrencyAnnotation. Default 4.
	DefaultConcurrency int
	// WaitTime is the long-poll duration of each ReceiveMessage (whole
	// seconds, at most 20s). Default 20s.
	WaitTime time.Duration
	// RefreshInterval is how often the function list is re-read. Default 30s.
	RefreshInterval time.Duration
	// ShutdownGrace is how long Run lets in-flight deliveries finish after
	// its context is cancelled. Default 30s.
	ShutdownGrace time.Duration
	// Logger receives structured logs (never message bodies). Default: JSON
	// to stderr.
	Logger *slog.Logger

	// CallTimeout is the per-call timeout of a function invocation. Default:
	// the queue's visibility timeout minus a margin (min(5s, half of it)).
	CallTimeout time.Duration
	// AsyncConcurrency bounds in-flight asynchronous calls. Default:
	// DefaultConcurrency.
	AsyncConcurrency int
	// RetryBaseDelay is the first retry delay after a failed delivery: the
	// message's visibility is shortened to RetryBaseDelay*2^(receives-1),
	// capped at the queue's visibility timeout. Default 1s; negative
	// disables the backoff (the queue's visibility timeout applies).
	RetryBaseDelay time.Duration
	// CallbackAttempts is how many times an async callback is tried.
	// Default 3.
	CallbackAttempts int
	// GatewayUsername and GatewayPassword, when set, are sent as basic auth
	// to the gateway (OpenFaaS protects /system/functions).
	GatewayUsername string
	GatewayPassword string
	// DeliverySecrets, when set, returns the secrets (shared/delivery)
	// every function delivery is signed with, so functions that must only
	// be called by the connector (issue-receipt) can tell; read on each
	// delivery, so a rotated secret needs no restart.
	DeliverySecrets func() ([][]byte, error)
}

// Validate reports every problem with o, naming the bad field.
func (o Options) Validate() error {
	var errs []error
	if o.GatewayURL == "" {
		errs = append(errs, errors.New("GatewayURL: required"))
	} else if u, err := url.Parse(o.GatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("GatewayURL: %q is not an http(s) URL", o.GatewayURL))
	}
	if o.SQS == nil {
		errs = append(errs, errors.New("SQS: required"))
	}
	for name, v := range map[string]int{"DefaultConcurrency": o.DefaultConcurrency, "AsyncConcurrency": o.AsyncConcurrency, "CallbackAttempts": o.CallbackAttempts} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %d", name, v))
		}
	}
	for name, v := range map[string]time.Duration{"WaitTime": o.WaitTime, "RefreshInterval": o.RefreshInterval, "ShutdownGrace": o.ShutdownGrace, "CallTimeout": o.CallTimeout} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", name, v))
		}
	}
	if o.WaitTime > 20*time.Second {
		errs = append(errs, fmt.Errorf("WaitTime: at most 20s, got %s", o.WaitTime))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}

// Connector reads queues and invokes functions. Create it with New; a
// Connector runs once (one call to Run).
type Connector struct {
	opts    Options
	gateway string
	sqs     sqsAPI
	http    *http.Client
	log     *slog.Logger

	mu   sync.Mutex
	subs map[string]*subscription // by function name
	wg   sync.WaitGroup           // every consumer loop and delivery

	started atomic.Bool

	queueMu sync.Mutex
	queues  map[string]queueInfo // resolved queues by name

	cron *scheduler // scheduled (cron-function) invocations

	ackMu  sync.Mutex
	ackers map[string]*acker // batched deletes by queue URL
}

// New checks opts, fills in defaults and returns a Connector ready to Run.
func New(opts Options) (*Connector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.DefaultConcurrency == 0 {
		opts.DefaultConcurrency = DefaultConcurrency
	}
	if opts.AsyncConcurrency == 0 {
		opts.AsyncConcurrency = opts.DefaultConcurrency
	}
	if opts.WaitTime == 0 {
		opts.WaitTime = DefaultWaitTime
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.RetryBaseDelay == 0 {
		opts.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if opts.CallbackAttempts == 0 {
		opts.CallbackAttempts = DefaultCallbackAttempts
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	c := &Connector{
		opts:    opts,
		gateway: strings.TrimRight(opts.GatewayURL, "/"),
		sqs:     opts.SQS,
		http:    opts.HTTPClient,
		log:     opts.Logger.With("component", "queue-connector"),
		subs:    map[string]*subscription{},
		queues:  map[string]queueInfo{},
	}
	c.cron = newScheduler(c)
	return c, nil
}

// Run consumes queues until ctx is cancelled, then stops receiving and lets
// in-flight deliveries finish for up to ShutdownGrace. Deliveries still
// running after that are cancelled and their messages are not deleted (SQS
// redelivers them). Run returns nil after a clean drain, or an error
// wrapping ErrGraceExceeded.
func (c *Connector) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	// hard is the context of deliveries: it outlives ctx by the grace period.
	hard, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()

	c.log.Info("connector starting", "gateway", c.gateway, "refresh_interval", c.opts.RefreshInterval.String())
	c.startAsync(ctx, hard)
	c.cron.cron.Start()

	ticker := time.NewTicker(c.opts.RefreshInterval)
	defer ticker.Stop()
	for {
		c.refresh(ctx, hard)
		select {
		case <-ctx.Done():
			c.cron.stop(c.opts.ShutdownGrace)
			return c.drain(hardCancel)
		case <-ticker.C:
		}
	}
}

// drain waits for every consumer loop and delivery, for at most the grace
// period, then cancels the rest.
func (c *Connector) drain(hardCancel context.CancelFunc) error {
	c.log.Info("connector stopping: receiving stopped, draining in-flight deliveries", "grace", c.opts.ShutdownGrace.String())
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(c.opts.ShutdownGrace)
	defer timer.Stop()
	select {
	case <-done:
		c.log.Info("connector stopped cleanly")
		return nil
	case <-timer.C:
	}
	hardCancel()
	<-done
	c.log.Warn("connector stopped: grace period exceeded, unfinished deliveries left for redelivery")
	return fmt.Errorf("drain after %s: %w", c.opts.ShutdownGrace, ErrGraceExceeded)
}

// refresh re-reads the function list and starts, restarts or stops
// subscriptions so that they match it. On a gateway error the current
// subscriptions are kept.
func (c *Connector) refresh(ctx, hard context.Context) {
	fns, err := c.listFunctions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("list functions failed; keeping current subscriptions", "error", err)
		}
		return
	}
	c.cron.sync(hard, fns)
	want := map[string]subscriptionSpec{}
	for _, f := range fns {
		spec, ok := c.specFor(f)
		if ok {
			want[f.Name] = spec
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	for name, sub := range c.subs {
		if spec, ok := want[name]; !ok || !spec.equal(sub.spec) {
			c.log.Info("unsubscribing", "function", name, "queues", strings.Join(sub.spec.queues, ","))
			sub.stop()
			delete(c.subs, name)
			if ok {
				// Restart with the new spec once the old deliveries are
				// done, so the concurrency bound holds across the change.
				c.subs[name] = c.subscribe(ctx, hard, name, spec, sub.done)
			}
		}
	}
	for name, spec := range want {
		if _, ok := c.subs[name]; !ok {
			c.subs[name] = c.subscribe(ctx, hard, name, spec, nil)
		}
	}
}

// specFor reads a function's topic and concurrency annotations.
func (c *Connector) specFor(f functionStatus) (subscriptionSpec, bool) {
	topic, ok := f.Annotations[TopicAnnotation]
	if !ok {
		topic = f.Labels[TopicAnnotation]
	}
	var queues []string
	for q := range strings.SplitSeq(topic, ",") {
		q = strings.TrimSpace(q)
		if q == CronTopic {
			continue // a schedule, not a queue (see cron.go)
		}
		if q == asynccall.QueueName {
			c.log.Warn("topic ignored: the async-calls queue is consumed by the async worker", "function", f.Name, "queue", q)
			continue
		}
		if q != "" && !slices.Contains(queues, q) {
			queues = append(queues, q)
		}
	}
	if f.Name == "" || len(queues) == 0 {
		return subscriptionSpec{}, false
	}
	slices.Sort(queues)
	conc := c.opts.DefaultConcurrency
	if raw, ok := f.Annotations[ConcurrencyAnnotation]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < 1 {
			c.log.Warn("bad concurrency annotation; using default", "function", f.Name, "annotation", ConcurrencyAnnotation, "value", raw, "default", conc)
		} else {
			conc = n
		}
	}
	return subscriptionSpec{queues: queues, concurrency: conc}, true
}

// startAsync starts the consumer of the async-calls queue.
func (c *Connector) startAsync(ctx, hard context.Context) {
	spec := subscriptionSpec{queues: []string{asynccall.QueueName}, concurrency: c.opts.AsyncConcurrency}
	sub := newSubscription(ctx, "", spec)
	sub.handle = c.handleAsync
	c.startConsumers(hard, sub, nil)
}
