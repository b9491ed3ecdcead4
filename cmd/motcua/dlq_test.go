package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/infra/embedded"
)

func TestDLQ_list_and_peek_redacted(t *testing.T) {
	stack := embedded.StartForTest(t) // queues of resources.json, each with its -dlq
	_, client, err := stack.Clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old := openSQS
	openSQS = func(context.Context) (*sqs.Client, error) { return client, nil }
	t.Cleanup(func() { openSQS = old })

	ctx := context.Background()
	u, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("payment-events-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id":"e1","type":"payment.confirmed","payload":{"idNumber":"001099012345","phone":"0912345678","pin":"12345678"}}`
	for range 2 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: &body,
			MessageAttributes: map[string]types.MessageAttributeValue{"failure_reason": {DataType: aws.String("String"), StringValue: aws.String("receipt template missing")}}}); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := cli(t, "dlq", "list", "--json")
	var rows []queueDepth
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("list: %d %v %s %s", code, err, out, errOut)
	}
	found := false
	for _, r := range rows {
		if r.Queue == "payment-events" {
			found = r.DLQ == "payment-events-dlq" && r.DLQDepth == 2
		}
		if strings.HasSuffix(r.Queue, "-dlq") {
			t.Fatalf("a DLQ listed as a queue: %+v", r)
		}
	}
	if !found {
		t.Fatalf("payment-events with 2 dead letters not listed: %s", out)
	}
	code, out, _ = cli(t, "dlq", "list")
	if code != 0 || !strings.Contains(out, "redrive-dlq --queue payment-events") {
		t.Fatalf("table: %d\n%s", code, out)
	}

	code, out, errOut = cli(t, "dlq", "peek", "payment-events", "--json")
	var ps []peeked
	if err := json.Unmarshal([]byte(out), &ps); code != 0 || err != nil || len(ps) == 0 {
		t.Fatalf("peek: %d %v %s %s", code, err, out, errOut)
	}
	for _, p := range ps {
		for _, secret := range []string{"001099012345", "0912345678", "12345678"} {
			if strings.Contains(p.Body, secret) {
				t.Fatalf("peek shows %s: %s", secret, p.Body)
			}
		}
		if p.ReceiveCount < 1 || p.FailureReason != "receipt template missing" || !strings.Contains(p.Body, "payment.confirmed") {
			t.Fatalf("peeked %+v", p)
		}
	}
	// Peeking leaves the messages where they are.
	code, out, _ = cli(t, "dlq", "list", "--json")
	_ = json.Unmarshal([]byte(out), &rows)
	for _, r := range rows {
		if r.Queue == "payment-events" && r.DLQDepth != 2 {
			t.Fatalf("peek moved messages: %+v", r)
		}
	}
	if code, _, _ := cli(t, "dlq", "peek", "no-such-queue"); code != exitNotFound {
		t.Fatalf("unknown queue: exit %d", code)
	}
}
