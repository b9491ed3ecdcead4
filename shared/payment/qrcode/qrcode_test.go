package qrcode_test

import (
	"bytes"
	"errors"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"motcua/shared/payment/qrcode"
)

// decodePNG reads the PNG back with an independent QR decoder (gozxing, a
// port of ZXing) and returns the text it finds and the error-correction
// level it reports.
func decodePNG(t *testing.T, b []byte) (string, string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("gozxing cannot decode the PNG: %v", err)
	}
	ecl, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return res.GetText(), ecl
}

func TestEncode_png_decodes_back(t *testing.T) {
	vietqr := "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA530370454061500005802VN62160812HS20260001236304D77C"
	tests := []struct {
		name    string
		data    string
		version int
	}{
		{"one_byte", "A", 1},
		{"version_1_full", strings.Repeat("x", 14), 1},
		{"version_2_first", strings.Repeat("x", 15), 2},
		{"vietqr_payload_124_bytes", vietqr, 8},
		{"version_7_first", strings.Repeat("7", 107), 7},
		{"version_10_full", strings.Repeat("z", 213), 10},
		{"longest_accepted", strings.Repeat("q", qrcode.MaxBytes), 0},
		{"utf8_bytes", "Lệ phí trước bạ", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := qrcode.Encode([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if tt.version != 0 && c.Version != tt.version {
				t.Errorf("version %d, want %d (byte mode, level M)", c.Version, tt.version)
			}
			if c.Size != 17+4*c.Version {
				t.Errorf("size %d for version %d", c.Size, c.Version)
			}
			b, err := c.PNG(4)
			if err != nil {
				t.Fatal(err)
			}
			got, ecl := decodePNG(t, b)
			if got != tt.data {
				t.Fatalf("decoded %q, want %q", got, tt.data)
			}
			if ecl != "M" {
				t.Errorf("error-correction level %q, want M", ecl)
			}
		})
	}
}

func TestEncode_too_long(t *testing.T) {
	if _, err := qrcode.Encode(make([]byte, qrcode.MaxBytes+1)); !errors.Is(err, qrcode.ErrTooLong) {
		t.Fatalf("err %v", err)
	}
}

func TestPNG_modules_and_quiet_zone(t *testing.T) {
	c, err := qrcode.Encode([]byte("HS2026000123"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG(4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := (c.Size + 2*qrcode.QuietZone) * 4
	if img.Bounds().Dx() != want || img.Bounds().Dy() != want {
		t.Fatalf("image %v, want %dx%d", img.Bounds(), want, want)
	}
	dark := func(px, py int) bool { r, _, _, _ := img.At(px, py).RGBA(); return r < 0x8000 }
	for my := -qrcode.QuietZone; my < c.Size+qrcode.QuietZone; my++ {
		for mx := -qrcode.QuietZone; mx < c.Size+qrcode.QuietZone; mx++ {
			px, py := (mx+qrcode.QuietZone)*4+1, (my+qrcode.QuietZone)*4+2
			if dark(px, py) != c.Dark(mx, my) {
				t.Fatalf("pixel for module (%d,%d) wrong", mx, my)
			}
		}
	}
	// Finder pattern: the top-left 7×7 has a dark ring, a light ring and a
	// dark 3×3 centre.
	for _, p := range [][3]int{{0, 0, 1}, {6, 6, 1}, {1, 1, 0}, {5, 1, 0}, {3, 3, 1}, {7, 7, 0}} {
		if c.Dark(p[0], p[1]) != (p[2] == 1) {
			t.Fatalf("finder module (%d,%d) wrong", p[0], p[1])
		}
	}
}

// FuzzEncode: whatever bytes come in, Encode either refuses them as too
// long or yields a PNG that decodes back to the same bytes.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "A", "00020101021238570010A000000727", "Lệ phí"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := qrcode.Encode(data)
		if err != nil {
			if len(data) <= qrcode.MaxBytes {
				t.Fatalf("Encode(%d bytes): %v", len(data), err)
			}
			return
		}
		if len(data) == 0 {
			return // gozxing reports an empty symbol as not found
		}
		b, err := c.PNG(2)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := png.Decode(bytes.NewReader(b))
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{
			gozxing.DecodeHintType_PURE_BARCODE: true, gozxing.DecodeHintType_CHARACTER_SET: "ISO-8859-1"})
		if err != nil {
			t.Fatalf("undecodable symbol for %q: %v", data, err)
		}
		// Read as ISO-8859-1, every rune is one of the encoded bytes.
		var got []byte
		for _, r := range res.GetText() {
			if r > 0xff {
				t.Fatalf("rune %U outside ISO-8859-1 for %q", r, data)
			}
			got = append(got, byte(r))
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("decoded %q, want %q", got, data)
		}
	})
}
