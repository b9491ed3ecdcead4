package kinds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/shared/jobs"
)

// DLQSuffix names a queue's dead-letter queue: <name>-dlq.
const DLQSuffix = "-dlq"

// SQSAPI is the part of the SQS API redrive-dlq uses; *sqs.Client fits, so
// the same kind works on the embedded stack, LocalStack and AWS.
type SQSAPI interface {
	ListQueues(ctx context.Context, in *sqs.ListQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(ctx context.Context, in *sqs.CancelMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Message-move task statuses (SQS).
const (
	moveRunning    = "RUNNING"
	moveCompleted  = "COMPLETED"
	moveCancelling = "CANCELLING"
	moveCancelled  = "CANCELLED"
	moveFailed     = "FAILED"
)

// RedriveDLQ is the "redrive-dlq" kind: messages of a dead-letter queue go
// back to their source queue through an SQS message-move task
// (StartMessageMoveTask), at the job's rate (MaxNumberOfMessagesPerSecond,
// ≤ 500) and, with scope.limit, only about that many (the task is
// cancelled once it has moved them: SQS has no "move N" of its own).
//
// Scope: queue (a source queue or its -dlq; empty = every -dlq holding
// messages), limit. One item per dead-letter queue. Apply finds a running
// task of that queue first (one left by a crashed worker), so a resumed job
// never starts a second one. It waits for the task up to Wait; a task
// still running then is left to SQS (it is durable there) and reported.
type RedriveDLQ struct {
	SQS SQSAPI
	// Wait bounds how long Apply watches a task (default 45 s: below the
	// worker's exec timeout).
	Wait time.Duration
	// Poll is the interval between task checks (default 250 ms).
	Poll time.Duration
	// rate is set per call from the job; see Apply.
}

var (
	_                 jobs.Kind      = (*RedriveDLQ)(nil)
	_                 jobs.SelfPaced = (*RedriveDLQ)(nil)
	errStillMoving                   = errors.New("message-move task still running")
	defaultRedriveMax                = int32(jobs.MaxRate)
)

// Name returns "redrive-dlq".
func (k *RedriveDLQ) Name() string { return "redrive-dlq" }

// SelfPaced: the rate goes to SQS.
func (k *RedriveDLQ) SelfPaced() bool { return true }

// Check accepts queue and limit.
func (k *RedriveDLQ) Check(s jobs.Scope) error {
	if s.Queue != "" && !validQueueName(s.Queue) {
		return jobs.ScopeError("scope.queue", "Tên hàng đợi chỉ gồm A-Z a-z 0-9 - _ (tối đa 80 ký tự).",
			"queue must be 1-80 of A-Z a-z 0-9 - _.")
	}
	return only(s, "queue", "limit", "mode")
}

func validQueueName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DLQ describes one dead-letter queue.
type DLQ struct {
	// Name, URL and ARN of the dead-letter queue.
	Name, URL, ARN string
	// Source is the queue it belongs to (name without -dlq).
	Source string
	// Depth is ApproximateNumberOfMessages; InFlight is ...NotVisible.
	Depth, InFlight int64
}

// DeadLetterQueues lists the -dlq queues (only the one of queue when set)
// with their depth.
func DeadLetterQueues(ctx context.Context, c SQSAPI, queue string) ([]DLQ, error) {
	var names []string
	if queue != "" {
		names = []string{strings.TrimSuffix(queue, DLQSuffix) + DLQSuffix}
	} else {
		in := &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)}
		for {
			out, err := c.ListQueues(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("list queues: %w", err)
			}
			for _, u := range out.QueueUrls {
				if n := u[strings.LastIndex(u, "/")+1:]; strings.HasSuffix(n, DLQSuffix) {
					names = append(names, n)
				}
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	sort.Strings(names)
	var dlqs []DLQ
	for _, n := range names {
		d, err := describeDLQ(ctx, c, n)
		if err != nil {
			return nil, err
		}
		dlqs = append(dlqs, d)
	}
	return dlqs, nil
}

func describeDLQ(ctx context.Context, c SQSAPI, name string) (DLQ, error) {
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		var nq *types.QueueDoesNotExist
		if errors.As(err, &nq) {
			return DLQ{}, jobs.ScopeError("scope.queue", "Không có hàng đợi "+name+".", "There is no queue "+name+".")
		}
		return DLQ{}, fmt.Errorf("queue url %s: %w", name, err)
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameQueueArn, types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return DLQ{}, fmt.Errorf("attributes of %s: %w", name, err)
	}
	d := DLQ{Name: name, URL: aws.ToString(u.QueueUrl), ARN: a.Attributes[string(types.QueueAttributeNameQueueArn)],
		Source: strings.TrimSuffix(name, DLQSuffix)}
	d.Depth, _ = strconv.ParseInt(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
	d.InFlight, _ = strconv.ParseInt(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], 10, 64)
	return d, nil
}

// Plan lists the dead-letter queues holding messages.
func (k *RedriveDLQ) Plan(ctx context.Context, s jobs.Scope, emit func(jobs.Item) error) error {
	dlqs, err := DeadLetterQueues(ctx, k.SQS, s.Queue)
	if err != nil {
		return err
	}
	for _, d := range dlqs {
		if d.Depth == 0 {
			continue
		}
		n := d.Depth
		if s.Limit > 0 {
			n = min(n, int64(s.Limit))
		}
		if err := emit(jobs.Item{Key: d.Name, Action: "move",
			Note: fmt.Sprintf("move %d of %d message(s) from %s back to %s", n, d.Depth, d.Name, d.Source)}); err != nil {
			return err
		}
	}
	return nil
}

// Apply moves one dead-letter queue's messages back. The job's rate is
// not in the scope: RateFromJob reads it through the context.
func (k *RedriveDLQ) Apply(ctx context.Context, s jobs.Scope, it jobs.Item) (jobs.Result, error) {
	d, err := describeDLQ(ctx, k.SQS, it.Key)
	if err != nil {
		return jobs.Result{}, err
	}
	task, err := k.latestTask(ctx, d.ARN)
	if err != nil {
		return jobs.Result{}, err
	}
	resumed := task != nil && aws.ToString(task.Status) == moveRunning
	if !resumed {
		if d.Depth == 0 {
			return jobs.Result{Outcome: jobs.OutcomeSkipped, Detail: d.Name + " is empty: nothing to move"}, nil
		}
		in := &sqs.StartMessageMoveTaskInput{SourceArn: &d.ARN}
		// Name the source queue explicitly (our DLQs serve one queue each):
		// messages that reached the DLQ without SQS recording their origin
		// go back too, on every backend alike.
		if src, err := describeDLQ(ctx, k.SQS, d.Source); err == nil && src.ARN != "" {
			in.DestinationArn = &src.ARN
		}
		rate := int32(jobs.RateFrom(ctx))
		if s.Limit > 0 && (rate == 0 || rate > int32(s.Limit)) {
			// Slow enough to stop near the limit.
			rate = max(1, min(int32(s.Limit), defaultRedriveMax))
		}
		if rate > 0 {
			in.MaxNumberOfMessagesPerSecond = aws.Int32(min(rate, defaultRedriveMax))
		}
		out, err := k.SQS.StartMessageMoveTask(ctx, in)
		if err != nil {
			return jobs.Result{}, fmt.Errorf("start message-move task on %s: %w", d.Name, err)
		}
		task = &types.ListMessageMoveTasksResultEntry{TaskHandle: out.TaskHandle, Status: aws.String(moveRunning)}
	}
	wait, poll := k.Wait, k.Poll
	if wait <= 0 {
		wait = 45 * time.Second
	}
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for {
		cur, err := k.latestTask(ctx, d.ARN)
		if err != nil {
			return jobs.Result{}, err
		}
		if cur != nil {
			task = cur
		}
		moved := task.ApproximateNumberOfMessagesMoved
		status := aws.ToString(task.Status)
		if s.Limit > 0 && moved >= int64(s.Limit) && status == moveRunning {
			if _, err := k.SQS.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle}); err != nil {
				return jobs.Result{}, fmt.Errorf("cancel message-move task on %s at the limit: %w", d.Name, err)
			}
			return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("moved %d message(s) from %s to %s (limit %d reached; task cancelled)",
				moved, d.Name, d.Source, s.Limit)}, nil
		}
		switch status {
		case moveCompleted, moveCancelled:
			return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("moved %d message(s) from %s to %s (task %s)",
				moved, d.Name, d.Source, strings.ToLower(status))}, nil
		case moveFailed:
			return jobs.Result{Outcome: jobs.OutcomeFailed, Detail: fmt.Sprintf("message-move task failed after %d message(s): %s",
				moved, aws.ToString(task.FailureReason))}, nil
		}
		if time.Now().After(deadline) {
			return jobs.Result{Outcome: jobs.OutcomeChanged, Detail: fmt.Sprintf("message-move task still %s after %s: %d of ~%d moved; SQS finishes it (watch with motcua dlq list)",
				strings.ToLower(status), wait, moved, aws.ToInt64(task.ApproximateNumberOfMessagesToMove))}, nil
		}
		select {
		case <-ctx.Done():
			return jobs.Result{}, fmt.Errorf("%w: %w", errStillMoving, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// latestTask returns the most recent move task of source (nil if none).
func (k *RedriveDLQ) latestTask(ctx context.Context, arn string) (*types.ListMessageMoveTasksResultEntry, error) {
	out, err := k.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: &arn, MaxResults: aws.Int32(1)})
	if err != nil {
		return nil, fmt.Errorf("list message-move tasks: %w", err)
	}
	if len(out.Results) == 0 {
		return nil, nil
	}
	return &out.Results[0], nil
}
