package sqsserver

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

var bg = context.Background()

func TestQueueLifecycle(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("orders", map[string]string{"VisibilityTimeout": "45"})
	if want := e.ts.URL + "/000000000000/orders"; url != want {
		t.Fatalf("QueueUrl = %q, want %q", url, want)
	}

	t.Run("create_is_idempotent_with_same_attributes", func(t *testing.T) {
		if got := e.createQueue("orders", map[string]string{"VisibilityTimeout": "45"}); got != url {
			t.Fatalf("second CreateQueue = %q, want %q", got, url)
		}
		if got := e.createQueue("orders", nil); got != url {
			t.Fatalf("CreateQueue without attributes = %q, want %q", got, url)
		}
	})
	t.Run("create_with_different_attributes_fails", func(t *testing.T) {
		_, err := e.c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
		qe := wantErr[*types.QueueNameExists](t, err)
		if qe.ErrorCode() != "QueueAlreadyExists" {
			t.Fatalf("ErrorCode = %q, want QueueAlreadyExists", qe.ErrorCode())
		}
	})
	t.Run("get_queue_url", func(t *testing.T) {
		out, err := e.c.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
		if err != nil || aws.ToString(out.QueueUrl) != url {
			t.Fatalf("GetQueueUrl = %v, %v", out, err)
		}
		_, err = e.c.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
		wantErr[*types.QueueDoesNotExist](t, err)
	})
	t.Run("attributes_all", func(t *testing.T) {
		a := e.attrs(url)
		want := map[string]string{
			"VisibilityTimeout": "45", "DelaySeconds": "0", "MaximumMessageSize": "262144",
			"MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0",
			"QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders", "ApproximateNumberOfMessages": "0",
			"ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("attribute %s = %q, want %q", k, a[k], v)
			}
		}
		if a["CreatedTimestamp"] == "" || a["LastModifiedTimestamp"] == "" {
			t.Errorf("timestamps missing: %v", a)
		}
	})
	t.Run("attributes_by_name_and_unknown_name", func(t *testing.T) {
		out, err := e.c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
		if err != nil || len(out.Attributes) != 1 || out.Attributes["QueueArn"] == "" {
			t.Fatalf("GetQueueAttributes(QueueArn) = %v, %v", out, err)
		}
		_, err = e.c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"Bogus"}})
		wantErr[*types.InvalidAttributeName](t, err)
	})
	t.Run("set_attributes", func(t *testing.T) {
		_, err := e.c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"DelaySeconds": "5", "ReceiveMessageWaitTimeSeconds": "2"}})
		if err != nil {
			t.Fatalf("SetQueueAttributes: %v", err)
		}
		a := e.attrs(url)
		if a["DelaySeconds"] != "5" || a["ReceiveMessageWaitTimeSeconds"] != "2" {
			t.Fatalf("after set: %v", a)
		}
		_, err = e.c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "99999"}})
		wantErr[*types.InvalidAttributeValue](t, err)
		_, err = e.c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Nope": "1"}})
		wantErr[*types.InvalidAttributeName](t, err)
	})
	t.Run("list_queues_with_prefix_and_pages", func(t *testing.T) {
		for _, n := range []string{"list-a", "list-b", "list-c", "other"} {
			e.createQueue(n, nil)
		}
		var got []string
		var token *string
		for page := 0; page < 5; page++ {
			out, err := e.c.ListQueues(bg, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-"), MaxResults: aws.Int32(2), NextToken: token})
			if err != nil {
				t.Fatalf("ListQueues: %v", err)
			}
			got = append(got, out.QueueUrls...)
			token = out.NextToken
			if token == nil {
				break
			}
		}
		want := []string{e.ts.URL + "/000000000000/list-a", e.ts.URL + "/000000000000/list-b", e.ts.URL + "/000000000000/list-c"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ListQueues = %v, want %v", got, want)
		}
		all, err := e.c.ListQueues(bg, &sqs.ListQueuesInput{})
		if err != nil || len(all.QueueUrls) != 5 || all.NextToken != nil {
			t.Fatalf("ListQueues() = %v, %v", all, err)
		}
	})
	t.Run("url_with_other_host_resolves", func(t *testing.T) {
		out, err := e.c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: aws.String("http://sqs.example:4566/000000000000/orders"), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
		if err != nil || out.Attributes["QueueArn"] == "" {
			t.Fatalf("GetQueueAttributes via foreign host = %v, %v", out, err)
		}
	})
	t.Run("delete_queue", func(t *testing.T) {
		if _, err := e.c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatalf("DeleteQueue: %v", err)
		}
		_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
		wantErr[*types.QueueDoesNotExist](t, err)
		_, err = e.c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		wantErr[*types.QueueDoesNotExist](t, err)
	})
	t.Run("invalid_queue_names", func(t *testing.T) {
		for _, n := range []string{"has space", strings.Repeat("a", 81), "jobs.fifo"} {
			if _, err := e.c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String(n)}); err == nil {
				t.Errorf("CreateQueue(%q) succeeded, want error", n)
			}
		}
	})
}

// refAttrMD5 is an independent transcription of the documented algorithm.
func refAttrMD5(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	put := func(b []byte) {
		_ = binary.Write(&buf, binary.BigEndian, int32(len(b)))
		buf.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(aws.ToString(a.DataType)))
		if a.BinaryValue != nil {
			buf.WriteByte(2)
			put(a.BinaryValue)
		} else {
			buf.WriteByte(1)
			put([]byte(aws.ToString(a.StringValue)))
		}
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

func TestSendReceiveDeleteWithAttributes(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("attrs", nil)
	attrs := map[string]types.MessageAttributeValue{
		"trace":      {DataType: aws.String("String"), StringValue: aws.String("hồ sơ 42")},
		"amount":     {DataType: aws.String("Number.int"), StringValue: aws.String("150000")},
		"signature":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		"kind.inner": {DataType: aws.String("String"), StringValue: aws.String("x")},
	}
	body := `{"id":"a1","type":"application.submitted"}`
	out, err := e.c.SendMessage(bg, &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: attrs,
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-abc")},
		},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if got, want := aws.ToString(out.MD5OfMessageAttributes), refAttrMD5(attrs); got != want {
		t.Fatalf("MD5OfMessageAttributes = %s, want %s", got, want)
	}
	if aws.ToString(out.MD5OfMessageSystemAttributes) == "" {
		t.Errorf("MD5OfMessageSystemAttributes missing")
	}
	msgs := e.receive(url, 10, 0, nil)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(out.MessageId) {
		t.Fatalf("message = %+v", m)
	}
	if aws.ToString(m.MD5OfMessageAttributes) != refAttrMD5(attrs) {
		t.Errorf("receive MD5OfMessageAttributes = %s, want %s", aws.ToString(m.MD5OfMessageAttributes), refAttrMD5(attrs))
	}
	if !bytes.Equal(m.MessageAttributes["signature"].BinaryValue, []byte{0, 1, 2, 255}) || aws.ToString(m.MessageAttributes["trace"].StringValue) != "hồ sơ 42" {
		t.Errorf("attributes = %+v", m.MessageAttributes)
	}
	for _, k := range []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader"} {
		if m.Attributes[k] == "" {
			t.Errorf("system attribute %s missing: %v", k, m.Attributes)
		}
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SenderId"] != "AKIDTEST" {
		t.Errorf("attributes = %v", m.Attributes)
	}
	if a := e.attrs(url); a["ApproximateNumberOfMessagesNotVisible"] != "1" || a["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("counts after receive = %v", a)
	}
	if _, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	// Deleting again with the same (now stale) handle succeeds, as on AWS.
	if _, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("second DeleteMessage: %v", err)
	}
	if a := e.attrs(url); a["ApproximateNumberOfMessagesNotVisible"] != "0" || a["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("counts after delete = %v", a)
	}

	t.Run("attribute_name_filters", func(t *testing.T) {
		e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("f"), MessageAttributes: attrs})
		out, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageAttributeNames: []string{"kind.*", "amount"}})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("ReceiveMessage = %v, %v", out, err)
		}
		got := out.Messages[0].MessageAttributes
		if len(got) != 2 || got["kind.inner"].StringValue == nil || got["amount"].StringValue == nil {
			t.Fatalf("filtered attributes = %v", got)
		}
		if len(out.Messages[0].Attributes) != 0 {
			t.Errorf("system attributes not requested but returned: %v", out.Messages[0].Attributes)
		}
	})
}

func TestLongPollWakesOnSend(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("poll", nil)
	type result struct {
		msgs    []types.Message
		elapsed time.Duration
		err     error
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		out, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		r := result{elapsed: time.Since(start), err: err}
		if out != nil {
			r.msgs = out.Messages
		}
		done <- r
	}()
	time.Sleep(200 * time.Millisecond) // let the poll start; correctness does not depend on it
	e.send(url, "wake up")
	r := <-done
	if r.err != nil || len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake up" {
		t.Fatalf("long poll = %+v", r)
	}
	// A poll that only ended at its 20 s deadline would still return the
	// message; the early return is what is being tested.
	if r.elapsed > 15*time.Second {
		t.Fatalf("long poll returned after %v, want it to wake on send", r.elapsed)
	}
}

func TestLongPollEndsOnClose(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("poll-close", nil)
	done := make(chan error, 1)
	go func() {
		_, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := e.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("long poll during Close: %v", err)
	}
	if time.Since(start) > 15*time.Second {
		t.Fatalf("Close waited for the long poll deadline")
	}
}

func TestVisibilityTimeout(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("vis", map[string]string{"VisibilityTimeout": "1"})
	e.send(url, "again")
	first := e.receive(url, 1, 0, nil)
	if len(first) != 1 {
		t.Fatalf("first receive got %d", len(first))
	}
	if got := e.receive(url, 1, 0, nil); len(got) != 0 {
		t.Fatalf("message visible during its visibility timeout")
	}
	second := e.receive(url, 1, 10, nil)
	if len(second) != 1 || aws.ToString(second[0].MessageId) != aws.ToString(first[0].MessageId) {
		t.Fatalf("second receive = %v", second)
	}
	if second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("ApproximateReceiveCount = %q, want 2", second[0].Attributes["ApproximateReceiveCount"])
	}
	if aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Errorf("receipt handle reused")
	}
	if second[0].Attributes["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Errorf("first receive timestamp changed")
	}

	t.Run("stale_handle_change_visibility_is_invalid", func(t *testing.T) {
		_, err := e.c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 30})
		wantErr[*types.ReceiptHandleIsInvalid](t, err)
	})
	t.Run("change_visibility_extends_then_zero_releases", func(t *testing.T) {
		h := second[0].ReceiptHandle
		if _, err := e.c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: h, VisibilityTimeout: 600}); err != nil {
			t.Fatalf("ChangeMessageVisibility(600): %v", err)
		}
		if _, err := e.c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: h, VisibilityTimeout: 0}); err != nil {
			t.Fatalf("ChangeMessageVisibility(0): %v", err)
		}
		_, err := e.c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: h, VisibilityTimeout: 5})
		wantErr[*types.MessageNotInflight](t, err)
		third := e.receive(url, 1, 0, nil)
		if len(third) != 1 || third[0].Attributes["ApproximateReceiveCount"] != "3" {
			t.Fatalf("receive after releasing = %v", third)
		}
	})
	t.Run("receive_visibility_override", func(t *testing.T) {
		e.send(url, "override")
		got := e.receive(url, 10, 0, i32(600))
		if len(got) == 0 {
			t.Fatalf("nothing received")
		}
		if a := e.attrs(url); a["ApproximateNumberOfMessages"] != "0" {
			t.Fatalf("visible messages after receive with 600 s override: %v", a)
		}
	})
}

func TestDelaySeconds(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("delay", nil)
	if _, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 1}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if a := e.attrs(url); a["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Fatalf("delayed count = %v", a)
	}
	if got := e.receive(url, 1, 0, nil); len(got) != 0 {
		t.Fatalf("delayed message delivered at once")
	}
	if got := e.receive(url, 1, 10, nil); len(got) != 1 {
		t.Fatalf("delayed message not delivered by a long poll")
	}

	t.Run("queue_default_delay", func(t *testing.T) {
		url := e.createQueue("delay-q", map[string]string{"DelaySeconds": "600"})
		e.send(url, "much later")
		if a := e.attrs(url); a["ApproximateNumberOfMessagesDelayed"] != "1" {
			t.Fatalf("delayed count = %v", a)
		}
		_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), DelaySeconds: 901})
		if err == nil {
			t.Fatalf("DelaySeconds 901 accepted")
		}
	})
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxCount string
	}{
		{"max_receive_count_as_string", `"2"`},
		{"max_receive_count_as_number", `2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "", true)
			dlq := e.createQueue("jobs-dlq", nil)
			dlqArn := e.attrs(dlq)["QueueArn"]
			// VisibilityTimeout 0: the SDK omits a zero VisibilityTimeout on
			// ReceiveMessage, so the queue default makes each receive visible again.
			src := e.createQueue("jobs", map[string]string{
				"VisibilityTimeout": "0",
				"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":` + tc.maxCount + `}`,
			})
			if rp := e.attrs(src)["RedrivePolicy"]; rp != `{"deadLetterTargetArn":"`+dlqArn+`","maxReceiveCount":2}` {
				t.Fatalf("RedrivePolicy = %s", rp)
			}
			id := aws.ToString(e.send(src, "poison").MessageId)
			for i := 1; i <= 2; i++ {
				got := e.receive(src, 1, 0, nil)
				if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != fmt.Sprint(i) {
					t.Fatalf("receive %d = %+v", i, got)
				}
			}
			if got := e.receive(src, 1, 0, nil); len(got) != 0 {
				t.Fatalf("message delivered a third time: %+v", got[0].Attributes)
			}
			got := e.receive(dlq, 1, 5, nil)
			if len(got) != 1 || aws.ToString(got[0].MessageId) != id || aws.ToString(got[0].Body) != "poison" {
				t.Fatalf("dead-letter queue = %+v", got)
			}
			if got[0].Attributes["DeadLetterQueueSourceArn"] != e.attrs(src)["QueueArn"] {
				t.Errorf("DeadLetterQueueSourceArn = %q", got[0].Attributes["DeadLetterQueueSourceArn"])
			}
			if got[0].Attributes["ApproximateReceiveCount"] != "3" {
				t.Errorf("ApproximateReceiveCount in DLQ = %q, want 3 (2 in source + 1)", got[0].Attributes["ApproximateReceiveCount"])
			}
			if a := e.attrs(src); a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
				t.Errorf("source still holds the message: %v", a)
			}
		})
	}
	t.Run("missing_dead_letter_target_is_rejected", func(t *testing.T) {
		e := newEnv(t, "", true)
		_, err := e.c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{
			"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`,
		}})
		if err == nil {
			t.Fatalf("redrive to a missing queue accepted")
		}
	})
}

func TestBatches(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("batch", nil)
	t.Run("send_batch_partial_failure", func(t *testing.T) {
		out, err := e.c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("ok1"), MessageBody: aws.String("one")},
			{Id: aws.String("bad"), MessageBody: aws.String("nul \x00 byte")},
			{Id: aws.String("ok2"), MessageBody: aws.String("two"), MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("1.5e3")}}},
			{Id: aws.String("badnum"), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("abc")}}},
		}})
		if err != nil {
			t.Fatalf("SendMessageBatch: %v", err)
		}
		if len(out.Successful) != 2 || len(out.Failed) != 2 {
			t.Fatalf("Successful=%d Failed=%d", len(out.Successful), len(out.Failed))
		}
		codes := map[string]string{}
		for _, f := range out.Failed {
			codes[aws.ToString(f.Id)] = aws.ToString(f.Code)
			if !f.SenderFault {
				t.Errorf("%s: SenderFault false", aws.ToString(f.Id))
			}
		}
		if codes["bad"] != "InvalidMessageContents" || codes["badnum"] != "InvalidParameterValue" {
			t.Errorf("failure codes = %v", codes)
		}
	})
	msgs := e.receive(url, 10, 0, nil)
	if len(msgs) != 2 {
		t.Fatalf("received %d, want 2", len(msgs))
	}
	t.Run("change_visibility_batch_partial_failure", func(t *testing.T) {
		out, err := e.c.ChangeMessageVisibilityBatch(bg, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 100},
			{Id: aws.String("b"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 100},
		}})
		if err != nil {
			t.Fatalf("ChangeMessageVisibilityBatch: %v", err)
		}
		if len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" {
			t.Fatalf("result = %+v", out)
		}
	})
	t.Run("delete_batch_partial_failure", func(t *testing.T) {
		out, err := e.c.DeleteMessageBatch(bg, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle},
			{Id: aws.String("b"), ReceiptHandle: msgs[1].ReceiptHandle},
			{Id: aws.String("c"), ReceiptHandle: aws.String("not-a-handle")},
		}})
		if err != nil {
			t.Fatalf("DeleteMessageBatch: %v", err)
		}
		if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "c" {
			t.Fatalf("result = %+v", out)
		}
		if a := e.attrs(url); a["ApproximateNumberOfMessagesNotVisible"] != "0" {
			t.Fatalf("messages left: %v", a)
		}
	})
	t.Run("batch_request_errors", func(t *testing.T) {
		many := make([]types.SendMessageBatchRequestEntry, 11)
		for i := range many {
			many[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), MessageBody: aws.String("x")}
		}
		_, err := e.c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: many})
		wantErr[*types.TooManyEntriesInBatchRequest](t, err)
		_, err = e.c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("same"), MessageBody: aws.String("x")}, {Id: aws.String("same"), MessageBody: aws.String("y")},
		}})
		wantErr[*types.BatchEntryIdsNotDistinct](t, err)
		_, err = e.c.DeleteMessageBatch(bg, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{}})
		wantErr[*types.EmptyBatchRequest](t, err)
		_, err = e.c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("bad id!"), MessageBody: aws.String("x")},
		}})
		wantErr[*types.InvalidBatchEntryId](t, err)
		big := strings.Repeat("x", 200*1024)
		_, err = e.c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String(big)}, {Id: aws.String("b"), MessageBody: aws.String(big)},
		}})
		wantErr[*types.BatchRequestTooLong](t, err)
	})
}

func TestTypedErrorsAndValidation(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("errs", nil)
	other := e.createQueue("errs-other", nil)
	e.send(other, "x")
	otherMsg := e.receive(other, 1, 0, nil)
	tooMany := map[string]types.MessageAttributeValue{}
	for i := 0; i < 11; i++ {
		tooMany[fmt.Sprint("a", i)] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}
	}
	cases := []struct {
		name  string
		call  func() error
		check func(t *testing.T, err error)
	}{
		{"send_to_missing_queue", func() error {
			_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(e.ts.URL + "/000000000000/missing"), MessageBody: aws.String("x")})
			return err
		}, func(t *testing.T, err error) { wantErr[*types.QueueDoesNotExist](t, err) }},
		{"delete_with_malformed_handle", func() error {
			_, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
			return err
		}, func(t *testing.T, err error) { wantErr[*types.ReceiptHandleIsInvalid](t, err) }},
		{"delete_with_handle_of_other_queue", func() error {
			_, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: otherMsg[0].ReceiptHandle})
			return err
		}, func(t *testing.T, err error) { wantErr[*types.ReceiptHandleIsInvalid](t, err) }},
		{"message_too_large", func() error {
			_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 262145))})
			return err
		}, wantCode("InvalidParameterValue")},
		{"too_many_attributes", func() error {
			_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageAttributes: tooMany})
			return err
		}, wantCode("InvalidParameterValue")},
		{"reserved_attribute_name", func() error {
			_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
				"AWS.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
			return err
		}, wantCode("InvalidParameterValue")},
		{"invalid_characters", func() error {
			_, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("\x01")})
			return err
		}, func(t *testing.T, err error) { wantErr[*types.InvalidMessageContents](t, err) }},
		{"max_messages_out_of_range", func() error {
			_, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}, wantCode("InvalidParameterValue")},
		{"wait_time_out_of_range", func() error {
			_, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
			return err
		}, wantCode("InvalidParameterValue")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatalf("no error")
			}
			tc.check(t, err)
		})
	}
}

// wantCode checks the API error code (the x-amzn-query-error code).
func wantCode(code string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		type coded interface{ ErrorCode() string }
		c := wantErr[interface {
			error
			coded
		}](t, err)
		if c.ErrorCode() != code {
			t.Fatalf("ErrorCode = %q, want %q (%v)", c.ErrorCode(), code, err)
		}
	}
}

func TestPurgeQueue(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("purge", nil)
	for i := 0; i < 5; i++ {
		e.send(url, fmt.Sprint("m", i))
	}
	e.receive(url, 2, 0, nil)
	if _, err := e.c.PurgeQueue(bg, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	a := e.attrs(url)
	if a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after purge: %v", a)
	}
	e.send(url, "after")
	got := e.receive(url, 10, 0, nil)
	if len(got) != 1 || aws.ToString(got[0].Body) != "after" {
		t.Fatalf("after purge received %v", got)
	}
}

func TestConcurrentSendReceive(t *testing.T) {
	e := newEnv(t, "", false)
	url := e.createQueue("conc", nil)
	const senders, perSender = 8, 25
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				if _, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint(s, "-", i))}); err != nil {
					t.Errorf("SendMessage: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	var mu sync.Mutex
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				out, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 300})
				if err != nil {
					t.Errorf("ReceiveMessage: %v", err)
					return
				}
				if len(out.Messages) == 0 {
					return
				}
				for _, m := range out.Messages {
					mu.Lock()
					if seen[aws.ToString(m.Body)] {
						t.Errorf("duplicate delivery of %s", aws.ToString(m.Body))
					}
					seen[aws.ToString(m.Body)] = true
					mu.Unlock()
					if _, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
						t.Errorf("DeleteMessage: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != senders*perSender {
		t.Fatalf("received %d distinct messages, want %d", len(seen), senders*perSender)
	}
}

func TestRetentionDropsExpiredMessages(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("retention", map[string]string{"MessageRetentionPeriod": "60"})
	e.send(url, "old")
	inflight := e.createQueue("retention-inflight", map[string]string{"MessageRetentionPeriod": "60"})
	e.send(inflight, "in flight")
	e.receive(inflight, 1, 0, i32(600))
	e.srv.skewMS.Store(61_000) // the server clock is now 61 s later
	if n, err := e.srv.sweep(e.srv.queueByName("retention-inflight")); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1 expired in-flight message removed", n, err)
	}
	if a := e.attrs(inflight); a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after sweep: %v", a)
	}
	if got := e.receive(url, 10, 0, nil); len(got) != 0 {
		t.Fatalf("expired message delivered: %v", got)
	}
	e.send(url, "fresh")
	got := e.receive(url, 10, 0, nil)
	if len(got) != 1 || aws.ToString(got[0].Body) != "fresh" {
		t.Fatalf("received %v, want only the fresh message", got)
	}
	e.stop()
	// The expiry was persisted: the old message does not come back.
	e2 := newEnv(t, e.dir, true)
	if a := e2.attrs(e2.ts.URL + "/000000000000/retention"); a["ApproximateNumberOfMessagesNotVisible"] != "1" || a["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("after restart: %v", a)
	}
}

func TestReadyHeapStaysBounded(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("heap", map[string]string{"VisibilityTimeout": "600"})
	for round := 0; round < 30; round++ {
		for i := 0; i < 10; i++ {
			e.send(url, "m")
		}
		for _, m := range e.receive(url, 10, 0, nil) {
			if _, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	q := e.srv.queueByName("heap")
	q.mu.Lock()
	n, live := len(q.ready), len(q.msgs)
	q.mu.Unlock()
	if live != 0 || n > 64+2*live {
		t.Fatalf("heap holds %d entries for %d live messages", n, live)
	}
}

func TestDeleteQueueEndsLongPoll(t *testing.T) {
	e := newEnv(t, "", true)
	url := e.createQueue("doomed", nil)
	done := make(chan error, 1)
	go func() {
		_, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := e.c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	err := <-done
	if err != nil {
		wantErr[*types.QueueDoesNotExist](t, err)
	}
	// Re-creating the name gives an empty, working queue.
	url = e.createQueue("doomed", nil)
	e.send(url, "new life")
	if got := e.receive(url, 1, 0, nil); len(got) != 1 {
		t.Fatalf("re-created queue receive = %v", got)
	}
}
