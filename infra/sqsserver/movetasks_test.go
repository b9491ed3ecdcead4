package sqsserver

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// dlqPipe creates name-dlq and name (redriving to it after one receive), and
// dead-letters n messages "m0".."m<n-1>". It returns the source queue URL,
// the DLQ URL and the DLQ ARN.
func (e *env) dlqPipe(name string, n int) (string, string, string) {
	e.t.Helper()
	dlq := e.createQueue(name+"-dlq", nil)
	dlqArn := e.attrs(dlq)["QueueArn"]
	// VisibilityTimeout 0 on the queue: the SDK omits a zero override.
	src := e.createQueue(name, map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":1}`, "VisibilityTimeout": "0",
	})
	for i := 0; i < n; i++ {
		e.send(src, "m"+strconv.Itoa(i))
	}
	// Receive each once (visibility 0), then once more to dead-letter it.
	for moved := 0; moved < n; {
		e.receive(src, 10, 0, i32(0))
		moved, _ = strconv.Atoi(e.attrs(dlq)["ApproximateNumberOfMessages"])
	}
	return src, dlq, dlqArn
}

func (e *env) drain(url string) []types.Message {
	e.t.Helper()
	var all []types.Message
	for {
		got := e.receive(url, 10, 0, i32(60))
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
	}
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = aws.ToString(m.Body)
	}
	sort.Strings(out)
	return out
}

// waitTask polls ListMessageMoveTasks until the latest task is not RUNNING
// (or CANCELLING).
func (e *env) waitTask(srcArn string) types.ListMessageMoveTasksResultEntry {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.c.ListMessageMoveTasks(context.Background(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(srcArn)})
		if err != nil {
			e.t.Fatalf("ListMessageMoveTasks: %v", err)
		}
		if len(out.Results) != 1 {
			e.t.Fatalf("ListMessageMoveTasks: %d results", len(out.Results))
		}
		r := out.Results[0]
		if s := aws.ToString(r.Status); s != "RUNNING" && s != "CANCELLING" {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task still %s after 30 s", aws.ToString(r.Status))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestMoveTask_default_destination_is_each_messages_source(t *testing.T) {
	e := newEnv(t, "", true)
	ctx := context.Background()
	src1, dlq, dlqArn := e.dlqPipe("orders", 3)
	// A second source queue sharing the same DLQ.
	src2 := e.createQueue("payments", map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":1}`, "VisibilityTimeout": "0",
	})
	e.send(src2, "p0")
	e.receive(src2, 10, 0, i32(0))
	e.receive(src2, 10, 0, i32(0))
	before := e.drain(dlq)
	if len(before) != 4 {
		t.Fatalf("DLQ holds %d messages, want 4", len(before))
	}
	oldIDs := map[string]bool{}
	for _, m := range before {
		oldIDs[aws.ToString(m.MessageId)] = true
		if _, err := e.c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}

	out, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	if err != nil || aws.ToString(out.TaskHandle) == "" {
		t.Fatalf("StartMessageMoveTask: %v %v", out, err)
	}
	r := e.waitTask(dlqArn)
	if aws.ToString(r.Status) != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 4 || aws.ToInt64(r.ApproximateNumberOfMessagesToMove) != 4 ||
		r.TaskHandle != nil || r.DestinationArn != nil || r.StartedTimestamp == 0 {
		t.Fatalf("task %+v", r)
	}
	got1, got2 := e.drain(src1), e.drain(src2)
	if b := bodies(got1); len(b) != 3 || b[0] != "m0" || b[2] != "m2" {
		t.Fatalf("orders got %v", b)
	}
	if b := bodies(got2); len(b) != 1 || b[0] != "p0" {
		t.Fatalf("payments got %v", b)
	}
	for _, m := range append(got1, got2...) {
		if oldIDs[aws.ToString(m.MessageId)] {
			t.Fatalf("moved message kept its id %s", aws.ToString(m.MessageId))
		}
		if m.Attributes["ApproximateReceiveCount"] != "1" {
			t.Fatalf("receive count %s, want a fresh count", m.Attributes["ApproximateReceiveCount"])
		}
	}
	if n := e.attrs(dlq)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("DLQ still holds %s", n)
	}
}

func TestMoveTask_explicit_destination(t *testing.T) {
	e := newEnv(t, "", true)
	ctx := context.Background()
	_, _, dlqArn := e.dlqPipe("orders", 5)
	dst := e.createQueue("elsewhere", nil)
	dstArn := e.attrs(dst)["QueueArn"]
	if _, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), DestinationArn: aws.String(dstArn)}); err != nil {
		t.Fatal(err)
	}
	r := e.waitTask(dlqArn)
	if aws.ToString(r.Status) != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 5 || aws.ToString(r.DestinationArn) != dstArn {
		t.Fatalf("task %+v", r)
	}
	if b := bodies(e.drain(dst)); len(b) != 5 {
		t.Fatalf("destination got %v", b)
	}
}

func TestMoveTask_errors(t *testing.T) {
	e := newEnv(t, "", true)
	ctx := context.Background()
	_, _, dlqArn := e.dlqPipe("orders", 10)
	plain := e.createQueue("plain", nil)
	plainArn := e.attrs(plain)["QueueArn"]
	missingArn := "arn:aws:sqs:us-east-1:000000000000:nope"

	// A slow task, to be the one running.
	out, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	handle := aws.ToString(out.TaskHandle)

	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"source_not_a_dlq", func() error {
			_, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(plainArn)})
			return err
		}, "InvalidParameterValue"},
		{"source_missing", func() error {
			_, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(missingArn)})
			return err
		}, "ResourceNotFoundException"},
		{"destination_missing", func() error {
			_, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), DestinationArn: aws.String(missingArn)})
			return err
		}, "ResourceNotFoundException"},
		{"rate_over_500", func() error {
			_, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
			return err
		}, "InvalidParameterValue"},
		{"second_task_on_same_source", func() error {
			_, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
			return err
		}, "InvalidParameterValue"},
		{"cancel_malformed_handle", func() error {
			_, err := e.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("foobared")})
			return err
		}, "InvalidParameterValue"},
		{"cancel_unknown_task", func() error {
			_, err := e.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(taskHandle("10f57157-fc38-4da9-a113-4de7e12d05aa", dlqArn))})
			return err
		}, "ResourceNotFoundException"},
		{"cancel_unknown_source", func() error {
			_, err := e.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(taskHandle("x", missingArn))})
			return err
		}, "ResourceNotFoundException"},
		{"list_unknown_source", func() error {
			_, err := e.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(missingArn)})
			return err
		}, "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := apiCode(tc.call()); code != tc.code {
				t.Fatalf("error code %q, want %s", code, tc.code)
			}
		})
	}

	// The running task shows its handle; at 1 message/s it cannot be done.
	list, err := e.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
	if err != nil || len(list.Results) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if r := list.Results[0]; aws.ToString(r.Status) != "RUNNING" || aws.ToString(r.TaskHandle) != handle || r.MaxNumberOfMessagesPerSecond == nil || *r.MaxNumberOfMessagesPerSecond != 1 {
		t.Fatalf("running task %+v", r)
	}
	c, err := e.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	r := e.waitTask(dlqArn)
	if aws.ToString(r.Status) != "CANCELLED" || r.ApproximateNumberOfMessagesMoved >= 10 || r.ApproximateNumberOfMessagesMoved < c.ApproximateNumberOfMessagesMoved {
		t.Fatalf("cancelled task %+v (cancel said %d moved)", r, c.ApproximateNumberOfMessagesMoved)
	}
	if apiCode(func() error {
		_, err := e.c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
		return err
	}()) == "" {
		t.Fatal("cancelling a cancelled task succeeded")
	}
	// A new task may start once the first one ended.
	if _, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)}); err != nil {
		t.Fatalf("start after cancel: %v", err)
	}
	all, err := e.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn), MaxResults: aws.Int32(10)})
	if err != nil || len(all.Results) != 2 {
		t.Fatalf("list 10: %v %v", all, err)
	}
}

func TestMoveTask_destination_deleted_while_running_fails(t *testing.T) {
	e := newEnv(t, "", true)
	ctx := context.Background()
	_, dlq, dlqArn := e.dlqPipe("orders", 5)
	dst := e.createQueue("target", nil)
	if _, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(dlqArn), DestinationArn: aws.String(e.attrs(dst)["QueueArn"]), MaxNumberOfMessagesPerSecond: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(dst)}); err != nil {
		t.Fatal(err)
	}
	r := e.waitTask(dlqArn)
	if aws.ToString(r.Status) != "FAILED" || aws.ToString(r.FailureReason) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("task %+v", r)
	}
	left, _ := strconv.Atoi(e.attrs(dlq)["ApproximateNumberOfMessages"])
	if int64(left)+r.ApproximateNumberOfMessagesMoved != 5 {
		t.Fatalf("%d left in the DLQ + %d moved != 5", left, r.ApproximateNumberOfMessagesMoved)
	}
}

func TestMoveTask_resumes_after_restart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, false)
	ctx := context.Background()
	src, _, dlqArn := e.dlqPipe("orders", 4)
	if _, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.stop() // mid-task: at 2 per second, 4 messages take over a second
	e2 := newEnv(t, dir, false)
	r := e2.waitTask(dlqArn)
	if aws.ToString(r.Status) != "COMPLETED" || r.ApproximateNumberOfMessagesMoved != 4 {
		t.Fatalf("task after restart %+v", r)
	}
	if b := bodies(e2.drain(src)); len(b) != 4 || b[0] != "m0" || b[3] != "m3" {
		t.Fatalf("source got %v after restart (lost or doubled)", b)
	}
}

func TestMoveTask_query_protocol(t *testing.T) {
	e := newEnv(t, "", true)
	_, _, dlqArn := e.dlqPipe("orders", 2)
	code, body := postForm(t, e.ts.URL, "Action=StartMessageMoveTask&Version=2012-11-05&SourceArn="+dlqArn)
	if code != 200 || !contains(body, "<TaskHandle>") {
		t.Fatalf("start: %d %s", code, body)
	}
	e.waitTask(dlqArn)
	code, body = postForm(t, e.ts.URL, "Action=ListMessageMoveTasks&Version=2012-11-05&SourceArn="+dlqArn)
	if code != 200 || !contains(body, "<ListMessageMoveTasksResultEntry>") || !contains(body, "<Status>COMPLETED</Status>") ||
		!contains(body, "<ApproximateNumberOfMessagesMoved>2</ApproximateNumberOfMessagesMoved>") {
		t.Fatalf("list: %d %s", code, body)
	}
}

func TestMoveTask_recreated_queue_has_no_old_tasks(t *testing.T) {
	e := newEnv(t, "", true)
	ctx := context.Background()
	src, dlq, dlqArn := e.dlqPipe("orders", 1)
	if _, err := e.c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)}); err != nil {
		t.Fatal(err)
	}
	e.waitTask(dlqArn)
	for _, u := range []string{src, dlq} {
		if _, err := e.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	e.createQueue("orders-dlq", nil)
	out, err := e.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
	if err != nil || len(out.Results) != 0 {
		t.Fatalf("re-created queue lists %v %v", out, err)
	}
}
