package book

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/receipt"
	"motcua/shared/receipt/numbering"
)

// Correction is a staff request to replace or adjust a receipt.
type Correction struct {
	// Series and Number name the receipt corrected.
	Series string `json:"series" validate:"required,max=11"`
	Number uint32 `json:"number" validate:"required,min=1,max=99999999"`
	// Reason says why (printed on the new receipt).
	Reason string `json:"reason" validate:"required,max=500"`
	// Payer, when set, corrects the payer's name and address (replace).
	Payer *PayerFix `json:"payer,omitempty"`
	// Lines are the new receipt's lines: for a replacement the corrected
	// lines (the original's when empty); for an adjustment the changes
	// (negative amounts reduce), at least one.
	Lines []receipt.Line `json:"lines,omitempty" validate:"max=50,dive"`
}

// PayerFix corrects the payer printed on a replacement.
type PayerFix struct {
	// Name is the corrected name ("" keeps the original's).
	Name string `json:"name,omitempty" validate:"max=400"`
	// Address is the corrected address ("" keeps the original's).
	Address string `json:"address,omitempty" validate:"max=400"`
}

var errCorrection = fault.New("receipt", "invalid_correction", http.StatusUnprocessableEntity,
	"Yêu cầu điều chỉnh/thay thế biên lai không hợp lệ.", "The correction request is not valid.")

// Replace issues a replacement of the receipt named in c (thay thế): a new
// receipt in the current series referencing the original's template,
// series, number and date with the reason; the original stays stored,
// marked replaced, its number used. One replacement per receipt: the same
// request again returns the same replacement.
func (b *Book) Replace(ctx context.Context, c Correction, correlationID string) (Record, error) {
	orig, _, err := b.Get(ctx, c.Series, c.Number)
	if err != nil {
		return Record{}, err
	}
	if orig.Status == StatusReplaced && orig.ReplacedBy != nil {
		rep, _, err := b.Get(ctx, orig.ReplacedBy.Series, orig.ReplacedBy.Number)
		if err != nil {
			return Record{}, err
		}
		if rep.Receipt.Original != nil && rep.Receipt.Original.Reason == strings.TrimSpace(c.Reason) {
			return rep, nil // the same request again
		}
		return Record{}, ErrAlreadyReplaced
	}
	key := "replace-" + orig.ID().String()
	return b.correct(ctx, orig, receipt.KindReplacement, key, c, correlationID)
}

// Adjust issues an adjustment of the receipt named in c (điều chỉnh): a
// new receipt whose lines are the changes, referencing the original; the
// original stays in force, marked adjusted. The same request (same
// receipt, reason and lines) again returns the same adjustment.
func (b *Book) Adjust(ctx context.Context, c Correction, correlationID string) (Record, error) {
	orig, _, err := b.Get(ctx, c.Series, c.Number)
	if err != nil {
		return Record{}, err
	}
	if orig.Status == StatusReplaced {
		return Record{}, ErrAlreadyReplaced
	}
	if len(c.Lines) == 0 {
		return Record{}, errCorrection.WithIssues([]fault.Issue{{Path: "lines", Message: "an adjustment needs at least one line"}})
	}
	body, _ := json.Marshal(struct {
		R string
		L []receipt.Line
	}{strings.TrimSpace(c.Reason), c.Lines})
	h := sha256.Sum256(body)
	key := "adjust-" + orig.ID().String() + "-" + hex.EncodeToString(h[:8])
	return b.correct(ctx, orig, receipt.KindAdjustment, key, c, correlationID)
}

func (b *Book) correct(ctx context.Context, orig Record, kind receipt.Kind, key string, c Correction, correlationID string) (Record, error) {
	o := orig.Receipt
	reason := strings.TrimSpace(c.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return Record{}, errCorrection.WithIssues([]fault.Issue{{Path: "reason", Message: "is required (at most 500 characters)"}})
	}
	build := func(a numbering.Allocation) (receipt.Receipt, error) {
		r := o
		r.Series, r.Number, r.Kind, r.IssuedAt, r.LookupCode = a.Series, a.Number, kind, a.At, a.Token
		r.TemplateSymbol = b.cfg.Unit.TemplateSymbol
		r.Unit = b.cfg.Unit.Party
		r.Original = &receipt.Reference{TemplateSymbol: o.TemplateSymbol, Series: o.Series, Number: o.Number,
			IssuedOn: o.IssuedAt, Reason: reason}
		if c.Payer != nil {
			if n := strings.TrimSpace(c.Payer.Name); n != "" {
				r.Payer.Name = n
			}
			if ad := strings.TrimSpace(c.Payer.Address); ad != "" {
				r.Payer.Address = ad
			}
		}
		if len(c.Lines) > 0 {
			r.Lines = slices.Clone(c.Lines)
		}
		r.Lines = slices.Clone(r.Lines)
		r.TotalVND = r.Sum()
		if err := r.Validate(); err != nil {
			return receipt.Receipt{}, err
		}
		return r, nil
	}
	// Check the request before anything is claimed or numbered: a bad
	// request changes nothing.
	if _, err := build(numbering.Allocation{Series: b.cfg.Unit.SeriesAt(b.now()), Number: numbering.MaxNumber, At: b.now().UTC(), Token: "CHECKONLY0"}); err != nil {
		return Record{}, err
	}
	return b.issue(ctx, draft{
		claimKey: CorrectionsPrefix + key + ".json", numKey: key, agency: orig.AgencyCode, correlationID: correlationID,
		build: build,
		afterStore: func(ctx context.Context, rec Record) error {
			return b.markOriginal(ctx, orig.ID(), rec)
		},
	})
}

// markOriginal records a correction on the original's index (idempotent).
func (b *Book) markOriginal(ctx context.Context, orig ID, corr Record) error {
	var r Record
	err := docstore.Update(ctx, b.store, IndexKey(orig.Series, orig.Number), &r, func() error {
		id := corr.ID()
		switch corr.Receipt.Kind {
		case receipt.KindReplacement:
			if r.ReplacedBy != nil {
				if *r.ReplacedBy == id {
					return docstore.ErrUnchanged
				}
				return ErrAlreadyReplaced
			}
			r.Status, r.ReplacedBy = StatusReplaced, &id
		case receipt.KindAdjustment:
			if slices.Contains(r.AdjustedBy, id) {
				return docstore.ErrUnchanged
			}
			r.AdjustedBy = append(r.AdjustedBy, id)
			if r.Status == StatusIssued {
				r.Status = StatusAdjusted
			}
		}
		r.Version++
		return nil
	}, 32)
	if err != nil {
		return fmt.Errorf("mark %s corrected: %w", orig, err)
	}
	return nil
}
