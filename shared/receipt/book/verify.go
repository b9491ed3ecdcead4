package book

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"motcua/shared/fault"
	"motcua/shared/receipt"
)

// Verification is the answer to "is this receipt genuine?".
type Verification struct {
	// Valid is true when the signature is valid, the content unaltered,
	// the number issued here with this very document, and not replaced.
	Valid bool `json:"valid"`
	// SignatureValid: the XMLDSig signature checks (nil when not checked,
	// for identifiers).
	SignatureValid *bool `json:"signatureValid,omitempty"`
	// Unaltered: the signed content matches its digest and the document
	// is byte for byte the one stored here.
	Unaltered *bool `json:"unaltered,omitempty"`
	// IssuedHere: the series and number were issued by this book.
	IssuedHere bool `json:"issuedHere"`
	// Status is issued, replaced or adjusted (when issued here).
	Status Status `json:"status,omitempty"`
	// ReplacedBy names the replacement of a replaced receipt.
	ReplacedBy *ID `json:"replacedBy,omitempty"`
	// AdjustedBy names adjustments.
	AdjustedBy []ID `json:"adjustedBy,omitempty"`
	// Reason is a stable code when not valid: malformed_receipt,
	// signature_invalid, content_altered, unknown_receipt_format,
	// not_issued_here, different_document, replaced.
	Reason string `json:"reason,omitempty"`
	// Message and MessageVi explain Reason.
	Message   string `json:"message,omitempty"`
	MessageVi string `json:"message_vi,omitempty"`
	// Receipt summarises the receipt checked (when readable).
	Receipt *Summarised `json:"receipt,omitempty"`
}

// Summarised is the public summary of a receipt (no payer ID).
type Summarised struct {
	ID
	Kind            receipt.Kind `json:"kind"`
	PayerName       string       `json:"payerName"`
	ApplicationCode string       `json:"applicationCode"`
	ProcedureName   string       `json:"procedureName"`
	TotalVND        int64        `json:"totalVND"`
	IssuedAt        string       `json:"issuedAt"`
}

func summarise(r receipt.Receipt) *Summarised {
	return &Summarised{ID: ID{TemplateSymbol: r.TemplateSymbol, Series: r.Series, Number: r.Number}, Kind: r.Kind,
		PayerName: r.Payer.Name, ApplicationCode: r.ApplicationCode, ProcedureName: r.ProcedureName, TotalVND: r.TotalVND,
		IssuedAt: r.IssuedAt.In(receipt.Zone).Format("2006-01-02T15:04:05")}
}

func yes() *bool { t := true; return &t }
func no() *bool  { f := false; return &f }

// VerifyXML checks a signed receipt document: signature, content, issued
// here with this very document, and not replaced.
func (b *Book) VerifyXML(ctx context.Context, signed []byte) (Verification, error) {
	r, err := b.docs.Verify(signed)
	if err != nil {
		v := Verification{Reason: "malformed_receipt"}
		var fe *fault.Error
		if errors.As(err, &fe) {
			v.Reason, v.Message, v.MessageVi = fe.ProblemCode(), fe.MessageEn(), fe.MessageVi()
		}
		switch {
		case errors.Is(err, receipt.ErrSignatureInvalid):
			v.SignatureValid = no()
		case errors.Is(err, receipt.ErrContentAltered):
			v.SignatureValid, v.Unaltered = yes(), no()
		}
		if v.Message == "" {
			v.Message, v.MessageVi = "The document is not a readable receipt.", "Tài liệu không phải là biên lai đọc được."
		}
		return v, nil
	}
	v := Verification{SignatureValid: yes(), Unaltered: yes(), Receipt: summarise(r)}
	rec, _, err := b.Get(ctx, r.Series, r.Number)
	if errors.Is(err, ErrNotFound) || (err == nil && rec.Receipt.TemplateSymbol != r.TemplateSymbol) {
		v.Reason, v.Message, v.MessageVi = "not_issued_here", "This series and number were not issued by this unit.",
			"Số biên lai này không do đơn vị phát hành."
		return v, nil
	}
	if err != nil {
		return Verification{}, err
	}
	v.IssuedHere = true
	v.Status, v.ReplacedBy, v.AdjustedBy = rec.Status, rec.ReplacedBy, rec.AdjustedBy
	if sha(signed) != rec.XMLSHA256 {
		v.Unaltered = no()
		v.Reason, v.Message, v.MessageVi = "different_document",
			"The signature is valid but this is not the document issued under this number.",
			"Chữ ký hợp lệ nhưng tài liệu không phải là biên lai đã phát hành với số này."
		return v, nil
	}
	return b.finish(v), nil
}

// VerifyIDs checks that series/number was issued here with lookupCode, and
// its status.
func (b *Book) VerifyIDs(ctx context.Context, series string, number uint32, lookupCode string) (Verification, error) {
	rec, err := b.Lookup(ctx, series, number, lookupCode)
	if errors.Is(err, ErrNotFound) {
		return Verification{Reason: "not_issued_here", Message: "No receipt of this unit matches these details.",
			MessageVi: "Không có biên lai nào của đơn vị khớp với thông tin này."}, nil
	}
	if err != nil {
		return Verification{}, err
	}
	v := Verification{IssuedHere: true, Status: rec.Status, ReplacedBy: rec.ReplacedBy, AdjustedBy: rec.AdjustedBy, Receipt: summarise(rec.Receipt)}
	return b.finish(v), nil
}

func (b *Book) finish(v Verification) Verification {
	if v.Status == StatusReplaced {
		v.Reason, v.Message, v.MessageVi = "replaced", "The receipt was replaced by another one and is no longer in force.",
			"Biên lai đã bị thay thế bởi biên lai khác và không còn hiệu lực."
		return v
	}
	v.Valid = true
	return v
}

// Lookup reads a receipt by series, number and lookup code (compared in
// constant time); ErrNotFound for an unknown receipt or a wrong code
// alike.
func (b *Book) Lookup(ctx context.Context, series string, number uint32, lookupCode string) (Record, error) {
	rec, _, err := b.Get(ctx, series, number)
	if errors.Is(err, ErrNotFound) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, err
	}
	if !sameCode(rec.Receipt.LookupCode, lookupCode) {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

// sameCode compares lookup codes in constant time, ignoring case.
func sameCode(stored, given string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(strings.ToUpper(stored)), []byte(strings.ToUpper(strings.TrimSpace(given)))) == 1
}
