package pdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"motcua/shared/receipt"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/pdf"
	"motcua/shared/receipt/receipttest"
)

func payload(t *testing.T, r receipt.Receipt) string {
	t.Helper()
	sec, err := offlineqr.GenerateDevSecret("Q26A")
	if err != nil {
		t.Fatal(err)
	}
	s, err := offlineqr.ParseSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.SignReceipt(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pdftotext extracts the text of a PDF with poppler's pdftotext.
func pdftotext(t *testing.T, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is required in CI (apt-get install -y poppler-utils)")
		}
		t.Skip("pdftotext not installed (apt-get install -y poppler-utils); skipping the text check")
	}
	f := filepath.Join(t.TempDir(), "receipt.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// Collapse layout whitespace; compare in NFC.
	return norm.NFC.String(strings.Join(strings.Fields(string(out)), " "))
}

func TestRender_text(t *testing.T) {
	orig := &receipt.Reference{TemplateSymbol: "01BLP0-001", Series: "BL26T", Number: 7,
		IssuedOn: time.Date(2026, 11, 2, 0, 0, 0, 0, receipt.Zone), Reason: "Ghi sai họ tên người nộp"}
	cases := []struct {
		name   string
		size   string
		mutate func(*receipt.Receipt)
		want   []string
	}{
		{"a5_original", "A5", func(*receipt.Receipt) {}, nil},
		{"a4_replacement", "A4", func(r *receipt.Receipt) { r.Kind, r.Original = receipt.KindReplacement, orig },
			[]string{"Thay thế cho biên lai mẫu số 01BLP0-001, ký hiệu BL26T, số 00000007, ngày 02/11/2026", "Lý do: Ghi sai họ tên người nộp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := receipttest.Sample()
			tc.mutate(&r)
			doc, err := pdf.Render(r, pdf.Options{PageSize: tc.size, QRPayload: payload(t, r),
				SignedBy: "Sở Tư pháp tỉnh Lâm Đồng", SignedAt: r.IssuedAt.Add(time.Second), LookupURL: "https://dichvucong.example.gov.vn/bien-lai"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(doc, []byte("%PDF-")) {
				t.Fatal("not a PDF")
			}
			text := pdftotext(t, doc)
			want := append([]string{
				"Nguyễn Thị Hồng Nhung",
				"Số tiền bằng chữ: Một trăm năm mươi nghìn đồng",
				"Số: 00000042", "Ký hiệu: BL26T", "Mẫu số: 01BLP0-001",
				"BIÊN LAI THU PHÍ, LỆ PHÍ", "SỞ TƯ PHÁP TỈNH LÂM ĐỒNG", "Mã số thuế: 0100109106",
				"001099012345", "Lệ phí cấp bản sao trích lục hộ tịch", "Phí cung cấp thông tin",
				"100.000", "50.000", "150.000", "Mã tra cứu: K7Q2M9X4ZP", "FT26337123456789",
				"H26.001-261203-0001", "Ngày 03 tháng 12 năm 2026", "03/12/2026 09:15:30",
			}, tc.want...)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q\n--- text:\n%s", w, text)
				}
			}
		})
	}
}

func TestRender_is_deterministic(t *testing.T) {
	r := receipttest.Sample()
	o := pdf.Options{QRPayload: payload(t, r)}
	a, err := pdf.Render(r, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pdf.Render(r, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of one receipt differ")
	}
}

func TestRender_refuses(t *testing.T) {
	r := receipttest.Sample()
	if _, err := pdf.Render(r, pdf.Options{}); err == nil {
		t.Error("rendered without a QR payload")
	}
	if _, err := pdf.Render(r, pdf.Options{QRPayload: "x", PageSize: "Letter"}); err == nil {
		t.Error("rendered on Letter paper")
	}
	r.TotalVND = 1
	if _, err := pdf.Render(r, pdf.Options{QRPayload: "x"}); err == nil {
		t.Error("rendered an invalid receipt")
	}
}

func TestAmount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 5: "5", 1000: "1.000", 150000: "150.000", 999999999999: "999.999.999.999", -20000: "-20.000"} {
		if got := pdf.Amount(n); got != want {
			t.Errorf("Amount(%d) = %q, want %q", n, got, want)
		}
	}
}

// tool finds an external tool: required in CI, a skip elsewhere.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (apt-get install -y %s)", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install -y %s); skipping the QR scan", name, pkg)
	}
	return bin
}

// TestRender_qr_scans_back_to_the_payload rasterises the PDF (poppler's
// pdftoppm, at a phone-camera-like 150 dpi and at 300 dpi) and reads the
// QR code with a real scanner (zbarimg): it must give the signed payload.
func TestRender_qr_scans_back_to_the_payload(t *testing.T) {
	ppm := tool(t, "pdftoppm", "poppler-utils")
	zbar := tool(t, "zbarimg", "zbar-tools")
	for _, size := range []string{"A5", "A4"} {
		for _, dpi := range []string{"150", "300"} {
			t.Run(size+"_"+dpi+"dpi", func(t *testing.T) {
				r := receipttest.Sample()
				want := payload(t, r)
				doc, err := pdf.Render(r, pdf.Options{PageSize: size, QRPayload: want, SignedBy: "Sở Tư pháp", SignedAt: r.IssuedAt})
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				f := filepath.Join(dir, "receipt.pdf")
				if err := os.WriteFile(f, doc, 0o600); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(ppm, "-r", dpi, "-gray", "-png", "-singlefile", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
					t.Fatalf("pdftoppm: %v: %s", err, out)
				}
				out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", filepath.Join(dir, "page.png")).Output()
				if err != nil {
					t.Fatalf("zbarimg found no QR code: %v", err)
				}
				if got := strings.TrimSpace(string(out)); got != want {
					t.Fatalf("QR reads %q, want %q", got, want)
				}
			})
		}
	}
}
