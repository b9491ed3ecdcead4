package xmldsig_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"motcua/shared/receipt"
	"motcua/shared/receipt/signing"
	"motcua/shared/receipt/xmldsig"
)

func doc(t *testing.T) (data, holder *etree.Element) {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(`<Root><Data Id="d1"><A>Biên lai</A><B>1</B></Data><Sigs/></Root>`); err != nil {
		t.Fatal(err)
	}
	return d.Root().SelectElement("Data"), d.Root().SelectElement("Sigs")
}

func TestSign_Verify(t *testing.T) {
	keyPEM, certPEM, err := signing.GenerateDevPair("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewLocal(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, receipt.Zone)

	data, holder := doc(t)
	for _, bad := range []time.Time{signing.DevNotBefore.Add(-time.Second), s.Certificate().NotAfter.Add(time.Second)} {
		if err := xmldsig.Sign(data, holder, s, "sig", bad); err == nil || !strings.Contains(err.Error(), "outside the validity") {
			t.Fatalf("signed at %v, outside the certificate's validity: %v", bad, err)
		}
	}
	if len(holder.ChildElements()) != 0 {
		t.Fatal("a refused signature left an element behind")
	}
	if err := xmldsig.Sign(data, data, s, "sig", at); err == nil {
		t.Fatal("signed with the signature inside the signed element")
	}
	if err := xmldsig.Sign(data, holder, s, "sig", at); err != nil {
		t.Fatal(err)
	}
	sig := holder.SelectElement("Signature")
	res, err := xmldsig.Verify(data, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !res.SigningTime.Equal(at) || !res.Certificate.Equal(s.Certificate()) {
		t.Fatalf("result = %v, %v", res.SigningTime, res.Certificate.Subject)
	}
	if string(res.Data) != `<Data Id="d1"><A>Biên lai</A><B>1</B></Data>` {
		t.Fatalf("signed bytes = %s", res.Data)
	}

	data.SelectElement("B").SetText("2")
	if _, err := xmldsig.Verify(data, sig); !errors.Is(err, receipt.ErrContentAltered) {
		t.Fatalf("Verify(altered) = %v", err)
	}
	data.SelectElement("B").SetText("1")
	data.AddChild(sig.Copy())
	if _, err := xmldsig.Verify(data, data.SelectElement("Signature")); !errors.Is(err, receipt.ErrMalformed) {
		t.Fatalf("Verify(signature inside data) = %v", err)
	}
}
