package sqsserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// post sends one raw JSON 1.0 request the way boto3 / the JS SDK v3 do.
func post(t *testing.T, base, action, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if action != "" {
		req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	signRequest(t, req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: response is not JSON: %q", action, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func TestRawJSONClient(t *testing.T) {
	e := newEnv(t, "", true)
	base := e.ts.URL

	code, _, out := post(t, base, "CreateQueue", `{"QueueName":"py","Attributes":{"VisibilityTimeout":"60"}}`)
	url, _ := out["QueueUrl"].(string)
	if code != 200 || url != base+"/000000000000/py" {
		t.Fatalf("CreateQueue = %d %v", code, out)
	}
	code, _, out = post(t, base, "SendMessage", `{"QueueUrl":"`+url+`","MessageBody":"hi"}`)
	if code != 200 || out["MD5OfMessageBody"] != "49f68a5c8493ec2c0bf489821c21fc3b" || out["MessageId"] == "" {
		t.Fatalf("SendMessage = %d %v", code, out)
	}
	code, _, out = post(t, base, "SendMessage", `{"QueueUrl":"`+url+`","MessageBody":"attrs","MessageAttributes":{"SellerName":{"DataType":"String","StringValue":"Example Store"}}}`)
	// Reference value from AWS's documentation example (one String attribute).
	if code != 200 || out["MD5OfMessageAttributes"] != "cd28f3b68aeee4b2eac9c66f2f694b58" {
		t.Fatalf("SendMessage with attributes = %d %v", code, out)
	}
	code, _, out = post(t, base, "ReceiveMessage", `{"QueueUrl":"`+url+`","MaxNumberOfMessages":10,"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["SenderId"],"WaitTimeSeconds":0}`)
	msgs, _ := out["Messages"].([]any)
	if code != 200 || len(msgs) != 2 {
		t.Fatalf("ReceiveMessage = %d %v", code, out)
	}
	first := msgs[0].(map[string]any)
	if first["Body"] != "hi" || first["MD5OfBody"] != "49f68a5c8493ec2c0bf489821c21fc3b" {
		t.Fatalf("message = %v", first)
	}
	if attrs, _ := first["Attributes"].(map[string]any); attrs["SenderId"] != "AKIDTEST" {
		t.Fatalf("Attributes = %v", first["Attributes"])
	}
	handle, _ := first["ReceiptHandle"].(string)
	code, _, out = post(t, base, "DeleteMessage", `{"QueueUrl":"`+url+`","ReceiptHandle":"`+handle+`"}`)
	if code != 200 || len(out) != 0 {
		t.Fatalf("DeleteMessage = %d %v", code, out)
	}
	code, _, out = post(t, base, "ReceiveMessage", `{"QueueUrl":"`+url+`"}`)
	if code != 200 || out["Messages"] != nil {
		t.Fatalf("empty ReceiveMessage = %d %v", code, out)
	}

	errCases := []struct {
		name, action, body  string
		wantType, wantQuery string
	}{
		{"missing_queue", "SendMessage", `{"QueueUrl":"http://x/000000000000/none","MessageBody":"hi"}`, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"unknown_action", "FlyToMoon", `{}`, "com.amazonaws.sqs#InvalidAction", "InvalidAction;Sender"},
		{"missing_target", "", `{}`, "com.amazonaws.sqs#MissingParameter", "MissingParameter;Sender"},
		{"malformed_json", "SendMessage", `{"QueueUrl":`, "com.amazonaws.sqs#SerializationException", "MalformedInput;Sender"},
		{"missing_queue_url", "SendMessage", `{"MessageBody":"hi"}`, "com.amazonaws.sqs#MissingParameter", "MissingParameter;Sender"},
		{"missing_body", "SendMessage", `{"QueueUrl":"` + url + `"}`, "com.amazonaws.sqs#MissingParameter", "MissingParameter;Sender"},
		{"wrong_type", "ReceiveMessage", `{"QueueUrl":"` + url + `","MaxNumberOfMessages":"ten"}`, "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue;Sender"},
		{"malformed_receipt", "DeleteMessage", `{"QueueUrl":"` + url + `","ReceiptHandle":"%%%"}`, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid;Sender"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			code, h, out := post(t, base, tc.action, tc.body)
			if code != 400 || out["__type"] != tc.wantType || out["message"] == "" || h.Get("x-amzn-query-error") != tc.wantQuery {
				t.Fatalf("= %d %v query-error=%q", code, out, h.Get("x-amzn-query-error"))
			}
		})
	}
	t.Run("numbers_as_strings_accepted", func(t *testing.T) {
		code, _, out := post(t, base, "ReceiveMessage", `{"QueueUrl":"`+url+`","MaxNumberOfMessages":"10","WaitTimeSeconds":"0"}`)
		if code != 200 {
			t.Fatalf("= %d %v", code, out)
		}
	})
}

// TestMD5OfAttributesKnownVector checks against AWS's documented example.
func TestMD5OfAttributesKnownVector(t *testing.T) {
	got := md5OfAttributes(map[string]msgAttr{"SellerName": {DataType: "String", StringValue: "Example Store"}})
	if got != "cd28f3b68aeee4b2eac9c66f2f694b58" {
		t.Fatalf("md5OfAttributes = %s", got)
	}
	if md5OfAttributes(nil) != "" {
		t.Fatalf("empty attributes must give no checksum")
	}
}

// BenchmarkSendReceiveDelete measures one send + receive + delete round trip
// through the Go SDK over loopback HTTP, with fsync per commit (the default)
// and without (NoSync). Parallel variants show group commit at work.
func BenchmarkSendReceiveDelete(b *testing.B) {
	for _, bc := range []struct {
		name     string
		noSync   bool
		parallel bool
	}{
		{"fsync", false, false},
		{"nosync", true, false},
		{"fsync_parallel", false, true},
		{"nosync_parallel", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, "", bc.noSync)
			url := e.createQueue("bench", map[string]string{"VisibilityTimeout": "600"})
			roundTrip := func(c *sqs.Client, i int) {
				if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
					b.Fatalf("send: %v", err)
				}
				out, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5})
				if err != nil || len(out.Messages) != 1 {
					b.Fatalf("receive: %v %v", out, err)
				}
				if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
					b.Fatalf("delete: %v", err)
				}
			}
			b.ReportAllocs()
			if !bc.parallel {
				i := 0
				for b.Loop() {
					roundTrip(e.c, i)
					i++
				}
				return
			}
			var mu sync.Mutex
			n := 0
			b.SetParallelism(8) // 8 clients per CPU
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					n++
					i := n
					mu.Unlock()
					roundTrip(e.c, i)
				}
			})
		})
	}
}
