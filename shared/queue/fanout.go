package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Fanout is a Publisher that copies every envelope sent to a queue to the
// queues subscribing to it: the SNS-topic-to-SQS-queues pattern done by the
// publisher, so each consumer (receipts, indicators, notifications, the
// national-portal sync) reads its own queue and acknowledges on its own.
//
// Publish returns nil only when the envelope reached the named queue and
// every subscriber. On failure the caller retries the whole publish (the
// outbox does): queues that already got the envelope get it again, which is
// safe because consumers de-duplicate on Envelope.ID. Safe for concurrent
// use; routes must not be changed after NewFanout.
type Fanout struct {
	next   Publisher
	routes map[string][]string
}

var _ Publisher = (*Fanout)(nil)

// NewFanout wraps next with the routes (queue → subscriber queues), usually
// DefaultRoutes. A queue without routes is published to as by next alone.
func NewFanout(next Publisher, routes map[string][]string) *Fanout {
	r := make(map[string][]string, len(routes))
	for k, v := range routes {
		r[k] = slices.Clone(v)
	}
	return &Fanout{next: next, routes: r}
}

// Subscribers returns the queues that receive a copy of what is published
// to queueName.
func (f *Fanout) Subscribers(queueName string) []string {
	return slices.Clone(f.routes[queueName])
}

// Publish sends env to queueName and, concurrently, to its subscribers.
func (f *Fanout) Publish(ctx context.Context, queueName string, env Envelope) error {
	return f.each(queueName, func(q string) error { return f.next.Publish(ctx, q, env) })
}

// PublishBatch sends envs to queueName and to each subscriber.
func (f *Fanout) PublishBatch(ctx context.Context, queueName string, envs []Envelope) error {
	return f.each(queueName, func(q string) error { return f.next.PublishBatch(ctx, q, envs) })
}

// each runs send for queueName and its subscribers, concurrently, and joins
// the errors, each naming its queue.
func (f *Fanout) each(queueName string, send func(q string) error) error {
	subs := f.routes[queueName]
	if len(subs) == 0 {
		return send(queueName)
	}
	targets := append([]string{queueName}, subs...)
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, q := range targets[1:] {
		wg.Go(func() {
			if err := send(q); err != nil {
				errs[i+1] = fmt.Errorf("fan-out to %s: %w", q, err)
			}
		})
	}
	errs[0] = send(queueName)
	wg.Wait()
	return errors.Join(errs...)
}
