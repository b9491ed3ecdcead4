package offlineqr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	_ "image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"motcua/shared/receipt"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/receipttest"
)

func signer(t testing.TB, kid string) *offlineqr.Signer {
	t.Helper()
	sec, err := offlineqr.GenerateDevSecret(kid)
	if err != nil {
		t.Fatal(err)
	}
	s, err := offlineqr.ParseSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rotated returns a signer whose current key is "Q27A" and whose previous
// key is prev's.
func rotated(t *testing.T, prevSecret []byte) *offlineqr.Signer {
	var prev, next map[string]any
	nextSecret, _ := offlineqr.GenerateDevSecret("Q27A")
	_ = json.Unmarshal(prevSecret, &prev)
	_ = json.Unmarshal(nextSecret, &next)
	keys := append(next["keys"].([]any), prev["keys"].([]any)...)
	b, _ := json.Marshal(map[string]any{"current": "Q27A", "keys": keys})
	s, err := offlineqr.ParseSecret(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSign_Verify(t *testing.T) {
	s := signer(t, "Q26A")
	r := receipttest.Sample()
	payload, err := s.SignReceipt(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(payload, "MCBL1:Q26A:BL26T:42:20261203:150000:") {
		t.Errorf("payload = %s", payload)
	}
	if len(payload) > 170 {
		t.Errorf("payload of %d characters is not compact", len(payload))
	}
	for _, c := range payload {
		if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", c) {
			t.Fatalf("payload character %q is outside the QR alphanumeric set", c)
		}
	}
	c, err := offlineqr.Verify(payload, s.KeySet())
	if err != nil {
		t.Fatal(err)
	}
	if c.Series != "BL26T" || c.Number != 42 || c.AmountVND != 150_000 || c.IssuedOn.Format("2006-01-02") != "2026-12-03" || c.Kid != "Q26A" {
		t.Errorf("claims = %+v", c)
	}
	if !c.MatchesPayer(receipttest.PayerCCCD) {
		t.Error("the payer's own CCCD does not match")
	}
	if c.MatchesPayer("001099012346") {
		t.Error("another CCCD matches")
	}
	if strings.Contains(payload, receipttest.PayerCCCD) {
		t.Error("payload carries the CCCD in clear")
	}
	// Salted per receipt: the same payer on another receipt hashes differently.
	r2 := r
	r2.Number = 43
	if offlineqr.ClaimsOf(r2).PayerHash == offlineqr.ClaimsOf(r).PayerHash {
		t.Error("payer hash is the same on two receipts: linkable")
	}
}

func TestVerify_rejects(t *testing.T) {
	s := signer(t, "Q26A")
	payload, err := s.SignReceipt(receipttest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(payload, ":")
	with := func(i int, v string) string {
		g := append([]string(nil), f...)
		g[i] = v
		return strings.Join(g, ":")
	}
	sig := []byte(f[7])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	other := signer(t, "Q26A") // same kid, another key: a forger
	forged, _ := other.SignReceipt(receiptWithAmount(1_500_000))
	cases := []struct {
		name    string
		payload string
		keys    offlineqr.KeySet
		want    error
	}{
		{"amount_changed", with(5, "1500000"), s.KeySet(), offlineqr.ErrBadSignature},
		{"number_changed", with(3, "43"), s.KeySet(), offlineqr.ErrBadSignature},
		{"date_changed", with(4, "20261204"), s.KeySet(), offlineqr.ErrBadSignature},
		{"payer_changed", with(6, "000000"), s.KeySet(), offlineqr.ErrBadSignature},
		{"signature_changed", with(7, string(sig)), s.KeySet(), offlineqr.ErrBadSignature},
		{"signed_by_another_key_same_kid", forged, s.KeySet(), offlineqr.ErrBadSignature},
		{"unknown_kid", with(1, "Q99Z"), s.KeySet(), offlineqr.ErrUnknownKey},
		{"leading_zero_number", with(3, "042"), s.KeySet(), offlineqr.ErrMalformed},
		{"lower_case", strings.ToLower(payload), s.KeySet(), offlineqr.ErrMalformed},
		{"truncated", payload[:len(payload)-3], s.KeySet(), offlineqr.ErrMalformed},
		{"other_prefix", with(0, "MCBL2"), s.KeySet(), offlineqr.ErrMalformed},
		{"bad_date", with(4, "20261332"), s.KeySet(), offlineqr.ErrMalformed},
		{"zero_amount", with(5, "0"), s.KeySet(), offlineqr.ErrMalformed},
		{"extra_field", payload + ":X", s.KeySet(), offlineqr.ErrMalformed},
		{"empty", "", s.KeySet(), offlineqr.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := offlineqr.Verify(tc.payload, tc.keys); !errors.Is(err, tc.want) {
				t.Fatalf("Verify() = %v, want %v", err, tc.want)
			}
		})
	}
}

func receiptWithAmount(n int64) (r receipt.Receipt) {
	r = receipttest.Sample()
	r.Lines = r.Lines[:1]
	r.Lines[0].AmountVND, r.TotalVND = n, n
	return r
}

func TestKeyRotation_previous_key_still_verifies(t *testing.T) {
	oldSecret, _ := offlineqr.GenerateDevSecret("Q26A")
	old, err := offlineqr.ParseSecret(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	oldPayload, _ := old.SignReceipt(receipttest.Sample())
	now := rotated(t, oldSecret)
	newPayload, _ := now.SignReceipt(receipttest.Sample())
	if !strings.HasPrefix(newPayload, "MCBL1:Q27A:") {
		t.Fatalf("new payload not signed with the current key: %s", newPayload)
	}
	published, err := json.Marshal(now.KeySet())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := offlineqr.ParseKeySet(published)
	if err != nil {
		t.Fatal(err)
	}
	if keys.Keys[0].Kid != "Q27A" || keys.Keys[0].Status != "current" || keys.Keys[1].Status != "previous" {
		t.Fatalf("key set = %s", published)
	}
	for _, p := range []string{oldPayload, newPayload} {
		if _, err := offlineqr.Verify(p, keys); err != nil {
			t.Errorf("Verify(%s) = %v", p[:12], err)
		}
	}
	if strings.Contains(string(published), "seed") || strings.Contains(string(published), `"d"`) {
		t.Fatal("published key set carries private material")
	}
}

func TestParseSecret_refuses(t *testing.T) {
	cases := map[string]string{
		"not_json":        "seed",
		"current_missing": `{"current":"B","keys":[{"kid":"A","seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`,
		"short_seed":      `{"current":"A","keys":[{"kid":"A","seed":"AAAA"}]}`,
		"lower_case_kid":  `{"current":"a","keys":[{"kid":"a","seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`,
		"kid_repeated":    `{"current":"A","keys":[{"kid":"A","seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},{"kid":"A","seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`,
	}
	for name, sec := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := offlineqr.ParseSecret([]byte(sec))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "AAAAAAAA") {
				t.Fatalf("error leaks the seed: %v", err)
			}
		})
	}
}

func TestPNG_decodes_to_the_payload(t *testing.T) {
	s := signer(t, "Q26A")
	payload, _ := s.SignReceipt(receipttest.Sample())
	png, err := offlineqr.PNG(payload, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR image does not decode: %v", err)
	}
	if res.GetText() != payload {
		t.Fatalf("QR decodes to %q, want %q", res.GetText(), payload)
	}
	if _, err := offlineqr.Verify(res.GetText(), s.KeySet()); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	s := signer(f, "Q26A")
	payload, _ := s.SignReceipt(receipttest.Sample())
	f.Add(payload)
	f.Add("MCBL1:A:B26:1:20260101:1:000000:" + strings.Repeat("A", 103))
	f.Add("")
	keys := s.KeySet()
	f.Fuzz(func(t *testing.T, p string) {
		c, body, sig, err := offlineqr.Parse(p)
		if err != nil {
			if !errors.Is(err, offlineqr.ErrMalformed) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(sig) != 64 || !strings.HasPrefix(strings.TrimSpace(p), body+":") {
			t.Fatalf("Parse(%q) = %+v, %q", p, c, body)
		}
		if _, err := offlineqr.Verify(p, keys); err == nil && strings.TrimSpace(p) != payload {
			t.Fatalf("a payload other than the signed one verifies: %q", p)
		}
	})
}
