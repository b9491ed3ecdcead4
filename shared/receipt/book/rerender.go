package book

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/receipt"
)

// Re-rendering PDFs (the rerender-receipts job, shared/jobs/kinds): when
// the PDF layout changes (a font, a legal notice, the look-up link), the
// PDFs of receipts already issued are rendered again. Only the PDF — the
// document for people — changes: the number, the signed XML (the legal
// receipt), the index's data and the QR payload stay exactly as issued,
// and the new PDF is rendered from the receipt parsed back from the
// stored, verified signed XML, so it can only show what was signed.

// RerenderOutcome says what RerenderPDF did.
type RerenderOutcome string

// Outcomes of RerenderPDF.
const (
	// RerenderReplaced: the PDF was written (over the old one, or where
	// none was).
	RerenderReplaced RerenderOutcome = "replaced"
	// RerenderUnchanged: the rendering gives the stored bytes; nothing
	// was written.
	RerenderUnchanged RerenderOutcome = "unchanged"
)

// Rerendered reports one re-rendered PDF: enough to find the old bytes
// again (the bucket's object versions, a backup) and to prove what
// changed.
type Rerendered struct {
	// ID is the receipt.
	ID ID `json:"id"`
	// Outcome is replaced or unchanged.
	Outcome RerenderOutcome `json:"outcome"`
	// PDFKey is the PDF's key.
	PDFKey string `json:"pdfKey"`
	// OldETag and OldSHA256 identify the PDF that was there ("" when
	// there was none).
	OldETag   string `json:"oldETag,omitempty"`
	OldSHA256 string `json:"oldSha256,omitempty"`
	// NewETag and NewSHA256 identify the PDF now stored.
	NewETag   string `json:"newETag,omitempty"`
	NewSHA256 string `json:"newSha256"`
}

// ErrNoPDFRenderer means the book renders no PDF (no renderer configured).
var ErrNoPDFRenderer = errors.New("receipt book: no PDF renderer configured")

// ErrStoredXMLAltered means a receipt's stored signed XML no longer
// matches the hash recorded at issue, or does not verify: the PDF is not
// rendered from it (an operator must look).
var ErrStoredXMLAltered = errors.New("stored signed XML does not match the receipt's index")

// RerenderPDF renders the PDF of receipt series/number again from its
// stored signed XML and writes it with compare-and-swap over the PDF it
// read (If-Match its ETag; create-once when there was none). Same bytes:
// nothing is written (RerenderUnchanged), so running it twice is
// harmless. A concurrent writer makes it fail with docstore.ErrPrecondition
// (retry). The index and the XML are never written, except that an
// index without a PDF key gets it (CAS) once a PDF exists.
func (b *Book) RerenderPDF(ctx context.Context, series string, number uint32) (Rerendered, error) {
	rec, etag, err := b.Get(ctx, series, number)
	if err != nil {
		return Rerendered{}, err
	}
	id := rec.ID()
	signed, err := b.Document(ctx, rec.XMLKey)
	if err != nil {
		return Rerendered{}, fmt.Errorf("receipt %s: signed XML: %w", id, err)
	}
	if sha(signed) != rec.XMLSHA256 {
		return Rerendered{}, fmt.Errorf("receipt %s: %w (sha256 %s, index %s)", id, ErrStoredXMLAltered, sha(signed), rec.XMLSHA256)
	}
	r, err := b.docs.Verify(signed)
	if err != nil {
		return Rerendered{}, fmt.Errorf("receipt %s: %w: %v", id, ErrStoredXMLAltered, err)
	}
	if r.Series != id.Series || r.Number != id.Number || r.TemplateSymbol != id.TemplateSymbol {
		return Rerendered{}, fmt.Errorf("receipt %s: %w: the XML is receipt %s-%08d", id, ErrStoredXMLAltered, r.Series, r.Number)
	}
	pdf, err := b.docs.PDF(r, rec.QR)
	if err != nil {
		return Rerendered{}, fmt.Errorf("receipt %s: render pdf: %w", id, err)
	}
	if pdf == nil {
		return Rerendered{}, ErrNoPDFRenderer
	}
	out := Rerendered{ID: id, PDFKey: PDFKey(id.Series, id.Number), NewSHA256: sha(pdf)}
	opts := docstore.PutOptions{ContentType: "application/pdf", IfNoneMatch: true}
	old, err := b.store.Get(ctx, out.PDFKey)
	switch {
	case err == nil:
		out.OldETag, out.OldSHA256 = old.ETag, sha(old.Body)
		if bytes.Equal(old.Body, pdf) {
			out.Outcome, out.NewETag = RerenderUnchanged, old.ETag
			return out, b.notePDF(ctx, rec, etag, out.PDFKey)
		}
		opts = docstore.PutOptions{ContentType: "application/pdf", IfMatch: old.ETag}
	case !errors.Is(err, docstore.ErrNotFound):
		return Rerendered{}, fmt.Errorf("receipt %s: read pdf: %w", id, err)
	}
	newETag, err := b.store.Put(ctx, out.PDFKey, pdf, opts)
	if err != nil {
		return Rerendered{}, fmt.Errorf("receipt %s: write pdf: %w", id, err)
	}
	out.Outcome, out.NewETag = RerenderReplaced, newETag
	b.log.InfoContext(ctx, "receipt pdf re-rendered", "series", id.Series, "number", id.Number,
		"old_etag", out.OldETag, "old_sha256", out.OldSHA256, "new_sha256", out.NewSHA256)
	return out, b.notePDF(ctx, rec, etag, out.PDFKey)
}

// notePDF records the PDF key on an index that has none (receipts issued
// while no renderer was configured), by compare-and-swap.
func (b *Book) notePDF(ctx context.Context, rec Record, etag, key string) error {
	if rec.PDFKey == key {
		return nil
	}
	rec.PDFKey = key
	rec.Version++
	if _, err := docstore.PutJSON(ctx, b.store, IndexKey(rec.Receipt.Series, rec.Receipt.Number), rec, docstore.PutOptions{IfMatch: etag}); err != nil {
		return fmt.Errorf("receipt %s: record pdf key: %w", rec.ID(), err)
	}
	return nil
}

// DayReceipt is one receipt of the day index, as ReceiptsIssued lists it.
type DayReceipt struct {
	// Day is the issue date (YYYY-MM-DD, Vietnam time).
	Day string
	// Series and Number name the receipt.
	Series string
	Number uint32
}

// ReceiptsIssued calls emit for every receipt issued from day from to day
// to (YYYY-MM-DD, Vietnam time, inclusive; "" leaves that end open) in
// series ("" = every series), in day, series, number order, from the day
// index's keys alone (no document is read).
func (b *Book) ReceiptsIssued(ctx context.Context, from, to, series string, emit func(DayReceipt) error) error {
	start := ""
	if from != "" {
		start = DaysPrefix + from + "/"
	}
	next := ""
	for {
		page, err := b.store.List(ctx, DaysPrefix, next, 1000)
		if err != nil {
			return fmt.Errorf("list day index: %w", err)
		}
		for _, e := range page.Entries {
			if e.Key < start {
				continue
			}
			d, ok := parseDayKey(e.Key)
			if !ok {
				continue
			}
			if to != "" && d.Day > to {
				return nil
			}
			if series != "" && d.Series != series {
				continue
			}
			if err := emit(d); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}

// parseDayKey reads receipts/days/<day>/<series>/<number>.json; a series
// may itself hold '/'.
func parseDayKey(key string) (DayReceipt, bool) {
	rest, ok := strings.CutPrefix(key, DaysPrefix)
	if !ok {
		return DayReceipt{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return DayReceipt{}, false
	}
	day, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return DayReceipt{}, false
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		return DayReceipt{}, false
	}
	n, err := strconv.ParseUint(rest[i+1:], 10, 32)
	if _, derr := time.Parse("2006-01-02", day); derr != nil || err != nil || n == 0 || !receipt.ValidSymbol(rest[:i]) {
		return DayReceipt{}, false
	}
	return DayReceipt{Day: day, Series: rest[:i], Number: uint32(n)}, true
}

// ParseID reads an ID's String form, "<series>-<number, 8 digits>" (the
// series may hold '-'); the template symbol is left empty.
func ParseID(s string) (ID, bool) {
	i := strings.LastIndex(s, "-")
	if i <= 0 || len(s)-i-1 != 8 {
		return ID{}, false
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil || n == 0 || !receipt.ValidSymbol(s[:i]) {
		return ID{}, false
	}
	return ID{Series: s[:i], Number: uint32(n)}, true
}
