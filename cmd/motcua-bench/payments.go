package main

// The payment-callback scenario (-payments): how many VNPAY IPN callbacks
// per second the local stack takes through the gateway when 50 "banks"
// post at once, a fifth of them duplicates, and whether anything was
// double-counted — next to the floor any confirmation must pay on the same
// embedded servers in the same run.
//
// Setup (not timed): n applications awaiting payment of 100,000 đồng, each
// with a pending VNPAY payment, are written straight to the data bucket
// (the documents pay-fee would create; going through submit, three staff
// actions and pay-fee would only slow the setup down).
//
// Callbacks: every payment gets one correctly signed success IPN built by
// the bank simulator (motcua/cmd/bank-sim/sim); n/4 more are exact
// duplicates of random ones (20% of all callbacks), shuffled in, so some
// race their original. c concurrent banks GET them from
// /function/payment-callback?provider=vnpay. Expected replies: 00 once per
// payment, 02 for every duplicate.
//
// Checks: every payment is paid, exactly one 00 per payment, every
// application left awaiting_payment, every payment's follow-up done
// (Applied), and payment-events holds exactly one distinct
// payment.confirmed event id per payment (messages are drained and
// counted; a delivery repeated with the same event id is reported apart).
// The follow-up runs after the 00 (in payment-callback's background
// pool), so the check waits up to 180 s for it to land.
//
// Target (issue 13): callback p99 ≤ 2× the floor's p99 at 50 clients.
//
// Floor: the same c clients each do one create-once S3 PUT (If-None-Match:
// *) of a payment-sized JSON and one SQS send of an event-sized message —
// the least a durable, announced confirmation costs.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/cmd/bank-sim/sim"
	"motcua/cmd/motcua-local/app"
	"motcua/shared/application"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// Payment scenario constants.
const (
	payBenchBucket = "motcua-data"
	// payBenchEvents is events-tap: the fan-out copy of every event family
	// that no function consumes (issue-receipt consumes payment-events).
	payBenchEvents   = "events-tap"
	payBenchFloorQ   = "motcua-bench-pay-floor"
	payBenchFloorPfx = "bench-pay-floor/"
	payBenchAmount   = 100000
	// payBenchDupShare is the share of duplicates among all callbacks.
	payBenchDupShare = 0.2
	// payTargetP99 is issue 13's target: callback p99 ≤ 2× the floor's p99.
	payTargetP99 = 2.0
)

// payOptions are the payment scenario's flags.
type payOptions struct {
	enabled bool
	n       int
	c       int
}

// register adds the scenario's flags to fs.
func (o *payOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "payments", true, "run the payment-callback scenario (VNPAY IPNs/s through the gateway with 20% duplicates, p50/p99 vs the S3 PUT + SQS send floor, double-count check)")
	fs.IntVar(&o.n, "pay-n", 1000, "payments confirmed (callbacks = pay-n / 0.8)")
	fs.IntVar(&o.c, "pay-c", 50, "concurrent banks posting callbacks")
}

// validate checks the flags when the scenario is enabled.
func (o payOptions) validate() error {
	if o.enabled && (o.n < 1 || o.c < 1) {
		return errors.New("-pay-n and -pay-c must be at least 1")
	}
	return nil
}

// PayReport is the payment scenario's result.
type PayReport struct {
	// Payments is the number of payments paid; Callbacks the IPNs posted,
	// Duplicates of which were repeats; Concurrency the banks posting.
	Payments    int `json:"payments"`
	Callbacks   int `json:"callbacks"`
	Duplicates  int `json:"duplicates"`
	Concurrency int `json:"concurrency"`
	// Seconds is the wall time of all callbacks; PerSecond their rate.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Latency is per callback, as the bank sees it.
	Latency Stat `json:"latency"`
	// Replies counts the RspCode answers ("http-<status>" for a non-JSON answer).
	Replies map[string]int `json:"replies"`
	// Floor is one S3 create-once PUT + one SQS send per operation.
	Floor          Stat    `json:"floor"`
	FloorPerSecond float64 `json:"floor_per_second"`
	// Paid counts payments found paid; AppsMoved applications out of
	// awaiting_payment.
	Paid      int `json:"paid"`
	AppsMoved int `json:"apps_moved"`
	// Confirmed00 counts payments that got exactly one 00 reply.
	Confirmed00 int `json:"confirmed_00"`
	// Applied counts payments whose follow-up (application, event) is done.
	Applied int `json:"applied"`
	// FollowUpSeconds is how long after the last reply the last follow-up
	// was seen done (0 when all were done at the first look).
	FollowUpSeconds float64 `json:"follow_up_seconds"`
	// TargetP99Ratio is the target; TargetMet whether this run met it.
	TargetP99Ratio float64 `json:"target_p99_ratio"`
	TargetMet      bool    `json:"target_met"`
	// EventIDs counts distinct payment.confirmed event ids on the queue;
	// EventMessages the messages carrying them; RefsWithOneEvent the
	// payments with exactly one distinct event id.
	EventIDs         int `json:"event_ids"`
	EventMessages    int `json:"event_messages"`
	RefsWithOneEvent int `json:"refs_with_one_event"`
	// Problems lists what the double-count check found (empty: none).
	Problems []string `json:"problems"`
}

// benchPayments runs the scenario on the started stack a whose dev
// secrets live in secretsDir.
func benchPayments(ctx context.Context, a *app.App, secretsDir string, o payOptions, stderr io.Writer) (*PayReport, error) {
	raw, err := os.ReadFile(filepath.Join(secretsDir, payment.SecretVNPayHashSecret))
	if err != nil {
		return nil, fmt.Errorf("payments: vnpay dev secret: %w", err)
	}
	secret := strings.TrimSpace(string(raw))
	tmn := "MOTCUA01"
	if b, err := os.ReadFile(filepath.Join(secretsDir, payment.SecretVNPayTmnCode)); err == nil {
		if tmn = strings.TrimSpace(string(b)); len(tmn) > 8 {
			tmn = strings.ToUpper(tmn[:8]) // as payment.LoadConfig maps the dev secret
		}
	}
	awsCfg := a.AWSConfig().Copy()
	awsCfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 4*o.c, 2*o.c
	})
	s3c, sqsc := awsx.S3(awsCfg), awsx.SQS(awsCfg)
	store := docstore.NewS3Store(s3c, nil, payBenchBucket)

	progress(stderr, "payments: seeding %d applications awaiting payment with pending VNPAY payments", o.n)
	refs, err := seedPayments(ctx, store, o.n, o.c)
	if err != nil {
		return nil, err
	}
	// Drain payment-events first so only this run's events are counted.
	if _, err := drainConfirmed(ctx, sqsc, nil); err != nil {
		return nil, err
	}

	bank := sim.New(sim.Config{GatewayURL: a.GatewayURL(), HashSecret: secret, TmnCode: tmn,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: 4 * o.c, MaxIdleConnsPerHost: 2 * o.c}}})
	type ipn struct {
		ref string
		q   map[string][]string
	}
	calls := make([]ipn, 0, o.n+o.n/4)
	for i, ref := range refs {
		calls = append(calls, ipn{ref, bank.IPN(tmn, ref, "Le phi ho so bench", payBenchAmount, fmt.Sprintf("%d", 14000000+i), true, "")})
	}
	dups := int(float64(o.n) * payBenchDupShare / (1 - payBenchDupShare))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < dups; i++ {
		calls = append(calls, calls[rng.IntN(o.n)])
	}
	rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })

	rep := &PayReport{Payments: o.n, Callbacks: len(calls), Duplicates: dups, Concurrency: o.c, Replies: map[string]int{}}
	var (
		mu  sync.Mutex
		ok  = map[string]int{}
		rsp = rep.Replies
	)
	progress(stderr, "payments: %d callbacks (%d duplicates) from %d concurrent banks", len(calls), dups, o.c)
	lat, wall, err := payHammer(ctx, o.c, len(calls), func(ctx context.Context, i int) error {
		d, err := bank.PostIPN(ctx, "bench", calls[i].q)
		if err != nil {
			return err
		}
		code := d.RspCode
		if code == "" {
			code = fmt.Sprintf("http-%d", d.Status)
		}
		mu.Lock()
		rsp[code]++
		if code == "00" {
			ok[calls[i].ref]++
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("payments: callbacks: %w", err)
	}
	rep.Latency, rep.Seconds = summarize(lat), wall.Seconds()
	rep.PerSecond = float64(len(calls)) / wall.Seconds()

	progress(stderr, "payments: checking nothing was double-counted")
	if err := checkPayments(ctx, store, sqsc, refs, ok, rep); err != nil {
		return nil, err
	}

	progress(stderr, "payments: floor, %d × (S3 create-once PUT + SQS send) from %d clients", len(calls), o.c)
	floor, fwall, err := payFloor(ctx, s3c, sqsc, o.c, len(calls))
	if err != nil {
		return nil, fmt.Errorf("payments: floor: %w", err)
	}
	rep.Floor, rep.FloorPerSecond = summarize(floor), float64(len(calls))/fwall.Seconds()
	rep.TargetP99Ratio = payTargetP99
	rep.TargetMet = rep.Floor.P99Ms > 0 && rep.Latency.P99Ms <= payTargetP99*rep.Floor.P99Ms
	return rep, nil
}

// seedPayments writes n applications awaiting payment and their pending
// VNPAY payments, as pay-fee would, and returns the payment refs.
func seedPayments(ctx context.Context, store docstore.Store, n, c int) ([]string, error) {
	refs := make([]string, n)
	for i := range refs {
		ref, err := payment.NewRef()
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	apps := application.NewRepository(store)
	pays := payment.NewRepository(store)
	now := time.Now().UTC()
	_, _, err := payHammer(ctx, c, n, func(ctx context.Context, i int) error {
		code := "BENCHPAY-" + refs[i] + now.In(workdays.Location).Format("-060102-") + fmt.Sprintf("%04d", i+1)
		a := &application.Application{Code: code, ProcedureCode: "T.TP.001", ProcedureName: "Cấp Phiếu lý lịch tư pháp",
			// A real applicant: issue-receipt (driven by payment.confirmed
			// while the scenario runs) prints the payer from it and refuses
			// a receipt without the payer's CCCD.
			Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hoa",
				IDNumber: "001190123456", DateOfBirth: "1990-05-17", Address: "12 Hàng Bài, Hoàn Kiếm, Hà Nội"},
			Status: application.StatusAwaitingPayment, SubmittedAt: now, DueAt: now.Add(240 * time.Hour),
			Fee: application.Fee{AmountVND: payBenchAmount, Kind: "fee", PaymentState: application.PaymentUnpaid}}
		if _, err := apps.Create(ctx, a); err != nil {
			return err
		}
		p := &payment.Payment{Ref: refs[i], ApplicationCode: code, AmountVND: payBenchAmount, Method: payment.MethodVNPay,
			State: payment.StatePending, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			Timeline: []payment.Attempt{{At: now, State: payment.StatePending, Source: "citizen"}}}
		return pays.Create(ctx, p)
	})
	if err != nil {
		return nil, fmt.Errorf("payments: seed: %w", err)
	}
	return refs, nil
}

// checkPayments fills the double-count part of rep.
func checkPayments(ctx context.Context, store docstore.Store, sqsc *sqs.Client, refs []string, ok map[string]int, rep *PayReport) error {
	apps := application.NewRepository(store)
	pays := payment.NewRepository(store)
	var problems []string
	note := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// The follow-ups run after the replies: wait (up to 180 s) until every
	// payment is Applied, then check the documents.
	since := time.Now()
	wait := time.Now().Add(180 * time.Second)
	for {
		applied := 0
		var mu sync.Mutex
		_, _, err := payHammer(ctx, rep.Concurrency, len(refs), func(ctx context.Context, i int) error {
			p, _, err := pays.Get(ctx, refs[i])
			if err != nil {
				return fmt.Errorf("read %s: %w", refs[i], err)
			}
			if p.Applied {
				mu.Lock()
				applied++
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("payments: check: %w", err)
		}
		if applied == len(refs) || time.Now().After(wait) {
			rep.FollowUpSeconds = time.Since(since).Seconds()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var mu sync.Mutex
	_, _, err := payHammer(ctx, rep.Concurrency, len(refs), func(ctx context.Context, i int) error {
		ref := refs[i]
		p, _, err := pays.Get(ctx, ref)
		if err != nil {
			return fmt.Errorf("read %s: %w", ref, err)
		}
		code, err := application.ParseCode(p.ApplicationCode)
		if err != nil {
			return fmt.Errorf("read %s: %w", ref, err)
		}
		a, _, err := apps.Get(ctx, code)
		if err != nil {
			return fmt.Errorf("read %s: %w", p.ApplicationCode, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if p.State == payment.StatePaid {
			rep.Paid++
		} else {
			note("%s is %s, not paid", ref, p.State)
		}
		if p.Applied {
			rep.Applied++
		} else {
			note("%s: follow-up not done (Applied false)", ref)
		}
		if ok[ref] == 1 {
			rep.Confirmed00++
		} else {
			note("%s got %d replies 00", ref, ok[ref])
		}
		if a.Status != application.StatusAwaitingPayment && a.Fee.PaymentState == application.PaymentPaid {
			rep.AppsMoved++
		} else {
			note("%s is %s with fee %s", a.Code, a.Status, a.Fee.PaymentState)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("payments: check: %w", err)
	}
	events := map[string]map[string]int{} // ref → event id → messages
	// Every payment is Applied, so its event was sent; allow the last
	// ones a moment to become visible.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := drainConfirmed(ctx, sqsc, events); err != nil {
			return err
		}
		if len(events) >= len(refs) || time.Now().After(deadline) {
			break
		}
	}
	for _, ref := range refs {
		ids := events[ref]
		if len(ids) == 1 {
			rep.RefsWithOneEvent++
		} else {
			note("%s has %d distinct payment.confirmed events", ref, len(ids))
		}
	}
	for ref, ids := range events {
		rep.EventIDs += len(ids)
		for _, m := range ids {
			rep.EventMessages += m
		}
		if !strings.HasPrefix(ref, "MC") {
			note("payment.confirmed for unknown ref %q", ref)
		}
	}
	other := 0
	for k, v := range rep.Replies {
		if k != "00" && k != "02" {
			other += v
		}
	}
	if other > 0 || rep.Replies["00"] != rep.Payments || rep.Replies["02"] != rep.Duplicates {
		note("replies %v, want 00×%d and 02×%d only", rep.Replies, rep.Payments, rep.Duplicates)
	}
	rep.Problems = problems
	return nil
}

// drainConfirmed receives and deletes every message on payment-events,
// counting payment.confirmed messages per ref and event id into into
// (when not nil). It returns the number of messages drained.
func drainConfirmed(ctx context.Context, sqsc *sqs.Client, into map[string]map[string]int) (int, error) {
	c := queue.NewConsumer(sqsc)
	total := 0
	for empty := 0; empty < 2; {
		msgs, err := c.Receive(ctx, payBenchEvents, 10, 0)
		if err != nil {
			return total, fmt.Errorf("payments: receive %s: %w", payBenchEvents, err)
		}
		if len(msgs) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range msgs {
			total++
			if env, err := m.Envelope(); err == nil && env.Type == payment.EventConfirmed && into != nil {
				var pl payment.ConfirmedPayload
				if json.Unmarshal(env.Payload, &pl) == nil {
					if into[pl.Ref] == nil {
						into[pl.Ref] = map[string]int{}
					}
					into[pl.Ref][env.ID]++
				}
			}
			if err := c.Delete(ctx, payBenchEvents, m.ReceiptHandle); err != nil {
				return total, fmt.Errorf("payments: delete: %w", err)
			}
		}
	}
	return total, nil
}

// payFloor times c clients doing n × (create-once S3 PUT of a
// payment-sized JSON + SQS send of an event-sized message).
func payFloor(ctx context.Context, s3c *s3.Client, sqsc *sqs.Client, c, n int) ([]time.Duration, time.Duration, error) {
	out, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(payBenchFloorQ)})
	if err != nil {
		return nil, 0, err
	}
	doc := strings.Repeat("x", 1400) // a paid payment document is ~1.4 KiB
	msg := strings.Repeat("y", 450)  // a payment.confirmed envelope is ~450 bytes
	var seq atomic.Int64
	lat, wall, err := payHammer(ctx, c, n, func(ctx context.Context, _ int) error {
		key := fmt.Sprintf("%s%d-%d.json", payBenchFloorPfx, time.Now().UnixNano(), seq.Add(1))
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(payBenchBucket), Key: aws.String(key),
			Body: strings.NewReader(`{"d":"` + doc + `"}`), IfNoneMatch: aws.String("*"), ContentType: aws.String("application/json")}); err != nil {
			return err
		}
		_, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(msg)})
		return err
	})
	_, _ = sqsc.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: out.QueueUrl})
	return lat, wall, err
}

// payHammer runs fn(i) for i in [0, n) on c goroutines and returns each
// call's latency and the wall time; the first error stops it.
func payHammer(ctx context.Context, c, n int, fn func(context.Context, int) error) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lat := make([]time.Duration, n)
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	begin := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = fmt.Errorf("call %d: %w", i, err); cancel() })
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(begin), first
}

// printPayments writes the scenario's table.
func printPayments(w io.Writer, r *PayReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\n### Payment callbacks (VNPAY IPN through the gateway, %d banks, %d%% duplicates)\n\n", r.Concurrency, int(payBenchDupShare*100))
	fmt.Fprintln(w, "| series | ops | ops/s | p50 | p99 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| payment-callback IPN (%d payments + %d duplicates) | %d | %.0f | %s | %s |\n",
		r.Payments, r.Duplicates, r.Callbacks, r.PerSecond, fmtMs(r.Latency.P50Ms), fmtMs(r.Latency.P99Ms))
	fmt.Fprintf(w, "| floor: S3 create-once PUT + SQS send | %d | %.0f | %s | %s |\n",
		r.Floor.N, r.FloorPerSecond, fmtMs(r.Floor.P50Ms), fmtMs(r.Floor.P99Ms))
	if r.Floor.P50Ms > 0 && r.Floor.P99Ms > 0 {
		met := "not met"
		if r.TargetMet {
			met = "met"
		}
		fmt.Fprintf(w, "\ncallback / floor: p50 %.1f×, p99 %.1f× (target: p99 ≤ %.0f× the floor — %s)\n",
			r.Latency.P50Ms/r.Floor.P50Ms, r.Latency.P99Ms/r.Floor.P99Ms, r.TargetP99Ratio, met)
	}
	codes := make([]string, 0, len(r.Replies))
	for k := range r.Replies {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	parts := make([]string, len(codes))
	for i, k := range codes {
		parts[i] = fmt.Sprintf("%s×%d", k, r.Replies[k])
	}
	fmt.Fprintf(w, "\nreplies: %s; paid %d/%d; exactly one 00: %d/%d; follow-ups done (Applied): %d/%d, %.1f s after the last reply; applications moved: %d/%d; payment.confirmed: %d distinct ids in %d messages, exactly one per payment: %d/%d\n",
		strings.Join(parts, " "), r.Paid, r.Payments, r.Confirmed00, r.Payments, r.Applied, r.Payments, r.FollowUpSeconds,
		r.AppsMoved, r.Payments, r.EventIDs, r.EventMessages, r.RefsWithOneEvent, r.Payments)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "double-count check: OK, nothing double-counted")
	} else {
		fmt.Fprintf(w, "double-count check: FAILED\n  %s\n", strings.Join(r.Problems, "\n  "))
	}
}
