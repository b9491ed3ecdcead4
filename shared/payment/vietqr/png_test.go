package vietqr_test

import (
	"bytes"
	"errors"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"motcua/shared/payment/qrcode"
	"motcua/shared/payment/vietqr"
)

func TestPNG(t *testing.T) {
	p := vietqr.Payload{BankBIN: "970436", AccountNumber: "0011001234567", AmountVND: 150_000, Reference: "HS2026000123"}
	b, err := vietqr.PNG(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	code, err := qrcode.Encode([]byte(goldenDynamic))
	if err != nil {
		t.Fatal(err)
	}
	want := (code.Size + 2*qrcode.QuietZone) * vietqr.DefaultScale
	if img.Bounds().Dx() != want {
		t.Fatalf("width %d, want %d (version %d)", img.Bounds().Dx(), want, code.Version)
	}
	// The PNG shows exactly the QR of the golden payload.
	for my := 0; my < code.Size; my++ {
		for mx := 0; mx < code.Size; mx++ {
			r, _, _, _ := img.At((mx+qrcode.QuietZone)*8+4, (my+qrcode.QuietZone)*8+4).RGBA()
			if (r < 0x8000) != code.Dark(mx, my) {
				t.Fatalf("module (%d,%d) differs", mx, my)
			}
		}
	}
	// A QR reader (gozxing, independent of the encoder) reads the payload back.
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil || res.GetText() != goldenDynamic {
		t.Fatalf("decoded %v, %v; want the golden payload", res, err)
	}
	if _, err := vietqr.PNG(vietqr.Payload{}, 4); !errors.Is(err, vietqr.ErrInvalid) {
		t.Fatalf("invalid payload: %v", err)
	}
}
