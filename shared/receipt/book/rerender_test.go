package book_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/jobs/kinds"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/format"
	"motcua/shared/receipt/receipttest"
)

// TestRerenderReceipts runs the rerender-receipts kind over a seeded book:
// three receipts issued with the A5 layout, one PDF from an "old layout"
// (other bytes), one PDF lost; the job re-renders with the A4 layout from
// the signed XML, keeps the old ETag/SHA-256 in the report, leaves the
// numbers, XML and index untouched, skips everything the second time, and
// refuses to render from an altered XML.
func TestRerenderReceipts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for i := 1; i <= 4; i++ {
		if _, _, err := e.book.HandleEvent(ctx, e.paid(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	// An old layout's PDF for no. 1, a lost PDF for no. 2.
	oldPDF := []byte("%PDF-1.3 old layout")
	oldETag, err := e.store.Put(ctx, book.PDFKey("BL26T", 1), oldPDF, docstore.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, book.PDFKey("BL26T", 2), ""); err != nil {
		t.Fatal(err)
	}
	// No. 4's signed XML altered after issue: must not be rendered.
	x4, err := e.book.Document(ctx, book.XMLKey("BL26T", 4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Put(ctx, book.XMLKey("BL26T", 4), bytes.Replace(x4, []byte("150000"), []byte("150001"), 1), docstore.PutOptions{ContentType: "application/xml"}); err != nil {
		t.Fatal(err)
	}
	pdf4, _ := e.book.Document(ctx, book.PDFKey("BL26T", 4))

	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		for n := uint32(1); n <= 4; n++ {
			for _, k := range []string{book.XMLKey("BL26T", n), book.IndexKey("BL26T", n)} {
				b, err := e.book.Document(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				m[k] = b
			}
		}
		return m
	}
	before := snapshot()

	// The new layout: A4 instead of A5, same store, same signer.
	a4, err := book.New(book.Deps{Store: e.store, Publisher: e.q, Documents: book.StandardDocuments(signer, qr, "A4", "https://dichvucong.example.gov.vn/function/receipt"),
		Now: e.clock.Now, Log: quiet}, book.Config{Unit: receipttest.Unit(), AgencyCode: "STP"})
	if err != nil {
		t.Fatal(err)
	}
	k := &kinds.RerenderReceipts{Receipts: a4}
	scope := jobs.Scope{Series: "BL26T", From: "2026-12-03", To: "2026-12-03"}
	if err := k.Check(scope); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]jobs.Scope{
		"unbounded":      {},
		"bad_series":     {Series: "bl/26"},
		"unused_field":   {Series: "BL26T", Agency: "STP"},
		"bad_date_range": {From: "2026-12-04", To: "2026-12-03"},
	} {
		if err := k.Check(s); err == nil {
			t.Errorf("scope %s %+v accepted", name, s)
		}
	}
	var items []jobs.Item
	if err := k.Plan(ctx, scope, func(it jobs.Item) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 || items[0].Key != "BL26T-00000001" || items[3].Key != "BL26T-00000004" {
		t.Fatalf("plan = %+v, want BL26T-00000001..4", items)
	}
	var none []jobs.Item
	if err := k.Plan(ctx, jobs.Scope{Series: "BL26T", From: "2026-12-04"}, func(it jobs.Item) error { none = append(none, it); return nil }); err != nil || len(none) != 0 {
		t.Fatalf("plan of a later day = %+v %v, want nothing", none, err)
	}
	if snap := snapshot(); !equalDocs(before, snap) {
		t.Fatal("planning changed a document")
	}

	results := map[string]jobs.Result{}
	for _, it := range items {
		r, err := k.Apply(ctx, scope, it)
		if err != nil {
			t.Fatalf("%s: %v", it.Key, err)
		}
		results[it.Key] = r
	}
	r1 := results["BL26T-00000001"]
	sum := sha256.Sum256(oldPDF)
	if r1.Outcome != jobs.OutcomeChanged || !strings.Contains(r1.Detail, oldETag) || !strings.Contains(r1.Detail, hex.EncodeToString(sum[:])) {
		t.Errorf("no. 1 = %+v, want changed with the old etag %s and sha256", r1, oldETag)
	}
	if r := results["BL26T-00000002"]; r.Outcome != jobs.OutcomeChanged || !strings.Contains(r.Detail, "old none") {
		t.Errorf("no. 2 (lost pdf) = %+v, want changed from none", r)
	}
	if r := results["BL26T-00000003"]; r.Outcome != jobs.OutcomeChanged {
		t.Errorf("no. 3 (A5 → A4) = %+v, want changed", r)
	}
	if r := results["BL26T-00000004"]; r.Outcome != jobs.OutcomeFailed || !strings.Contains(r.Detail, "does not match") {
		t.Errorf("no. 4 (altered XML) = %+v, want failed", r)
	}
	if got, _ := e.book.Document(ctx, book.PDFKey("BL26T", 4)); !bytes.Equal(got, pdf4) {
		t.Error("no. 4's PDF was rewritten from an altered XML")
	}
	if snap := snapshot(); !equalDocs(before, snap) {
		t.Fatal("re-rendering changed a signed XML or an index")
	}
	// The new PDFs are A4 renderings of what was signed.
	for n := uint32(1); n <= 3; n++ {
		rec, _, err := a4.Get(ctx, "BL26T", n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a4.Document(ctx, book.PDFKey("BL26T", n))
		if err != nil {
			t.Fatal(err)
		}
		x, err := a4.Document(ctx, rec.XMLKey)
		if err != nil {
			t.Fatal(err)
		}
		signed, _, _, err := format.Verify(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := book.StandardDocuments(signer, qr, "A4", "https://dichvucong.example.gov.vn/function/receipt").PDF(signed, rec.QR)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("no. %d: stored PDF is not the A4 rendering of the receipt", n)
		}
	}
	// Idempotent: the second run writes nothing.
	for _, it := range items[:3] {
		r, err := k.Apply(ctx, scope, it)
		if err != nil || r.Outcome != jobs.OutcomeSkipped || !strings.Contains(r.Detail, "same bytes") {
			t.Errorf("%s again = %+v %v, want skipped", it.Key, r, err)
		}
	}
	if r, err := k.Apply(ctx, scope, jobs.Item{Key: "BL26T-00000099"}); err != nil || r.Outcome != jobs.OutcomeFailed {
		t.Errorf("unknown receipt = %+v %v, want failed", r, err)
	}
}

// A concurrent writer between the read and the write makes RerenderPDF
// fail with a conflict (the job retries the item), never overwrite blind.
func TestRerenderPDF_compare_and_swap(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, _, err := e.book.HandleEvent(ctx, e.paid(t, 1)); err != nil {
		t.Fatal(err)
	}
	racy := &racingStore{Store: e.store, key: book.PDFKey("BL26T", 1)}
	b, err := book.New(book.Deps{Store: racy, Publisher: e.q, Documents: book.StandardDocuments(signer, qr, "A4", ""), Now: e.clock.Now, Log: quiet},
		book.Config{Unit: receipttest.Unit(), AgencyCode: "STP"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.RerenderPDF(ctx, "BL26T", 1); !errorsIsConflict(err) {
		t.Fatalf("RerenderPDF with a concurrent write = %v, want a conflict", err)
	}
	got, _ := e.book.Document(ctx, book.PDFKey("BL26T", 1))
	if string(got) != "written meanwhile" {
		t.Fatalf("the concurrent write was overwritten: %.20q", got)
	}
}

// racingStore writes key once, just after the first Get of it.
type racingStore struct {
	docstore.Store
	key  string
	done bool
}

func (s *racingStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	o, err := s.Store.Get(ctx, key)
	if key == s.key && !s.done {
		s.done = true
		if _, perr := s.Store.Put(ctx, key, []byte("written meanwhile"), docstore.PutOptions{ContentType: "application/pdf"}); perr != nil {
			return o, perr
		}
	}
	return o, err
}

func errorsIsConflict(err error) bool {
	return errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict)
}

func equalDocs(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
