package vnpay_test

import (
	"errors"
	"net/url"
	"testing"

	"motcua/shared/payment/vnpay"
)

// fuzzVNPaySecret signs the seed IPNs; the fuzzer never learns it.
const fuzzVNPaySecret = "FUZZSECRET0123456789ABCDEFGHIJKL"

// fuzzSignedIPN returns a raw IPN query string signed with fuzzVNPaySecret.
func fuzzSignedIPN(mut func(url.Values)) string {
	q := url.Values{
		"vnp_Amount":            {"15000000"},
		"vnp_BankCode":          {"NCB"},
		"vnp_BankTranNo":        {"VNP14226112"},
		"vnp_CardType":          {"ATM"},
		"vnp_OrderInfo":         {"Lệ phí HS-2026-000123"},
		"vnp_PayDate":           {"20261125153512"},
		"vnp_ResponseCode":      {"00"},
		"vnp_TmnCode":           {"DEMOV210"},
		"vnp_TransactionNo":     {"14226112"},
		"vnp_TransactionStatus": {"00"},
		"vnp_TxnRef":            {"HS-2026-000123"},
	}
	if mut != nil {
		mut(q)
	}
	q.Set(vnpay.ParamSecureHash, vnpay.Sign(fuzzVNPaySecret, vnpay.HashData(q)))
	return q.Encode()
}

// fuzzVNPaySeeds are signed and unsigned IPN query strings.
func fuzzVNPaySeeds() (signed []string, other []string) {
	signed = []string{
		fuzzSignedIPN(nil),
		fuzzSignedIPN(func(q url.Values) { q.Set("vnp_ResponseCode", "24"); q.Set("vnp_TransactionStatus", "02") }),
		fuzzSignedIPN(func(q url.Values) { q.Del("vnp_PayDate"); q.Del("vnp_BankTranNo") }),
		fuzzSignedIPN(func(q url.Values) { q.Set("vnp_Amount", "150050") }),
		fuzzSignedIPN(func(q url.Values) { q.Del("vnp_TxnRef") }),
	}
	base := fuzzSignedIPN(nil)
	other = []string{
		base + "&vnp_SecureHashType=HmacSHA512",
		base + "&other=1",
		base + "&vnp_Amount=1",
		base + "&vnp_Extra=",
		"vnp_Amount=100&vnp_TxnRef=X&vnp_ResponseCode=00",
		"vnp_Amount=-100&vnp_TxnRef=X&vnp_ResponseCode=00&vnp_SecureHash=00",
		"vnp_Amount=99999999999999999999&vnp_TxnRef=X&vnp_ResponseCode=00",
		"vnp_Amount=100&vnp_TxnRef=X&vnp_ResponseCode=00&vnp_PayDate=20261399999999",
		"vnp_SecureHash=zz",
		"vnp_TxnRef=%ZZ&vnp_SecureHash=",
		"",
		"&&&==;",
	}
	return signed, other
}

// FuzzVerify feeds arbitrary query strings to Verify and VerifyIPN: no
// panic, only the documented errors, and a query verifies only if it signs
// exactly the data of a query the secret signed.
func FuzzVerify(f *testing.F) {
	signed, other := fuzzVNPaySeeds()
	signedData := map[string]bool{}
	for _, s := range signed {
		f.Add(s)
		q, err := url.ParseQuery(s)
		if err != nil {
			f.Fatalf("seed: %v", err)
		}
		if err := vnpay.Verify(fuzzVNPaySecret, q); err != nil {
			f.Fatalf("seed does not verify: %v", err)
		}
		signedData[vnpay.HashData(q)] = true
	}
	for _, s := range other {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the IPN handler refuses unparsable queries before Verify
		}
		err = vnpay.Verify(fuzzVNPaySecret, q)
		if err != nil {
			if !errors.Is(err, vnpay.ErrMissingSignature) && !errors.Is(err, vnpay.ErrBadSignature) && !errors.Is(err, vnpay.ErrMalformed) {
				t.Fatalf("Verify: undocumented error %v", err)
			}
		} else {
			if !signedData[vnpay.HashData(q)] {
				t.Fatalf("forged query verified: %q (data %q)", raw, vnpay.HashData(q))
			}
			if err := vnpay.Verify("another-secret-0123456789abcdefgh", q); err == nil {
				t.Fatalf("query verified with another secret: %q", raw)
			}
		}
		n, ierr := vnpay.VerifyIPN(fuzzVNPaySecret, q)
		if (err != nil) && ierr == nil {
			t.Fatalf("VerifyIPN accepted what Verify refused: %q", raw)
		}
		if ierr == nil && n.TxnRef == "" {
			t.Fatalf("VerifyIPN returned an IPN without TxnRef: %q", raw)
		}
		// Every outcome maps to a reply VNPAY understands.
		if r := vnpay.ReplyFor(ierr); r.RspCode == "" || len(r.Body()) == 0 {
			t.Fatalf("ReplyFor(%v) = %+v", ierr, r)
		}
	})
}

// FuzzParseIPN feeds arbitrary query strings to ParseIPN: no panic, errors
// wrap ErrMalformed, and a parsed IPN has its required fields and a
// non-negative whole amount.
func FuzzParseIPN(f *testing.F) {
	signed, other := fuzzVNPaySeeds()
	for _, s := range append(signed, other...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		n, err := vnpay.ParseIPN(q)
		if err != nil {
			if !errors.Is(err, vnpay.ErrMalformed) && !errors.Is(err, vnpay.ErrInvalid) {
				t.Fatalf("ParseIPN: error %v wraps neither ErrMalformed nor ErrInvalid", err)
			}
			if n != (vnpay.IPN{}) {
				t.Fatalf("ParseIPN returned %+v with error %v", n, err)
			}
			return
		}
		if n.TxnRef == "" || n.ResponseCode == "" {
			t.Fatalf("ParseIPN accepted %q without TxnRef or ResponseCode: %+v", raw, n)
		}
		if n.AmountVND < 0 {
			t.Fatalf("ParseIPN accepted negative amount %d from %q", n.AmountVND, raw)
		}
		if n.TxnRef != q.Get("vnp_TxnRef") || n.ResponseCode != q.Get("vnp_ResponseCode") {
			t.Fatalf("ParseIPN changed fields: %+v from %q", n, raw)
		}
		if s := q.Get("vnp_PayDate"); s != "" && vnpay.FormatDate(n.PayDate) != s {
			t.Fatalf("vnp_PayDate %q parsed as %v (formats back as %q)", s, n.PayDate, vnpay.FormatDate(n.PayDate))
		}
	})
}
