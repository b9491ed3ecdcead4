package payment_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/config"
	"motcua/shared/payment"
	"motcua/shared/platform"
	"motcua/shared/queue"
)

// TestEmbedded_concurrent_pay_and_IPNs_on_real_S3_and_SQS runs the money
// path against the embedded S3/SQS servers (real SDK, real conditional
// writes) with four service replicas: 20 concurrent pay-fee calls share one
// payment, 50 concurrent identical IPNs pay it once, and exactly one
// payment.confirmed message reaches the payment-events queue.
func TestEmbedded_concurrent_pay_and_IPNs_on_real_S3_and_SQS(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded S3/SQS test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var svcs []*payment.Service
	var first *platform.Platform
	for range 4 {
		p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = p
		}
		// The guard charges every PIN attempt before checking it and refunds
		// it on success, so in-flight attempts count against its budget
		// (parallel guesses cannot outrun it). 20 concurrent right-PIN calls
		// from one address exceed the default budget whenever their refunds
		// lag (a loaded CI machine): this test is about payments under
		// concurrency, so its guard allows them all.
		roomy := citizenguard.Rule{Free: 1000, Window: time.Hour, Base: time.Second, Max: time.Second}
		guard := citizenguard.New(p.Store, citizenguard.WithLogger(quiet),
			citizenguard.WithPolicy(citizenguard.Policy{Client: roomy, Pair: roomy, ID: roomy}))
		svc, err := payment.NewService(payment.Deps{Store: p.Store, Publisher: p.Queue, Log: quiet, Guard: guard}, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	e := &env{store: first.Store, clock: &clock{t: time.Now().UTC()}}
	a := e.addApp(t, "STP-260302-0999", application.StatusAwaitingPayment)

	refs := make([]string, 20)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, err := svcs[i%4].Pay(ctx, payment.PayInput{Code: a.Code, PIN: testPIN, Method: payment.MethodVNPay})
			if err != nil {
				t.Errorf("pay %d: %v", i, err)
			}
			refs[i] = p.Ref
		}()
	}
	wg.Wait()
	for i, r := range refs {
		if r != refs[0] {
			t.Fatalf("call %d got %s, call 0 got %s", i, r, refs[0])
		}
	}
	p, _, err := svcs[0].Repository().Get(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	q := ipn(p.Ref, p.AmountVND, "00", "00", "14001234", hashSecret)
	codes := make([]string, 50)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq := url.Values{}
			for k, v := range q {
				qq[k] = append([]string(nil), v...)
			}
			codes[i] = svcs[i%4].VNPayIPN(ctx, payment.RawCallback{Method: http.MethodGet, Query: qq}).RspCode
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["00"] != 1 || count["02"] != 49 {
		t.Fatalf("replies = %v, want one 00 and 49 02", count)
	}
	_, sqsc, err := stack.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	consumer := queue.NewConsumer(sqsc)
	var got []queue.Envelope
	for range 3 { // drain: the single message, then empty polls
		msgs, err := consumer.Receive(ctx, payment.DefaultEventsQueue, 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			env, err := m.Envelope()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, env)
		}
	}
	if len(got) != 1 || got[0].Type != payment.EventConfirmed {
		t.Fatalf("messages = %+v, want one payment.confirmed", got)
	}
	if app := e.app(t, a.Code); app.Fee.PaymentState != application.PaymentPaid || app.Status != application.StatusProcessing {
		t.Fatalf("application = %s %+v", app.Status, app.Fee)
	}
}
