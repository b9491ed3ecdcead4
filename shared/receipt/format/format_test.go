package format_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"motcua/shared/receipt"
	"motcua/shared/receipt/format"
	"motcua/shared/receipt/receipttest"
	"motcua/shared/receipt/signing"
)

func TestVerify_dispatches_on_the_declared_version(t *testing.T) {
	keyPEM, certPEM, err := signing.GenerateDevPair("Sở Tư pháp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewLocal(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := format.Current().Issue(receipttest.Sample(), s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, cert, f, err := format.Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version() != format.Current().Version() || r.Number != 42 || !cert.Equal(s.Certificate()) {
		t.Fatalf("Verify() = %s, %d, %v", f.Version(), r.Number, cert.Subject)
	}
	if _, ok := format.Lookup("v2025"); !ok || !slices.Contains(format.Versions(), "v2025") {
		t.Fatal("v2025 is not registered")
	}
	if _, _, _, err := format.Verify([]byte(`<HDon><DLHDon Id="x"/></HDon>`)); !errors.Is(err, receipt.ErrUnknownFormat) {
		t.Fatalf("Verify(invoice) = %v, want ErrUnknownFormat", err)
	}
}
