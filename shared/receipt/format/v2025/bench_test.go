package v2025_test

import (
	"crypto"
	"crypto/sha256"
	"testing"

	"motcua/shared/receipt/format/v2025"
	"motcua/shared/receipt/receipttest"
)

// BenchmarkRSASign is the baseline: one bare RSA-2048 PKCS #1 v1.5
// signature, the floor of what issuing a signed receipt costs.
func BenchmarkRSASign(b *testing.B) {
	s := setup(b)
	d := sha256.Sum256([]byte("biên lai"))
	for b.Loop() {
		if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssue marshals and signs one receipt (compare with
// BenchmarkRSASign: the rest is XML and canonicalisation).
func BenchmarkIssue(b *testing.B) {
	s := setup(b)
	r := receipttest.Sample()
	for b.Loop() {
		if _, err := (v2025.Format{}).Issue(r, s, signAt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies one signed receipt.
func BenchmarkVerify(b *testing.B) {
	signed := issue(b, receipttest.Sample())
	for b.Loop() {
		if _, _, err := (v2025.Format{}).Verify(signed); err != nil {
			b.Fatal(err)
		}
	}
}
