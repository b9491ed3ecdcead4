// Package catalog is motcua's procedure (thủ tục hành chính, TTHC) catalog:
// the model, its validation, versioned storage in the document store, a
// self-refreshing reader, and accent-insensitive search.
//
// Storage layout (bucket given by the docstore.Store):
//
//	catalog/v<N>/procedures.json   one immutable catalog version (Version doc)
//	catalog/current.json           pointer to the current version (Pointer doc)
//
// Versions are written create-once; the pointer is moved with ETag
// compare-and-swap and never moves backwards (see Load).
package catalog

import (
	"time"

	"motcua/shared/vnid"
)

// Level is the level of government that settles a procedure.
type Level string

// Levels of government.
const (
	// LevelProvince is cấp tỉnh (provincial departments, Sở …).
	LevelProvince Level = "province"
	// LevelDistrict is cấp huyện (kept for catalogs predating the 2025
	// two-tier reorganisation).
	LevelDistrict Level = "district"
	// LevelCommune is cấp xã.
	LevelCommune Level = "commune"
)

// OnlineLevel is how far a procedure can be done online (Decree
// 42/2022/NĐ-CP).
type OnlineLevel string

// Online levels.
const (
	// OnlineFull is toàn trình: filed, processed and returned online or by
	// public postal service.
	OnlineFull OnlineLevel = "full"
	// OnlinePartial is một phần: some step needs the applicant in person.
	OnlinePartial OnlineLevel = "partial"
)

// FeeKind says whether money is a fee (phí), a charge (lệ phí) or nothing.
type FeeKind string

// Fee kinds.
const (
	// FeeKindFee is phí.
	FeeKindFee FeeKind = "fee"
	// FeeKindCharge is lệ phí.
	FeeKindCharge FeeKind = "charge"
	// FeeKindFree means no fee or charge (miễn phí / không thu).
	FeeKindFree FeeKind = "free"
)

// FieldType is the type of an application form field.
type FieldType string

// Form field types.
const (
	// FieldString is free text (optionally constrained by Pattern).
	FieldString FieldType = "string"
	// FieldDate is a date, YYYY-MM-DD.
	FieldDate FieldType = "date"
	// FieldNumber is a decimal number.
	FieldNumber FieldType = "number"
	// FieldBool is true or false.
	FieldBool FieldType = "bool"
	// FieldEnum is one of Options.
	FieldEnum FieldType = "enum"
)

// Agency is the authority that settles a procedure.
type Agency struct {
	// Code is a stable code: "STP", "SGTVT", "UBND-H-<district>",
	// "UBND-X-<commune>" …
	Code string `json:"code"`
	// Name is the Vietnamese name.
	Name string `json:"name"`
}

// Fee is the fee or charge of a procedure.
type Fee struct {
	// AmountVND is the amount for filing at the counter, in đồng.
	AmountVND int64 `json:"amountVND"`
	// OnlineAmountVND is the reduced amount for online filing, when one
	// applies; nil means the same as AmountVND.
	OnlineAmountVND *int64 `json:"onlineAmountVND,omitempty"`
	// Kind is fee (phí), charge (lệ phí) or free.
	Kind FeeKind `json:"kind"`
	// Note explains per-page or per-copy rules, exemptions, legal basis.
	Note string `json:"note,omitempty"`
}

// Amount returns the amount due for the channel (online or not).
func (f Fee) Amount(online bool) int64 {
	if online && f.OnlineAmountVND != nil {
		return *f.OnlineAmountVND
	}
	return f.AmountVND
}

// DocumentSpec is one document of the application file (thành phần hồ sơ).
type DocumentSpec struct {
	// Code is unique within the procedure.
	Code string `json:"code"`
	// Name is the Vietnamese name of the document.
	Name string `json:"name"`
	// Required documents must be attached.
	Required bool `json:"required"`
	// Formats are accepted file extensions: pdf, jpg, png …
	Formats []string `json:"formats"`
	// MaxSizeMB is the largest accepted file.
	MaxSizeMB int `json:"maxSizeMB"`
}

// FieldSpec is one field of the application form (tờ khai).
type FieldSpec struct {
	// Name is the JSON key of the field, unique within the procedure.
	Name string `json:"name"`
	// Label is the Vietnamese label.
	Label string `json:"label"`
	// Type is string, date, number, bool or enum.
	Type FieldType `json:"type"`
	// Required fields must be filled.
	Required bool `json:"required"`
	// Options are the allowed values of an enum field.
	Options []string `json:"options,omitempty"`
	// Pattern is an optional RE2 regular expression a string must match.
	Pattern string `json:"pattern,omitempty"`
}

// Procedure is one administrative procedure (TTHC).
type Procedure struct {
	// Code is the stable procedure code.
	Code string `json:"code"`
	// Name is the Vietnamese name.
	Name string `json:"name"`
	// Field is the domain (lĩnh vực), e.g. "Hộ tịch".
	Field string `json:"field"`
	// Agency settles the procedure.
	Agency Agency `json:"agency"`
	// Level is province, district or commune.
	Level Level `json:"level"`
	// OnlineLevel is full or partial (Decree 42/2022/NĐ-CP).
	OnlineLevel OnlineLevel `json:"onlineLevel"`
	// ProcessingDays is the legal processing time in working days (0 =
	// same day); see workdays.Calendar.AddWorkingDays.
	ProcessingDays int `json:"processingDays"`
	// Fee is the fee or charge.
	Fee Fee `json:"fee"`
	// Documents is the application file.
	Documents []DocumentSpec `json:"documents"`
	// FormFields is the application form.
	FormFields []FieldSpec `json:"formFields"`
	// Version is the revision of this procedure's definition (>= 1).
	Version int `json:"version"`
	// UpdatedAt is when the definition last changed.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Normalize returns p with every text field in Unicode NFC.
func (p Procedure) Normalize() Procedure {
	n := vnid.NFC
	p.Code, p.Name, p.Field = n(p.Code), n(p.Name), n(p.Field)
	p.Agency.Code, p.Agency.Name = n(p.Agency.Code), n(p.Agency.Name)
	p.Fee.Note = n(p.Fee.Note)
	docs := make([]DocumentSpec, len(p.Documents))
	for i, d := range p.Documents {
		d.Code, d.Name = n(d.Code), n(d.Name)
		d.Formats = append([]string(nil), d.Formats...)
		docs[i] = d
	}
	p.Documents = docs
	fields := make([]FieldSpec, len(p.FormFields))
	for i, f := range p.FormFields {
		f.Name, f.Label, f.Pattern = n(f.Name), n(f.Label), n(f.Pattern)
		opts := make([]string, len(f.Options))
		for j, o := range f.Options {
			opts[j] = n(o)
		}
		if f.Options == nil {
			opts = nil
		}
		f.Options = opts
		fields[i] = f
	}
	p.FormFields = fields
	return p
}
