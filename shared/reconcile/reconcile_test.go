package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/vnpay/vnpaytest"
	"motcua/shared/queue"
	"motcua/shared/reconcile"
)

const events = "payment-events"

// fixture is the real payment domain over in-memory storage and queue.
type fixture struct {
	t     *testing.T
	store *docstore.MemStore
	q     *queue.MemQueue
	svc   *payment.Service
	apps  *application.Repository
	now   time.Time
}

func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	f := &fixture{t: t, store: docstore.NewMemStore("motcua-data"), q: queue.NewMemQueue(events), now: now}
	svc, err := payment.NewService(payment.Deps{Store: f.store, Publisher: f.q, Now: func() time.Time { return f.now }}, payment.Config{EventsQueue: events})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, f.apps = svc, application.NewRepository(f.store)
	return f
}

// payment creates an application awaiting payment of amount and a pending
// payment ref for it, created at created and expiring at expires.
func (f *fixture) payment(ref string, m payment.Method, amount int64, created, expires time.Time) {
	f.t.Helper()
	ctx := context.Background()
	app := &application.Application{Code: "HS-" + ref + "-260302-0001", ProcedureCode: "X.HT.001", Status: application.StatusAwaitingPayment,
		Fee: application.Fee{AmountVND: amount, Kind: "fee", PaymentState: application.PaymentUnpaid}, SubmittedAt: created}
	if _, err := f.apps.Create(ctx, app); err != nil {
		f.t.Fatal(err)
	}
	p := &payment.Payment{Ref: ref, ApplicationCode: app.Code, AmountVND: amount, Method: m, State: payment.StatePending,
		CreatedAt: created, ExpiresAt: expires}
	if err := f.svc.Repository().Create(ctx, p); err != nil {
		f.t.Fatal(err)
	}
}

// paid creates a payment and confirms it through the domain at paidAt.
func (f *fixture) paid(ref string, amount int64, paidAt time.Time) {
	f.t.Helper()
	f.payment(ref, payment.MethodVNPay, amount, paidAt.Add(-time.Minute), paidAt.Add(14*time.Minute))
	_, err := f.svc.Confirm(context.Background(), payment.Confirmation{Ref: ref, AmountVND: amount,
		Provider: payment.Provider{Name: payment.ProviderVNPay, TransactionNo: "T" + ref}, PaidAt: paidAt})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) state(ref string) payment.State {
	f.t.Helper()
	p, _, err := f.svc.Repository().Get(context.Background(), ref)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.State
}

func (f *fixture) appStatus(ref string) application.Status {
	f.t.Helper()
	code, err := application.ParseCode("HS-" + ref + "-260302-0001")
	if err != nil {
		f.t.Fatal(err)
	}
	a, _, err := f.apps.Get(context.Background(), code)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Status
}

// confirmedEvents counts payment.confirmed events per payment ref.
func (f *fixture) confirmedEvents() map[string]int {
	n := map[string]int{}
	for _, e := range f.q.Published(events) {
		if e.Type == payment.EventConfirmed {
			var p payment.ConfirmedPayload
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				f.t.Fatal(err)
			}
			n[p.Ref]++
		}
	}
	return n
}

// Refs of the sample settlement file testdata/settlement-2026-11-25.csv.
const (
	refOK       = "MCOKPAIDAAAAAA" // paid here and at the bank
	refLost     = "MCLOSTCALLBACK" // paid at the bank, IPN lost
	refMissing  = "MCMISSINGATBNK" // paid here, not in the file
	refAmount   = "MCAMOUNTWRONGA" // the bank settled 1,000 đồng less
	refUnknown  = "MCUNKNOWNREFAA" // never issued here
	refOtherDay = "MCPAIDOTHERDAY" // paid here on another day: not expected
)

func TestRunSettlement_sample_file(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 11, 25, 10, 0, 0, 0, vnpay.GMT7)
	f := newFixture(t, day.Add(30*time.Hour))
	f.paid(refOK, 50000, day)
	f.paid(refMissing, 30000, day.Add(2*time.Hour))
	f.paid(refOtherDay, 30000, day.Add(-48*time.Hour))
	f.payment(refLost, payment.MethodVNPay, 100000, day, day.Add(15*time.Minute))
	f.payment(refAmount, payment.MethodVNPay, 20000, day, day.Add(15*time.Minute))

	csv, err := os.ReadFile("testdata/settlement-2026-11-25.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := reconcile.New(f.store, reconcile.NewDomain(f.svc), reconcile.Options{Now: func() time.Time { return f.now }})
	key, err := r.UploadSettlement(ctx, "vnpay-2026-11-25.csv", csv)
	if err != nil || key != "reconciliation/settlements/vnpay-2026-11-25.csv" {
		t.Fatalf("upload: %q, %v", key, err)
	}
	rep, err := r.RunSettlement(ctx, key, reconcile.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]reconcile.Outcome{refOK: reconcile.OutcomeOK, refLost: reconcile.OutcomeCallbackLost,
		refMissing: reconcile.OutcomeMissingAtBank, refAmount: reconcile.OutcomeAmountMismatch, refUnknown: reconcile.OutcomeUnknownReference}
	got := map[string][]reconcile.Outcome{}
	for _, it := range rep.Items {
		got[it.Reference] = append(got[it.Reference], it.Outcome)
	}
	for ref, o := range want {
		if len(got[ref]) == 0 || got[ref][0] != o {
			t.Errorf("%s: outcomes %v, want %s first", ref, got[ref], o)
		}
	}
	if g := got[refOK]; len(g) != 2 || g[1] != reconcile.OutcomeDuplicateAtBank {
		t.Errorf("%s settled twice: outcomes %v, want [ok duplicate_at_bank]", refOK, g)
	}
	if _, ok := got[refOtherDay]; ok {
		t.Errorf("payment paid on another day reported: %v", got[refOtherDay])
	}
	wantCounts := map[string]int{"ok": 1, "callback_lost": 1, "missing_at_bank": 1, "amount_mismatch": 1, "unknown_reference": 1, "duplicate_at_bank": 1}
	for k, v := range wantCounts {
		if rep.Counts[k] != v {
			t.Errorf("counts %v, want %v", rep.Counts, wantCounts)
			break
		}
	}
	if rep.Failed != 0 || rep.From != "2026-11-25" || rep.To != "2026-11-25" || rep.Lines != 5 {
		t.Errorf("report header %+v", rep)
	}

	// The lost callback was confirmed through the domain: paid, the
	// application left awaiting_payment, exactly one payment.confirmed.
	if s := f.state(refLost); s != payment.StatePaid {
		t.Errorf("lost callback payment state %s, want paid", s)
	}
	if s := f.appStatus(refLost); s == application.StatusAwaitingPayment {
		t.Errorf("application still %s", s)
	}
	if s := f.state(refAmount); s != payment.StatePending {
		t.Errorf("amount mismatch changed the payment to %s", s)
	}
	ev := f.confirmedEvents()
	if ev[refLost] != 1 || ev[refAmount] != 0 {
		t.Errorf("payment.confirmed events %v", ev)
	}

	// The report is stored.
	var stored reconcile.Report
	if _, err := docstore.GetJSON(ctx, f.store, rep.ReportKey, &stored); err != nil || stored.RunID != rep.RunID || len(stored.Items) != len(rep.Items) {
		t.Fatalf("stored report %+v, %v", stored, err)
	}

	// Running the same file again confirms nothing twice.
	again, err := r.RunSettlement(ctx, key, reconcile.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Counts["ok"] != 2 || again.Counts["callback_lost"] != 0 || again.RunID == rep.RunID {
		t.Errorf("second run counts %v", again.Counts)
	}
	if ev := f.confirmedEvents(); ev[refLost] != 1 {
		t.Errorf("payment.confirmed after rerun %v", ev)
	}
}

func TestRunSettlement_bad_file_changes_nothing(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 11, 25, 10, 0, 0, 0, vnpay.GMT7)
	f := newFixture(t, day.Add(time.Hour))
	f.payment(refLost, payment.MethodVNPay, 100000, day, day.Add(15*time.Minute))
	r := reconcile.New(f.store, reconcile.NewDomain(f.svc), reconcile.Options{})
	bad := reconcile.SettlementHeader + "\n2026-11-25," + refLost + ",100000,T1\n2026-11-25,x,1.5,T2\n"

	if _, err := r.UploadSettlement(ctx, "bad", []byte(bad)); !errors.Is(err, reconcile.ErrBadSettlement) {
		t.Fatalf("upload err = %v", err)
	}
	// Even if a bad file got into the bucket another way, a run refuses it.
	if _, err := f.store.Put(ctx, reconcile.SettlementPrefix+"bad.csv", []byte(bad), docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.RunSettlement(ctx, reconcile.SettlementPrefix+"bad.csv", reconcile.RunOptions{})
	var se *reconcile.SettlementError
	if !errors.As(err, &se) || se.Problems[0].Line != 3 {
		t.Fatalf("err = %v", err)
	}
	if s := f.state(refLost); s != payment.StatePending {
		t.Errorf("payment %s after a bad file", s)
	}
	for _, k := range f.store.Keys() {
		if strings.HasPrefix(k, reconcile.ReportPrefix) {
			t.Errorf("report %s written for a bad file", k)
		}
	}
	if _, err := r.UploadSettlement(ctx, "../etc/passwd x", []byte(reconcile.SettlementHeader)); !errors.Is(err, reconcile.ErrBadName) {
		t.Errorf("bad name err = %v", err)
	}
}

func TestCheckPending(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, vnpay.GMT7)
	f := newFixture(t, now)
	const (
		vPaid     = "MCVNPAYPAIDAAA"
		vMismatch = "MCVNPAYWRONGAM"
		vExpired  = "MCVNPAYEXPIRED"
		vStill    = "MCVNPAYSTILLPE"
		vYoung    = "MCVNPAYYOUNGAA"
		vFailed   = "MCVNPAYFAILEDA"
		qExpired  = "MCVIETQREXPIRE"
		stuck     = "MCSTUCKPAIDAAA"
	)
	hourAgo := now.Add(-time.Hour)
	f.payment(vPaid, payment.MethodVNPay, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	f.payment(vMismatch, payment.MethodVNPay, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	f.payment(vExpired, payment.MethodVNPay, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	f.payment(vStill, payment.MethodVNPay, 50000, now.Add(-40*time.Minute), now.Add(time.Hour))
	f.payment(vYoung, payment.MethodVNPay, 50000, now.Add(-5*time.Minute), now.Add(10*time.Minute))
	f.payment(vFailed, payment.MethodVNPay, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	f.payment(qExpired, payment.MethodVietQR, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	// A paid payment whose follow-up a crash cut short.
	f.payment(stuck, payment.MethodVNPay, 50000, hourAgo, hourAgo.Add(15*time.Minute))
	env, err := queue.NewEnvelope(payment.EventConfirmed, "", payment.ConfirmedPayload{Ref: stuck, ApplicationCode: "HS-" + stuck + "-260302-0001", AmountVND: 50000})
	if err != nil {
		t.Fatal(err)
	}
	paidAt := hourAgo.Add(time.Minute)
	if _, err := f.svc.Repository().Update(ctx, stuck, func(p *payment.Payment) error {
		p.State, p.PaidAt, p.ConfirmEvent = payment.StatePaid, &paidAt, &env
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	bank := vnpaytest.NewBank("secret", "MOTCUA01")
	bank.Record(vnpaytest.Txn{TxnRef: vPaid, AmountVND: 50000, ResponseCode: "00", TransactionStatus: "00", TransactionNo: "1401", PayDate: hourAgo.Add(2 * time.Minute)})
	bank.Record(vnpaytest.Txn{TxnRef: vMismatch, AmountVND: 5000, ResponseCode: "00", TransactionStatus: "00", TransactionNo: "1402"})
	bank.Record(vnpaytest.Txn{TxnRef: vFailed, AmountVND: 50000, ResponseCode: "24", TransactionStatus: "02", TransactionNo: "1403"})
	srv := httptest.NewServer(bank)
	defer srv.Close()
	qc, err := vnpay.NewQueryClient(vnpay.Config{TmnCode: "MOTCUA01", HashSecret: "secret", APIURL: srv.URL}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	r := reconcile.New(f.store, reconcile.NewDomain(f.svc), reconcile.Options{Querier: qc, Now: func() time.Time { return f.now }})
	rep, err := r.CheckPending(ctx, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		outcome string
		state   payment.State
	}{
		vPaid:     {reconcile.PendingConfirmed, payment.StatePaid},
		vMismatch: {reconcile.PendingAmountMismatch, payment.StatePending},
		vExpired:  {reconcile.PendingExpired, payment.StateExpired},
		vStill:    {reconcile.PendingStill, payment.StatePending},
		vFailed:   {reconcile.PendingExpired, payment.StateExpired},
		qExpired:  {reconcile.PendingExpired, payment.StateExpired},
		stuck:     {reconcile.PendingRepaired, payment.StatePaid},
	}
	if rep.Checked != len(want) {
		t.Errorf("checked %d, want %d: %+v", rep.Checked, len(want), rep.Items)
	}
	for _, it := range rep.Items {
		w, ok := want[it.Reference]
		if !ok {
			t.Errorf("unexpected item %+v", it)
			continue
		}
		if it.Outcome != w.outcome || f.state(it.Reference) != w.state {
			t.Errorf("%s: outcome %s state %s (%s), want %s %s", it.Reference, it.Outcome, f.state(it.Reference), it.Error, w.outcome, w.state)
		}
	}
	if s := f.state(vYoung); s != payment.StatePending {
		t.Errorf("young payment %s", s)
	}
	ev := f.confirmedEvents()
	if ev[vPaid] != 1 || ev[stuck] != 1 || len(ev) != 2 {
		t.Errorf("payment.confirmed events %v", ev)
	}
	for _, ref := range []string{vPaid, stuck} {
		if s := f.appStatus(ref); s == application.StatusAwaitingPayment {
			t.Errorf("%s application still %s", ref, s)
		}
	}
	// The querydr requests were signed and carried the payment's date.
	for _, q := range bank.Queries() {
		if q.Verify("secret") != nil || q.TransactionDate != vnpay.FormatDate(hourAgo) && q.TxnRef != vStill {
			t.Errorf("querydr request %+v", q)
		}
	}

	// A second run finds nothing more to do.
	again, err := r.CheckPending(ctx, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if again.Checked != 2 || again.Counts[reconcile.PendingStill] != 1 || again.Counts[reconcile.PendingAmountMismatch] != 1 {
		t.Errorf("second run %+v", again.Counts)
	}
	if ev := f.confirmedEvents(); ev[vPaid] != 1 || ev[stuck] != 1 {
		t.Errorf("events after second run %v", ev)
	}
}

// TestConfirm_concurrent_with_callbacks: reconciliation racing the real
// callback path confirms once.
func TestConfirm_concurrent_with_callbacks(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, vnpay.GMT7)
	f := newFixture(t, now)
	f.payment(refLost, payment.MethodVNPay, 100000, now.Add(-time.Hour), now.Add(-45*time.Minute))
	d := reconcile.NewDomain(f.svc)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Confirm(ctx, reconcile.Confirmation{Ref: refLost, Provider: payment.ProviderVNPay, TransactionNo: "T1", AmountVND: 100000}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ev := f.confirmedEvents(); ev[refLost] != 1 {
		t.Fatalf("events %v", ev)
	}
}
