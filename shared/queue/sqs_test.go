package queue_test

import (
	"context"
	"testing"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/queue/queuetest"
)

// TestSQS_contract_embedded runs the contract suite through the real AWS SDK
// against the embedded stack's SQS server.
func TestSQS_contract_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.SQS(cfg)
	queuetest.Run(t, func(t *testing.T) queuetest.Env { return queuetest.SQSEnv(t, client) })
}

// TestSQS_redrive_contract_embedded runs the Redriver contract (SQS message
// move tasks) against the embedded stack's SQS server.
func TestSQS_redrive_contract_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.SQS(cfg)
	queuetest.RunRedrive(t, func(t *testing.T) queuetest.Env { return queuetest.SQSEnv(t, client) })
}
