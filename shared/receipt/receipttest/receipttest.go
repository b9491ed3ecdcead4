// Package receipttest holds a valid sample receipt and unit for the tests of
// the receipt packages (format, PDF, QR, issuing).
package receipttest

import (
	"time"

	"motcua/shared/receipt"
)

// UnitTaxCode is a tax code with a valid check digit used by the samples.
const UnitTaxCode = "0100109106"

// PayerCCCD is a citizen ID of valid shape used by the samples.
const PayerCCCD = "001099012345"

// Unit returns a valid collecting-unit configuration.
func Unit() receipt.Unit {
	return receipt.Unit{
		Party: receipt.Party{
			Name:    "Sở Tư pháp tỉnh Lâm Đồng",
			TaxCode: UnitTaxCode,
			Address: "36 Trần Phú, phường Xuân Hương - Đà Lạt, tỉnh Lâm Đồng",
		},
		TemplateSymbol: "01BLP0-001",
		SeriesPattern:  "BL{YY}T",
	}
}

// Sample returns a valid original receipt for 150 000 đồng issued on
// 3 December 2026 at 09:15:30 Vietnam time to "Nguyễn Thị Hồng Nhung".
func Sample() receipt.Receipt {
	u := Unit()
	issued := time.Date(2026, 12, 3, 9, 15, 30, 0, receipt.Zone)
	return receipt.Receipt{
		Unit:           u.Party,
		TemplateSymbol: u.TemplateSymbol,
		Series:         u.SeriesAt(issued),
		Number:         42,
		Kind:           receipt.KindOriginal,
		Payer: receipt.Payer{
			Name:    "Nguyễn Thị Hồng Nhung",
			ID:      PayerCCCD,
			Address: "12 Lê Lợi, phường Lâm Viên - Đà Lạt, tỉnh Lâm Đồng",
		},
		ProcedureCode:   "1.001193",
		ProcedureName:   "Cấp bản sao trích lục hộ tịch",
		ApplicationCode: "H26.001-261203-0001",
		Lines: []receipt.Line{
			{Name: "Lệ phí cấp bản sao trích lục hộ tịch", Kind: receipt.LineCharge, AmountVND: 100_000},
			{Name: "Phí cung cấp thông tin", Kind: receipt.LineFee, AmountVND: 50_000},
		},
		TotalVND:      150_000,
		PaymentMethod: "vietqr",
		BankTxnRef:    "FT26337123456789",
		PaymentRef:    "MCABCDEFGH2345",
		IssuedAt:      issued,
		LookupCode:    "K7Q2M9X4ZP",
	}
}
