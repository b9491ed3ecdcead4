package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Action kinds in a Report.
const (
	KindBucket = "bucket"
	KindQueue  = "queue"
	KindDLQ    = "dlq"
)

// Action is one resource Apply ensured.
type Action struct {
	// Kind is KindBucket, KindQueue or KindDLQ.
	Kind string
	// Name is the bucket or queue name.
	Name string
	// URL is the queue URL (queues only).
	URL string
	// Created is true when Apply created the resource, false when it existed
	// (its attributes were then brought in line with the definition).
	Created bool
}

// Report lists what Apply did, in order.
type Report struct {
	// Actions has one entry per bucket, dead-letter queue and queue.
	Actions []Action
}

// Apply creates every bucket, every queue and its dead-letter queue with
// its attributes (VisibilityTimeout, MessageRetentionPeriod, RedrivePolicy)
// as defined in res. It is idempotent: existing resources are kept and their
// queue attributes updated, so it is safe to run again and again.
func Apply(ctx context.Context, s3c *s3.Client, sqsc *sqs.Client, res Resources) error {
	_, err := ApplyWithReport(ctx, s3c, sqsc, res)
	return err
}

// ApplyWithReport is Apply, also reporting what was created or found.
func ApplyWithReport(ctx context.Context, s3c *s3.Client, sqsc *sqs.Client, res Resources) (Report, error) {
	var rep Report
	if err := res.Validate(); err != nil {
		return rep, fmt.Errorf("provision: invalid resources: %w", err)
	}
	for _, b := range res.Buckets {
		created, err := ensureBucket(ctx, s3c, b.Name)
		if err != nil {
			return rep, err
		}
		rep.Actions = append(rep.Actions, Action{Kind: KindBucket, Name: b.Name, Created: created})
	}
	for _, q := range res.Queues {
		dlqName := DLQName(q.Name)
		dlqURL, created, err := ensureQueue(ctx, sqsc, dlqName, map[string]string{
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(DLQRetentionSeconds),
			string(sqstypes.QueueAttributeNameVisibilityTimeout):      strconv.Itoa(q.VisibilityTimeout),
		})
		if err != nil {
			return rep, err
		}
		rep.Actions = append(rep.Actions, Action{Kind: KindDLQ, Name: dlqName, URL: dlqURL, Created: created})

		arn, err := queueARN(ctx, sqsc, dlqURL)
		if err != nil {
			return rep, err
		}
		redrive, err := json.Marshal(map[string]string{
			"deadLetterTargetArn": arn,
			"maxReceiveCount":     strconv.Itoa(q.MaxReceiveCount),
		})
		if err != nil {
			return rep, fmt.Errorf("provision: encode redrive policy of %s: %w", q.Name, err)
		}
		url, created, err := ensureQueue(ctx, sqsc, q.Name, map[string]string{
			string(sqstypes.QueueAttributeNameVisibilityTimeout):      strconv.Itoa(q.VisibilityTimeout),
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(q.MessageRetentionPeriod),
			string(sqstypes.QueueAttributeNameRedrivePolicy):          string(redrive),
		})
		if err != nil {
			return rep, err
		}
		rep.Actions = append(rep.Actions, Action{Kind: KindQueue, Name: q.Name, URL: url, Created: created})
	}
	return rep, nil
}

// ensureBucket creates bucket name unless this account already has it.
func ensureBucket(ctx context.Context, c *s3.Client, name string) (created bool, err error) {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region := c.Options().Region; region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(region),
		}
	}
	_, err = c.CreateBucket(ctx, in)
	if err == nil {
		return true, nil
	}
	var owned *s3types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) || apiCode(err) == "BucketAlreadyOwnedByYou" {
		return false, nil
	}
	var exists *s3types.BucketAlreadyExists
	if errors.As(err, &exists) || apiCode(err) == "BucketAlreadyExists" {
		// Some S3 implementations (gofakes3, older MinIO) say AlreadyExists
		// for our own bucket; on AWS it means another account owns the name.
		// HeadBucket tells them apart.
		if _, herr := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); herr == nil {
			return false, nil
		}
		return false, fmt.Errorf("provision: bucket %s is owned by someone else: %w", name, err)
	}
	return false, fmt.Errorf("provision: create bucket %s: %w", name, err)
}

// ensureQueue returns the URL of queue name, creating it with attrs, or
// setting attrs on it when it already exists.
func ensureQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url string, created bool, err error) {
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err == nil {
		url = aws.ToString(got.QueueUrl)
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
			return "", false, fmt.Errorf("provision: set attributes of queue %s: %w", name, err)
		}
		return url, false, nil
	}
	if !isNoSuchQueue(err) {
		return "", false, fmt.Errorf("provision: get url of queue %s: %w", name, err)
	}
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		// A concurrent provisioner may have created it with other
		// attributes in between: converge instead of failing.
		if apiCode(err) == "QueueAlreadyExists" || apiCode(err) == "QueueNameExists" {
			return ensureQueue(ctx, c, name, attrs)
		}
		return "", false, fmt.Errorf("provision: create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), true, nil
}

func queueARN(ctx context.Context, c *sqs.Client, url string) (string, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("provision: get arn of %s: %w", url, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("provision: queue %s has no QueueArn attribute", url)
	}
	return arn, nil
}

func isNoSuchQueue(err error) bool {
	var nq *sqstypes.QueueDoesNotExist
	if errors.As(err, &nq) {
		return true
	}
	switch apiCode(err) {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue":
		return true
	}
	return false
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
