package payment_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/jobs/kinds"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/reconcile"
)

var errProcessDied = errors.New("process died")

// dyingStore is the storage as seen by a process that dies right after
// its write making a payment paid: that write lands, nothing after it
// does (every later call of the process fails).
type dyingStore struct {
	docstore.Store
	dead *atomic.Bool
}

func (d dyingStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	if d.dead.Load() {
		return docstore.Object{}, errProcessDied
	}
	return d.Store.Get(ctx, key)
}

func (d dyingStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if d.dead.Load() {
		return "", errProcessDied
	}
	tag, err := d.Store.Put(ctx, key, body, opts)
	rest := strings.TrimPrefix(key, payment.Prefix)
	if err == nil && rest != key && !strings.Contains(rest, "/") && bytes.Contains(body, []byte(`"state":"paid"`)) {
		d.dead.Store(true)
	}
	return tag, err
}

func (d dyingStore) Delete(ctx context.Context, key, ifMatch string) error {
	if d.dead.Load() {
		return errProcessDied
	}
	return d.Store.Delete(ctx, key, ifMatch)
}

type dyingQueue struct {
	queue.Publisher
	dead *atomic.Bool
}

func (d dyingQueue) Publish(ctx context.Context, name string, env queue.Envelope) error {
	if d.dead.Load() {
		return errProcessDied
	}
	return d.Publisher.Publish(ctx, name, env)
}

// TestCrash_after_the_paid_write_is_finished_by_the_followup_sweep: the
// payment-callback process dies after the write that makes the payment
// paid and before any of its follow-up. VNPAY got 00 (the paid state is
// durable); the application is not updated and no event is out. The
// scheduled sweep (reconcile-payments mode unfinished, stack.yml's
// reprocess-cron-followup, run here by another process) finds the payment
// and finishes it: the application is paid, payment.confirmed published
// once, Applied set; a second sweep and a duplicate IPN change nothing.
func TestCrash_after_the_paid_write_is_finished_by_the_followup_sweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-0800", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVNPay)

	var dead atomic.Bool
	dying, err := payment.NewService(payment.Deps{Store: dyingStore{e.store, &dead}, Publisher: dyingQueue{e.q, &dead}, Now: e.clock.Now, Log: quiet}, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	q := ipn(p.Ref, p.AmountVND, "00", "00", "15000001", hashSecret)
	if r := dying.VNPayIPN(ctx, payment.RawCallback{Method: http.MethodGet, Query: q}); r.RspCode != "00" {
		t.Fatalf("RspCode %s, want 00 (the paid state was durable)", r.RspCode)
	}
	if err := dying.WaitFollowUps(ctx); err != nil {
		t.Fatal(err)
	}
	if !dead.Load() {
		t.Fatal("the process never reached its paid write")
	}
	got := e.payment(t, p.Ref)
	if got.State != payment.StatePaid || got.Applied || got.ConfirmEvent == nil {
		t.Fatalf("after the crash: state %s applied %v event %v", got.State, got.Applied, got.ConfirmEvent != nil)
	}
	if app := e.app(t, a.Code); app.Status != application.StatusAwaitingPayment || len(e.q.Published(eventsQueue)) != 0 {
		t.Fatalf("after the crash: application %s, %d events", app.Status, len(e.q.Published(eventsQueue)))
	}

	// Another process runs the sweep.
	sweep := &kinds.ReconcilePayments{Store: e.store, Reconciler: reconcile.New(e.store, reconcile.NewDomain(e.svc), reconcile.Options{Now: e.clock.Now})}
	scope := jobs.Scope{Mode: kinds.ModeUnfinished, OlderThan: "0s"}
	if err := sweep.Check(scope); err != nil {
		t.Fatal(err)
	}
	plan := func() []jobs.Item {
		var items []jobs.Item
		if err := sweep.Plan(ctx, scope, func(it jobs.Item) error { items = append(items, it); return nil }); err != nil {
			t.Fatal(err)
		}
		return items
	}
	items := plan()
	if len(items) != 1 || items[0].Key != p.Ref || items[0].Action != "finish" {
		t.Fatalf("plan = %+v, want the one unfinished payment", items)
	}
	res, err := sweep.Apply(ctx, scope, items[0])
	if err != nil || res.Outcome != jobs.OutcomeChanged {
		t.Fatalf("apply = %+v, %v", res, err)
	}

	got = e.payment(t, p.Ref)
	app := e.app(t, a.Code)
	events := e.q.Published(eventsQueue)
	if !got.Applied || app.Status != application.StatusProcessing || app.Fee.PaymentState != application.PaymentPaid || app.Fee.PaymentRef != p.Ref {
		t.Fatalf("after repair: applied %v, application %s fee %+v", got.Applied, app.Status, app.Fee)
	}
	if len(events) != 1 || events[0].ID != got.ConfirmEvent.ID {
		t.Fatalf("after repair: %d events, want the payment's one", len(events))
	}
	if items := plan(); len(items) != 0 {
		t.Fatalf("second sweep plans %+v", items)
	}
	if r := e.vnpayIPN(q); r.RspCode != "02" || len(e.q.Published(eventsQueue)) != 1 {
		t.Fatalf("duplicate after repair: %s, %d events", r.RspCode, len(e.q.Published(eventsQueue)))
	}
}
