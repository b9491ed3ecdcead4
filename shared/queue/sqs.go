package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// maxBatch is SQS's largest SendMessageBatch / ReceiveMessage count.
const maxBatch = 10

// maxWait is SQS's longest ReceiveMessage long poll.
const maxWait = 20 * time.Second

// queueURLs resolves queue names to URLs with GetQueueUrl, caching the
// answers (a queue's URL never changes while it exists).
type queueURLs struct {
	client *sqs.Client
	mu     sync.RWMutex
	urls   map[string]string
}

func newQueueURLs(client *sqs.Client) *queueURLs {
	return &queueURLs{client: client, urls: map[string]string{}}
}

func (q *queueURLs) get(ctx context.Context, name string) (string, error) {
	q.mu.RLock()
	u, ok := q.urls[name]
	q.mu.RUnlock()
	if ok {
		return u, nil
	}
	out, err := q.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("queue %s: resolve url: %w", name, mapErr(err))
	}
	u = aws.ToString(out.QueueUrl)
	q.mu.Lock()
	q.urls[name] = u
	q.mu.Unlock()
	return u, nil
}

// forget drops a cached URL after the queue was found missing.
func (q *queueURLs) forget(name string) {
	q.mu.Lock()
	delete(q.urls, name)
	q.mu.Unlock()
}

// fail maps err and forgets name's URL when the queue is gone.
func (q *queueURLs) fail(name, op string, err error) error {
	err = mapErr(err)
	if errors.Is(err, ErrNoSuchQueue) {
		q.forget(name)
	}
	return fmt.Errorf("queue %s: %s: %w", name, op, err)
}

// mapErr turns a missing-queue error into ErrNoSuchQueue, keeping the SDK
// error in the chain.
func mapErr(err error) error {
	var dne *types.QueueDoesNotExist
	if errors.As(err, &dne) {
		return fmt.Errorf("%w: %w", ErrNoSuchQueue, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
			return fmt.Errorf("%w: %w", ErrNoSuchQueue, err)
		}
	}
	return err
}

// SQSPublisher is the Publisher adapter for SQS-compatible queues. Each
// message carries the envelope as its JSON body and the event_type,
// event_id and correlation_id message attributes. Safe for concurrent use.
type SQSPublisher struct {
	client *sqs.Client
	urls   *queueURLs
}

var _ Publisher = (*SQSPublisher)(nil)

// NewSQSPublisher returns a Publisher over client.
func NewSQSPublisher(client *sqs.Client) *SQSPublisher {
	return &SQSPublisher{client: client, urls: newQueueURLs(client)}
}

func messageAttributes(e Envelope) map[string]types.MessageAttributeValue {
	attrs := map[string]types.MessageAttributeValue{}
	for k, v := range e.attributes() {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return attrs
}

// Publish sends one envelope to queueName; ErrNoSuchQueue when the queue
// does not exist.
func (p *SQSPublisher) Publish(ctx context.Context, queueName string, env Envelope) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("queue %s: publish: %w", queueName, err)
	}
	body, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("queue %s: publish %s: encode: %w", queueName, env.ID, err)
	}
	url, err := p.urls.get(ctx, queueName)
	if err != nil {
		return err
	}
	_, err = p.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          &url,
		MessageBody:       aws.String(string(body)),
		MessageAttributes: messageAttributes(env),
	})
	if err != nil {
		return p.urls.fail(queueName, "publish "+env.ID, err)
	}
	return nil
}

// PublishBatch sends envs in batches of 10. Entries the queue rejects are
// retried once; the error then names every envelope ID not acknowledged
// (the caller may resend them all: consumers de-duplicate).
func (p *SQSPublisher) PublishBatch(ctx context.Context, queueName string, envs []Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	bodies := make([]string, len(envs))
	for i, e := range envs {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("queue %s: publish batch entry %d: %w", queueName, i, err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("queue %s: publish batch %s: encode: %w", queueName, e.ID, err)
		}
		bodies[i] = string(b)
	}
	url, err := p.urls.get(ctx, queueName)
	if err != nil {
		return err
	}
	var failedIDs []string
	var firstErr error
	for start := 0; start < len(envs); start += maxBatch {
		idx := make([]int, 0, maxBatch)
		for i := start; i < min(start+maxBatch, len(envs)); i++ {
			idx = append(idx, i)
		}
		for attempt := 0; attempt < 2 && len(idx) > 0; attempt++ {
			var err error
			idx, err = p.sendBatch(ctx, url, envs, bodies, idx)
			if err != nil {
				err = p.urls.fail(queueName, "publish batch", err)
				if errors.Is(err, ErrNoSuchQueue) || ctx.Err() != nil {
					return err
				}
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		for _, i := range idx {
			failedIDs = append(failedIDs, envs[i].ID)
		}
	}
	if len(failedIDs) > 0 {
		cause := firstErr
		if cause == nil {
			cause = errors.New("entries rejected")
		}
		return fmt.Errorf("queue %s: publish batch: %d of %d not sent (ids %s): %w",
			queueName, len(failedIDs), len(envs), strings.Join(failedIDs, ","), cause)
	}
	return nil
}

// sendBatch sends envs[idx...] in one call and returns the indexes that
// failed (all of them when the call itself failed).
func (p *SQSPublisher) sendBatch(ctx context.Context, url string, envs []Envelope, bodies []string, idx []int) ([]int, error) {
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(idx))
	for _, i := range idx {
		entries = append(entries, types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(bodies[i]),
			MessageAttributes: messageAttributes(envs[i]),
		})
	}
	out, err := p.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
	if err != nil {
		return idx, err
	}
	var failed []int
	for _, f := range out.Failed {
		i, convErr := strconv.Atoi(aws.ToString(f.Id))
		if convErr != nil {
			continue
		}
		failed = append(failed, i)
	}
	// An entry neither acknowledged nor reported failed counts as failed.
	ok := map[string]bool{}
	for _, s := range out.Successful {
		ok[aws.ToString(s.Id)] = true
	}
	for _, i := range idx {
		if !ok[strconv.Itoa(i)] && !containsInt(failed, i) {
			failed = append(failed, i)
		}
	}
	return failed, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Consumer is the Receiver adapter for SQS-compatible queues, used by the
// queue connector and by functions that poll. Safe for concurrent use.
type Consumer struct {
	client *sqs.Client
	urls   *queueURLs
}

var _ Receiver = (*Consumer)(nil)

// NewConsumer returns a Consumer over client.
func NewConsumer(client *sqs.Client) *Consumer {
	return &Consumer{client: client, urls: newQueueURLs(client)}
}

// QueueURL resolves a queue name to its URL (cached).
func (c *Consumer) QueueURL(ctx context.Context, queueName string) (string, error) {
	return c.urls.get(ctx, queueName)
}

// Receive long-polls queueName for up to maxMessages messages (clamped to 1..10)
// for up to wait (clamped to 0..20 s, whole seconds).
func (c *Consumer) Receive(ctx context.Context, queueName string, maxMessages int, wait time.Duration) ([]Message, error) {
	url, err := c.urls.get(ctx, queueName)
	if err != nil {
		return nil, err
	}
	n := min(maxBatch, max(maxMessages, 1))
	wait = min(max(wait, 0), maxWait)
	out, err := c.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &url,
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, c.urls.fail(queueName, "receive", err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg := Message{
			ID:            aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Attributes:    map[string]string{},
		}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				msg.Attributes[k] = *v.StringValue
			}
		}
		if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
			msg.ReceiveCount = n
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// Delete acknowledges a message.
func (c *Consumer) Delete(ctx context.Context, queueName, receipt string) error {
	url, err := c.urls.get(ctx, queueName)
	if err != nil {
		return err
	}
	if _, err := c.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &receipt}); err != nil {
		return c.urls.fail(queueName, "delete", err)
	}
	return nil
}

// ChangeVisibility hides a received message for timeout (whole seconds, at
// most 12 h) from now; 0 makes it visible at once.
func (c *Consumer) ChangeVisibility(ctx context.Context, queueName, receipt string, timeout time.Duration) error {
	url, err := c.urls.get(ctx, queueName)
	if err != nil {
		return err
	}
	secs := int32(min(max(timeout, 0), 12*time.Hour) / time.Second)
	if _, err := c.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &url, ReceiptHandle: &receipt, VisibilityTimeout: secs,
	}); err != nil {
		return c.urls.fail(queueName, "change visibility", err)
	}
	return nil
}
