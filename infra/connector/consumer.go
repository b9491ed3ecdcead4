package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsAPI is the part of the SQS client the connector uses.
type sqsAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ sqsAPI = (*sqs.Client)(nil)

// outcome is what a handler decided about one received message.
type outcome int

const (
	// outcomeDelete: the delivery finished; delete the message.
	outcomeDelete outcome = iota
	// outcomeRetry: the delivery failed; leave the message (with backoff).
	outcomeRetry
	// outcomeAbandon: the delivery was cut short by shutdown; leave the
	// message untouched.
	outcomeAbandon
)

// queueInfo is a resolved queue.
type queueInfo struct {
	name        string
	url         string
	visibility  time.Duration // 0 when unknown
	callTimeout time.Duration
}

// subscriptionSpec is what a function's annotations ask for.
type subscriptionSpec struct {
	queues      []string // sorted
	concurrency int
}

func (s subscriptionSpec) equal(o subscriptionSpec) bool {
	return s.concurrency == o.concurrency && slices.Equal(s.queues, o.queues)
}

// subscription is one function's consumers: one receive loop per queue,
// sharing one semaphore so that the function's in-flight deliveries never
// exceed spec.concurrency.
type subscription struct {
	function string // "" for the async worker
	spec     subscriptionSpec
	ctx      context.Context // receiving stops when it is done
	stop     context.CancelFunc
	sem      chan struct{}
	wg       sync.WaitGroup // receive loops and deliveries of this subscription
	done     chan struct{}  // closed when wg is done
	handle   func(ctx context.Context, q queueInfo, m types.Message, log *slog.Logger) outcome
}

func newSubscription(parent context.Context, function string, spec subscriptionSpec) *subscription {
	ctx, cancel := context.WithCancel(parent)
	return &subscription{
		function: function,
		spec:     spec,
		ctx:      ctx,
		stop:     cancel,
		sem:      make(chan struct{}, spec.concurrency),
		done:     make(chan struct{}),
	}
}

// subscribe starts consumers for a function. If after is non-nil they start
// receiving only once it is closed.
func (c *Connector) subscribe(ctx, hard context.Context, function string, spec subscriptionSpec, after <-chan struct{}) *subscription {
	c.log.Info("subscribing", "function", function, "queues", spec.queues, "concurrency", spec.concurrency)
	sub := newSubscription(ctx, function, spec)
	sub.handle = func(ctx context.Context, q queueInfo, m types.Message, log *slog.Logger) outcome {
		return c.handleFunction(ctx, function, q, m, log)
	}
	c.startConsumers(hard, sub, after)
	return sub
}

// goTracked runs f in a goroutine counted by both the subscription and the
// connector.
func (c *Connector) goTracked(sub *subscription, f func()) {
	c.wg.Add(1)
	sub.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer sub.wg.Done()
		f()
	}()
}

// startConsumers starts one receive loop per queue of sub.
func (c *Connector) startConsumers(hard context.Context, sub *subscription, after <-chan struct{}) {
	for _, q := range sub.spec.queues {
		c.goTracked(sub, func() {
			if after != nil {
				select {
				case <-after:
				case <-sub.ctx.Done():
					return
				}
			}
			c.consume(hard, sub, q)
		})
	}
	go func() {
		// All receive loops are registered above, so Wait cannot return early.
		sub.wg.Wait()
		close(sub.done)
	}()
}

// consume is the receive loop of one queue of one subscription.
func (c *Connector) consume(hard context.Context, sub *subscription, queueName string) {
	log := c.log.With("queue", queueName)
	if sub.function != "" {
		log = log.With("function", sub.function)
	}
	q, ok := c.resolveLoop(sub.ctx, queueName, log)
	if !ok {
		return
	}
	errDelay := time.Second
	for {
		n := acquire(sub.ctx, sub.sem, maxMessagesPerReceive)
		if n == 0 {
			return
		}
		out, err := c.sqs.ReceiveMessage(sub.ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.url),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             int32(c.opts.WaitTime / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			release(sub.sem, n)
			if sub.ctx.Err() != nil {
				return
			}
			log.Error("receive failed", "error", err, "retry_in", errDelay.String())
			if !sleep(sub.ctx, errDelay) {
				return
			}
			errDelay = min(errDelay*2, 30*time.Second)
			continue
		}
		errDelay = time.Second
		msgs := out.Messages
		if len(msgs) > n { // a misbehaving server; never exceed the bound
			log.Warn("server returned more messages than asked", "asked", n, "got", len(msgs))
			msgs = msgs[:n]
		}
		release(sub.sem, n-len(msgs))
		for _, m := range msgs {
			c.goTracked(sub, func() {
				defer release(sub.sem, 1)
				c.deliver(hard, sub, q, m, log)
			})
		}
	}
}

// deliver runs the handler for one message, then deletes the message or
// backs off its visibility.
func (c *Connector) deliver(hard context.Context, sub *subscription, q queueInfo, m types.Message, log *slog.Logger) {
	log = log.With("message_id", aws.ToString(m.MessageId), "receive_count", receiveCount(m))
	switch sub.handle(hard, q, m, log) {
	case outcomeDelete:
		// The delivery finished: acknowledge it even if shutdown began
		// meanwhile, within a bounded time. Deliveries of the queue that
		// finish together share one DeleteMessageBatch (acker).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(hard), ackTimeout)
		defer cancel()
		if err := c.ackerFor(q.url).delete(ctx, m.ReceiptHandle); err != nil {
			log.Error("delete failed; the message will be redelivered", "error", err)
		}
	case outcomeRetry:
		c.backoff(hard, q, m, log)
	case outcomeAbandon:
	}
}

// backoff shortens a failed message's visibility to an exponential delay
// based on its receive count, capped at the queue's visibility timeout.
func (c *Connector) backoff(hard context.Context, q queueInfo, m types.Message, log *slog.Logger) {
	if c.opts.RetryBaseDelay < 0 || hard.Err() != nil {
		return
	}
	delay := retryDelay(c.opts.RetryBaseDelay, receiveCount(m), q.visibility)
	ctx, cancel := context.WithTimeout(hard, ackTimeout)
	defer cancel()
	secs := int32((delay + time.Second - 1) / time.Second)
	if _, err := c.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: secs,
	}); err != nil {
		log.Warn("backoff: change visibility failed; queue visibility timeout applies", "error", err)
		return
	}
	log.Info("delivery will be retried", "retry_in_s", secs)
}

// retryDelay is base*2^(receives-1), capped at limit (when known) and at 12h.
func retryDelay(base time.Duration, receives int, limit time.Duration) time.Duration {
	const maxVisibility = 12 * time.Hour
	if limit <= 0 || limit > maxVisibility {
		limit = maxVisibility
	}
	d := base
	for i := 1; i < receives && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// resolveLoop resolves a queue, retrying until it exists or ctx is done.
func (c *Connector) resolveLoop(ctx context.Context, name string, log *slog.Logger) (queueInfo, bool) {
	delay := time.Second
	for {
		q, err := c.resolve(ctx, name)
		if err == nil {
			return q, true
		}
		if ctx.Err() != nil {
			return queueInfo{}, false
		}
		log.Error("resolve queue failed", "error", err, "retry_in", delay.String())
		if !sleep(ctx, delay) {
			return queueInfo{}, false
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// resolve finds a queue's URL and visibility timeout (cached).
func (c *Connector) resolve(ctx context.Context, name string) (queueInfo, error) {
	c.queueMu.Lock()
	q, ok := c.queues[name]
	c.queueMu.Unlock()
	if ok {
		return q, nil
	}
	u, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return queueInfo{}, fmt.Errorf("get url of queue %s: %w", name, err)
	}
	q = queueInfo{name: name, url: aws.ToString(u.QueueUrl)}
	attrs, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       u.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return queueInfo{}, fmt.Errorf("get attributes of queue %s: %w", name, err)
	}
	if s, err := strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameVisibilityTimeout)]); err == nil && s > 0 {
		q.visibility = time.Duration(s) * time.Second
	}
	q.callTimeout = c.callTimeout(q.visibility)
	c.queueMu.Lock()
	c.queues[name] = q
	c.queueMu.Unlock()
	return q, nil
}

// callTimeout is Options.CallTimeout, or the visibility timeout minus
// min(5s, half of it), so that a call gives up before its message reappears.
func (c *Connector) callTimeout(visibility time.Duration) time.Duration {
	if c.opts.CallTimeout > 0 {
		return c.opts.CallTimeout
	}
	if visibility <= 0 {
		return defaultCallTimeout
	}
	return visibility - min(maxCallMargin, visibility/2)
}

// receiveCount is the message's ApproximateReceiveCount (0 if absent).
func receiveCount(m types.Message) int {
	n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	return n
}

// acquire blocks for one slot of sem, then takes up to max-1 more without
// blocking. It returns how many it took (0 if ctx is done).
func acquire(ctx context.Context, sem chan struct{}, max int) int {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < max {
		select {
		case sem <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

// release gives back n slots of sem.
func release(sem chan struct{}, n int) {
	for range n {
		<-sem
	}
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isCancelled reports whether err comes from ctx being cancelled (shutdown)
// rather than from a timeout or the network.
func isCancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}
