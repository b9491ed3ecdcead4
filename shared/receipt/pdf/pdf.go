// Package pdf renders a receipt as a PDF for people: A5 (or A4) portrait,
// DejaVu Sans embedded (full Vietnamese diacritics), every field of the
// receipt, the amount in words and the offline-verifiable QR code.
//
// The PDF is a rendering, not the legal document: the signed XML is. The
// output is deterministic (dates taken from the receipt), so rendering the
// same receipt twice gives the same bytes and a retried store is a no-op.
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"

	"motcua/shared/receipt"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/vnwords"
)

// Options completes what the receipt itself does not say.
type Options struct {
	// PageSize is "A5" (default) or "A4".
	PageSize string
	// QRPayload is the signed offline payload (offlineqr); required.
	QRPayload string
	// SignedBy names the signer (the certificate's subject common name).
	SignedBy string
	// SignedAt is when the XML was signed.
	SignedAt time.Time
	// LookupURL is where the receipt can be looked up online (optional).
	LookupURL string
}

const font = "DejaVu"

// Render returns the PDF of r.
func Render(r receipt.Receipt, o Options) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if o.QRPayload == "" {
		return nil, errors.New("pdf: a QR payload is required")
	}
	size := o.PageSize
	if size == "" {
		size = "A5"
	}
	if size != "A5" && size != "A4" {
		return nil, fmt.Errorf("pdf: page size %q, want A5 or A4", size)
	}
	qr, err := offlineqr.Modules(o.QRPayload)
	if err != nil {
		return nil, fmt.Errorf("pdf: QR code: %w", err)
	}

	scale := 1.0
	if size == "A4" {
		scale = 1.2
	}
	p := fpdf.New("P", "mm", size, "")
	p.SetCatalogSort(true)
	p.SetCreationDate(r.IssuedAt)
	p.SetModificationDate(r.IssuedAt)
	p.SetTitle(fmt.Sprintf("Biên lai %s số %s", r.Series, number(r.Number)), true)
	p.SetAuthor(r.Unit.Name, true)
	p.SetCreator("motcua", true)
	p.AddUTF8FontFromBytes(font, "", dejavusans.TTF)
	p.AddUTF8FontFromBytes(font, "B", dejavusansbold.TTF)
	margin := 10.0
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin)
	p.AddPage()
	pageW, _ := p.GetPageSize()
	w := pageW - 2*margin
	lh := 4.6 * scale
	fs := func(style string, pt float64) { p.SetFont(font, style, pt*scale) }

	// Header: collecting unit left, symbols right.
	top := p.GetY()
	fs("B", 8.5)
	p.MultiCell(w*0.62, lh, strings.ToUpper(r.Unit.Name), "", "L", false)
	fs("", 7.5)
	p.MultiCell(w*0.62, lh, "Mã số thuế: "+r.Unit.TaxCode, "", "L", false)
	p.MultiCell(w*0.62, lh, "Địa chỉ: "+r.Unit.Address, "", "L", false)
	leftEnd := p.GetY()
	p.SetXY(margin+w*0.64, top)
	for _, s := range []string{"Mẫu số: " + r.TemplateSymbol, "Ký hiệu: " + r.Series, "Số: " + number(r.Number)} {
		p.SetX(margin + w*0.64)
		p.CellFormat(w*0.36, lh, s, "", 1, "L", false, 0, "")
	}
	p.SetY(max(leftEnd, p.GetY()) + 2)

	// Title.
	fs("B", 13)
	p.CellFormat(w, 7*scale, "BIÊN LAI THU PHÍ, LỆ PHÍ", "", 1, "C", false, 0, "")
	fs("", 8)
	issued := r.IssuedAt.In(receipt.Zone)
	p.CellFormat(w, lh, fmt.Sprintf("Ngày %02d tháng %02d năm %d", issued.Day(), int(issued.Month()), issued.Year()), "", 1, "C", false, 0, "")
	if o := r.Original; o != nil {
		what := "Thay thế"
		if r.Kind == receipt.KindAdjustment {
			what = "Điều chỉnh"
		}
		fs("B", 7.5)
		p.MultiCell(w, lh, fmt.Sprintf("(%s cho biên lai mẫu số %s, ký hiệu %s, số %s, ngày %s)", what,
			o.TemplateSymbol, o.Series, number(o.Number), o.IssuedOn.In(receipt.Zone).Format("02/01/2006")), "", "C", false)
		fs("", 7.5)
		p.MultiCell(w, lh, "Lý do: "+o.Reason, "", "C", false)
	}
	p.Ln(2)

	// Payer and application.
	field := func(label, value string) {
		if value == "" {
			return
		}
		fs("", 8)
		p.MultiCell(w, lh, label+": "+value, "", "L", false)
	}
	field("Họ tên người nộp", r.Payer.Name)
	if r.Payer.IDIsTaxCode() {
		field("Mã số thuế người nộp", r.Payer.ID)
	} else {
		field("Số CCCD người nộp", r.Payer.ID)
	}
	field("Địa chỉ", r.Payer.Address)
	field("Thủ tục", r.ProcedureCode+" – "+r.ProcedureName)
	field("Mã hồ sơ", r.ApplicationCode)
	p.Ln(1.5)

	// Lines.
	cols := []float64{w * 0.08, w * 0.54, w * 0.14, w * 0.24}
	fs("B", 7.5)
	for i, h := range []string{"STT", "Nội dung khoản thu", "Loại", "Số tiền (đồng)"} {
		p.CellFormat(cols[i], lh+1, h, "1", 0, "C", false, 0, "")
	}
	p.Ln(-1)
	fs("", 7.5)
	for i, l := range r.Lines {
		kind := "Phí"
		if l.Kind == receipt.LineCharge {
			kind = "Lệ phí"
		}
		x, y := p.GetXY()
		p.SetX(x + cols[0])
		p.MultiCell(cols[1], lh, l.Name, "1", "L", false)
		h := p.GetY() - y
		p.SetXY(x, y)
		p.CellFormat(cols[0], h, strconv.Itoa(i+1), "1", 0, "C", false, 0, "")
		p.SetX(x + cols[0] + cols[1])
		p.CellFormat(cols[2], h, kind, "1", 0, "C", false, 0, "")
		p.CellFormat(cols[3], h, Amount(l.AmountVND), "1", 1, "R", false, 0, "")
	}
	fs("B", 8)
	p.CellFormat(cols[0]+cols[1]+cols[2], lh+1, "Tổng cộng", "1", 0, "R", false, 0, "")
	p.CellFormat(cols[3], lh+1, Amount(r.TotalVND), "1", 1, "R", false, 0, "")
	fs("", 8)
	p.MultiCell(w, lh, "Số tiền bằng chữ: "+vnwords.VND(r.TotalVND), "", "L", false)
	p.Ln(1)
	field("Hình thức thanh toán", method(r.PaymentMethod))
	field("Mã giao dịch ngân hàng", r.BankTxnRef)
	field("Mã thanh toán", r.PaymentRef)
	field("Thời điểm lập", issued.Format("02/01/2006 15:04:05")+" (GMT+7)")
	p.Ln(2)

	// QR code and signature block side by side.
	qrSize := 32 * scale
	y := p.GetY()
	if y+qrSize+12 > p.GetPageSizeStr(size).Ht-margin {
		p.AddPage()
		y = p.GetY()
	}
	drawQR(p, qr, margin, y, qrSize)
	p.SetXY(margin, y+qrSize)
	fs("", 6)
	p.MultiCell(qrSize+4, 3*scale, "Quét mã để kiểm tra ngoại tuyến", "", "C", false)
	bx := margin + qrSize + 6
	p.SetXY(bx, y)
	fs("B", 8)
	p.CellFormat(w-qrSize-6, lh, "ĐƠN VỊ THU", "", 1, "C", false, 0, "")
	fs("", 7.5)
	if o.SignedBy != "" {
		p.SetX(bx)
		p.MultiCell(w-qrSize-6, lh, "Ký bởi: "+o.SignedBy, "", "C", false)
	}
	if !o.SignedAt.IsZero() {
		p.SetX(bx)
		p.MultiCell(w-qrSize-6, lh, "Ký ngày: "+o.SignedAt.In(receipt.Zone).Format("02/01/2006 15:04:05"), "", "C", false)
	}
	p.SetX(bx)
	p.MultiCell(w-qrSize-6, lh, "Mã tra cứu: "+r.LookupCode, "", "C", false)
	if o.LookupURL != "" {
		p.SetX(bx)
		fs("", 6.5)
		p.MultiCell(w-qrSize-6, lh, "Tra cứu tại: "+o.LookupURL, "", "C", false)
	}
	fs("", 6)
	p.SetXY(margin, max(p.GetY(), y+qrSize+6)+2)
	p.MultiCell(w, 3*scale, "Biên lai điện tử có chữ ký số của đơn vị thu. Bản PDF này là bản thể hiện; tệp XML đã ký là chứng từ gốc.", "", "C", false)

	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// drawQR draws the QR modules (quiet zone included) as black squares in
// the size×size square at (x, y), one rectangle per horizontal run of dark
// modules: sharp at any zoom or print resolution, and much cheaper than
// encoding an image that the PDF writer then decodes again.
func drawQR(p *fpdf.Fpdf, modules [][]bool, x, y, size float64) {
	m := size / float64(len(modules))
	p.SetFillColor(0, 0, 0)
	for row, line := range modules {
		for col := 0; col < len(line); {
			if !line[col] {
				col++
				continue
			}
			run := col
			for run < len(line) && line[run] {
				run++
			}
			p.Rect(x+float64(col)*m, y+float64(row)*m, float64(run-col)*m, m, "F")
			col = run
		}
	}
}

// number renders a receipt number with 8 digits, as printed on receipts.
func number(n uint32) string { return fmt.Sprintf("%08d", n) }

// Amount formats đồng with dots between thousands ("150.000").
func Amount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func method(m string) string {
	switch m {
	case "vnpay":
		return "Thanh toán trực tuyến qua VNPAY"
	case "vietqr":
		return "Chuyển khoản (VietQR)"
	default:
		return m
	}
}
