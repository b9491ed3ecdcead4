package connector

// A minimal SQS (AWS JSON 1.0 protocol) server used until the embedded stack
// lands. It implements only what the connector and its tests call.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

type fakeAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
}

type fakeMsg struct {
	id, body       string
	attrs          map[string]fakeAttr
	receives       int
	invisibleUntil time.Time
	receipt        string
}

type fakeQueue struct {
	name, url, arn string
	visibility     int
	maxReceive     int
	dlqArn         string
	msgs           []*fakeMsg
}

type fakeSQS struct {
	mu     sync.Mutex
	queues map[string]*fakeQueue // by name
	srv    *httptest.Server
}

func startFakeSQS(t testing.TB) *fakeSQS {
	f := &fakeSQS{queues: map[string]*fakeQueue{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSQS) fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}

func (f *fakeSQS) byURL(u string) *fakeQueue {
	for _, q := range f.queues {
		if q.url == u {
			return q
		}
	}
	return nil
}

func (f *fakeSQS) byArn(a string) *fakeQueue {
	for _, q := range f.queues {
		if q.arn == a {
			return q
		}
	}
	return nil
}

func (f *fakeSQS) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var in struct {
		QueueName           string
		QueueUrl            string
		Attributes          map[string]string
		AttributeNames      []string
		MessageBody         string
		MessageAttributes   map[string]fakeAttr
		MaxNumberOfMessages int
		WaitTimeSeconds     int
		ReceiptHandle       string
		VisibilityTimeout   int
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, "InvalidParameterValue", err.Error())
		return
	}
	out, code, msg := f.do(r, op, in.QueueName, in.QueueUrl, in.Attributes, in.MessageBody, in.MessageAttributes, in.MaxNumberOfMessages, in.WaitTimeSeconds, in.ReceiptHandle, in.VisibilityTimeout)
	if code != "" {
		f.fail(w, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeSQS) do(r *http.Request, op, name, qurl string, attrs map[string]string, body string, mattrs map[string]fakeAttr, max, wait int, receipt string, vis int) (any, string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "CreateQueue":
		q := &fakeQueue{name: name, url: f.srv.URL + "/000000000000/" + name, arn: "arn:aws:sqs:us-east-1:000000000000:" + name, visibility: 30}
		if v, err := strconv.Atoi(attrs["VisibilityTimeout"]); err == nil {
			q.visibility = v
		}
		if rp := attrs["RedrivePolicy"]; rp != "" {
			var p struct {
				DeadLetterTargetArn string
				MaxReceiveCount     json.Number
			}
			if err := json.Unmarshal([]byte(rp), &p); err != nil {
				return nil, "InvalidAttributeValue", err.Error()
			}
			n, _ := p.MaxReceiveCount.Int64()
			q.dlqArn, q.maxReceive = p.DeadLetterTargetArn, int(n)
		}
		if old, ok := f.queues[name]; ok {
			q = old
		}
		f.queues[name] = q
		return map[string]string{"QueueUrl": q.url}, "", ""
	case "GetQueueUrl":
		q, ok := f.queues[name]
		if !ok {
			return nil, "QueueDoesNotExist", "no queue " + name
		}
		return map[string]string{"QueueUrl": q.url}, "", ""
	}
	q := f.byURL(qurl)
	if q == nil {
		return nil, "QueueDoesNotExist", "no queue " + qurl
	}
	switch op {
	case "GetQueueAttributes":
		visible, hidden := 0, 0
		for _, m := range q.msgs {
			if time.Now().Before(m.invisibleUntil) {
				hidden++
			} else {
				visible++
			}
		}
		return map[string]any{"Attributes": map[string]string{
			"VisibilityTimeout":                     strconv.Itoa(q.visibility),
			"QueueArn":                              q.arn,
			"ApproximateNumberOfMessages":           strconv.Itoa(visible),
			"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(hidden),
		}}, "", ""
	case "SendMessage":
		m := &fakeMsg{id: uuid.NewString(), body: body, attrs: mattrs}
		q.msgs = append(q.msgs, m)
		return map[string]string{"MessageId": m.id}, "", ""
	case "DeleteMessage":
		for i, m := range q.msgs {
			if m.receipt == receipt {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				break
			}
		}
		return map[string]string{}, "", ""
	case "ChangeMessageVisibility":
		for _, m := range q.msgs {
			if m.receipt == receipt {
				m.invisibleUntil = time.Now().Add(time.Duration(vis) * time.Second)
				return map[string]string{}, "", ""
			}
		}
		return nil, "ReceiptHandleIsInvalid", "bad receipt"
	case "ReceiveMessage":
		if max == 0 {
			max = 1
		}
		deadline := time.Now().Add(time.Duration(wait) * time.Second)
		for {
			got := f.receive(q, max)
			if len(got) > 0 || !time.Now().Before(deadline) {
				return map[string]any{"Messages": got}, "", ""
			}
			f.mu.Unlock()
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Millisecond):
			}
			f.mu.Lock()
			if r.Context().Err() != nil {
				return map[string]any{}, "", ""
			}
		}
	}
	return nil, "InvalidAction", fmt.Sprintf("unsupported %q", op)
}

func (f *fakeSQS) receive(q *fakeQueue, max int) []map[string]any {
	now := time.Now()
	var out []map[string]any
	kept := q.msgs[:0]
	var moved []*fakeMsg
	for _, m := range q.msgs {
		if len(out) >= max || now.Before(m.invisibleUntil) {
			kept = append(kept, m)
			continue
		}
		if q.maxReceive > 0 && m.receives >= q.maxReceive {
			moved = append(moved, m)
			continue
		}
		m.receives++
		m.invisibleUntil = now.Add(time.Duration(q.visibility) * time.Second)
		m.receipt = uuid.NewString()
		kept = append(kept, m)
		attrs := map[string]any{}
		for k, v := range m.attrs {
			attrs[k] = v
		}
		out = append(out, map[string]any{
			"MessageId": m.id, "ReceiptHandle": m.receipt, "Body": m.body,
			"Attributes":        map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)},
			"MessageAttributes": attrs,
		})
	}
	q.msgs = kept
	if dlq := f.byArn(q.dlqArn); dlq != nil {
		for _, m := range moved {
			m.receives, m.invisibleUntil = 0, time.Time{}
			dlq.msgs = append(dlq.msgs, m)
		}
	}
	return out
}
