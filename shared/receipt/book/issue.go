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
//  3. documents: signed XML, PDF, JSON index, day index, each create once
//     (a retry keeps the first attempt's documents);
//  4. outbox marker of receipt.issued (the receipt is durable now);
//  5. the claim records the number (from here on the payment is issued);
//  6. the application's receipt link, the counter's in-flight entry
//     completed, the event published and its marker deleted.
//
// A crash anywhere leaves a state the next attempt completes with the
// same number; the outbox repair publishes an event a crash left staged.
func (b *Book) issue(ctx context.Context, d draft) (Record, error) {
	now := b.now()
	c, err := b.claim(ctx, d.claimKey, b.cfg.Unit.SeriesAt(now))
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
	rec, err := b.storeDocuments(ctx, r, d.agency)
	if err != nil {
		return Record{}, err
	}
	if d.afterStore != nil {
		if err := d.afterStore(ctx, rec); err != nil {
			return Record{}, err
		}
	}
	env, err := issuedEvent(rec, d.correlationID)
	if err != nil {
		return Record{}, err
	}
	if c.Issued == nil {
		if err := stageEvent(ctx, b.store, b.cfg.EventsQueue, env); err != nil {
			return Record{}, err
		}
		var cur claim
		err := docstore.Update(ctx, b.store, d.claimKey, &cur, func() error {
			if cur.Issued != nil {
				if cur.Issued.Number != a.Number || cur.Issued.Series != a.Series {
					return fmt.Errorf("claim %s holds %s-%d, not %s-%d", d.claimKey, cur.Issued.Series, cur.Issued.Number, a.Series, a.Number)
				}
				return docstore.ErrUnchanged
			}
			cur.Issued = &a
			return nil
		}, 32)
		if err != nil {
			return Record{}, fmt.Errorf("record number on claim: %w", err)
		}
		b.log.InfoContext(ctx, "receipt issued", "series", a.Series, "number", a.Number, "kind", string(r.Kind),
			"application", r.ApplicationCode, "payment_ref", r.PaymentRef)
	}
	if err := b.link(ctx, rec); err != nil {
		return Record{}, err
	}
	if err := b.num.Complete(ctx, a.Series, d.numKey); err != nil {
		return Record{}, err
	}
	if err := flushEvent(ctx, b.store, b.pub, b.cfg.EventsQueue, env); err != nil {
		// The receipt is issued and the marker stays for the outbox
		// repair: report success.
		b.log.WarnContext(ctx, "receipt.issued left in outbox for repair", "event_id", env.ID, "error", err.Error())
	}
	return rec, nil
}

// seriesYear is the year (in Vietnam) a claim's series belongs to.
func seriesYear(created time.Time) int { return created.In(receipt.Zone).Year() }

// claim reads the claim at key, creating it with series when absent.
func (b *Book) claim(ctx context.Context, key, series string) (claim, error) {
	var c claim
	_, err := docstore.GetJSON(ctx, b.store, key, &c)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, docstore.ErrNotFound) {
		return claim{}, fmt.Errorf("read claim %s: %w", key, err)
	}
	c = claim{Key: key, Series: series, CreatedAt: b.now().UTC()}
	if _, err := docstore.PutJSON(ctx, b.store, key, c, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		if !errors.Is(err, docstore.ErrConflict) {
			return claim{}, fmt.Errorf("create claim %s: %w", key, err)
		}
		c = claim{}
		if _, err := docstore.GetJSON(ctx, b.store, key, &c); err != nil {
			return claim{}, fmt.Errorf("read claim %s: %w", key, err)
		}
	}
	return c, nil
}

// storeDocuments writes the signed XML, the PDF, the index and the day
// index of r, each create once. When a previous attempt already stored
// them, the stored ones win (the index is returned as stored).
func (b *Book) storeDocuments(ctx context.Context, r receipt.Receipt, agency string) (Record, error) {
	if rec, _, err := b.Get(ctx, r.Series, r.Number); err == nil {
		return rec, b.putDay(ctx, rec)
	} else if !errors.Is(err, ErrNotFound) {
		return Record{}, err
	}
	xmlKey := XMLKey(r.Series, r.Number)
	signed, err := b.docs.SignXML(ctx, r, r.IssuedAt)
	if err != nil {
		return Record{}, fmt.Errorf("sign receipt %s-%d: %w", r.Series, r.Number, err)
	}
	if _, err := b.store.Put(ctx, xmlKey, signed, docstore.PutOptions{IfNoneMatch: true, ContentType: "application/xml"}); err != nil {
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
	}
	qr, err := b.docs.QR(r)
	if err != nil {
		return Record{}, fmt.Errorf("qr of %s-%d: %w", r.Series, r.Number, err)
	}
	rec := Record{Receipt: r, AgencyCode: agency, Format: b.docs.Format(), XMLKey: xmlKey, XMLSHA256: sha(signed),
		QR: qr, Status: StatusIssued, StoredAt: b.now().UTC(), Version: 1}
	pdf, err := b.docs.PDF(r, qr)
	if err != nil {
		return Record{}, fmt.Errorf("pdf of %s-%d: %w", r.Series, r.Number, err)
	}
	if pdf != nil {
		rec.PDFKey = PDFKey(r.Series, r.Number)
		if err := b.putOnce(ctx, rec.PDFKey, pdf, "application/pdf"); err != nil {
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
	return rec, b.putDay(ctx, rec)
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
