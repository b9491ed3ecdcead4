package kinds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/infra/stackfile"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt/book"
	"motcua/shared/reconcile"
	"motcua/shared/stats"
)

// runJob plans, checks the dry run, confirms and drains a job of kind k.
func runJob(t *testing.T, store docstore.Store, k jobs.Kind, scope jobs.Scope, rate float64) (jobs.Job, []jobs.Item) {
	t.Helper()
	q := queue.NewMemQueue()
	q.CreateQueue(jobs.DefaultQueue, time.Hour, 3)
	svc := jobs.New(store, q, jobs.NewRegistry(k), jobs.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	ctx := context.Background()
	admin := jobs.Actor{Subject: "admin1"}
	j, err := svc.Plan(ctx, admin, jobs.StartRequest{Kind: k.Name(), Scope: scope, Rate: rate}, "")
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var planned []jobs.Item
	if err := k.Plan(ctx, scope, func(it jobs.Item) error { planned = append(planned, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Confirm(ctx, admin, j.ID, ""); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	for {
		msgs, _ := q.Receive(ctx, jobs.DefaultQueue, 10, 0)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if err := svc.Handle(ctx, []byte(m.Body), m.ReceiveCount); err != nil {
				_ = q.ChangeVisibility(ctx, jobs.DefaultQueue, m.ReceiptHandle, 0)
				continue
			}
			_ = q.Delete(ctx, jobs.DefaultQueue, m.ReceiptHandle)
		}
	}
	got, err := svc.Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got, planned
}

func TestRepublishOutbox(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("d")
	pub := queue.NewMemQueue("application-events")
	for i := range 5 {
		env, _ := queue.NewEnvelope("application.submitted", "", map[string]int{"n": i})
		code := ""
		if i == 4 {
			code = "STP-260101-0001" // its application was never written: discarded
		}
		if err := application.StageOutbox(ctx, store, "application-events", env, code); err != nil {
			t.Fatal(err)
		}
	}
	later := func() time.Time { return time.Now().Add(time.Hour) }
	k := &RepublishOutbox{Outbox: DefaultOutbox(store, pub), Now: later}
	got, planned := runJob(t, store, k, jobs.Scope{OlderThan: "10m"}, 0)
	if got.Plan.Total != 5 || len(planned) != 5 || got.Plan.Actions["republish"] != 5 {
		t.Fatalf("dry run %+v, planned %d", got.Plan, len(planned))
	}
	if got.Status != jobs.StatusCompleted || got.Progress.Done != 5 {
		t.Fatalf("%s %+v", got.Status, got.Progress)
	}
	if n := len(pub.Published("application-events")); n != 4 {
		t.Fatalf("published %d events, want 4", n)
	}
	if page, _ := store.List(ctx, application.OutboxPrefix, "", 10); len(page.Entries) != 0 {
		t.Fatalf("markers left: %v", page.Entries)
	}
	again, _ := runJob(t, store, k, jobs.Scope{OlderThan: "10m"}, 0)
	if again.Plan.Total != 0 || len(pub.Published("application-events")) != 4 {
		t.Fatalf("second run planned %d, published %d", again.Plan.Total, len(pub.Published("application-events")))
	}
	// Younger markers are left to their requests.
	env, _ := queue.NewEnvelope("application.submitted", "", nil)
	_ = application.StageOutbox(ctx, store, "application-events", env, "")
	k.Now = time.Now
	young, _ := runJob(t, store, k, jobs.Scope{}, 0)
	if young.Plan.Total != 0 {
		t.Fatalf("a fresh marker was planned")
	}
}

func TestScopeChecks(t *testing.T) {
	tests := []struct {
		name  string
		kind  jobs.Kind
		scope jobs.Scope
		field string
	}{
		{"outbox_bad_duration", &RepublishOutbox{}, jobs.Scope{OlderThan: "soon"}, "scope.olderThan"},
		{"outbox_queue_not_used", &RepublishOutbox{}, jobs.Scope{Queue: "x"}, "scope.queue"},
		{"payments_bad_mode", &ReconcilePayments{}, jobs.Scope{Mode: "all"}, "scope.mode"},
		{"payments_bad_date", &ReconcilePayments{}, jobs.Scope{From: "2026-13-01"}, "scope.from"},
		{"payments_reversed_range", &ReconcilePayments{}, jobs.Scope{From: "2026-12-02", To: "2026-12-01"}, "scope.to"},
		{"settlement_needs_file", &ReconcilePayments{}, jobs.Scope{Mode: "settlement"}, "scope.file"},
		{"settlement_bad_file", &ReconcilePayments{}, jobs.Scope{Mode: "settlement", File: "../x"}, "scope.file"},
		{"settlement_no_dates", &ReconcilePayments{}, jobs.Scope{Mode: "settlement", File: "f.csv", From: "2026-12-01"}, "scope.from"},
		{"unfinished_no_dates", &ReconcilePayments{}, jobs.Scope{Mode: "unfinished", From: "2026-12-01"}, "scope.from"},
		{"unfinished_bad_duration", &ReconcilePayments{}, jobs.Scope{Mode: "unfinished", OlderThan: "later"}, "scope.olderThan"},
		{"redrive_bad_queue", &RedriveDLQ{}, jobs.Scope{Queue: "a/b"}, "scope.queue"},
		{"redrive_negative_limit", &RedriveDLQ{}, jobs.Scope{Limit: -1}, "scope.limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.kind.Check(tt.scope)
			var fe *jobs.Error
			if !errors.As(err, &fe) || !errors.Is(err, jobs.ErrBadScope) || fe.Param() != tt.field {
				t.Fatalf("Check = %v, want invalid_scope on %s", err, tt.field)
			}
		})
	}
}

func TestReconcilePayments_unfinished_plans_recent_paid_unapplied_only(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("d")
	put := func(state payment.State, applied bool) string {
		ref, err := payment.NewRef()
		if err != nil {
			t.Fatal(err)
		}
		p := payment.Payment{Ref: ref, ApplicationCode: "STP-261203-0001", AmountVND: 50000, Method: payment.MethodVNPay, State: state, Applied: applied}
		if _, err := docstore.PutJSON(ctx, store, payment.Prefix+ref+".json", p, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	unfinished := put(payment.StatePaid, false)
	put(payment.StatePaid, true) // finished
	put(payment.StatePending, false)
	if _, err := store.Put(ctx, payment.Prefix+"MC-not/a-payment.json", []byte("{}"), docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	plan := func(now time.Time, olderThan string) []string {
		k := &ReconcilePayments{Store: store, Now: func() time.Time { return now }}
		scope := jobs.Scope{Mode: ModeUnfinished, OlderThan: olderThan}
		if err := k.Check(scope); err != nil {
			t.Fatal(err)
		}
		var keys []string
		if err := k.Plan(ctx, scope, func(it jobs.Item) error { keys = append(keys, it.Key+":"+it.Action); return nil }); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	now := time.Now()
	tests := []struct {
		name      string
		now       time.Time
		olderThan string
		want      string
	}{
		{"default_minute_later", now.Add(2 * time.Minute), "", unfinished + ":finish"},
		{"too_young_left_to_its_follow_up", now, "1m", ""},
		{"older_than_the_window_left_to_mode_pending", now.Add(UnfinishedWindow + time.Hour), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(plan(tt.now, tt.olderThan), ","); got != tt.want {
				t.Fatalf("plan = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeReconciler answers CheckPayment by reference and records calls.
type fakeReconciler struct {
	mu    sync.Mutex
	calls map[string]int
	out   map[string]reconcile.PendingItem
}

func (f *fakeReconciler) CheckPayment(_ context.Context, ref string) (reconcile.PendingItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ref]++
	it, ok := f.out[ref]
	if !ok {
		return reconcile.PendingItem{}, fmt.Errorf("payment %s: %w", ref, docstore.ErrNotFound)
	}
	return it, nil
}

func (f *fakeReconciler) MatchLine(context.Context, reconcile.SettlementLine) reconcile.Item {
	return reconcile.Item{Outcome: reconcile.OutcomeOK, Action: reconcile.ActionNone}
}

func TestReconcilePayments_pending_plan_and_outcomes(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("d")
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	put := func(ref, app string, state payment.State, created time.Time, applied bool) {
		p := payment.Payment{Ref: ref, ApplicationCode: app, AmountVND: 50000, Method: payment.MethodVNPay, State: state,
			CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute), Applied: applied}
		if _, err := docstore.PutJSON(ctx, store, payment.Prefix+ref+".json", p, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	day1 := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	put("MC0001", "STP-261201-0001", payment.StatePending, day1, false)
	put("MC0002", "STP-261201-0002", payment.StatePending, day1, false)
	put("MC0003", "STP-261201-0003", payment.StatePaid, day1, false) // follow-up unfinished
	put("MC0004", "STP-261201-0004", payment.StatePaid, day1, true)  // settled: not planned
	put("MC0005", "SXD-261201-0001", payment.StatePending, day1, false)
	put("MC0006", "STP-261203-0001", payment.StatePending, now.Add(-time.Minute), false) // too young
	put("MC0007", "STP-261120-0001", payment.StatePending, time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), false)
	f := &fakeReconciler{calls: map[string]int{}, out: map[string]reconcile.PendingItem{
		"MC0001": {Outcome: reconcile.PendingConfirmed, StateAfter: payment.StatePaid},
		"MC0002": {Outcome: reconcile.PendingAmountMismatch, AmountVND: 50000, ProviderAmountVND: 5000},
		"MC0003": {Outcome: reconcile.PendingRepaired, StateAfter: payment.StatePaid},
	}}
	k := &ReconcilePayments{Store: store, Reconciler: f, Now: func() time.Time { return now }}
	got, planned := runJob(t, store, k, jobs.Scope{From: "2026-12-01", To: "2026-12-03", Agency: "STP"}, 0)
	var keys []string
	for _, it := range planned {
		keys = append(keys, it.Key+":"+it.Action)
	}
	if strings.Join(keys, ",") != "MC0001:check,MC0002:check,MC0003:finish" {
		t.Fatalf("planned %v", keys)
	}
	if got.Progress != (jobs.Progress{Total: 3, Done: 2, Failed: 1}) {
		t.Fatalf("progress %+v", got.Progress)
	}
	for ref, n := range f.calls {
		if n != 1 {
			t.Fatalf("%s checked %d times", ref, n)
		}
	}
}

// fakeSQS is an in-memory SQSAPI with message-move tasks that move at
// once (rate ignored) unless hold is set.
type fakeSQS struct {
	mu     sync.Mutex
	depth  map[string]int64
	tasks  map[string][]types.ListMessageMoveTasksResultEntry // by source ARN, newest first
	starts int
	hold   bool
}

func arn(name string) string { return "arn:aws:sqs:us-east-1:000000000000:" + name }

func (f *fakeSQS) ListQueues(context.Context, *sqs.ListQueuesInput, ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var urls []string
	for n := range f.depth {
		urls = append(urls, "http://sqs/000000000000/"+n)
	}
	return &sqs.ListQueuesOutput{QueueUrls: urls}, nil
}
func (f *fakeSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.depth[*in.QueueName]; !ok {
		return nil, &types.QueueDoesNotExist{}
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("http://sqs/000000000000/" + *in.QueueName)}, nil
}
func (f *fakeSQS) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := (*in.QueueUrl)[strings.LastIndex(*in.QueueUrl, "/")+1:]
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"QueueArn": arn(n),
		"ApproximateNumberOfMessages": fmt.Sprint(f.depth[n]), "ApproximateNumberOfMessagesNotVisible": "0"}}, nil
}
func (f *fakeSQS) StartMessageMoveTask(_ context.Context, in *sqs.StartMessageMoveTaskInput, _ ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	src := strings.TrimPrefix(*in.SourceArn, arn(""))
	h := fmt.Sprintf("task-%d", f.starts)
	e := types.ListMessageMoveTasksResultEntry{TaskHandle: &h, SourceArn: in.SourceArn, Status: aws.String(moveRunning),
		MaxNumberOfMessagesPerSecond: in.MaxNumberOfMessagesPerSecond, ApproximateNumberOfMessagesToMove: aws.Int64(f.depth[src])}
	if !f.hold {
		e.Status, e.ApproximateNumberOfMessagesMoved = aws.String(moveCompleted), f.depth[src]
		f.depth[strings.TrimSuffix(src, DLQSuffix)] += f.depth[src]
		f.depth[src] = 0
	}
	f.tasks[*in.SourceArn] = append([]types.ListMessageMoveTasksResultEntry{e}, f.tasks[*in.SourceArn]...)
	return &sqs.StartMessageMoveTaskOutput{TaskHandle: &h}, nil
}
func (f *fakeSQS) ListMessageMoveTasks(_ context.Context, in *sqs.ListMessageMoveTasksInput, _ ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.tasks[*in.SourceArn]
	if len(ts) > 1 {
		ts = ts[:1]
	}
	return &sqs.ListMessageMoveTasksOutput{Results: append([]types.ListMessageMoveTasksResultEntry(nil), ts...)}, nil
}
func (f *fakeSQS) CancelMessageMoveTask(context.Context, *sqs.CancelMessageMoveTaskInput, ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error) {
	return &sqs.CancelMessageMoveTaskOutput{}, nil
}

func TestRedriveDLQ(t *testing.T) {
	f := &fakeSQS{tasks: map[string][]types.ListMessageMoveTasksResultEntry{}, depth: map[string]int64{
		"payment-events": 0, "payment-events-dlq": 7, "application-events": 0, "application-events-dlq": 0,
	}}
	store := docstore.NewMemStore("d")
	k := &RedriveDLQ{SQS: f, Poll: time.Millisecond}
	got, planned := runJob(t, store, k, jobs.Scope{}, 100)
	if len(planned) != 1 || planned[0].Key != "payment-events-dlq" || got.Progress.Done != 1 {
		t.Fatalf("planned %v, progress %+v", planned, got.Progress)
	}
	if f.depth["payment-events"] != 7 || f.depth["payment-events-dlq"] != 0 || f.starts != 1 {
		t.Fatalf("depths %v, %d task(s)", f.depth, f.starts)
	}
	if r := f.tasks[arn("payment-events-dlq")][0].MaxNumberOfMessagesPerSecond; aws.ToInt32(r) != 100 {
		t.Fatalf("rate %v, want 100", aws.ToInt32(r))
	}
	again, _ := runJob(t, store, k, jobs.Scope{}, 0)
	if again.Plan.Total != 0 || f.starts != 1 {
		t.Fatalf("second run planned %d, tasks %d", again.Plan.Total, f.starts)
	}
	// A task left running by a crashed worker is resumed, not doubled.
	f.depth["payment-events-dlq"] = 3
	f.hold = true
	if _, err := f.StartMessageMoveTask(context.Background(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(arn("payment-events-dlq"))}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.mu.Lock()
		ts := f.tasks[arn("payment-events-dlq")]
		ts[0].Status, ts[0].ApproximateNumberOfMessagesMoved = aws.String(moveCompleted), 3
		f.mu.Unlock()
	}()
	res, err := k.Apply(context.Background(), jobs.Scope{Queue: "payment-events"}, jobs.Item{Key: "payment-events-dlq"})
	if err != nil || res.Outcome != jobs.OutcomeChanged || !strings.Contains(res.Detail, "moved 3") || f.starts != 2 {
		t.Fatalf("resume: %+v %v (starts %d)", res, err, f.starts)
	}
	if _, err := k.Apply(context.Background(), jobs.Scope{}, jobs.Item{Key: "nope-dlq"}); !errors.Is(err, jobs.ErrBadScope) {
		t.Fatalf("unknown queue: %v", err)
	}
}

// TestStack_schedules_agree checks every scheduled function of stack.yml:
// its schedule annotation equals its MOTCUA_CRON_SCHEDULE and its job
// reads.
func TestStack_schedules_agree(t *testing.T) {
	st, err := stackfile.Load("../../../stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range st.FunctionNames() {
		fn, _ := st.Function(name)
		if fn.Annotations["topic"] != "cron-function" {
			continue
		}
		n++
		env, err := st.Env(fn)
		if err != nil {
			t.Fatal(err)
		}
		if env[KeyCronSchedule] != fn.Annotations["schedule"] || env[KeyCronName] != name {
			t.Errorf("%s: schedule annotation %q, %s %q, %s %q", name, fn.Annotations["schedule"], KeyCronSchedule, env[KeyCronSchedule], KeyCronName, env[KeyCronName])
		}
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		sc, err := Schedule(environ)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sc.Request.Scope.File = strings.NewReplacer("{yesterday}", "2026-12-02", "{today}", "2026-12-03").Replace(sc.Request.Scope.File)
		k := map[string]jobs.Kind{"republish-outbox": &RepublishOutbox{}, "reconcile-payments": &ReconcilePayments{}, "redrive-dlq": &RedriveDLQ{}}[sc.Request.Kind]
		if k == nil {
			t.Errorf("%s: unknown kind %q", name, sc.Request.Kind)
		} else if err := k.Check(sc.Request.Scope); err != nil {
			t.Errorf("%s: scope: %v", name, err)
		}
	}
	if n < 3 {
		t.Fatalf("%d scheduled functions in stack.yml, want 3", n)
	}
}

type fakeStats struct{ calls int }

func (f *fakeStats) Rebuild(context.Context) (stats.RebuildResult, error) {
	f.calls++
	return stats.RebuildResult{Applications: 12, Shards: 3}, nil
}

func TestRebuildStats(t *testing.T) {
	f := &fakeStats{}
	k := &RebuildStats{Stats: f}
	if err := k.Check(jobs.Scope{From: "2026-12-01"}); !errors.Is(err, jobs.ErrBadScope) {
		t.Fatalf("scope accepted: %v", err)
	}
	got, planned := runJob(t, docstore.NewMemStore("d"), k, jobs.Scope{}, 0)
	if len(planned) != 1 || got.Status != jobs.StatusCompleted || got.Progress.Done != 1 || f.calls != 1 {
		t.Fatalf("%s %+v, %d rebuild(s)", got.Status, got.Progress, f.calls)
	}
}

// fakeReceipts issues one receipt per payment and records calls.
type fakeReceipts struct {
	mu     sync.Mutex
	issued map[string]int
	refuse string
}

func (f *fakeReceipts) ByPayment(_ context.Context, ref string) (book.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issued[ref] > 0 {
		return book.Record{}, nil
	}
	return book.Record{}, book.ErrNotFound
}

func (f *fakeReceipts) IssueForPayment(_ context.Context, ref, _ string) (book.Outcome, book.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref == f.refuse {
		return "", book.Record{}, book.ErrNotPayable
	}
	f.issued[ref]++
	return book.OutcomeIssued, book.Record{}, nil
}

func TestReissueMissingReceipts(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("d")
	paidAt := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	put := func(ref string, state payment.State, dup bool) {
		p := payment.Payment{Ref: ref, ApplicationCode: "STP-261202-0001", AmountVND: 50000, Method: payment.MethodVNPay,
			State: state, CreatedAt: paidAt.Add(-time.Minute), Duplicate: dup}
		if state == payment.StatePaid {
			p.PaidAt = &paidAt
		}
		if _, err := docstore.PutJSON(ctx, store, payment.Prefix+ref+".json", p, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("MC0001", payment.StatePaid, false)
	put("MC0002", payment.StatePaid, false)
	put("MC0003", payment.StatePaid, true) // duplicate: refunded, no receipt
	put("MC0004", payment.StatePending, false)
	put("MC0005", payment.StatePaid, false)
	f := &fakeReceipts{issued: map[string]int{"MC0002": 1}, refuse: "MC0005"}
	k := &ReissueMissingReceipts{Store: store, Receipts: f}
	got, planned := runJob(t, store, k, jobs.Scope{From: "2026-12-02", To: "2026-12-02"}, 0)
	if len(planned) != 2 || planned[0].Key != "MC0001" || planned[1].Key != "MC0005" {
		t.Fatalf("planned %+v", planned)
	}
	if got.Progress != (jobs.Progress{Total: 2, Done: 1, Failed: 1}) || f.issued["MC0001"] != 1 {
		t.Fatalf("%+v, issued %v", got.Progress, f.issued)
	}
	again, _ := runJob(t, store, k, jobs.Scope{From: "2026-12-02", To: "2026-12-02"}, 0)
	if again.Plan.Total != 1 || f.issued["MC0001"] != 1 { // only the refused one is planned again
		t.Fatalf("second run planned %d, issued %v", again.Plan.Total, f.issued)
	}
}

// TestStack_receipt_configuration: the receipt kinds run in reprocess and
// reprocess-worker with exactly issue-receipt's receipt configuration and
// secrets (same unit, series, signer, keys), and no scheduled function
// gets the receipt secrets or the setting that enables them.
func TestStack_receipt_configuration(t *testing.T) {
	st, err := stackfile.Load("../../../stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string) (map[string]string, map[string]bool) {
		fn, ok := st.Function(name)
		if !ok {
			t.Fatalf("stack.yml has no function %s", name)
		}
		env, err := st.Env(fn)
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string]bool{}
		for _, s := range fn.Secrets {
			secrets[s] = true
		}
		return env, secrets
	}
	issueEnv, issueSecrets := load("issue-receipt")
	receiptSecrets := []string{"receipt-signing-key", "receipt-signing-cert", "receipt-qr-key"}
	for _, name := range []string{"reprocess", "reprocess-worker"} {
		env, secrets := load(name)
		for k, v := range issueEnv {
			if strings.HasPrefix(k, "MOTCUA_RECEIPT_") && env[k] != v {
				t.Errorf("%s: %s = %q, issue-receipt has %q", name, k, env[k], v)
			}
		}
		for _, s := range receiptSecrets {
			if !issueSecrets[s] || !secrets[s] {
				t.Errorf("%s: secret %s missing (issue-receipt has it: %v)", name, s, issueSecrets[s])
			}
		}
	}
	for _, name := range st.FunctionNames() {
		fn, _ := st.Function(name)
		if fn.Annotations["topic"] != "cron-function" {
			continue
		}
		env, secrets := load(name)
		if env[KeyReceiptUnitName] != "" {
			t.Errorf("%s: scheduled function has %s (enables the receipt kinds)", name, KeyReceiptUnitName)
		}
		for _, s := range receiptSecrets {
			if secrets[s] {
				t.Errorf("%s: scheduled function has receipt secret %s", name, s)
			}
		}
	}
}
