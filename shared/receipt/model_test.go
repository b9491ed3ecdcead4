package receipt_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"motcua/shared/config"
	"motcua/shared/fault"
	"motcua/shared/receipt"
	"motcua/shared/receipt/receipttest"
)

func TestReceipt_Validate_sample_is_valid(t *testing.T) {
	if err := receipttest.Sample().Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestReceipt_Validate(t *testing.T) {
	ref := &receipt.Reference{TemplateSymbol: "01BLP0-001", Series: "BL26T", Number: 7,
		IssuedOn: time.Date(2026, 11, 2, 0, 0, 0, 0, receipt.Zone), Reason: "Sai tên người nộp"}
	cases := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		field  string // "" = valid
	}{
		{"valid_replacement", func(r *receipt.Receipt) { r.Kind = receipt.KindReplacement; r.Original = ref }, ""},
		{"valid_adjustment_negative", func(r *receipt.Receipt) {
			r.Kind, r.Original = receipt.KindAdjustment, ref
			r.Lines = r.Lines[:1]
			r.Lines[0].AmountVND, r.TotalVND = -20_000, -20_000
		}, ""},
		{"payer_tax_code", func(r *receipt.Receipt) { r.Payer.ID = receipttest.UnitTaxCode }, ""},
		{"missing_unit_name", func(r *receipt.Receipt) { r.Unit.Name = " " }, "unit.name"},
		{"bad_unit_tax_code", func(r *receipt.Receipt) { r.Unit.TaxCode = "0100109107" }, "unit.taxCode"},
		{"lower_case_series", func(r *receipt.Receipt) { r.Series = "bl26t" }, "series"},
		{"series_without_year", func(r *receipt.Receipt) { r.Series = "BL25T" }, "series"},
		{"number_zero", func(r *receipt.Receipt) { r.Number = 0 }, "number"},
		{"number_nine_digits", func(r *receipt.Receipt) { r.Number = 100_000_000 }, "number"},
		{"unknown_kind", func(r *receipt.Receipt) { r.Kind = "void" }, "kind"},
		{"replacement_without_original", func(r *receipt.Receipt) { r.Kind = receipt.KindReplacement }, "original"},
		{"original_with_reference", func(r *receipt.Receipt) { r.Original = ref }, "original"},
		{"replacement_without_reason", func(r *receipt.Receipt) {
			o := *ref
			o.Reason = ""
			r.Kind, r.Original = receipt.KindReplacement, &o
		}, "original.reason"},
		{"replacement_of_itself", func(r *receipt.Receipt) {
			o := *ref
			o.Number = r.Number
			r.Kind, r.Original = receipt.KindReplacement, &o
		}, "original"},
		{"bad_cccd", func(r *receipt.Receipt) { r.Payer.ID = "003099012345" }, "payer.id"},
		{"payer_id_letters", func(r *receipt.Receipt) { r.Payer.ID = "ABC" }, "payer.id"},
		{"no_lines", func(r *receipt.Receipt) { r.Lines = nil; r.TotalVND = 0 }, "lines"},
		{"bad_line_kind", func(r *receipt.Receipt) { r.Lines[0].Kind = "tax" }, "lines[0].kind"},
		{"negative_line_on_original", func(r *receipt.Receipt) {
			r.Lines[1].AmountVND = -50_000
			r.TotalVND = 50_000
		}, "lines[1].amountVND"},
		{"total_mismatch", func(r *receipt.Receipt) { r.TotalVND = 150_001 }, "totalVND"},
		{"huge_amount", func(r *receipt.Receipt) { r.Lines[0].AmountVND = 1 << 62 }, "lines[0].amountVND"},
		{"control_char_in_name", func(r *receipt.Receipt) { r.Payer.Name = "Nguyễn\x00" }, "payer.name"},
		{"short_lookup_code", func(r *receipt.Receipt) { r.LookupCode = "abc" }, "lookupCode"},
		{"missing_issue_time", func(r *receipt.Receipt) { r.IssuedAt = time.Time{} }, "issuedAt"},
		{"missing_payment_ref_on_original", func(r *receipt.Receipt) { r.PaymentRef = "" }, "paymentRef"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := receipttest.Sample()
			tc.mutate(&r)
			err := r.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, receipt.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("not a fault.Error: %v", err)
			}
			for _, is := range fe.Issues() {
				if is.Path == tc.field {
					return
				}
			}
			t.Fatalf("issues %v do not name %q", fe.Issues(), tc.field)
		})
	}
}

func TestLoadUnit(t *testing.T) {
	good := config.MapSource{
		receipt.KeyUnitName:       "Sở Tư pháp tỉnh Lâm Đồng",
		receipt.KeyUnitTaxCode:    receipttest.UnitTaxCode,
		receipt.KeyUnitAddress:    "36 Trần Phú, Đà Lạt",
		receipt.KeyTemplateSymbol: "01BLP0-001",
		receipt.KeySeriesPattern:  "BL{YY}T",
	}
	u, err := receipt.LoadUnit(good)
	if err != nil {
		t.Fatalf("LoadUnit() = %v", err)
	}
	if got := u.SeriesAt(time.Date(2026, 12, 31, 17, 30, 0, 0, time.UTC)); got != "BL27T" {
		t.Errorf("SeriesAt(2026-12-31T17:30Z) = %q, want BL27T (already 2027 in Vietnam)", got)
	}
	if got := u.Series(2026); got != "BL26T" {
		t.Errorf("Series(2026) = %q", got)
	}
	cases := []struct {
		name, key, value string
	}{
		{"missing_name", receipt.KeyUnitName, ""},
		{"bad_tax_code", receipt.KeyUnitTaxCode, "123"},
		{"pattern_without_year", receipt.KeySeriesPattern, "BLT"},
		{"pattern_twice", receipt.KeySeriesPattern, "{YY}BL{YY}"},
		{"lower_case_template", receipt.KeyTemplateSymbol, "01blp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := config.MapSource{}
			for k, v := range good {
				src[k] = v
			}
			src[tc.key] = tc.value
			_, err := receipt.LoadUnit(src)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("LoadUnit() = %v, want an error naming %s", err, tc.key)
			}
		})
	}
}
