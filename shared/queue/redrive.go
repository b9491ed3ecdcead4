package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Redrive task statuses, as SQS reports them.
const (
	RedriveRunning    = "RUNNING"
	RedriveCompleted  = "COMPLETED"
	RedriveCancelling = "CANCELLING"
	RedriveCancelled  = "CANCELLED"
	RedriveFailed     = "FAILED"
)

// MaxRedrivePerSecond is SQS's highest MaxNumberOfMessagesPerSecond.
const MaxRedrivePerSecond = 500

// Redrive errors.
var (
	// ErrNotDeadLetterQueue: the queue is no queue's dead-letter queue.
	ErrNotDeadLetterQueue = errors.New("queue: not a dead-letter queue")
	// ErrRedriveRunning: a redrive of this queue is already running.
	ErrRedriveRunning = errors.New("queue: a redrive of this queue is already running")
	// ErrNoSuchRedrive: the task handle names no task.
	ErrNoSuchRedrive = errors.New("queue: no such redrive task")
)

// RedriveOptions configures one redrive.
type RedriveOptions struct {
	// Destination is the queue to move messages to; "" sends each message
	// back to the queue it was dead-lettered from.
	Destination string
	// PerSecond caps the rate (1..MaxRedrivePerSecond); 0 lets SQS choose.
	PerSecond int
}

// RedriveTask is one redrive (an SQS message move task).
type RedriveTask struct {
	// Handle cancels the task; set only while it is RUNNING.
	Handle string
	// Status is one of the Redrive* statuses.
	Status string
	// SourceArn and DestinationArn are the queues' ARNs; DestinationArn is
	// "" for "back to each message's source queue".
	SourceArn, DestinationArn string
	// Moved and ToMove are SQS's approximate counts.
	Moved, ToMove int64
	// PerSecond is the rate asked for (0: chosen by SQS).
	PerSecond int
	// FailureReason says why a FAILED task failed.
	FailureReason string
	// Started is when the task started.
	Started time.Time
}

// Redriver moves messages out of dead-letter queues with SQS message move
// tasks (StartMessageMoveTask / ListMessageMoveTasks /
// CancelMessageMoveTask), so the same code works on the embedded stack,
// LocalStack and AWS. Tasks run inside SQS; these calls only start, watch
// and cancel them. Safe for concurrent use.
type Redriver interface {
	// StartRedrive starts moving the messages of the dead-letter queue dlq
	// and returns the task's handle. ErrNotDeadLetterQueue,
	// ErrRedriveRunning and ErrNoSuchQueue (dlq or the destination) are
	// the expected failures.
	StartRedrive(ctx context.Context, dlq string, opts RedriveOptions) (handle string, err error)
	// RedriveTasks lists dlq's most recent tasks (at most 10), newest first.
	RedriveTasks(ctx context.Context, dlq string) ([]RedriveTask, error)
	// CancelRedrive asks a running task to stop and returns the number of
	// messages moved so far; the task becomes CANCELLED shortly after.
	CancelRedrive(ctx context.Context, handle string) (moved int64, err error)
}

// SQSRedriver is the Redriver over an SQS client.
type SQSRedriver struct {
	client *sqs.Client
	urls   *queueURLs
	mu     sync.RWMutex
	arns   map[string]string
}

var _ Redriver = (*SQSRedriver)(nil)

// NewSQSRedriver returns a Redriver over client.
func NewSQSRedriver(client *sqs.Client) *SQSRedriver {
	return &SQSRedriver{client: client, urls: newQueueURLs(client), arns: map[string]string{}}
}

// arn resolves a queue name to its ARN (cached).
func (r *SQSRedriver) arn(ctx context.Context, name string) (string, error) {
	r.mu.RLock()
	a, ok := r.arns[name]
	r.mu.RUnlock()
	if ok {
		return a, nil
	}
	url, err := r.urls.get(ctx, name)
	if err != nil {
		return "", err
	}
	out, err := r.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", r.urls.fail(name, "get arn", err)
	}
	a = out.Attributes[string(types.QueueAttributeNameQueueArn)]
	r.mu.Lock()
	r.arns[name] = a
	r.mu.Unlock()
	return a, nil
}

// mapRedriveErr maps SQS's answers to the package's errors, keeping the
// SDK error in the chain.
func mapRedriveErr(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	msg := api.ErrorMessage()
	switch {
	case api.ErrorCode() == "ResourceNotFoundException" && strings.Contains(msg, "Task does not exist"):
		return fmt.Errorf("%w: %w", ErrNoSuchRedrive, err)
	case api.ErrorCode() == "ResourceNotFoundException":
		return fmt.Errorf("%w: %w", ErrNoSuchQueue, err)
	case api.ErrorCode() == "InvalidParameterValue" && strings.Contains(msg, "already a task running"):
		return fmt.Errorf("%w: %w", ErrRedriveRunning, err)
	case api.ErrorCode() == "InvalidParameterValue" && strings.Contains(msg, "Dead Letter Queue"):
		return fmt.Errorf("%w: %w", ErrNotDeadLetterQueue, err)
	}
	return mapErr(err)
}

// StartRedrive implements Redriver.
func (r *SQSRedriver) StartRedrive(ctx context.Context, dlq string, opts RedriveOptions) (string, error) {
	if opts.PerSecond < 0 || opts.PerSecond > MaxRedrivePerSecond {
		return "", fmt.Errorf("queue %s: redrive rate %d outside 1..%d", dlq, opts.PerSecond, MaxRedrivePerSecond)
	}
	src, err := r.arn(ctx, dlq)
	if err != nil {
		return "", err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src)}
	if opts.Destination != "" {
		dst, err := r.arn(ctx, opts.Destination)
		if err != nil {
			return "", err
		}
		in.DestinationArn = aws.String(dst)
	}
	if opts.PerSecond > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(opts.PerSecond))
	}
	out, err := r.client.StartMessageMoveTask(ctx, in)
	if err != nil {
		return "", fmt.Errorf("queue %s: start redrive: %w", dlq, mapRedriveErr(err))
	}
	return aws.ToString(out.TaskHandle), nil
}

// RedriveTasks implements Redriver.
func (r *SQSRedriver) RedriveTasks(ctx context.Context, dlq string) ([]RedriveTask, error) {
	src, err := r.arn(ctx, dlq)
	if err != nil {
		return nil, err
	}
	out, err := r.client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(10)})
	if err != nil {
		return nil, fmt.Errorf("queue %s: list redrives: %w", dlq, mapRedriveErr(err))
	}
	tasks := make([]RedriveTask, 0, len(out.Results))
	for _, e := range out.Results {
		t := RedriveTask{
			Handle: aws.ToString(e.TaskHandle), Status: aws.ToString(e.Status),
			SourceArn: aws.ToString(e.SourceArn), DestinationArn: aws.ToString(e.DestinationArn),
			Moved: e.ApproximateNumberOfMessagesMoved, ToMove: aws.ToInt64(e.ApproximateNumberOfMessagesToMove),
			FailureReason: aws.ToString(e.FailureReason), Started: time.UnixMilli(e.StartedTimestamp).UTC(),
		}
		if e.MaxNumberOfMessagesPerSecond != nil {
			t.PerSecond = int(*e.MaxNumberOfMessagesPerSecond)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// CancelRedrive implements Redriver.
func (r *SQSRedriver) CancelRedrive(ctx context.Context, handle string) (int64, error) {
	out, err := r.client.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if err != nil {
		return 0, fmt.Errorf("queue: cancel redrive: %w", mapRedriveErr(err))
	}
	return out.ApproximateNumberOfMessagesMoved, nil
}
