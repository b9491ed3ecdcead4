package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/shared/awsx"
	"motcua/shared/jobs/kinds"
	"motcua/shared/logx"
)

func init() {
	groups["dlq"] = group{summary: "dead-letter queues: depths, peek at redacted messages", run: dlqCmd}
}

const dlqUsage = `usage:
  motcua dlq list [--json]                     depth of every queue and of its dead-letter queue
  motcua dlq peek QUEUE [--max 10] [--json]    messages of QUEUE's dead-letter queue (QUEUE or QUEUE-dlq),
                                               bodies redacted (CCCD, phone, e-mail, secrets masked)
Peeking receives the messages and makes them visible again at once: they stay
where they are (their receive count grows by one). Redrive them with: motcua jobs start redrive-dlq --queue QUEUE
The AWS SDK's standard variables select the backend.`

// openSQS opens SQS from the standard AWS configuration; tests replace it.
var openSQS = func(ctx context.Context) (*sqs.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, awsx.ErrNoRegion
	}
	return awsx.SQS(cfg), nil
}

// queueDepth is one line of dlq list.
type queueDepth struct {
	Queue    string `json:"queue"`
	Depth    int64  `json:"depth"`
	InFlight int64  `json:"inFlight"`
	DLQ      string `json:"dlq,omitempty"`
	DLQDepth int64  `json:"dlqDepth"`
}

func dlqCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, dlqUsage)
	}
	sub, args := args[0], args[1:]
	var queue string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		queue, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("motcua dlq "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "machine-readable output")
	maxN := fs.Int("max", 10, "messages to peek at (1-10)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, dlqUsage)
	}
	c, err := openSQS(ctx)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return dlqList(ctx, e, c, *asJSON)
	case "peek":
		if queue == "" {
			queue = fs.Arg(0)
		}
		if queue == "" || *maxN < 1 || *maxN > 10 {
			return fmt.Errorf("%w: QUEUE is required and --max is 1-10\n%s", errUsage, dlqUsage)
		}
		return dlqPeek(ctx, e, c, queue, int32(*maxN), *asJSON)
	}
	return fmt.Errorf("%w: unknown dlq command %q\n%s", errUsage, sub, dlqUsage)
}

func depthOf(ctx context.Context, c *sqs.Client, url string) (int64, int64, error) {
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, 0, err
	}
	d, _ := strconv.ParseInt(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
	f, _ := strconv.ParseInt(a.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], 10, 64)
	return d, f, nil
}

func dlqList(ctx context.Context, e *env, c *sqs.Client, asJSON bool) error {
	urls := map[string]string{}
	in := &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)}
	for {
		out, err := c.ListQueues(ctx, in)
		if err != nil {
			return fmt.Errorf("list queues: %w", err)
		}
		for _, u := range out.QueueUrls {
			urls[u[strings.LastIndex(u, "/")+1:]] = u
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	var rows []queueDepth
	for name, u := range urls {
		if strings.HasSuffix(name, kinds.DLQSuffix) {
			continue
		}
		r := queueDepth{Queue: name}
		var err error
		if r.Depth, r.InFlight, err = depthOf(ctx, c, u); err != nil {
			return err
		}
		if du, ok := urls[name+kinds.DLQSuffix]; ok {
			r.DLQ = name + kinds.DLQSuffix
			if r.DLQDepth, _, err = depthOf(ctx, c, du); err != nil {
				return err
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Queue < rows[j].Queue })
	if asJSON {
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tDEPTH\tIN FLIGHT\tDLQ\tDLQ DEPTH")
	for _, r := range rows {
		mark := ""
		if r.DLQDepth > 0 {
			mark = "  ← redrive: motcua jobs start redrive-dlq --queue " + r.Queue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d%s\n", r.Queue, r.Depth, r.InFlight, r.DLQ, r.DLQDepth, mark)
	}
	return tw.Flush()
}

// peeked is one message shown by dlq peek.
type peeked struct {
	MessageID     string            `json:"messageId"`
	ReceiveCount  int               `json:"receiveCount"`
	SentAt        time.Time         `json:"sentAt"`
	FirstReceived time.Time         `json:"firstReceivedAt"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	FailureReason string            `json:"failureReason"`
	Body          string            `json:"body"`
}

// failureAttributes are message attributes that may carry why a delivery
// failed (set by consumers that record it).
var failureAttributes = []string{"failure_reason", "error", "last_error"}

func dlqPeek(ctx context.Context, e *env, c *sqs.Client, queue string, n int32, asJSON bool) error {
	name := strings.TrimSuffix(queue, kinds.DLQSuffix) + kinds.DLQSuffix
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		return &exitError{code: exitNotFound, msg: "no queue " + name + ": " + err.Error()}
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl, MaxNumberOfMessages: n, VisibilityTimeout: 0,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}})
	if err != nil {
		return fmt.Errorf("peek %s: %w", name, err)
	}
	// VisibilityTimeout 0 is the SDK's zero value (not sent): make the
	// messages visible again at once, explicitly.
	for _, m := range out.Messages {
		if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: u.QueueUrl,
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			fmt.Fprintf(e.stderr, "motcua dlq peek: message %s stays hidden for the queue's visibility timeout: %v\n", aws.ToString(m.MessageId), err)
		}
	}
	var ps []peeked
	for _, m := range out.Messages {
		p := peeked{MessageID: aws.ToString(m.MessageId), Body: redactBody(aws.ToString(m.Body)), Attributes: map[string]string{},
			FailureReason: "not recorded (look up the message id in the consumer's logs)"}
		p.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			p.SentAt = time.UnixMilli(ms).UTC()
		}
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp)], 10, 64); err == nil {
			p.FirstReceived = time.UnixMilli(ms).UTC()
		}
		for k, v := range m.MessageAttributes {
			val := logx.Mask(aws.ToString(v.StringValue))
			if logx.IsSecretKey(k) {
				val = "[redacted]"
			}
			p.Attributes[k] = val
			for _, fa := range failureAttributes {
				if k == fa {
					p.FailureReason = val
				}
			}
		}
		ps = append(ps, p)
	}
	if asJSON {
		b, err := json.Marshal(ps)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: %d message(s) shown (bodies redacted)\n", name, len(ps))
	for _, p := range ps {
		fmt.Fprintf(e.stdout, "\n%s  received %d time(s)  sent %s\n  failure: %s\n", p.MessageID, p.ReceiveCount, p.SentAt.Format(time.RFC3339), p.FailureReason)
		if t := p.Attributes["event_type"]; t != "" {
			fmt.Fprintf(e.stdout, "  event: %s\n", t)
		}
		fmt.Fprintf(e.stdout, "  body: %s\n", p.Body)
	}
	return nil
}

// redactBody masks a message body for display: JSON members named like
// secrets (pin, token, signature, …) are replaced, then citizen IDs, phone
// numbers and e-mail addresses are masked (logx.Mask).
func redactBody(body string) string {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return logx.Mask(body)
	}
	b, err := json.Marshal(redactValue(v))
	if err != nil {
		return logx.Mask(body)
	}
	return logx.Mask(string(b))
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if logx.IsSecretKey(k) {
				t[k] = "[redacted]"
			} else {
				t[k] = redactValue(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = redactValue(x)
		}
	}
	return v
}
