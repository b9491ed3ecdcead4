package book_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/format"
	"motcua/shared/receipt/offlineqr"
)

func TestHandleEvent_duplicate_concurrent_deliveries_give_one_receipt(t *testing.T) {
	e := newEnv(t, nil)
	ev := e.paid(t, 1)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]book.ID, 12)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, rec, err := e.book.HandleEvent(ctx, ev)
			if err != nil || out != book.OutcomeIssued {
				t.Errorf("delivery %d: %s %v", i, out, err)
				return
			}
			ids[i] = rec.ID()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id.Number != 1 || id.Series != "BL26T" {
			t.Fatalf("ids %v", ids)
		}
	}
	c, _ := e.book.Numbering().Get(ctx, "BL26T")
	if c.Last != 1 || len(c.InFlight) != 0 {
		t.Fatalf("counter %+v", c)
	}
	seen := map[string]bool{}
	for _, m := range e.q.Published(book.DefaultEventsQueue) {
		if m.Type != book.EventIssued {
			t.Fatalf("event %s", m.Type)
		}
		seen[m.ID] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d distinct receipt.issued events, want 1", len(seen))
	}
	for _, k := range e.mem.Keys() {
		if strings.HasPrefix(k, "outbox/") {
			t.Fatalf("outbox marker left: %s", k)
		}
	}
}

func TestHandleEvent_stores_verifiable_xml_pdf_index_and_links(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := e.paid(t, 7)
	_, rec, err := e.book.HandleEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	xml, err := e.book.Document(ctx, rec.XMLKey)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _, err := format.Verify(xml)
	if err != nil {
		t.Fatalf("stored XML does not verify: %v", err)
	}
	if r.Payer.Name != "Nguyễn Thị Hồng Nhung" || r.TotalVND != 150_000 || r.Lines[0].Kind != receipt.LineCharge ||
		r.Lines[0].Name != "Lệ phí cấp bản sao trích lục hộ tịch" || r.BankTxnRef != "1400000"+"7" || r.PaymentMethod != "vnpay" {
		t.Fatalf("receipt %+v", r)
	}
	pdf, err := e.book.Document(ctx, rec.PDFKey)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("pdf %q %v", pdf[:min(8, len(pdf))], err)
	}
	if _, err := offlineqr.Verify(rec.QR, qr.KeySet()); err != nil {
		t.Fatalf("qr: %v", err)
	}
	l, err := e.book.ByApplication(ctx, r.ApplicationCode)
	if err != nil || l.ID != rec.ID() || l.LookupCode != r.LookupCode {
		t.Fatalf("link %+v %v", l, err)
	}
	if got, err := e.book.Lookup(ctx, "BL26T", 1, strings.ToLower(r.LookupCode)); err != nil || got.ID() != rec.ID() {
		t.Fatalf("lookup %v", err)
	}
	if _, err := e.book.Lookup(ctx, "BL26T", 1, "WRONGCODE123"); !errors.Is(err, book.ErrNotFound) {
		t.Fatalf("wrong code: %v", err)
	}
}

func TestHandleEvent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"other_event_types_ignored", func(t *testing.T, e *env) {
			ev, _ := queue.NewEnvelope("application.submitted", "", map[string]string{"code": "X"})
			out, _, err := e.book.HandleEvent(ctx, ev)
			if err != nil || out != book.OutcomeIgnored {
				t.Fatalf("%s %v", out, err)
			}
		}},
		{"unknown_payment_is_a_bad_event", func(t *testing.T, e *env) {
			ev, _ := queue.NewEnvelope(payment.EventConfirmed, "", payment.ConfirmedPayload{Ref: "MCAAAAAAAAAAAA"})
			if _, _, err := e.book.HandleEvent(ctx, ev); !errors.Is(err, book.ErrBadEvent) {
				t.Fatalf("%v", err)
			}
		}},
		{"garbage_payload_is_a_bad_event", func(t *testing.T, e *env) {
			ev := queue.Envelope{ID: "x", Type: payment.EventConfirmed, Payload: []byte(`"nope"`)}
			if _, _, err := e.book.HandleEvent(ctx, ev); !errors.Is(err, book.ErrBadEvent) {
				t.Fatalf("%v", err)
			}
		}},
		{"duplicate_payment_gets_no_receipt", func(t *testing.T, e *env) {
			ev := e.paid(t, 3)
			var p payment.ConfirmedPayload
			_ = jsonUnmarshal(ev.Payload, &p)
			payment.NewRepository(e.store).Update(ctx, p.Ref, func(x *payment.Payment) error { x.Duplicate = true; return nil })
			out, _, err := e.book.HandleEvent(ctx, ev)
			if err != nil || out != book.OutcomeNoReceipt {
				t.Fatalf("%s %v", out, err)
			}
		}},
		{"numbers_follow_across_payments", func(t *testing.T, e *env) {
			for i := 1; i <= 3; i++ {
				_, rec, err := e.book.HandleEvent(ctx, e.paid(t, 10+i))
				if err != nil || rec.Receipt.Number != uint32(i) {
					t.Fatalf("%d: %+v %v", i, rec.ID(), err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, nil)) })
	}
}

func TestYearRollover_new_series_restarts_at_1(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.clock.Set(vnTime(2026, 12, 31, 23, 59, 58))
	e.book.HandleEvent(ctx, e.paid(t, 1))
	e.clock.Set(vnTime(2026, 12, 31, 23, 59, 59))
	_, last, err := e.book.HandleEvent(ctx, e.paid(t, 2))
	if err != nil || last.Receipt.Series != "BL26T" || last.Receipt.Number != 2 {
		t.Fatalf("31 Dec 23:59:59: %+v %v", last.ID(), err)
	}
	e.clock.Set(vnTime(2027, 1, 1, 0, 0, 0))
	_, first, err := e.book.HandleEvent(ctx, e.paid(t, 3))
	if err != nil || first.Receipt.Series != "BL27T" || first.Receipt.Number != 1 {
		t.Fatalf("1 Jan 00:00:00: %+v %v", first.ID(), err)
	}
	if first.Receipt.IssuedAt.In(receipt.Zone).Year() != 2027 || last.Receipt.IssuedAt.In(receipt.Zone).Year() != 2026 {
		t.Fatalf("issue times %v %v", last.Receipt.IssuedAt, first.Receipt.IssuedAt)
	}
}

func TestYearRollover_retry_after_midnight_keeps_its_series(t *testing.T) {
	// A payment whose first attempt claimed BL26T on 31 December and
	// crashed is completed on 1 January in BL26T, dated 31 Dec 23:59:59.
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := e.paid(t, 1)
	e.clock.Set(vnTime(2026, 12, 31, 23, 59, 59))
	crash := &docstoretest.CrashStore{Store: e.store, FailPutPrefix: "receipts/BL26T/", Once: true}
	crashing := e.newBook(t, crash)
	if _, _, err := crashing.HandleEvent(ctx, ev); err == nil {
		t.Fatal("the injected crash did not happen")
	}
	e.clock.Set(vnTime(2027, 1, 1, 0, 0, 3))
	_, rec, err := e.book.HandleEvent(ctx, ev)
	if err != nil || rec.Receipt.Series != "BL26T" || rec.Receipt.Number != 1 || !rec.Receipt.IssuedAt.Equal(vnTime(2026, 12, 31, 23, 59, 59)) {
		t.Fatalf("%+v at %v: %v", rec.ID(), rec.Receipt.IssuedAt, err)
	}
}

func TestCorrections_replace_and_adjust(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, orig, err := e.book.HandleEvent(ctx, e.paid(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.book.Replace(ctx, book.Correction{Series: "BL26T", Number: 1, Reason: "Sai tên người nộp", Payer: &book.PayerFix{Name: "Nguyễn Thị Hồng Nhụng"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Receipt.Kind != receipt.KindReplacement || rep.Receipt.Number != 2 || rep.Receipt.Original.Number != 1 ||
		rep.Receipt.Original.Reason != "Sai tên người nộp" || rep.Receipt.Payer.Name != "Nguyễn Thị Hồng Nhụng" || rep.Receipt.TotalVND != 150_000 {
		t.Fatalf("replacement %+v", rep.Receipt)
	}
	again, err := e.book.Replace(ctx, book.Correction{Series: "BL26T", Number: 1, Reason: "Sai tên người nộp"}, "")
	if err != nil || again.ID() != rep.ID() {
		t.Fatalf("same replacement again: %+v %v", again.ID(), err)
	}
	if _, err := e.book.Replace(ctx, book.Correction{Series: "BL26T", Number: 1, Reason: "Lý do khác"}, ""); !errors.Is(err, book.ErrAlreadyReplaced) {
		t.Fatalf("second replacement: %v", err)
	}
	o, _, _ := e.book.Get(ctx, "BL26T", 1)
	if o.Status != book.StatusReplaced || o.ReplacedBy == nil || *o.ReplacedBy != rep.ID() {
		t.Fatalf("original %+v", o)
	}
	if xml, err := e.book.Document(ctx, orig.XMLKey); err != nil || len(xml) == 0 {
		t.Fatal("original XML gone")
	}
	l, _ := e.book.ByApplication(ctx, orig.Receipt.ApplicationCode)
	if l.ID != rep.ID() {
		t.Fatalf("application link %+v, want the replacement", l)
	}
	adj, err := e.book.Adjust(ctx, book.Correction{Series: "BL26T", Number: 2, Reason: "Thu thiếu phí sao y",
		Lines: []receipt.Line{{Name: "Phí cung cấp thông tin", Kind: receipt.LineFee, AmountVND: 20_000}}}, "")
	if err != nil || adj.Receipt.Number != 3 || adj.Receipt.Kind != receipt.KindAdjustment || adj.Receipt.TotalVND != 20_000 {
		t.Fatalf("adjustment %+v %v", adj.Receipt, err)
	}
	if _, err := e.book.Adjust(ctx, book.Correction{Series: "BL26T", Number: 1, Reason: "x",
		Lines: []receipt.Line{{Name: "Phí", Kind: receipt.LineFee, AmountVND: 1}}}, ""); !errors.Is(err, book.ErrAlreadyReplaced) {
		t.Fatalf("adjusting a replaced receipt: %v", err)
	}
	if _, err := e.book.Adjust(ctx, book.Correction{Series: "BL26T", Number: 2, Reason: "bad", Lines: []receipt.Line{{Name: "", Kind: "x", AmountVND: 0}}}, ""); !receipt.IsInvalid(err) {
		t.Fatalf("bad adjustment: %v", err)
	}
	c, _ := e.book.Numbering().Get(ctx, "BL26T")
	if c.Last != 3 {
		t.Fatalf("a refused correction used a number: last %d", c.Last)
	}

	s, err := e.book.Summarize(ctx, "BL26T", "2026-12-03")
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 3 || s.First != 1 || s.Last != 3 || s.TotalVND != 320_000 || s.Replacements != 1 || s.Adjustments != 1 || s.Replaced != 1 || s.Adjusted != 1 {
		t.Fatalf("summary %+v", s)
	}
	csv := string(s.CSV())
	if !strings.Contains(csv, "BL26T,00000002,replacement,adjusted") || !strings.Contains(csv, "TOTAL,3") {
		t.Fatalf("csv:\n%s", csv)
	}
	x, err := s.XML()
	if err != nil || !bytes.Contains(x, []byte("<TgTien>320000</TgTien>")) || !bytes.Contains(x, []byte("<SLuong>3</SLuong>")) {
		t.Fatalf("xml %s %v", x, err)
	}
}

func TestVerifyXML(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, rec, _ := e.book.HandleEvent(ctx, e.paid(t, 1))
	signed, _ := e.book.Document(ctx, rec.XMLKey)
	tampered := regexp.MustCompile(`150000`).ReplaceAll(signed, []byte("950000"))
	if bytes.Equal(tampered, signed) {
		t.Fatal("amount not found in XML")
	}
	tests := []struct {
		name   string
		doc    []byte
		valid  bool
		reason string
	}{
		{"genuine", signed, true, ""},
		{"amount_digit_changed", tampered, false, "content_altered"},
		{"not_xml", []byte("hello"), false, "unknown_receipt_format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.book.VerifyXML(ctx, tc.doc)
			if err != nil || v.Valid != tc.valid || v.Reason != tc.reason {
				t.Fatalf("%+v %v", v, err)
			}
			if tc.valid && (!v.IssuedHere || v.Status != book.StatusIssued) {
				t.Fatalf("%+v", v)
			}
		})
	}
	t.Run("replaced_is_not_valid", func(t *testing.T) {
		e.book.Replace(ctx, book.Correction{Series: "BL26T", Number: 1, Reason: "Sai địa chỉ"}, "")
		v, _ := e.book.VerifyXML(ctx, signed)
		if v.Valid || v.Reason != "replaced" || v.ReplacedBy == nil {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("signed_elsewhere_not_issued_here", func(t *testing.T) {
		other := newEnv(t, nil)
		_, r2, _ := other.book.HandleEvent(ctx, other.paid(t, 1))
		doc, _ := other.book.Document(ctx, r2.XMLKey)
		other.clock.Advance(1)
		v, _ := e.book.VerifyXML(ctx, doc)
		if v.Valid || v.Reason != "different_document" {
			t.Fatalf("%+v", v)
		}
	})
}

// runIssueCrashTest issues receipts for payments (20% delivered twice)
// with workers concurrent issuers over a crashing store, redelivering
// failures, then checks numbers 1..payments, one per payment, each XML
// verifying, and every outbox marker gone or repairable.
func runIssueCrashTest(t *testing.T, store docstore.Store, payments, workers int) {
	e := newEnv(t, store)
	ctx := context.Background()
	evs := make([]queue.Envelope, payments)
	for i := range evs {
		evs[i] = e.paid(t, i+1)
	}
	cs := &docstoretest.CrashStore{Store: e.store, Rate: 0.03}
	b := e.newBook(t, cs)
	work := make(chan queue.Envelope, payments*4)
	var pending sync.WaitGroup
	for i, ev := range evs {
		pending.Add(1)
		work <- ev
		if i%5 == 0 {
			pending.Add(1)
			work <- ev
		}
	}
	var fatal atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range work {
				_, _, err := b.HandleEvent(ctx, ev)
				if err != nil && !errors.Is(err, docstoretest.ErrCrash) && !errors.Is(err, docstore.ErrPrecondition) {
					var fe interface{ ProblemCode() string }
					if !errors.As(err, &fe) || fe.ProblemCode() != "series_contention" {
						fatal.Store(err)
					}
				}
				if err != nil && fatal.Load() == nil {
					work <- ev
					continue
				}
				pending.Done()
			}
		}()
	}
	pending.Wait()
	close(work)
	wg.Wait()
	if err, _ := fatal.Load().(error); err != nil {
		t.Fatal(err)
	}
	c, _ := e.book.Numbering().Get(ctx, "BL26T")
	if int(c.Last) != payments || len(c.InFlight) != 0 {
		t.Fatalf("counter last %d in flight %d, want %d and 0", c.Last, len(c.InFlight), payments)
	}
	seen := map[string]bool{}
	for n := 1; n <= payments; n++ {
		rec, _, err := e.book.Get(ctx, "BL26T", uint32(n))
		if err != nil {
			t.Fatalf("number %d: %v", n, err)
		}
		if seen[rec.Receipt.PaymentRef] {
			t.Fatalf("payment %s numbered twice", rec.Receipt.PaymentRef)
		}
		seen[rec.Receipt.PaymentRef] = true
		v, err := e.book.VerifyXML(ctx, mustDoc(t, e.book, rec.XMLKey))
		if err != nil || !v.Valid {
			t.Fatalf("number %d does not verify: %+v %v", n, v, err)
		}
	}
	t.Logf("%d payments, %d workers, %d injected crashes", payments, workers, cs.Crashes())
}

func mustDoc(t *testing.T, b *book.Book, key string) []byte {
	t.Helper()
	d, err := b.Document(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIssue_crashes_and_duplicates_memstore(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	runIssueCrashTest(t, docstore.NewMemStore("motcua-data"), n, 8)
}

func TestIssue_crashes_and_duplicates_embedded_s3(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 30
	}
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runIssueCrashTest(t, docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-data"), n, 8)
}
