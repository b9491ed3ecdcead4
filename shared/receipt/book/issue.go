package book

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/numbering"
)

// draft is one receipt to issue: the claim that makes it happen once, the
// numbering key and how to build the receipt once numbered.
type draft struct {
	// claimKey is the claim document's key.
	claimKey string
	// numKey is the key of the in-flight entry in the series counter.
	numKey string
	// agency settles the application.
	agency string
	// build returns the receipt for an allocation; it must give the same
	// receipt for the same allocation on every attempt.
	build func(a numbering.Allocation) (receipt.Receipt, error)
	// afterStore runs once the receipt is stored, on every attempt (so it
	// must be idempotent): corrections mark the original.
	afterStore func(ctx context.Context, rec Record) error
	// correlationID ties the event to its cause.
	correlationID string
}

// issue runs the issuing protocol for d and returns the stored record:
//
//  1. claim (create once): fixes the series on the first attempt;
//  2. number (numbering.Allocate): the in-flight entry, or the next number;
//  3. documents: signed XML, PDF, JSON index, each create once (a retry
//     keeps the first attempt's documents), the index last;
//  4. the day index and, beside it, the outbox marker of receipt.issued
//     (the receipt is durable now);
//  5. the claim records the number (from here on the payment is issued);
//  6. the application's receipt link and the counter's in-flight entry
//     completed (together), then the event published and its marker
//     deleted.
//
// A crash anywhere leaves a state the next attempt completes with the
// same number; the outbox repair publishes an event a crash left staged.
// Steps run together only where neither's retry depends on the other
// having happened first: the day index is rewritten (create once) by every
// attempt, and link and Complete both follow the claim's number.
func (b *Book) issue(ctx context.Context, d draft) (Record, error) {
	now := b.now()
	c, claimETag, fresh, err := b.claim(ctx, d.claimKey, b.cfg.Unit.SeriesAt(now))
	if err != nil {
		return Record{}, err
	}
	var a numbering.Allocation
	if c.Issued != nil {
		a = *c.Issued
	} else {
		a, err = b.num.Allocate(ctx, c.Series, d.numKey, now, yearEnd(seriesYear(c.CreatedAt)), func(ctx context.Context) (numbering.Allocation, bool, error) {
			var cur claim
			if _, err := docstore.GetJSON(ctx, b.store, d.claimKey, &cur); err != nil {
				return numbering.Allocation{}, false, err
			}
			if cur.Issued != nil {
				return *cur.Issued, true, nil
			}
			return numbering.Allocation{}, false, nil
		})
		if err != nil {
			return Record{}, err
		}
	}
	r, err := d.build(a)
	if err != nil {
		return Record{}, err
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	// A claim this attempt created has had no earlier attempt, so no index
	// to look for (a concurrent duplicate delivery meets ours in the
	// create-once writes, where the first stored wins).
	rec, err := b.storeDocuments(ctx, r, d.agency, !fresh)
	if err != nil {
		return Record{}, err
	}
	env, err := issuedEvent(rec, d.correlationID)
	if err != nil {
		return Record{}, err
	}
	// The day index beside the corrections' follow-up and the marker: all
	// three exist before the claim records the number (a retry of an
	// issued payment repeats only the link, Complete and the event).
	err = both(func() error { return b.putDay(ctx, rec) }, func() error {
		if d.afterStore != nil {
			if err := d.afterStore(ctx, rec); err != nil {
				return err
			}
		}
		if c.Issued == nil {
			return stageEvent(ctx, b.store, b.cfg.EventsQueue, env)
		}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	if c.Issued == nil {
		if err := b.recordNumber(ctx, d.claimKey, c, claimETag, a); err != nil {
			return Record{}, err
		}
		b.log.InfoContext(ctx, "receipt issued", "series", a.Series, "number", a.Number, "kind", string(r.Kind),
			"application", r.ApplicationCode, "payment_ref", r.PaymentRef)
	}
	err = both(func() error { return b.link(ctx, rec) }, func() error { return b.num.Complete(ctx, a.Series, d.numKey) })
	if err != nil {
		return Record{}, err
	}
	// The marker was staged by this attempt (c.Issued nil): publish without
	// looking for it first (a concurrent delivery of the same payment may
	// have published it already: consumers de-duplicate on the event ID).
	if err := flushEvent(ctx, b.store, b.pub, b.cfg.EventsQueue, env, c.Issued == nil); err != nil {
		// The receipt is issued and the marker stays for the outbox
		// repair: report success.
		b.log.WarnContext(ctx, "receipt.issued left in outbox for repair", "event_id", env.ID, "error", err.Error())
	}
	return rec, nil
}

// both runs f and g concurrently and returns the first one's error, else
// the second's.
func both(f, g func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- g() }()
	err := f()
	if err2 := <-ch; err == nil {
		err = err2
	}
	return err
}

// recordNumber records a on the claim at key (read as c with ETag etag):
// one compare-and-swap on that version, or, if the claim changed since (a
// concurrent delivery of the same payment), the read-and-check loop.
func (b *Book) recordNumber(ctx context.Context, key string, c claim, etag string, a numbering.Allocation) error {
	if etag != "" {
		next := c
		next.Issued = &a
		_, err := docstore.PutJSON(ctx, b.store, key, next, docstore.PutOptions{IfMatch: etag})
		if err == nil {
			return nil
		}
		if !errors.Is(err, docstore.ErrPrecondition) && !errors.Is(err, docstore.ErrConflict) {
			return fmt.Errorf("record number on claim: %w", err)
		}
	}
	var cur claim
	err := docstore.Update(ctx, b.store, key, &cur, func() error {
		if cur.Issued != nil {
			if cur.Issued.Number != a.Number || cur.Issued.Series != a.Series {
				return fmt.Errorf("claim %s holds %s-%d, not %s-%d", key, cur.Issued.Series, cur.Issued.Number, a.Series, a.Number)
			}
			return docstore.ErrUnchanged
		}
		cur.Issued = &a
		return nil
	}, 32)
	if err != nil {
		return fmt.Errorf("record number on claim: %w", err)
	}
	return nil
}

// seriesYear is the year (in Vietnam) a claim's series belongs to.
func seriesYear(created time.Time) int { return created.In(receipt.Zone).Year() }

// claim returns the claim at key with its ETag, creating it with series
// when absent (fresh true: this call created it). It tries the create
// first: most calls are a payment's first delivery.
func (b *Book) claim(ctx context.Context, key, series string) (c claim, etag string, fresh bool, err error) {
	c = claim{Key: key, Series: series, CreatedAt: b.now().UTC()}
	etag, err = docstore.PutJSON(ctx, b.store, key, c, docstore.PutOptions{IfNoneMatch: true})
	if err == nil {
		return c, etag, true, nil
	}
	if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
		return claim{}, "", false, fmt.Errorf("create claim %s: %w", key, err)
	}
	c = claim{}
	if etag, err = docstore.GetJSON(ctx, b.store, key, &c); err != nil {
		return claim{}, "", false, fmt.Errorf("read claim %s: %w", key, err)
	}
	return c, etag, false, nil
}

// storeDocuments writes the signed XML, the PDF and the index of r, each
// create once. When a previous attempt may have stored them (maybeStored),
// the stored ones win (the index is returned as stored). The PDF is
// rendered while the XML is signed and stored.
func (b *Book) storeDocuments(ctx context.Context, r receipt.Receipt, agency string, maybeStored bool) (Record, error) {
	if maybeStored {
		if rec, _, err := b.Get(ctx, r.Series, r.Number); err == nil {
			return rec, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Record{}, err
		}
	}
	type rendered struct {
		qr  string
		pdf []byte
		err error
	}
	render := func(r receipt.Receipt) (out rendered) {
		if out.qr, out.err = b.docs.QR(r); out.err != nil {
			out.err = fmt.Errorf("qr of %s-%d: %w", r.Series, r.Number, out.err)
			return out
		}
		if out.pdf, out.err = b.docs.PDF(r, out.qr); out.err != nil {
			out.err = fmt.Errorf("pdf of %s-%d: %w", r.Series, r.Number, out.err)
		}
		return out
	}
	ahead := make(chan rendered, 1)
	go func() { ahead <- render(r) }()
	xmlKey := XMLKey(r.Series, r.Number)
	signed, err := b.docs.SignXML(ctx, r, r.IssuedAt)
	if err != nil {
		<-ahead
		return Record{}, fmt.Errorf("sign receipt %s-%d: %w", r.Series, r.Number, err)
	}
	if _, err := b.store.Put(ctx, xmlKey, signed, docstore.PutOptions{IfNoneMatch: true, ContentType: "application/xml"}); err != nil {
		<-ahead
		if !errors.Is(err, docstore.ErrConflict) {
			return Record{}, fmt.Errorf("store %s: %w", xmlKey, err)
		}
		// A previous attempt signed first: its document is the receipt.
		if signed, err = b.Document(ctx, xmlKey); err != nil {
			return Record{}, err
		}
		stored, err := b.docs.Verify(signed)
		if err != nil {
			return Record{}, fmt.Errorf("stored %s does not verify: %w", xmlKey, err)
		}
		r = stored
		ahead <- render(r)
	}
	out := <-ahead
	if out.err != nil {
		return Record{}, out.err
	}
	rec := Record{Receipt: r, AgencyCode: agency, Format: b.docs.Format(), XMLKey: xmlKey, XMLSHA256: sha(signed),
		QR: out.qr, Status: StatusIssued, StoredAt: b.now().UTC(), Version: 1}
	if out.pdf != nil {
		rec.PDFKey = PDFKey(r.Series, r.Number)
		if err := b.putOnce(ctx, rec.PDFKey, out.pdf, "application/pdf"); err != nil {
			return Record{}, err
		}
	}
	if _, err := docstore.PutJSON(ctx, b.store, IndexKey(r.Series, r.Number), rec, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		if !errors.Is(err, docstore.ErrConflict) {
			return Record{}, fmt.Errorf("store index %s-%d: %w", r.Series, r.Number, err)
		}
		if rec, _, err = b.Get(ctx, r.Series, r.Number); err != nil {
			return Record{}, err
		}
	}
	return rec, nil
}

// dayEntry is one receipt in the day index.
type dayEntry struct {
	ID
	Kind     receipt.Kind `json:"kind"`
	TotalVND int64        `json:"totalVND"`
	IssuedAt time.Time    `json:"issuedAt"`
}

func (b *Book) putDay(ctx context.Context, rec Record) error {
	r := rec.Receipt
	_, err := docstore.PutJSON(ctx, b.store, DayKey(Day(r.IssuedAt), r.Series, r.Number),
		dayEntry{ID: rec.ID(), Kind: r.Kind, TotalVND: r.TotalVND, IssuedAt: r.IssuedAt.UTC()}, docstore.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, docstore.ErrConflict) {
		return fmt.Errorf("store day index: %w", err)
	}
	return nil
}

// link points the application's receipt link at rec unless it already
// points at a later receipt; an adjustment keeps the link on the adjusted
// receipt and marks it adjusted.
func (b *Book) link(ctx context.Context, rec Record) error {
	r := rec.Receipt
	fresh := AppLink{ID: rec.ID(), LookupCode: r.LookupCode, IssuedAt: r.IssuedAt.UTC(), Status: rec.Status}
	// Most applications have one receipt: try the create first.
	_, err := docstore.PutJSON(ctx, b.store, ByApplicationKey(r.ApplicationCode), fresh, docstore.PutOptions{IfNoneMatch: true})
	if err == nil {
		return nil
	}
	if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
		return fmt.Errorf("link receipt to application %s: %w", r.ApplicationCode, err)
	}
	var l AppLink
	return docstore.Upsert(ctx, b.store, ByApplicationKey(r.ApplicationCode), &l, func() error {
		switch {
		case l.ID.Series == "":
			l = fresh
		case r.Kind == receipt.KindAdjustment:
			if l.Status == StatusAdjusted {
				return docstore.ErrUnchanged
			}
			l.Status = StatusAdjusted
		case l.ID == rec.ID():
			if l.Status == rec.Status || l.Status == StatusAdjusted {
				return docstore.ErrUnchanged
			}
			l.Status = rec.Status
		case l.IssuedAt.After(r.IssuedAt):
			return docstore.ErrUnchanged
		default:
			l = fresh
		}
		return nil
	}, 32)
}

// eventNamespace makes receipt.issued IDs deterministic (UUID v5 of the
// receipt's series and number), so every retry stages the same event.
var eventNamespace = uuid.MustParse("6f1c2a4e-5b0d-4f0e-9a57-2a1f3c7b9d10")

func issuedEvent(rec Record, correlationID string) (queue.Envelope, error) {
	r := rec.Receipt
	p := IssuedPayload{ID: rec.ID(), Kind: r.Kind, PaymentRef: r.PaymentRef, ApplicationCode: r.ApplicationCode,
		AgencyCode: rec.AgencyCode, TotalVND: r.TotalVND, IssuedAt: r.IssuedAt.UTC()}
	if r.Original != nil {
		p.Original = &ID{TemplateSymbol: r.Original.TemplateSymbol, Series: r.Original.Series, Number: r.Original.Number}
	}
	env, err := queue.NewEnvelope(EventIssued, correlationID, p)
	if err != nil {
		return queue.Envelope{}, err
	}
	env.ID = uuid.NewSHA1(eventNamespace, []byte(r.Series+"/"+strconv.FormatUint(uint64(r.Number), 10))).String()
	env.Time = r.IssuedAt.UTC()
	return env, nil
}
