package v2025_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/receipt"
	"motcua/shared/receipt/format/v2025"
	"motcua/shared/receipt/receipttest"
	"motcua/shared/receipt/signing"
)

var (
	once     sync.Once
	signer   *signing.Local
	certPEM  []byte
	otherPEM []byte
	signAt   = time.Date(2026, 12, 3, 9, 15, 31, 0, receipt.Zone)
)

func setup(t testing.TB) *signing.Local {
	t.Helper()
	once.Do(func() {
		var keyPEM []byte
		var err error
		keyPEM, certPEM, err = signing.GenerateDevPair("Sở Tư pháp tỉnh Lâm Đồng", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		signer, err = signing.NewLocal(keyPEM, certPEM)
		if err != nil {
			t.Fatal(err)
		}
		_, otherPEM, err = signing.GenerateDevPair("Kẻ giả mạo", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	})
	return signer
}

func issue(t testing.TB, r receipt.Receipt) []byte {
	t.Helper()
	b, err := v2025.Format{}.Issue(r, setup(t), signAt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equal(t *testing.T, got, want receipt.Receipt) {
	t.Helper()
	if !got.IssuedAt.Equal(want.IssuedAt) {
		t.Errorf("IssuedAt = %v, want %v", got.IssuedAt, want.IssuedAt)
	}
	got.IssuedAt, want.IssuedAt = time.Time{}, time.Time{}
	if got.Original != nil && want.Original != nil {
		if !got.Original.IssuedOn.Equal(want.Original.IssuedOn) {
			t.Errorf("Original.IssuedOn = %v, want %v", got.Original.IssuedOn, want.Original.IssuedOn)
		}
		g, w := *got.Original, *want.Original
		g.IssuedOn, w.IssuedOn = time.Time{}, time.Time{}
		got.Original, want.Original = &g, &w
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("receipt = %+v\nwant       %+v", got, want)
	}
}

func TestSign_Verify_round_trip(t *testing.T) {
	orig := &receipt.Reference{TemplateSymbol: "01BLP0-001", Series: "BL26T", Number: 7,
		IssuedOn: time.Date(2026, 11, 2, 0, 0, 0, 0, receipt.Zone), Reason: "Ghi sai họ tên người nộp"}
	cases := []struct {
		name   string
		mutate func(*receipt.Receipt)
	}{
		{"original_with_cccd", func(*receipt.Receipt) {}},
		{"payer_tax_code_no_address", func(r *receipt.Receipt) {
			r.Payer.ID, r.Payer.Address, r.Payer.Name = receipttest.UnitTaxCode, "", "Công ty TNHH Hồng Nhung & Cộng sự <HN>"
		}},
		{"replacement", func(r *receipt.Receipt) { r.Kind, r.Original = receipt.KindReplacement, orig }},
		{"adjustment_down", func(r *receipt.Receipt) {
			r.Kind, r.Original, r.PaymentRef, r.BankTxnRef = receipt.KindAdjustment, orig, "", ""
			r.Lines = []receipt.Line{{Name: "Điều chỉnh giảm lệ phí", Kind: receipt.LineCharge, AmountVND: -20_000}}
			r.TotalVND = -20_000
		}},
		{"largest_number_and_amount", func(r *receipt.Receipt) {
			r.Number = receipt.MaxNumber
			r.Lines = []receipt.Line{{Name: "Lệ phí trước bạ", Kind: receipt.LineCharge, AmountVND: 999_999_999_999}}
			r.TotalVND = 999_999_999_999
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := receipttest.Sample()
			tc.mutate(&want)
			signed := issue(t, want)
			got, cert, err := v2025.Format{}.Verify(signed)
			if err != nil {
				t.Fatalf("Verify() = %v\n%s", err, signed)
			}
			if !cert.Equal(setup(t).Certificate()) {
				t.Error("certificate differs from the signer's")
			}
			equal(t, got, want)
		})
	}
}

func TestMarshal_conventions(t *testing.T) {
	r := receipttest.Sample()
	b, err := v2025.Format{}.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`<DLBLai Id="DLBLai">`,
		"<PBan>" + v2025.PBan + "</PBan>",
		"<KHMSBLai>01BLP0-001</KHMSBLai>", "<KHBLai>BL26T</KHBLai>", "<SBLai>42</SBLai>",
		"<NLap>2026-12-03</NLap>", "<TGLap>2026-12-03T09:15:30</TGLap>",
		"<TgTTTBSo>150000</TgTTTBSo>", "<TgTTTBChu>Một trăm năm mươi nghìn đồng</TgTTTBChu>",
		"<Ten>Nguyễn Thị Hồng Nhung</Ten>", "<CCCDan>001099012345</CCCDan>",
		"<DSCKS><NThu/></DSCKS>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("document lacks %s", want)
		}
	}
	// A UTC issue time is rendered in GMT+7, on the next day.
	r.IssuedAt = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	b, _ = v2025.Format{}.Marshal(r)
	if !bytes.Contains(b, []byte("<NLap>2026-12-04</NLap>")) || !bytes.Contains(b, []byte("<TGLap>2026-12-04T01:00:00</TGLap>")) {
		t.Errorf("issue time not rendered in GMT+7: %s", b)
	}
	bad := receipttest.Sample()
	bad.TotalVND++
	if _, err := (v2025.Format{}).Marshal(bad); !errors.Is(err, receipt.ErrInvalid) {
		t.Errorf("Marshal(invalid) = %v, want ErrInvalid", err)
	}
}

func TestSign_refuses_signed_document(t *testing.T) {
	signed := issue(t, receipttest.Sample())
	if _, err := (v2025.Format{}).Sign(signed, setup(t), signAt); !errors.Is(err, receipt.ErrMalformed) {
		t.Fatalf("Sign(signed) = %v, want ErrMalformed", err)
	}
}

// replaceOnce replaces the only occurrence of old in doc.
func replaceOnce(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(doc, []byte(old)); n != 1 {
		t.Fatalf("%q occurs %d times", old, n)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

func between(doc []byte, open, close string) string {
	s := string(doc)
	i := strings.Index(s, open) + len(open)
	j := strings.Index(s[i:], close)
	return s[i : i+j]
}

func TestVerify_names_what_failed(t *testing.T) {
	signed := issue(t, receipttest.Sample())
	sigValue := between(signed, "<SignatureValue>", "</SignatureValue>")
	certB64 := between(signed, "<X509Certificate>", "</X509Certificate>")
	otherCert := strings.Join(strings.Split(strings.TrimSpace(string(otherPEM)), "\n")[1:], "")
	otherCert = strings.TrimSuffix(otherCert, "-----END CERTIFICATE-----")
	otherSubject := "CN=Kẻ giả mạo,O=motcua local stack (not for production),C=VN"
	subject := between(signed, "<X509SubjectName>", "</X509SubjectName>")
	flipped := []byte(sigValue)
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, doc []byte) []byte
		want   error
	}{
		{"one_digit_of_the_amount", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "<STien>100000</STien>", "<STien>900000</STien>")
		}, receipt.ErrContentAltered},
		{"total_and_words_together", func(t *testing.T, d []byte) []byte {
			d = replaceOnce(t, d, "<TgTTTBSo>150000</TgTTTBSo>", "<TgTTTBSo>15000</TgTTTBSo>")
			return replaceOnce(t, d, "Một trăm năm mươi nghìn đồng", "Mười lăm nghìn đồng")
		}, receipt.ErrContentAltered},
		{"payer_name", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "Nguyễn Thị Hồng Nhung", "Nguyễn Thị Hồng Nhưng")
		}, receipt.ErrContentAltered},
		{"receipt_number", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "<SBLai>42</SBLai>", "<SBLai>43</SBLai>")
		}, receipt.ErrContentAltered},
		{"signing_time", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "2026-12-03T09:15:31", "2026-12-02T09:15:31")
		}, receipt.ErrContentAltered},
		{"signature_value", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, sigValue, string(flipped))
		}, receipt.ErrSignatureInvalid},
		{"digest_value_rewritten", func(t *testing.T, d []byte) []byte {
			dv := between(d, "<DigestValue>", "</DigestValue>")
			return replaceOnce(t, d, dv, "AAAA"+dv[4:])
		}, receipt.ErrSignatureInvalid},
		{"certificate_of_someone_else", func(t *testing.T, d []byte) []byte {
			d = replaceOnce(t, d, certB64, otherCert)
			return replaceOnce(t, d, subject, otherSubject)
		}, receipt.ErrSignatureInvalid},
		{"subject_name_not_the_certificate", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, subject, otherSubject)
		}, receipt.ErrMalformed},
		{"sha1_digest", func(t *testing.T, d []byte) []byte {
			return bytes.ReplaceAll(d, []byte("http://www.w3.org/2001/04/xmlenc#sha256"), []byte("http://www.w3.org/2000/09/xmldsig#sha1"))
		}, receipt.ErrMalformed},
		{"signing_time_object_removed", func(t *testing.T, d []byte) []byte {
			obj := "<Object" + between(d, "<Object", "</Object>") + "</Object>"
			return replaceOnce(t, d, obj, "")
		}, receipt.ErrMalformed},
		{"second_data_element_wrapping", func(t *testing.T, d []byte) []byte {
			data := "<DLBLai" + between(d, "<DLBLai", "</DLBLai>") + "</DLBLai>"
			evil := strings.Replace(data, "<STien>100000</STien>", "<STien>900000</STien>", 1)
			return replaceOnce(t, d, "<DSCKS>", evil+"<DSCKS>")
		}, receipt.ErrMalformed},
		{"doctype", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "<BLai>", `<!DOCTYPE BLai [<!ENTITY x "y">]><BLai>`)
		}, receipt.ErrMalformed},
		{"element_added_to_data", func(t *testing.T, d []byte) []byte {
			return replaceOnce(t, d, "<MTCuu>", "<Extra>1</Extra><MTCuu>")
		}, receipt.ErrContentAltered},
		{"signature_removed", func(t *testing.T, d []byte) []byte {
			sig := "<Signature" + between(d, "<Signature", "</Signature>") + "</Signature>"
			return replaceOnce(t, d, sig, "")
		}, receipt.ErrMalformed},
		{"not_xml", func(t *testing.T, d []byte) []byte { return d[:len(d)/2] }, receipt.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.tamper(t, bytes.Clone(signed))
			_, _, err := v2025.Format{}.Verify(doc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify() = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestXmlsec1 checks that standard tooling (xmlsec1, libxml2's XMLDSig)
// accepts our signature with the certificate trusted, and rejects a
// receipt whose amount was changed by one digit.
func TestXmlsec1(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmlsec1 is required in CI (apt-get install -y xmlsec1)")
		}
		t.Skip("xmlsec1 not installed (apt-get install -y xmlsec1); skipping the check with standard tooling")
	}
	setup(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	signed := issue(t, receipttest.Sample())
	run := func(doc []byte) (string, error) {
		f := filepath.Join(dir, "receipt.xml")
		if err := os.WriteFile(f, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		// --trusted-pem makes the self-signed test certificate a trust
		// anchor, so a pass means the chain and the signature are valid;
		// --id-attr registers DLBLai's Id as an XML ID for URI="#DLBLai".
		out, err := exec.Command(bin, "--verify", "--trusted-pem", cert, "--id-attr:Id", "DLBLai", f).CombinedOutput()
		return string(out), err
	}
	if out, err := run(signed); err != nil || !strings.Contains(out, "References (ok/all): 2/2") {
		t.Fatalf("xmlsec1 rejects our signed receipt: %v\n%s", err, out)
	}
	tampered := replaceOnce(t, signed, "<STien>100000</STien>", "<STien>900000</STien>")
	if out, err := run(tampered); err == nil {
		t.Fatalf("xmlsec1 accepts a tampered receipt:\n%s", out)
	}
	_, _, err = v2025.Format{}.Verify(tampered)
	if !errors.Is(err, receipt.ErrContentAltered) {
		t.Fatalf("our Verify(tampered) = %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	signed := issue(f, receipttest.Sample())
	f.Add(signed)
	f.Add(bytes.Replace(signed, []byte("100000"), []byte("900000"), 1))
	f.Add([]byte(`<?xml version="1.0"?><BLai><DLBLai Id="DLBLai"/><DSCKS><NThu/></DSCKS></BLai>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, cert, err := v2025.Format{}.Verify(doc)
		if err != nil {
			if !errors.Is(err, receipt.ErrMalformed) && !errors.Is(err, receipt.ErrSignatureInvalid) && !errors.Is(err, receipt.ErrContentAltered) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if cert == nil {
			t.Fatal("verified without a certificate")
		}
		if verr := r.Validate(); verr != nil {
			t.Fatalf("verified an invalid receipt: %v", verr)
		}
	})
}
