package queue

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// fakeSQS is a hand-written SQS (JSON 1.0) stand-in for the Batcher's
// tests: SendMessageBatch answers per entry as told (reject an envelope ID
// with a code and fault, leave it out of the answer, fail the whole
// request), requests can be held at a gate, and every call is recorded.
type fakeSQS struct {
	mu sync.Mutex
	// reject maps an envelope ID to the Failed entry given for it.
	reject map[string]fakeReject
	// omit lists envelope IDs left out of the answer.
	omit map[string]bool
	// failRequest, when set for the n-th SendMessageBatch (1-based), is the
	// error code of that whole request (answered 400).
	failRequest map[int]string
	// failSend lists envelope IDs whose SendMessage fails (400).
	failSend map[string]bool
	// gate, when set, holds every SendMessageBatch until it is closed (or
	// the request's context ends).
	gate chan struct{}

	batches  [][]string // envelope IDs per SendMessageBatch
	bytes    []int      // payload bytes per SendMessageBatch
	sends    []string   // envelope IDs of SendMessage calls
	accepted map[string]int
	attrs    map[string]map[string]string // envelope ID -> attributes seen
	arrived  chan struct{}                // one token per SendMessageBatch received
}

type fakeReject struct {
	code        string
	senderFault bool
}

func newFakeSQS() *fakeSQS {
	return &fakeSQS{reject: map[string]fakeReject{}, omit: map[string]bool{}, failRequest: map[int]string{},
		failSend: map[string]bool{}, accepted: map[string]int{}, attrs: map[string]map[string]string{},
		arrived: make(chan struct{}, 1000)}
}

type fakeAttr struct {
	DataType    string
	StringValue string
}

type fakeEntry struct {
	Id                string
	MessageBody       string
	MessageAttributes map[string]fakeAttr
}

func envID(body string) string {
	var e Envelope
	_ = json.Unmarshal([]byte(body), &e)
	return e.ID
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	fail := func(code string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": "fake says " + code})
	}
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	switch target {
	case "AmazonSQS.GetQueueUrl":
		json.NewEncoder(w).Encode(map[string]string{"QueueUrl": "http://" + r.Host + "/000000000000/q"})
	case "AmazonSQS.SendMessage":
		var in fakeEntry
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail("InvalidParameterValue")
			return
		}
		id := envID(in.MessageBody)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sends = append(f.sends, id)
		if f.failSend[id] {
			fail("InvalidParameterValue")
			return
		}
		f.record(id, in)
		sum := md5.Sum([]byte(in.MessageBody))
		json.NewEncoder(w).Encode(ok{MessageId: "m-" + id, MD5OfMessageBody: hex.EncodeToString(sum[:])})
	case "AmazonSQS.SendMessageBatch":
		var in struct{ Entries []fakeEntry }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail("InvalidParameterValue")
			return
		}
		f.arrived <- struct{}{}
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		var ids []string
		size := 0
		for _, e := range in.Entries {
			ids = append(ids, envID(e.MessageBody))
			size += len(e.MessageBody)
			for k, a := range e.MessageAttributes {
				size += len(k) + len(a.DataType) + len(a.StringValue)
			}
		}
		f.batches = append(f.batches, ids)
		f.bytes = append(f.bytes, size)
		if code := f.failRequest[len(f.batches)]; code != "" {
			fail(code)
			return
		}
		type failed struct {
			Id, Code, Message string
			SenderFault       bool
		}
		out := struct {
			Successful []ok
			Failed     []failed
		}{Successful: []ok{}, Failed: []failed{}}
		for i, e := range in.Entries {
			id := ids[i]
			if rej, found := f.reject[id]; found {
				out.Failed = append(out.Failed, failed{Id: e.Id, Code: rej.code, Message: "fake rejects", SenderFault: rej.senderFault})
				continue
			}
			if f.omit[id] {
				continue // as if the entry were lost
			}
			f.record(id, e)
			sum := md5.Sum([]byte(e.MessageBody)) // the SDK verifies it
			out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: "m-" + e.Id, MD5OfMessageBody: hex.EncodeToString(sum[:])})
		}
		json.NewEncoder(w).Encode(out)
	default:
		fail("InvalidAction")
	}
}

// record notes an accepted message. The caller holds f.mu.
func (f *fakeSQS) record(id string, e fakeEntry) {
	f.accepted[id]++
	a := map[string]string{}
	for k, v := range e.MessageAttributes {
		a[k] = v.StringValue
	}
	f.attrs[id] = a
}

func (f *fakeSQS) batchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []int
	for _, b := range f.batches {
		n = append(n, len(b))
	}
	return n
}

func newTestBatcher(t *testing.T, f *fakeSQS) *Batcher {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sqs.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	return NewBatcher(NewSQSPublisher(client), BatcherOptions{})
}

// waitPending waits until n publishes wait in b's only queue.
func waitPending(t *testing.T, b *Batcher, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		got := 0
		for _, q := range b.queues {
			q.mu.Lock()
			got += len(q.pending)
			q.mu.Unlock()
		}
		b.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d publishes never waited together", n)
}

func testEnvelopes(t testing.TB, n int, payloadBytes int) []Envelope {
	envs := make([]Envelope, n)
	for i := range envs {
		e, err := NewEnvelope("application.submitted", fmt.Sprintf("call-%d", i), map[string]any{"seq": i, "pad": strings.Repeat("x", payloadBytes)})
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = e
	}
	return envs
}

// publishGrouped publishes envs[0] alone while the fake holds it, then the
// rest while it is in flight (so they wait together), then opens the gate;
// it returns each publish's result.
func publishGrouped(t *testing.T, f *fakeSQS, b *Batcher, envs []Envelope) []error {
	t.Helper()
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = b.Publish(context.Background(), "q", envs[0]) })
	<-f.arrived
	for i := 1; i < len(envs); i++ {
		wg.Go(func() { errs[i] = b.Publish(context.Background(), "q", envs[i]) })
	}
	waitPending(t, b, len(envs)-1)
	close(gate)
	wg.Wait()
	return errs
}

func TestBatcher_entry_results_go_to_their_callers(t *testing.T) {
	envs := testEnvelopes(t, 10, 10)
	tests := []struct {
		name        string
		setup       func(f *fakeSQS)
		wantBatches []int
		wantFail    map[int]string // env index -> text its error contains
		wantNoSuch  bool
		wantDirect  int64
		wantSends   int
	}{
		{name: "all_acknowledged", wantBatches: []int{1, 9}},
		{
			name:        "sender_fault_fails_only_its_caller",
			setup:       func(f *fakeSQS) { f.reject[envs[4].ID] = fakeReject{code: "InvalidMessageContents", senderFault: true} },
			wantBatches: []int{1, 9},
			wantFail:    map[int]string{4: "InvalidMessageContents"},
		},
		{
			name:        "server_fault_is_retried_alone",
			setup:       func(f *fakeSQS) { f.reject[envs[7].ID] = fakeReject{code: "InternalError"} },
			wantBatches: []int{1, 9}, wantDirect: 1, wantSends: 1,
		},
		{
			name: "server_fault_then_failed_retry_fails_its_caller",
			setup: func(f *fakeSQS) {
				f.reject[envs[2].ID] = fakeReject{code: "InternalError"}
				f.failSend[envs[2].ID] = true
			},
			wantBatches: []int{1, 9}, wantDirect: 1, wantSends: 1,
			wantFail: map[int]string{2: "InternalError"},
		},
		{
			name:        "missing_from_answer_is_retried_alone",
			setup:       func(f *fakeSQS) { f.omit[envs[9].ID] = true },
			wantBatches: []int{1, 9}, wantDirect: 1, wantSends: 1,
		},
		{
			name:        "failed_request_fails_every_caller_in_it",
			setup:       func(f *fakeSQS) { f.failRequest[2] = "InvalidParameterValue" },
			wantBatches: []int{1, 9},
			wantFail: map[int]string{1: "InvalidParameterValue", 2: "InvalidParameterValue", 3: "InvalidParameterValue",
				4: "InvalidParameterValue", 5: "InvalidParameterValue", 6: "InvalidParameterValue", 7: "InvalidParameterValue",
				8: "InvalidParameterValue", 9: "InvalidParameterValue"},
		},
		{
			name:        "missing_queue_is_err_no_such_queue",
			setup:       func(f *fakeSQS) { f.failRequest[2] = "AWS.SimpleQueueService.NonExistentQueue" },
			wantBatches: []int{1, 9},
			wantFail: map[int]string{1: "NonExistentQueue", 2: "NonExistentQueue", 3: "NonExistentQueue",
				4: "NonExistentQueue", 5: "NonExistentQueue", 6: "NonExistentQueue", 7: "NonExistentQueue",
				8: "NonExistentQueue", 9: "NonExistentQueue"},
			wantNoSuch: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS()
			if tt.setup != nil {
				tt.setup(f)
			}
			b := newTestBatcher(t, f)
			errs := publishGrouped(t, f, b, envs)
			if got := fmt.Sprint(f.batchSizes()); got != fmt.Sprint(tt.wantBatches) {
				t.Errorf("batch sizes %s, want %v", got, tt.wantBatches)
			}
			for i, err := range errs {
				want, fails := tt.wantFail[i]
				switch {
				case !fails && err != nil:
					t.Errorf("publish %d: %v, want nil", i, err)
				case fails && (err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), envs[i].ID)):
					t.Errorf("publish %d: %v, want an error naming %s and %s", i, err, want, envs[i].ID)
				case fails && errors.Is(err, ErrNoSuchQueue) != tt.wantNoSuch:
					t.Errorf("publish %d: errors.Is(%v, ErrNoSuchQueue) = %v", i, err, !tt.wantNoSuch)
				}
				if !fails && f.accepted[envs[i].ID] != 1 {
					t.Errorf("envelope %d accepted %d times, want 1", i, f.accepted[envs[i].ID])
				}
				if !fails {
					want := map[string]string{AttrEventType: envs[i].Type, AttrEventID: envs[i].ID, AttrCorrelationID: envs[i].CorrelationID}
					if fmt.Sprint(f.attrs[envs[i].ID]) != fmt.Sprint(want) {
						t.Errorf("envelope %d attributes %v, want %v", i, f.attrs[envs[i].ID], want)
					}
				}
			}
			if st := b.Stats(); st.Direct != tt.wantDirect || st.Requests != int64(len(tt.wantBatches)) {
				t.Errorf("stats %+v, want %d requests and %d direct", st, len(tt.wantBatches), tt.wantDirect)
			}
			if len(f.sends) != tt.wantSends {
				t.Errorf("%d SendMessage calls, want %d", len(f.sends), tt.wantSends)
			}
		})
	}
}

func TestBatcher_respects_size_limits(t *testing.T) {
	tests := []struct {
		name        string
		n, payload  int
		wantBatches []int
		wantDirect  int64
	}{
		// 1 leader, then 24 waiting: 10 + 10 + 4.
		{name: "ten_entries_per_request", n: 25, payload: 10, wantBatches: []int{1, 10, 10, 4}},
		// ~60 KiB each: four fit in 256 KiB, a fifth does not.
		{name: "bytes_per_request", n: 9, payload: 60 << 10, wantBatches: []int{1, 4, 4}},
		// Over 256 KiB alone: SendMessage, never in a batch.
		{name: "oversized_envelope_sent_alone", n: 1, payload: MaxBatchBytes, wantDirect: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSQS()
			b := newTestBatcher(t, f)
			envs := testEnvelopes(t, tt.n, tt.payload)
			var errs []error
			if tt.n == 1 {
				errs = []error{b.Publish(context.Background(), "q", envs[0])}
			} else {
				// MaxInFlight 1 so the split is deterministic.
				b.maxInFlight = 1
				errs = publishGrouped(t, f, b, envs)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("publish %d: %v", i, err)
				}
			}
			if got := fmt.Sprint(f.batchSizes()); got != fmt.Sprint(tt.wantBatches) {
				t.Errorf("batch sizes %s, want %v", got, tt.wantBatches)
			}
			for i, n := range f.bytes {
				if n > MaxBatchBytes {
					t.Errorf("request %d carried %d bytes, limit %d", i, n, MaxBatchBytes)
				}
			}
			if b.Stats().Direct != tt.wantDirect || len(f.accepted) != tt.n {
				t.Errorf("stats %+v, %d accepted; want %d direct, %d accepted", b.Stats(), len(f.accepted), tt.wantDirect, tt.n)
			}
		})
	}
}

func TestBatcher_full_batch_starts_another_request(t *testing.T) {
	f := newFakeSQS()
	b := newTestBatcher(t, f)
	envs := testEnvelopes(t, 11, 10)
	gate := make(chan struct{})
	f.gate = gate
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Publish(context.Background(), "q", envs[0]) })
	<-f.arrived
	for i := 1; i < len(envs); i++ {
		wg.Go(func() { _ = b.Publish(context.Background(), "q", envs[i]) })
	}
	// The 10 waiting make a full batch: it goes while the first is held.
	select {
	case <-f.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch waited for the request in flight")
	}
	close(gate)
	wg.Wait()
	if got := fmt.Sprint(f.batchSizes()); got != "[1 10]" && got != "[10 1]" {
		t.Errorf("batch sizes %s, want 1 and 10", got)
	}
}

func TestBatcher_cancellation_does_not_hurt_the_others(t *testing.T) {
	t.Run("cancelled_while_waiting_is_dropped", func(t *testing.T) {
		f := newFakeSQS()
		b := newTestBatcher(t, f)
		envs := testEnvelopes(t, 4, 10)
		gate := make(chan struct{})
		f.gate = gate
		errs := make([]error, len(envs))
		var wg sync.WaitGroup
		wg.Go(func() { errs[0] = b.Publish(context.Background(), "q", envs[0]) })
		<-f.arrived
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan error, 1)
		go func() { cancelled <- b.Publish(ctx, "q", envs[1]) }()
		for i := 2; i < len(envs); i++ {
			wg.Go(func() { errs[i] = b.Publish(context.Background(), "q", envs[i]) })
		}
		waitPending(t, b, 3)
		cancel()
		if err := <-cancelled; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled publish: %v, want context.Canceled", err)
		}
		waitPending(t, b, 2)
		close(gate)
		wg.Wait()
		for i, err := range errs {
			if i != 1 && err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
		}
		if f.accepted[envs[1].ID] != 0 || len(f.accepted) != 3 {
			t.Errorf("accepted %v: want the three others, not the cancelled one", f.accepted)
		}
	})
	t.Run("cancelled_in_flight_keeps_the_request", func(t *testing.T) {
		f := newFakeSQS()
		b := newTestBatcher(t, f)
		envs := testEnvelopes(t, 4, 10)
		gate := make(chan struct{})
		f.gate = gate
		errs := make([]error, len(envs))
		var wg sync.WaitGroup
		wg.Go(func() { errs[0] = b.Publish(context.Background(), "q", envs[0]) })
		<-f.arrived
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan error, 1)
		go func() { cancelled <- b.Publish(ctx, "q", envs[1]) }()
		waitPending(t, b, 1)
		for i := 2; i < len(envs); i++ {
			wg.Go(func() { errs[i] = b.Publish(context.Background(), "q", envs[i]) })
		}
		waitPending(t, b, 3)
		// Hold the second request (envelopes 1..3), then cancel one of
		// its callers: it returns at once, the request goes on.
		gate2 := make(chan struct{})
		f.mu.Lock()
		f.gate = gate2
		f.mu.Unlock()
		close(gate)
		<-f.arrived
		cancel()
		if err := <-cancelled; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled publish: %v, want context.Canceled", err)
		}
		close(gate2)
		wg.Wait()
		for i, err := range errs {
			if i != 1 && err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
		}
		if got := fmt.Sprint(f.batchSizes()); got != "[1 3]" {
			t.Errorf("batch sizes %s, want [1 3]", got)
		}
		if len(f.accepted) != 4 {
			t.Errorf("accepted %v, want all four (the request was not cancelled)", f.accepted)
		}
	})
	t.Run("request_ends_when_all_its_callers_gave_up", func(t *testing.T) {
		f := newFakeSQS()
		b := newTestBatcher(t, f)
		envs := testEnvelopes(t, 1, 10)
		gate := make(chan struct{})
		t.Cleanup(func() { close(gate) })
		f.gate = gate
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Publish(ctx, "q", envs[0]) }()
		<-f.arrived
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("publish: %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the request outlived its only caller's context")
		}
		// The queue is idle again: the next publish leads at once.
		f.mu.Lock()
		f.gate = nil
		f.mu.Unlock()
		next := testEnvelopes(t, 1, 10)[0]
		if err := b.Publish(context.Background(), "q", next); err != nil {
			t.Fatalf("publish after a cancelled one: %v", err)
		}
	})
}

// FuzzSplitBatch checks the batch splitting on arbitrary entry sizes: every
// entry goes exactly once and in order, each batch has 1 to 10 entries and
// at most MaxBatchBytes, and a batch ends only when full (10 entries, or the
// next entry would not fit) or at the end.
func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte{1, 2, 3})
	f.Add(make([]byte, 25))
	f.Add([]byte{255, 255, 255, 255, 255, 0, 128, 64})
	f.Fuzz(func(t *testing.T, seed []byte) {
		sizes := make([]int, len(seed))
		for i, c := range seed {
			// Spread over 0..MaxBatchBytes, with small and huge entries.
			sizes[i] = int(c) * MaxBatchBytes / 255
			if c%3 == 0 {
				sizes[i] = int(c)
			}
		}
		rest := sizes
		for len(rest) > 0 {
			n, bytes := splitBatch(rest, func(s int) int { return s })
			if n < 1 || n > maxBatch {
				t.Fatalf("batch of %d entries from %v", n, rest)
			}
			sum := 0
			for _, s := range rest[:n] {
				sum += s
			}
			if sum != bytes || bytes > MaxBatchBytes {
				t.Fatalf("batch %v: bytes %d (sum %d), limit %d", rest[:n], bytes, sum, MaxBatchBytes)
			}
			if n < maxBatch && n < len(rest) && bytes+rest[n] <= MaxBatchBytes {
				t.Fatalf("batch %v stopped before %d, which fits", rest[:n], rest[n])
			}
			rest = rest[n:]
		}
	})
}
