// Package book is the receipt book (sổ biên lai) of a collecting unit: it
// issues one signed receipt per confirmed payment, numbers it without gap
// (receipt/numbering), stores the signed XML, the PDF and a JSON index in
// the data bucket under stable keys, publishes receipt.issued through the
// outbox, answers look-ups and verifications, records corrections
// (replacement, adjustment) and sums up a day per series.
//
// Storage layout (data bucket):
//
//	receipts/counters/<series>.json          numbering counter (receipt/numbering)
//	receipts/by-payment/<ref>.json           claim of a payment: series, then number (create once, then CAS)
//	receipts/corrections/<key>.json          claim of a correction (same shape)
//	receipts/<series>/<number>.xml           signed XML (create once)
//	receipts/<series>/<number>.pdf           PDF for people (create once)
//	receipts/<series>/<number>.json          Record: the index (create once, then CAS for status)
//	receipts/days/<yyyy-mm-dd>/<series>/<number>.json  day index for summaries (create once)
//	receipts/by-application/<code>.json      the application's current receipt
//
// Exactly one receipt per payment, however often and by however many
// workers payment.confirmed is delivered, with a crash at any step: every
// write is create-once or compare-and-swap, each step is repeated safely by
// the next delivery, and the claim records the number only after the
// receipt is stored (see numbering for why that closes every race).
package book

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/numbering"
)

// Storage prefixes.
const (
	// Prefix holds everything of the receipt book.
	Prefix = "receipts/"
	// ByPaymentPrefix holds one claim per payment.
	ByPaymentPrefix = Prefix + "by-payment/"
	// CorrectionsPrefix holds one claim per correction.
	CorrectionsPrefix = Prefix + "corrections/"
	// ByApplicationPrefix holds the current receipt of each application.
	ByApplicationPrefix = Prefix + "by-application/"
	// DaysPrefix holds the day index.
	DaysPrefix = Prefix + "days/"
)

// EventIssued is the type of the event published once per receipt.
const EventIssued = "receipt.issued"

// DefaultEventsQueue receives receipt.issued.
const DefaultEventsQueue = "receipt-events"

// Status of a stored receipt.
type Status string

// Statuses of a receipt. A correction never deletes: the original keeps
// its number and stays visible with its status.
const (
	// StatusIssued is a receipt in force.
	StatusIssued Status = "issued"
	// StatusReplaced is a receipt replaced by another (ReplacedBy).
	StatusReplaced Status = "replaced"
	// StatusAdjusted is a receipt in force with adjustments (AdjustedBy).
	StatusAdjusted Status = "adjusted"
)

// ID names one receipt.
type ID struct {
	// TemplateSymbol is the template symbol.
	TemplateSymbol string `json:"templateSymbol"`
	// Series is the series symbol.
	Series string `json:"series"`
	// Number is the number in the series.
	Number uint32 `json:"number"`
}

// String renders the ID as "<series>-<number, 8 digits>".
func (id ID) String() string { return fmt.Sprintf("%s-%08d", id.Series, id.Number) }

// Record is the JSON index of a stored receipt.
type Record struct {
	// Receipt is the receipt's data, as signed.
	Receipt receipt.Receipt `json:"receipt"`
	// AgencyCode is the agency that settles the application.
	AgencyCode string `json:"agencyCode,omitempty"`
	// Format is the format version of the signed XML.
	Format string `json:"format"`
	// XMLKey and PDFKey locate the documents.
	XMLKey string `json:"xmlKey"`
	PDFKey string `json:"pdfKey,omitempty"`
	// XMLSHA256 is the hex SHA-256 of the signed XML as stored.
	XMLSHA256 string `json:"xmlSha256"`
	// QR is the offline-verifiable QR payload printed on the PDF.
	QR string `json:"qr,omitempty"`
	// Status is issued, replaced or adjusted.
	Status Status `json:"status"`
	// ReplacedBy names the replacement (status replaced).
	ReplacedBy *ID `json:"replacedBy,omitempty"`
	// AdjustedBy names the adjustments, oldest first.
	AdjustedBy []ID `json:"adjustedBy,omitempty"`
	// StoredAt is when the index was written.
	StoredAt time.Time `json:"storedAt"`
	// Version counts the writes of the index.
	Version int `json:"version"`
}

// ID returns the record's receipt ID.
func (r Record) ID() ID {
	return ID{TemplateSymbol: r.Receipt.TemplateSymbol, Series: r.Receipt.Series, Number: r.Receipt.Number}
}

// claim is the per-payment (or per-correction) record of the issuing
// protocol: created first with the series, given the number once the
// receipt is stored.
type claim struct {
	Key       string                `json:"key"`
	Series    string                `json:"series"`
	Issued    *numbering.Allocation `json:"issued,omitempty"`
	CreatedAt time.Time             `json:"createdAt"`
}

// AppLink is the by-application marker: the application's current receipt.
type AppLink struct {
	// ID is the receipt.
	ID ID `json:"id"`
	// LookupCode opens it without the application's PIN.
	LookupCode string `json:"lookupCode"`
	// IssuedAt is its issue time.
	IssuedAt time.Time `json:"issuedAt"`
	// Status is issued, replaced or adjusted (as of the last link write).
	Status Status `json:"status"`
}

// IssuedPayload is the payload of receipt.issued (no personal data).
type IssuedPayload struct {
	ID
	// Kind is original, replacement or adjustment.
	Kind receipt.Kind `json:"kind"`
	// Original is the corrected receipt (corrections only).
	Original *ID `json:"original,omitempty"`
	// PaymentRef is the payment (originals).
	PaymentRef string `json:"paymentRef,omitempty"`
	// ApplicationCode is the application.
	ApplicationCode string `json:"applicationCode"`
	// AgencyCode settles the application.
	AgencyCode string `json:"agencyCode,omitempty"`
	// TotalVND is the receipt's total.
	TotalVND int64 `json:"totalVND"`
	// IssuedAt is the issue time.
	IssuedAt time.Time `json:"issuedAt"`
}

// Keys of the stored documents.

// XMLKey returns the key of a receipt's signed XML.
func XMLKey(series string, number uint32) string { return base(series, number) + ".xml" }

// PDFKey returns the key of a receipt's PDF.
func PDFKey(series string, number uint32) string { return base(series, number) + ".pdf" }

// IndexKey returns the key of a receipt's JSON index.
func IndexKey(series string, number uint32) string { return base(series, number) + ".json" }

func base(series string, number uint32) string {
	return Prefix + series + "/" + fmt.Sprintf("%08d", number)
}

// ByPaymentKey returns the key of a payment's claim.
func ByPaymentKey(ref string) string { return ByPaymentPrefix + ref + ".json" }

// ByApplicationKey returns the key of an application's receipt link.
func ByApplicationKey(code string) string { return ByApplicationPrefix + code + ".json" }

// DayKey returns the day-index key of a receipt issued on day (YYYY-MM-DD).
func DayKey(day, series string, number uint32) string {
	return DaysPrefix + day + "/" + series + "/" + fmt.Sprintf("%08d", number) + ".json"
}

// Day returns t's date in Vietnam (YYYY-MM-DD).
func Day(t time.Time) string { return t.In(receipt.Zone).Format("2006-01-02") }

// yearEnd is the last second of the series' year in Vietnam.
func yearEnd(year int) time.Time {
	return time.Date(year, 12, 31, 23, 59, 59, 0, receipt.Zone).UTC()
}

// Errors of the book.
var (
	// ErrNotFound means no receipt matches (or the lookup code is wrong).
	ErrNotFound = fault.New("receipt", "receipt_not_found", http.StatusNotFound,
		"Không tìm thấy biên lai với thông tin đã nhập.", "No receipt matches these details.")
	// ErrAlreadyReplaced means a replaced receipt cannot be corrected again.
	ErrAlreadyReplaced = fault.New("receipt", "receipt_already_replaced", http.StatusConflict,
		"Biên lai đã bị thay thế; hãy điều chỉnh hoặc thay thế biên lai thay thế nó.",
		"The receipt was already replaced; correct its replacement instead.")
	// ErrNotPayable means the payment cannot have a receipt (not paid, or
	// a duplicate payment due for refund).
	ErrNotPayable = fault.New("receipt", "payment_not_receiptable", http.StatusConflict,
		"Khoản thanh toán không đủ điều kiện lập biên lai.", "The payment cannot be given a receipt.")
)

// Documents makes the documents of a receipt: the signed XML (format +
// signer), the offline QR payload and the PDF. Implementations are safe
// for concurrent use.
type Documents interface {
	// Format is the format version new receipts are issued in.
	Format() string
	// SignXML returns r's signed XML, signed at.
	SignXML(ctx context.Context, r receipt.Receipt, at time.Time) ([]byte, error)
	// QR returns r's signed offline payload ("" when no QR key is set).
	QR(r receipt.Receipt) (string, error)
	// PDF renders r for people with its QR payload (nil when no PDF
	// renderer is configured).
	PDF(r receipt.Receipt, qr string) ([]byte, error)
	// Verify checks a signed XML in any registered format.
	Verify(signed []byte) (receipt.Receipt, error)
}

// Config configures a Book.
type Config struct {
	// Unit is the collecting unit (name, tax code, address, symbols).
	Unit receipt.Unit
	// AgencyCode is the staff agency allowed to correct receipts and read
	// summaries ("" = staff of any agency may; not for production).
	AgencyCode string
	// EventsQueue receives receipt.issued; DefaultEventsQueue when empty.
	EventsQueue string
}

// Deps are the Book's collaborators.
type Deps struct {
	// Store is the data bucket.
	Store docstore.Store
	// Publisher publishes receipt.issued.
	Publisher queue.Publisher
	// Documents signs and renders.
	Documents Documents
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log is the logger; slog.Default when nil.
	Log *slog.Logger
}

// Book is the receipt book. Safe for concurrent use.
type Book struct {
	store docstore.Store
	pub   queue.Publisher
	docs  Documents
	num   *numbering.Allocator
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
}

// New checks d and cfg and returns a Book.
func New(d Deps, cfg Config) (*Book, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if d.Publisher == nil {
		errs = append(errs, errors.New("publisher is required"))
	}
	if d.Documents == nil {
		errs = append(errs, errors.New("documents are required"))
	}
	if err := cfg.Unit.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("book.New: %w", err)
	}
	if cfg.EventsQueue == "" {
		cfg.EventsQueue = DefaultEventsQueue
	}
	b := &Book{store: d.Store, pub: d.Publisher, docs: d.Documents, num: numbering.New(d.Store), cfg: cfg, now: d.Now, log: d.Log}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b, nil
}

// Config returns the book's configuration.
func (b *Book) Config() Config { return b.cfg }

// Numbering returns the book's number allocator.
func (b *Book) Numbering() *numbering.Allocator { return b.num }

// Get reads a receipt's index; ErrNotFound when absent.
func (b *Book) Get(ctx context.Context, series string, number uint32) (Record, string, error) {
	var r Record
	etag, err := docstore.GetJSON(ctx, b.store, IndexKey(series, number), &r)
	if errors.Is(err, docstore.ErrNotFound) {
		return Record{}, "", ErrNotFound
	}
	if err != nil {
		return Record{}, "", fmt.Errorf("get receipt %s-%d: %w", series, number, err)
	}
	return r, etag, nil
}

// Document reads a stored document (XML or PDF) by key.
func (b *Book) Document(ctx context.Context, key string) ([]byte, error) {
	obj, err := b.store.Get(ctx, key)
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return obj.Body, nil
}

// ByApplication reads an application's receipt link; ErrNotFound when the
// application has no receipt.
func (b *Book) ByApplication(ctx context.Context, code string) (AppLink, error) {
	var l AppLink
	_, err := docstore.GetJSON(ctx, b.store, ByApplicationKey(code), &l)
	if errors.Is(err, docstore.ErrNotFound) {
		return AppLink{}, ErrNotFound
	}
	if err != nil {
		return AppLink{}, fmt.Errorf("receipt of application %s: %w", code, err)
	}
	return l, nil
}

// ByPayment returns the receipt of a payment; ErrNotFound when none is
// issued (yet).
func (b *Book) ByPayment(ctx context.Context, ref string) (Record, error) {
	var c claim
	_, err := docstore.GetJSON(ctx, b.store, ByPaymentKey(ref), &c)
	if errors.Is(err, docstore.ErrNotFound) || (err == nil && c.Issued == nil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("receipt of payment %s: %w", ref, err)
	}
	r, _, err := b.Get(ctx, c.Issued.Series, c.Issued.Number)
	return r, err
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// putOnce writes body under key unless something is there already
// (a previous attempt's write, kept as is).
func (b *Book) putOnce(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := b.store.Put(ctx, key, body, docstore.PutOptions{IfNoneMatch: true, ContentType: contentType})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
