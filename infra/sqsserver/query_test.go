package sqsserver

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postForm sends one signed Query protocol request (as the AWS CLI v1 and
// older SDKs do) and returns the status and body.
func postForm(t *testing.T, base, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signRequest(t, req, []byte(form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestQueryProtocol_round_trip(t *testing.T) {
	e := newEnv(t, "", true)
	v := url.Values{}
	form := func(kv ...string) string {
		v = url.Values{"Version": {"2012-11-05"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	code, body := postForm(t, e.ts.URL, form("Action", "CreateQueue", "QueueName", "q1", "Attribute.1.Name", "VisibilityTimeout", "Attribute.1.Value", "45"))
	if code != 200 || !contains(body, "<CreateQueueResult><QueueUrl>") {
		t.Fatalf("CreateQueue: %d %s", code, body)
	}
	var created struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
		ID  string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal([]byte(body), &created); err != nil || created.URL == "" || created.ID == "" {
		t.Fatalf("CreateQueue XML: %v %+v", err, created)
	}
	q := created.URL
	code, body = postForm(t, e.ts.URL, form("Action", "SendMessage", "QueueUrl", q, "MessageBody", "hồ sơ <1> & 2",
		"MessageAttribute.1.Name", "event_type", "MessageAttribute.1.Value.DataType", "String", "MessageAttribute.1.Value.StringValue", "application.submitted"))
	if code != 200 || !contains(body, "<MD5OfMessageBody>") || !contains(body, "<MD5OfMessageAttributes>") {
		t.Fatalf("SendMessage: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "SendMessageBatch", "QueueUrl", q,
		"SendMessageBatchRequestEntry.1.Id", "a", "SendMessageBatchRequestEntry.1.MessageBody", "A",
		"SendMessageBatchRequestEntry.2.Id", "b", "SendMessageBatchRequestEntry.2.MessageBody", "B", "SendMessageBatchRequestEntry.2.DelaySeconds", "0"))
	if code != 200 || strings.Count(body, "<SendMessageBatchResultEntry>") != 2 {
		t.Fatalf("SendMessageBatch: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "GetQueueAttributes", "QueueUrl", q, "AttributeName.1", "All"))
	if code != 200 || !contains(body, "<Attribute><Name>ApproximateNumberOfMessages</Name><Value>3</Value></Attribute>") ||
		!contains(body, "<Name>VisibilityTimeout</Name><Value>45</Value>") {
		t.Fatalf("GetQueueAttributes: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "ReceiveMessage", "QueueUrl", q, "MaxNumberOfMessages", "10",
		"AttributeName.1", "All", "MessageAttributeName.1", "All"))
	var recv struct {
		Messages []struct {
			Body          string `xml:"Body"`
			ReceiptHandle string `xml:"ReceiptHandle"`
			Attributes    []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			} `xml:"Attribute"`
			MessageAttributes []struct {
				Name  string `xml:"Name"`
				Value struct {
					StringValue string `xml:"StringValue"`
					DataType    string `xml:"DataType"`
				} `xml:"Value"`
			} `xml:"MessageAttribute"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal([]byte(body), &recv); code != 200 || err != nil || len(recv.Messages) != 3 {
		t.Fatalf("ReceiveMessage: %d %v %s", code, err, body)
	}
	var first = recv.Messages[0]
	for _, m := range recv.Messages {
		if m.Body == "hồ sơ <1> & 2" {
			first = m
		}
	}
	if first.Body != "hồ sơ <1> & 2" || len(first.MessageAttributes) != 1 || first.MessageAttributes[0].Value.StringValue != "application.submitted" || len(first.Attributes) == 0 {
		t.Fatalf("message %+v", first)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "DeleteMessageBatch", "QueueUrl", q,
		"DeleteMessageBatchRequestEntry.1.Id", "x", "DeleteMessageBatchRequestEntry.1.ReceiptHandle", recv.Messages[0].ReceiptHandle,
		"DeleteMessageBatchRequestEntry.2.Id", "y", "DeleteMessageBatchRequestEntry.2.ReceiptHandle", recv.Messages[1].ReceiptHandle))
	if code != 200 || strings.Count(body, "<DeleteMessageBatchResultEntry>") != 2 {
		t.Fatalf("DeleteMessageBatch: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "DeleteMessage", "QueueUrl", q, "ReceiptHandle", recv.Messages[2].ReceiptHandle))
	if code != 200 || !contains(body, "<DeleteMessageResponse") || contains(body, "<DeleteMessageResult") {
		t.Fatalf("DeleteMessage: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "ListQueues", "QueueNamePrefix", "q"))
	if code != 200 || !contains(body, "<ListQueuesResult><QueueUrl>") {
		t.Fatalf("ListQueues: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "GetQueueUrl", "QueueName", "nope"))
	if code != 400 || !contains(body, "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") || !contains(body, "<Type>Sender</Type>") {
		t.Fatalf("GetQueueUrl missing: %d %s", code, body)
	}
	code, body = postForm(t, e.ts.URL, form("Action", "Frobnicate"))
	if code != 400 || !contains(body, "<Code>InvalidAction</Code>") {
		t.Fatalf("unknown action: %d %s", code, body)
	}
}

func TestAuth_refusals(t *testing.T) {
	e := newEnv(t, "", true)
	body := `{"QueueNamePrefix":""}`
	send := func(mut func(*http.Request)) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		mut(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("x-amzn-query-error"), string(b)
	}
	cases := []struct {
		name   string
		mut    func(*http.Request)
		status int
		code   string
	}{
		{"anonymous", func(*http.Request) {}, 403, "MissingAuthenticationToken;Sender"},
		{"tampered_body", func(r *http.Request) { signRequest(t, r, []byte(`{"QueueNamePrefix":"x"}`)) }, 403, "SignatureDoesNotMatch;Sender"},
		{"unknown_key", func(r *http.Request) {
			signRequest(t, r, []byte(body))
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDTEST/", "OTHER/", 1))
		}, 403, "InvalidClientTokenId;Sender"},
		{"signed", func(r *http.Request) { signRequest(t, r, []byte(body)) }, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code, b := send(tc.mut)
			if status != tc.status || code != tc.code {
				t.Fatalf("status %d code %q body %s", status, code, b)
			}
		})
	}
}
