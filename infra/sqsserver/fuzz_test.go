package sqsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzActions are the actions FuzzServeHTTP drives; DeleteQueue is left out
// so the fixture queues survive the run.
var fuzzActions = []string{
	"CreateQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes",
	"PurgeQueue", "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
	"DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
}

// fuzzCall sends one JSON 1.0 request to srv. Its context is already
// cancelled, which ends a long poll at once (with an empty 200) and changes
// nothing else.
func fuzzCall(srv *Server, action string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req.WithContext(ctx))
	return rec
}

// fuzzCheckResponse fails t unless rec is a 200 with a JSON body or a 4xx
// with the AWS JSON 1.0 error shape.
func fuzzCheckResponse(t *testing.T, action string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code == http.StatusOK {
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: 200 with invalid JSON body %q", action, body, rec.Body.Bytes())
		}
		return
	}
	if rec.Code < 400 || rec.Code > 499 {
		t.Fatalf("%s %q: status %d, body %s", action, body, rec.Code, rec.Body.Bytes())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Fatalf("%s %q: error Content-Type %q", action, body, ct)
	}
	if qe := rec.Header().Get("x-amzn-query-error"); !strings.HasSuffix(qe, ";Sender") || len(qe) <= len(";Sender") {
		t.Fatalf("%s %q: x-amzn-query-error %q", action, body, qe)
	}
	var e map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s %q: error body %q is not a JSON object: %v", action, body, rec.Body.Bytes(), err)
	}
	typ, _ := e["__type"].(string)
	shape, ok := strings.CutPrefix(typ, "com.amazonaws.sqs#")
	if !ok || shape == "" {
		t.Fatalf("%s %q: error __type %q", action, body, typ)
	}
	if msg, ok := e["message"].(string); !ok || msg == "" {
		t.Fatalf("%s %q: error without message: %s", action, body, rec.Body.Bytes())
	}
}

// FuzzServeHTTP sends arbitrary JSON bodies for the main actions to a
// server over a temporary database: it never panics and always answers 200
// or a 4xx in the AWS JSON error shape (never a 5xx).
func FuzzServeHTTP(f *testing.F) {
	srv, err := New(Options{DataDir: f.TempDir(), NoSync: true, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	f.Cleanup(func() {
		if err := srv.Close(); err != nil {
			f.Errorf("Close: %v", err)
		}
	})
	must := func(action, body string) map[string]any {
		rec := fuzzCall(srv, action, []byte(body))
		if rec.Code != http.StatusOK {
			f.Fatalf("setup %s: %d %s", action, rec.Code, rec.Body.Bytes())
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			f.Fatalf("setup %s: %v", action, err)
		}
		return out
	}
	must("CreateQueue", `{"QueueName":"fuzz-dlq"}`)
	qURL, _ := must("CreateQueue", `{"QueueName":"fuzz-q","Attributes":{"VisibilityTimeout":"30","RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:fuzz-dlq\",\"maxReceiveCount\":\"3\"}"}}`)["QueueUrl"].(string)
	must("SendMessage", `{"QueueUrl":"`+qURL+`","MessageBody":"hello"}`)
	got := must("ReceiveMessage", `{"QueueUrl":"`+qURL+`","MaxNumberOfMessages":1}`)
	handle := ""
	if msgs, _ := got["Messages"].([]any); len(msgs) == 1 {
		handle, _ = msgs[0].(map[string]any)["ReceiptHandle"].(string)
	}
	if handle == "" {
		f.Fatalf("setup: no receipt handle in %v", got)
	}
	q := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "$Q", qURL), "$H", handle) }
	seeds := map[string][]string{
		"CreateQueue": {
			`{"QueueName":"fuzz-new","Attributes":{"DelaySeconds":"5","MessageRetentionPeriod":"60"},"tags":{"team":"motcua"}}`,
			`{"QueueName":"bad name!"}`, `{"QueueName":"x.fifo","Attributes":{"FifoQueue":"true"}}`,
			`{"QueueName":"fuzz-q","Attributes":{"VisibilityTimeout":"10"}}`, `{"QueueName":"y","Attributes":{"RedrivePolicy":"{"}}`,
		},
		"GetQueueUrl":        {`{"QueueName":"fuzz-q"}`, `{"QueueName":""}`, `{}`},
		"ListQueues":         {`{"QueueNamePrefix":"fuzz","MaxResults":1}`, `{"MaxResults":0,"NextToken":"zz"}`},
		"GetQueueAttributes": {q(`{"QueueUrl":"$Q","AttributeNames":["All"]}`), q(`{"QueueUrl":"$Q","AttributeNames":["Nope"]}`)},
		"SetQueueAttributes": {
			q(`{"QueueUrl":"$Q","Attributes":{"ReceiveMessageWaitTimeSeconds":"20","MaximumMessageSize":"1024"}}`),
			q(`{"QueueUrl":"$Q","Attributes":{"VisibilityTimeout":"-1"}}`),
			q(`{"QueueUrl":"$Q","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:fuzz-q\",\"maxReceiveCount\":1}"}}`),
		},
		"PurgeQueue": {`{"QueueUrl":"http://h/0/nope"}`},
		"SendMessage": {
			q(`{"QueueUrl":"$Q","MessageBody":"{\"code\":\"HS-2026-000123\"}","DelaySeconds":0,"MessageAttributes":{"kind":{"DataType":"String","StringValue":"submitted"},"n":{"DataType":"Number.int","StringValue":"42"},"b":{"DataType":"Binary","BinaryValue":"AAEC"}}}`),
			q(`{"QueueUrl":"$Q","MessageBody":"\u0000"}`), q(`{"QueueUrl":"$Q","MessageBody":""}`),
			q(`{"QueueUrl":"$Q","MessageBody":"x","DelaySeconds":"901"}`), q(`{"QueueUrl":"$Q","MessageBody":"x","MessageGroupId":"g"}`),
			q(`{"QueueUrl":"$Q","MessageBody":"x","MessageAttributes":{"n":{"DataType":"Number","StringValue":"1e999"}}}`),
		},
		"SendMessageBatch": {
			q(`{"QueueUrl":"$Q","Entries":[{"Id":"a","MessageBody":"1"},{"Id":"b","MessageBody":"2","DelaySeconds":1}]}`),
			q(`{"QueueUrl":"$Q","Entries":[{"Id":"a","MessageBody":"1"},{"Id":"a","MessageBody":"2"}]}`),
			q(`{"QueueUrl":"$Q","Entries":[]}`), q(`{"QueueUrl":"$Q","Entries":[{"Id":"bad id!","MessageBody":"1"}]}`),
		},
		"ReceiveMessage": {
			q(`{"QueueUrl":"$Q","MaxNumberOfMessages":10,"VisibilityTimeout":0,"WaitTimeSeconds":1,"AttributeNames":["All"],"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["ApproximateReceiveCount"]}`),
			q(`{"QueueUrl":"$Q","MaxNumberOfMessages":11}`), q(`{"QueueUrl":"$Q","WaitTimeSeconds":"21"}`), q(`{"QueueUrl":"$Q","VisibilityTimeout":"x"}`),
		},
		"DeleteMessage":                {q(`{"QueueUrl":"$Q","ReceiptHandle":"$H"}`), q(`{"QueueUrl":"$Q","ReceiptHandle":"garbage"}`), q(`{"QueueUrl":"$Q"}`)},
		"DeleteMessageBatch":           {q(`{"QueueUrl":"$Q","Entries":[{"Id":"1","ReceiptHandle":"$H"},{"Id":"2","ReceiptHandle":"x"}]}`)},
		"ChangeMessageVisibility":      {q(`{"QueueUrl":"$Q","ReceiptHandle":"$H","VisibilityTimeout":60}`), q(`{"QueueUrl":"$Q","ReceiptHandle":"$H","VisibilityTimeout":43201}`)},
		"ChangeMessageVisibilityBatch": {q(`{"QueueUrl":"$Q","Entries":[{"Id":"1","ReceiptHandle":"$H","VisibilityTimeout":0}]}`)},
	}
	for i, action := range fuzzActions {
		for _, s := range append(seeds[action], ``, `{}`, `null`, `[]`, `{"QueueUrl":1}`, `{"QueueUrl":"fuzz-q","Entries":{}}`, `{`) {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, action uint8, body []byte) {
		name := fuzzActions[int(action)%len(fuzzActions)]
		fuzzCheckResponse(t, name, body, fuzzCall(srv, name, body))
	})
}

// FuzzQueryProtocol sends arbitrary form bodies (Query protocol) to a
// server: it never panics and always answers 200 with an XML result or a
// 4xx Query ErrorResponse (never a 5xx).
func FuzzQueryProtocol(f *testing.F) {
	srv, err := New(Options{DataDir: f.TempDir(), NoSync: true, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	f.Cleanup(func() {
		if err := srv.Close(); err != nil {
			f.Errorf("Close: %v", err)
		}
	})
	f.Add("Action=CreateQueue&QueueName=fz&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5")
	f.Add("Action=SendMessage&QueueUrl=fz&MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=b")
	f.Add("Action=SendMessageBatch&QueueUrl=fz&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=A")
	f.Add("Action=ReceiveMessage&QueueUrl=fz&AttributeName.1=All&MaxNumberOfMessages=10")
	f.Add("Action=GetQueueAttributes&QueueUrl=fz&AttributeName.1=All")
	f.Add("Action=StartMessageMoveTask&SourceArn=arn:aws:sqs:us-east-1:000000000000:fz")
	f.Add("Action=ListQueues&Attribute.x.Name=1&Attribute..=%ZZ")
	f.Fuzz(func(t *testing.T, form string) {
		if strings.Contains(form, "DeleteQueue") || strings.Contains(form, "PurgeQueue") {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req.WithContext(ctx))
		if ct := rec.Header().Get("Content-Type"); ct != "text/xml" {
			t.Fatalf("%q: Content-Type %q", form, ct)
		}
		switch {
		case rec.Code == http.StatusOK:
			if !strings.Contains(rec.Body.String(), "Response xmlns=") {
				t.Fatalf("%q: 200 without a Query response: %s", form, rec.Body.String())
			}
		case rec.Code >= 400 && rec.Code <= 499:
			if !strings.Contains(rec.Body.String(), "<ErrorResponse") || !strings.Contains(rec.Body.String(), "<Code>") {
				t.Fatalf("%q: %d without a Query error: %s", form, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("%q: status %d: %s", form, rec.Code, rec.Body.String())
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), new(struct{})); err != nil {
			t.Fatalf("%q: response is not XML: %v: %s", form, err, rec.Body.String())
		}
	})
}
