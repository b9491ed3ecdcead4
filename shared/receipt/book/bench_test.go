package book_test

import (
	"context"
	"testing"

	"motcua/shared/receipt/book"
	"motcua/shared/receipt/receipttest"
)

// BenchmarkDocuments splits the per-receipt CPU work: XML signing (RSA
// 2048), the offline QR (Ed25519) and the PDF (embedded font, QR image).
func BenchmarkDocuments(b *testing.B) {
	fixtures(b)
	docs := book.StandardDocuments(signer, qr, "A5", "")
	r := receipttest.Sample()
	payload, _ := docs.QR(r)
	b.Run("sign_xml", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.SignXML(context.Background(), r, r.IssuedAt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("qr", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.QR(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pdf", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.PDF(r, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}
