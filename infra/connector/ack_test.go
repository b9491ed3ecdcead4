package connector

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// batchSQS records DeleteMessageBatch calls; the first call waits for
// release, so deletes arriving meanwhile queue up behind it.
type batchSQS struct {
	sqsAPI
	mu      sync.Mutex
	calls   [][]string // receipt handles per call
	release chan struct{}
	fail    map[string]string // handle -> error code
	callErr error
}

func (f *batchSQS) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	first := len(f.calls) == 0
	var hs []string
	for _, e := range in.Entries {
		hs = append(hs, aws.ToString(e.ReceiptHandle))
	}
	f.calls = append(f.calls, hs)
	f.mu.Unlock()
	if first && f.release != nil {
		<-f.release
	}
	if f.callErr != nil {
		return nil, f.callErr
	}
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		if code, ok := f.fail[aws.ToString(e.ReceiptHandle)]; ok {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), Message: aws.String("no"), SenderFault: true})
			continue
		}
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (f *batchSQS) callSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []int
	for _, c := range f.calls {
		n = append(n, len(c))
	}
	return n
}

func TestAcker_deletes_that_arrive_during_a_batch_share_the_next(t *testing.T) {
	f := &batchSQS{release: make(chan struct{})}
	a := &acker{sqs: f, url: "q"}
	ctx := context.Background()
	errs := make(chan error, 16)
	go func() { errs <- a.delete(ctx, aws.String("h0")) }()
	waitFor(t, "first batch on the wire", func() bool { return len(f.callSizes()) == 1 })
	for i := 1; i <= 12; i++ {
		go func() { errs <- a.delete(ctx, aws.String("h"+string(rune('a'+i)))) }()
	}
	waitFor(t, "12 deletes queued", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.pending) == 12
	})
	close(f.release)
	for range 13 {
		if err := <-errs; err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	got := f.callSizes()
	if len(got) != 3 || got[0] != 1 || got[1] != maxDeletesPerBatch || got[2] != 2 {
		t.Fatalf("batch sizes %v, want [1 10 2]", got)
	}
	// The loop answers the last batch before it looks at pending again and
	// stops: it must stop, with nothing left, but a moment after the answers.
	waitFor(t, "acker loop stopped with nothing pending", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return !a.running && len(a.pending) == 0
	})
}

func TestAcker_answers_each_entry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    map[string]string
		callErr error
		wantErr map[string]bool
	}{
		{"all_deleted", nil, nil, map[string]bool{"a": false, "b": false}},
		{"one_entry_refused", map[string]string{"b": "ReceiptHandleIsInvalid"}, nil, map[string]bool{"a": false, "b": true}},
		{"call_failed", nil, errors.New("connection refused"), map[string]bool{"a": true, "b": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &batchSQS{fail: tc.fail, callErr: tc.callErr}
			a := &acker{sqs: f, url: "q"}
			a.running = true // hold the loop so both land in one batch
			type res struct {
				h   string
				err error
			}
			out := make(chan res, 2)
			for _, h := range []string{"a", "b"} {
				go func() { out <- res{h, a.delete(context.Background(), aws.String(h))} }()
			}
			waitFor(t, "both queued", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return len(a.pending) == 2 })
			go a.loop()
			for range 2 {
				r := <-out
				if (r.err != nil) != tc.wantErr[r.h] {
					t.Errorf("delete %s: %v, want error %v", r.h, r.err, tc.wantErr[r.h])
				}
			}
			if got := f.callSizes(); len(got) != 1 || got[0] != 2 {
				t.Fatalf("batch sizes %v, want [2]", got)
			}
		})
	}
}

func TestAcker_wait_is_bounded_by_the_context(t *testing.T) {
	f := &batchSQS{release: make(chan struct{})}
	defer close(f.release)
	a := &acker{sqs: f, url: "q"}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.delete(ctx, aws.String("h")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delete = %v, want the context's deadline", err)
	}
}
