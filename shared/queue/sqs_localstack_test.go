//go:build localstack

package queue_test

import (
	"context"
	"os"
	"testing"

	"motcua/shared/awsx"
	"motcua/shared/queue"
	"motcua/shared/queue/queuetest"
)

// TestSQS_contract_localstack runs the contract suite against the SQS at
// AWS_ENDPOINT_URL (LocalStack on :4566, moto, ...); queues are created with
// random names and deleted afterwards:
//
//	AWS_ENDPOINT_URL=http://127.0.0.1:4566 go test -tags localstack ./shared/queue/
func TestSQS_contract_localstack(t *testing.T) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" && os.Getenv("AWS_ENDPOINT_URL_SQS") == "" {
		t.Fatal("the localstack tag needs AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566)")
	}
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
		if os.Getenv(k) == "" {
			t.Setenv(k, v)
		}
	}
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.SQS(cfg)
	queuetest.Run(t, func(t *testing.T) queuetest.Env { return queuetest.SQSEnv(t, client) })
	t.Run("batcher", func(t *testing.T) {
		queuetest.Run(t, func(t *testing.T) queuetest.Env {
			env := queuetest.SQSEnv(t, client)
			env.Publisher = queue.NewBatcher(queue.NewSQSPublisher(client), queue.BatcherOptions{})
			return env
		})
	})
	t.Run("redrive", func(t *testing.T) {
		queuetest.RunRedrive(t, func(t *testing.T) queuetest.Env { return queuetest.SQSEnv(t, client) })
	})
}
