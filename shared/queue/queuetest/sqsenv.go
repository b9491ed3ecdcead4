package queuetest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/shared/queue"
)

// SQSEnv returns an Env over an SQS-compatible server: SQSPublisher and
// Consumer on client, queues created with the SQS API (a DLQ and a redrive
// policy when MaxReceiveCount > 0) and deleted when the case ends.
func SQSEnv(t *testing.T, client *sqs.Client) Env {
	return Env{
		Publisher: queue.NewSQSPublisher(client),
		Receiver:  queue.NewConsumer(client),
		Redriver:  queue.NewSQSRedriver(client),
		CreateQueue: func(t *testing.T, name string, spec QueueSpec) {
			t.Helper()
			ctx := context.Background()
			attrs := map[string]string{
				string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(spec.VisibilityTimeout / time.Second)),
			}
			if spec.MaxReceiveCount > 0 {
				dlqURL := createQueue(t, client, name+"-dlq", nil)
				out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
					QueueUrl:       &dlqURL,
					AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
				})
				if err != nil {
					t.Fatalf("get DLQ arn: %v", err)
				}
				policy, err := json.Marshal(map[string]string{
					"deadLetterTargetArn": out.Attributes[string(types.QueueAttributeNameQueueArn)],
					"maxReceiveCount":     strconv.Itoa(spec.MaxReceiveCount),
				})
				if err != nil {
					t.Fatal(err)
				}
				attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(policy)
			}
			createQueue(t, client, name, attrs)
		},
	}
}

func createQueue(t *testing.T, client *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		if _, err := client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
			t.Logf("delete queue %s: %v", name, err)
		}
	})
	return url
}
