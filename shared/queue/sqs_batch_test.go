package queue_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/shared/queue"
)

// flakySQS is a hand-written SQS (JSON 1.0) stand-in whose SendMessageBatch
// rejects chosen envelope IDs a given number of times, recording calls.
type flakySQS struct {
	mu       sync.Mutex
	rejects  map[string]int // envelope ID -> times left to reject
	batches  [][]string     // envelope IDs per SendMessageBatch call
	accepted map[string]int
}

func (f *flakySQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch target {
	case "AmazonSQS.GetQueueUrl":
		json.NewEncoder(w).Encode(map[string]string{"QueueUrl": "http://" + r.Host + "/000000000000/q"})
	case "AmazonSQS.SendMessageBatch":
		var in struct {
			Entries []struct{ Id, MessageBody string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		type fail struct {
			Id, Code, Message string
			SenderFault       bool
		}
		out := struct {
			Successful []ok
			Failed     []fail
		}{Successful: []ok{}, Failed: []fail{}}
		var ids []string
		for _, e := range in.Entries {
			var env queue.Envelope
			_ = json.Unmarshal([]byte(e.MessageBody), &env)
			ids = append(ids, env.ID)
			if f.rejects[env.ID] > 0 {
				f.rejects[env.ID]--
				out.Failed = append(out.Failed, fail{Id: e.Id, Code: "InternalError", Message: "try again"})
				continue
			}
			f.accepted[env.ID]++
			sum := md5.Sum([]byte(e.MessageBody)) // the SDK verifies it
			out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: "m-" + e.Id, MD5OfMessageBody: hex.EncodeToString(sum[:])})
		}
		f.batches = append(f.batches, ids)
		json.NewEncoder(w).Encode(out)
	default:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidAction", "message": target})
	}
}

func TestSQSPublisher_batch_failures(t *testing.T) {
	envs := make([]queue.Envelope, 25)
	for i := range envs {
		e, err := queue.NewEnvelope("receipt.requested", "", i)
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = e
	}
	tests := []struct {
		name       string
		rejects    map[string]int
		wantCalls  int
		wantFailed []string
	}{
		{name: "all_accepted_in_three_batches", wantCalls: 3},
		{name: "rejected_once_is_retried", rejects: map[string]int{envs[3].ID: 1, envs[24].ID: 1}, wantCalls: 5},
		{name: "rejected_twice_is_reported", rejects: map[string]int{envs[12].ID: 2}, wantCalls: 4, wantFailed: []string{envs[12].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &flakySQS{rejects: map[string]int{}, accepted: map[string]int{}}
			for k, v := range tt.rejects {
				fake.rejects[k] = v
			}
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			client := sqs.NewFromConfig(aws.Config{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
				BaseEndpoint: aws.String(srv.URL),
			})
			err := queue.NewSQSPublisher(client).PublishBatch(context.Background(), "q", envs)
			if len(fake.batches) != tt.wantCalls {
				t.Errorf("%d SendMessageBatch calls, want %d", len(fake.batches), tt.wantCalls)
			}
			for _, b := range fake.batches {
				if len(b) > 10 {
					t.Errorf("batch of %d entries, SQS allows 10", len(b))
				}
			}
			if len(tt.wantFailed) == 0 {
				if err != nil {
					t.Fatalf("PublishBatch: %v", err)
				}
				if len(fake.accepted) != len(envs) {
					t.Fatalf("%d envelopes accepted, want %d", len(fake.accepted), len(envs))
				}
				return
			}
			if err == nil {
				t.Fatal("PublishBatch succeeded despite rejected entries")
			}
			for _, id := range tt.wantFailed {
				if !strings.Contains(err.Error(), id) {
					t.Errorf("error %q does not name failed id %s", err, id)
				}
			}
			if errors.Is(err, queue.ErrNoSuchQueue) {
				t.Errorf("error %v wrongly says the queue is missing", err)
			}
			if len(fake.accepted) != len(envs)-len(tt.wantFailed) {
				t.Errorf("%d envelopes accepted, want %d", len(fake.accepted), len(envs)-len(tt.wantFailed))
			}
		})
	}
}
