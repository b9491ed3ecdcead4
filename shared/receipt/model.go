// Package receipt is the format-neutral model of an electronic receipt for a
// fee or charge (biên lai thu phí, lệ phí điện tử): who collected, who paid,
// for what, how much, under which template, series and number, and how the
// receipt relates to the one it replaces or adjusts.
//
// Nothing here knows an XML element name or a legal format version: the
// signed document is produced by a format package (receipt/format/v2025),
// the human-readable one by receipt/pdf. The collecting unit, its template
// symbol and its series pattern are configuration (LoadUnit), not code.
package receipt

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"motcua/shared/config"
	"motcua/shared/fault"
	"motcua/shared/vnid"
)

// Zone is Vietnam's time zone (GMT+7, no daylight saving): issue dates and
// the year that numbers restart in are counted in it. A fixed zone needs no
// tz database on the host.
var Zone = time.FixedZone("ICT", 7*60*60)

// MaxNumber is the largest receipt number: numbers have at most 8 digits.
const MaxNumber uint32 = 99_999_999

// MaxAmountVND bounds every amount (15 digits, far below the 21 digits the
// XML format allows and beyond any fee a province collects).
const MaxAmountVND int64 = 999_999_999_999_999

// Kind says whether a receipt is an original or corrects another one.
type Kind string

// Receipt kinds. A correction never deletes: the original stays, its number
// stays used, and the new receipt references it.
const (
	// KindOriginal is a receipt issued for a payment.
	KindOriginal Kind = "original"
	// KindReplacement replaces an original issued in error (thay thế).
	KindReplacement Kind = "replacement"
	// KindAdjustment adjusts an original's amounts or details (điều chỉnh).
	KindAdjustment Kind = "adjustment"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	return k == KindOriginal || k == KindReplacement || k == KindAdjustment
}

// LineKind is the legal nature of a collected amount.
type LineKind string

// Line kinds.
const (
	// LineFee is a fee (phí): pays for a service.
	LineFee LineKind = "phi"
	// LineCharge is a charge (lệ phí): collected for a State act.
	LineCharge LineKind = "le_phi"
)

// Valid reports whether k is a known line kind.
func (k LineKind) Valid() bool { return k == LineFee || k == LineCharge }

// Party is the collecting unit (đơn vị thu) printed on the receipt.
type Party struct {
	// Name is the unit's name, e.g. "Sở Tư pháp tỉnh Lâm Đồng".
	Name string `json:"name"`
	// TaxCode is the unit's tax code (MST, 10 or 13 digits).
	TaxCode string `json:"taxCode"`
	// Address is the unit's address.
	Address string `json:"address"`
}

// Payer is who paid (người nộp).
type Payer struct {
	// Name is the payer's full name or the business's name.
	Name string `json:"name"`
	// ID is the payer's 12-digit citizen ID (CCCD) or tax code (MST);
	// personal data, never logged unmasked.
	ID string `json:"id"`
	// Address is the payer's address (optional).
	Address string `json:"address,omitempty"`
}

// IDIsTaxCode reports whether the payer's ID is a tax code rather than a
// CCCD.
func (p Payer) IDIsTaxCode() bool { return len(p.ID) != 12 }

// Line is one fee or charge collected.
type Line struct {
	// Name names the fee, e.g. "Lệ phí cấp bản sao trích lục hộ tịch".
	Name string `json:"name"`
	// Kind is phi or le_phi.
	Kind LineKind `json:"kind"`
	// AmountVND is the amount in đồng; negative only on an adjustment that
	// reduces the original.
	AmountVND int64 `json:"amountVND"`
}

// Reference identifies the receipt a replacement or adjustment corrects.
type Reference struct {
	// TemplateSymbol is the original's template symbol.
	TemplateSymbol string `json:"templateSymbol"`
	// Series is the original's series symbol.
	Series string `json:"series"`
	// Number is the original's number.
	Number uint32 `json:"number"`
	// IssuedOn is the original's issue date (the day counts, in Zone).
	IssuedOn time.Time `json:"issuedOn"`
	// Reason says why the original is replaced or adjusted.
	Reason string `json:"reason"`
}

// Receipt is one electronic receipt.
type Receipt struct {
	// Unit is the collecting unit.
	Unit Party `json:"unit"`
	// TemplateSymbol is the template symbol (ký hiệu mẫu biên lai).
	TemplateSymbol string `json:"templateSymbol"`
	// Series is the series symbol (ký hiệu biên lai), with the two digits of
	// the issue year in it.
	Series string `json:"series"`
	// Number is the number in the series: 1..MaxNumber, consecutive from 1
	// each year.
	Number uint32 `json:"number"`
	// Kind is original, replacement or adjustment.
	Kind Kind `json:"kind"`
	// Original is the receipt corrected (replacement and adjustment only).
	Original *Reference `json:"original,omitempty"`
	// Payer is who paid.
	Payer Payer `json:"payer"`
	// ProcedureCode is the administrative procedure's code (mã TTHC).
	ProcedureCode string `json:"procedureCode"`
	// ProcedureName is the procedure's name.
	ProcedureName string `json:"procedureName"`
	// ApplicationCode is the application (hồ sơ) the fee was paid for.
	ApplicationCode string `json:"applicationCode"`
	// Lines are the fees and charges collected, at least one.
	Lines []Line `json:"lines"`
	// TotalVND is the sum of the lines' amounts.
	TotalVND int64 `json:"totalVND"`
	// PaymentMethod is how it was paid, e.g. "vnpay", "vietqr".
	PaymentMethod string `json:"paymentMethod"`
	// BankTxnRef is the bank's or gateway's transaction reference.
	BankTxnRef string `json:"bankTxnRef,omitempty"`
	// PaymentRef is our payment reference (payment.Payment.Ref).
	PaymentRef string `json:"paymentRef"`
	// IssuedAt is when the receipt was issued (rendered in Zone).
	IssuedAt time.Time `json:"issuedAt"`
	// LookupCode is the code printed on the receipt that lets anyone look
	// it up (mã tra cứu).
	LookupCode string `json:"lookupCode"`
}

// Sum returns the sum of the lines' amounts.
func (r Receipt) Sum() int64 {
	var s int64
	for _, l := range r.Lines {
		s += l.AmountVND
	}
	return s
}

// IssueYear returns the year of issue in Zone.
func (r Receipt) IssueYear() int { return r.IssuedAt.In(Zone).Year() }

const domain = "receipt"

// ErrInvalid is the kind of every validation error of a receipt or unit;
// the returned error carries one Issue per problem.
var ErrInvalid = fault.New(domain, "invalid_receipt", http.StatusUnprocessableEntity,
	"Biên lai không hợp lệ.", "The receipt is not valid.")

var (
	symbolRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9/-]{0,10}$`)
	lookupRE = regexp.MustCompile(`^[A-Za-z0-9]{6,40}$`)
	codeRE   = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,64}$`)
)

type issues []fault.Issue

func (is *issues) add(path, format string, args ...any) {
	*is = append(*is, fault.Issue{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (is *issues) text(path, v string, required bool, max int) {
	switch {
	case strings.TrimSpace(v) == "":
		if required {
			is.add(path, "is required")
		}
	case !utf8.ValidString(v):
		is.add(path, "is not valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		is.add(path, "is longer than %d characters", max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		is.add(path, "contains control characters")
	}
}

func (is *issues) taxCode(path, v string) {
	if v == "" {
		is.add(path, "is required")
		return
	}
	if _, err := vnid.ValidateMST(v); err != nil {
		is.add(path, "is not a valid tax code (MST)")
	}
}

// Validate checks r and returns nil or an ErrInvalid carrying every problem
// found, each naming its field.
func (r Receipt) Validate() error {
	var is issues
	is.text("unit.name", r.Unit.Name, true, 400)
	is.taxCode("unit.taxCode", r.Unit.TaxCode)
	is.text("unit.address", r.Unit.Address, true, 400)
	if !symbolRE.MatchString(r.TemplateSymbol) {
		is.add("templateSymbol", "must be 1 to 11 upper-case letters, digits, '/' or '-'")
	}
	if !symbolRE.MatchString(r.Series) {
		is.add("series", "must be 1 to 11 upper-case letters, digits, '/' or '-'")
	}
	if r.IssuedAt.IsZero() {
		is.add("issuedAt", "is required")
	} else if yy := fmt.Sprintf("%02d", r.IssueYear()%100); !strings.Contains(r.Series, yy) {
		is.add("series", "must contain the two digits of the issue year (%s)", yy)
	}
	if r.Number == 0 || r.Number > MaxNumber {
		is.add("number", "must be between 1 and %d", MaxNumber)
	}
	switch {
	case !r.Kind.Valid():
		is.add("kind", "must be original, replacement or adjustment")
	case r.Kind == KindOriginal && r.Original != nil:
		is.add("original", "must be empty on an original receipt")
	case r.Kind != KindOriginal && r.Original == nil:
		is.add("original", "is required on a %s", r.Kind)
	case r.Original != nil:
		o := r.Original
		if !symbolRE.MatchString(o.TemplateSymbol) {
			is.add("original.templateSymbol", "must be 1 to 11 upper-case letters, digits, '/' or '-'")
		}
		if !symbolRE.MatchString(o.Series) {
			is.add("original.series", "must be 1 to 11 upper-case letters, digits, '/' or '-'")
		}
		if o.Number == 0 || o.Number > MaxNumber {
			is.add("original.number", "must be between 1 and %d", MaxNumber)
		}
		if o.IssuedOn.IsZero() {
			is.add("original.issuedOn", "is required")
		} else if !r.IssuedAt.IsZero() && o.IssuedOn.After(r.IssuedAt) {
			is.add("original.issuedOn", "is after this receipt's issue time")
		}
		if o.TemplateSymbol == r.TemplateSymbol && o.Series == r.Series && o.Number == r.Number {
			is.add("original", "references the receipt itself")
		}
		is.text("original.reason", o.Reason, true, 500)
	}
	is.text("payer.name", r.Payer.Name, true, 400)
	switch {
	case r.Payer.ID == "":
		is.add("payer.id", "is required")
	case len(r.Payer.ID) == 12:
		if _, err := vnid.ValidateCCCD(r.Payer.ID, time.Time{}); err != nil {
			is.add("payer.id", "is not a valid citizen ID (CCCD)")
		}
	default:
		if _, err := vnid.ValidateMST(r.Payer.ID); err != nil {
			is.add("payer.id", "is neither a 12-digit CCCD nor a valid tax code (MST)")
		}
	}
	is.text("payer.address", r.Payer.Address, false, 400)
	if !codeRE.MatchString(r.ProcedureCode) {
		is.add("procedureCode", "must be 1 to 64 letters, digits or . _ / -")
	}
	is.text("procedureName", r.ProcedureName, true, 500)
	if !codeRE.MatchString(r.ApplicationCode) {
		is.add("applicationCode", "must be 1 to 64 letters, digits or . _ / -")
	}
	if len(r.Lines) == 0 {
		is.add("lines", "at least one fee or charge line is required")
	}
	if len(r.Lines) > 50 {
		is.add("lines", "at most 50 lines")
	}
	var sum int64
	overflow := false
	for i, l := range r.Lines {
		p := "lines[" + strconv.Itoa(i) + "]"
		is.text(p+".name", l.Name, true, 400)
		if !l.Kind.Valid() {
			is.add(p+".kind", "must be phi or le_phi")
		}
		switch {
		case l.AmountVND > MaxAmountVND || l.AmountVND < -MaxAmountVND:
			is.add(p+".amountVND", "is beyond %d", MaxAmountVND)
			overflow = true
		case l.AmountVND == 0:
			is.add(p+".amountVND", "must not be zero")
		case l.AmountVND < 0 && r.Kind != KindAdjustment:
			is.add(p+".amountVND", "may be negative only on an adjustment")
		}
		sum += l.AmountVND
	}
	switch {
	case overflow:
	case r.TotalVND != sum:
		is.add("totalVND", "is %d but the lines add up to %d", r.TotalVND, sum)
	case r.TotalVND > MaxAmountVND || r.TotalVND < -MaxAmountVND:
		is.add("totalVND", "is beyond %d", MaxAmountVND)
	case r.TotalVND <= 0 && r.Kind != KindAdjustment:
		is.add("totalVND", "must be positive")
	}
	if !codeRE.MatchString(r.PaymentMethod) {
		is.add("paymentMethod", "must be 1 to 64 letters, digits or . _ / -")
	}
	is.text("bankTxnRef", r.BankTxnRef, false, 100)
	is.text("paymentRef", r.PaymentRef, r.Kind == KindOriginal, 64)
	if !lookupRE.MatchString(r.LookupCode) {
		is.add("lookupCode", "must be 6 to 40 letters or digits")
	}
	if len(is) == 0 {
		return nil
	}
	return ErrInvalid.WithIssues(is)
}

// Unit is the configuration of the collecting unit that issues receipts:
// printed identity, template symbol and the pattern of its yearly series.
type Unit struct {
	// Party is the unit's name, tax code and address.
	Party Party `json:"party"`
	// TemplateSymbol is the registered template symbol (ký hiệu mẫu).
	TemplateSymbol string `json:"templateSymbol"`
	// SeriesPattern is the series symbol with "{YY}" where the two digits
	// of the year go, e.g. "BL{YY}T" gives "BL26T" in 2026.
	SeriesPattern string `json:"seriesPattern"`
}

// Configuration keys read by LoadUnit.
const (
	// KeyUnitName is the collecting unit's name.
	KeyUnitName = "MOTCUA_RECEIPT_UNIT_NAME"
	// KeyUnitTaxCode is the collecting unit's tax code.
	KeyUnitTaxCode = "MOTCUA_RECEIPT_UNIT_TAX_CODE"
	// KeyUnitAddress is the collecting unit's address.
	KeyUnitAddress = "MOTCUA_RECEIPT_UNIT_ADDRESS"
	// KeyTemplateSymbol is the template symbol.
	KeyTemplateSymbol = "MOTCUA_RECEIPT_TEMPLATE_SYMBOL"
	// KeySeriesPattern is the series pattern, with {YY} for the year.
	KeySeriesPattern = "MOTCUA_RECEIPT_SERIES_PATTERN"
)

// YearPlaceholder marks where the year's two digits go in a series pattern.
const YearPlaceholder = "{YY}"

// LoadUnit reads the collecting unit from configuration and validates it;
// the error names every bad key.
func LoadUnit(src config.Source) (Unit, error) {
	r := config.NewReader(src)
	u := Unit{
		Party: Party{
			Name:    r.String(KeyUnitName, config.Required()),
			TaxCode: r.String(KeyUnitTaxCode, config.Required()),
			Address: r.String(KeyUnitAddress, config.Required()),
		},
		TemplateSymbol: r.String(KeyTemplateSymbol, config.Required()),
		SeriesPattern:  r.String(KeySeriesPattern, config.Required()),
	}
	if err := r.Err(); err != nil {
		return Unit{}, err
	}
	if err := u.Validate(); err != nil {
		return Unit{}, err
	}
	return u, nil
}

// Validate checks the unit's identity, template symbol and series pattern.
func (u Unit) Validate() error {
	var is issues
	is.text(KeyUnitName, u.Party.Name, true, 400)
	is.taxCode(KeyUnitTaxCode, u.Party.TaxCode)
	is.text(KeyUnitAddress, u.Party.Address, true, 400)
	if !symbolRE.MatchString(u.TemplateSymbol) {
		is.add(KeyTemplateSymbol, "must be 1 to 11 upper-case letters, digits, '/' or '-'")
	}
	if strings.Count(u.SeriesPattern, YearPlaceholder) != 1 {
		is.add(KeySeriesPattern, "must contain %s exactly once", YearPlaceholder)
	} else if !symbolRE.MatchString(u.Series(2026)) {
		is.add(KeySeriesPattern, "must give 1 to 11 upper-case letters, digits, '/' or '-'")
	}
	if len(is) == 0 {
		return nil
	}
	return ErrInvalid.WithMessages("Cấu hình đơn vị thu không hợp lệ.", "The collecting unit's configuration is not valid.").WithIssues(is)
}

// Series returns the series symbol for a year (in Zone).
func (u Unit) Series(year int) string {
	return strings.Replace(u.SeriesPattern, YearPlaceholder, fmt.Sprintf("%02d", year%100), 1)
}

// SeriesAt returns the series symbol in force at t: a new series each
// calendar year in Vietnam's time zone.
func (u Unit) SeriesAt(t time.Time) string { return u.Series(t.In(Zone).Year()) }

// ValidSymbol reports whether s is a template or series symbol: 1 to 11
// upper-case letters, digits, '/' or '-', starting with a letter or digit
// (the form Unit.Validate requires). Identifiers from requests are checked
// with it before they name a stored document.
func ValidSymbol(s string) bool { return symbolRE.MatchString(s) }

// IsInvalid reports whether err is a receipt validation error.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }
