package pdf_test

import (
	"testing"

	"motcua/shared/receipt/pdf"
	"motcua/shared/receipt/receipttest"
)

// BenchmarkRender renders one A5 receipt with its QR code.
func BenchmarkRender(b *testing.B) {
	r := receipttest.Sample()
	o := pdf.Options{QRPayload: "MCBL1:Q26A:BL26T:42:20261203:150000:781BA0:KNTJSDRCWHLC4AY7AWCUKQN5HBBOMPHAVQHYQIEBA5F7HTURDLA4UY2DTBXRW5OC67DBEB7UYXR46UPD3OQQX2BOJDOUTUJNVAXRSAQ"}
	for b.Loop() {
		if _, err := pdf.Render(r, o); err != nil {
			b.Fatal(err)
		}
	}
}
