package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"motcua/shared/payment/webhook"
)

var (
	body    = []byte(`{"txn":"HS-1","amount":150000,"note":"Lệ phí"}`)
	current = []byte("whsec_current")
	old     = []byte("whsec_old")
	signed  = time.Unix(1764057600, 0)
)

// golden was computed outside Go:
// printf '%s' "1764057600.$body" | openssl dgst -sha256 -hmac whsec_current
const golden = "b42d0aa267f3f9b5227860e145fc3c78eb4841ae9c7898a48efd2244a4da8af7"

func TestSign_golden_vector(t *testing.T) {
	want := "t=1764057600,v1=" + golden
	if got := webhook.Sign(current, signed.Add(900*time.Millisecond), body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if err := webhook.Verify(want, body, [][]byte{current}, signed, 0); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	both := [][]byte{current, old}
	tests := []struct {
		name    string
		header  string
		body    []byte
		secrets [][]byte
		now     time.Time
		want    error
	}{
		{"current_secret", webhook.Sign(current, signed, body), body, both, signed, nil},
		{"old_secret_during_rotation", webhook.Sign(old, signed, body), body, both, signed, nil},
		{"sender_signs_with_both", webhook.SignAll([][]byte{[]byte("their-new"), old}, signed, body), body, both, signed, nil},
		{"old_secret_after_rotation", webhook.Sign(old, signed, body), body, [][]byte{current}, signed, webhook.ErrNoMatchingSignature},
		{"unknown_secret", webhook.Sign([]byte("guess"), signed, body), body, both, signed, webhook.ErrNoMatchingSignature},
		{"tampered_body", webhook.Sign(current, signed, body), []byte(strings.Replace(string(body), "150000", "15000", 1)), both, signed, webhook.ErrNoMatchingSignature},
		{"body_with_trailing_newline", webhook.Sign(current, signed, body), append(append([]byte{}, body...), '\n'), both, signed, webhook.ErrNoMatchingSignature},
		{"timestamp_changed", strings.Replace(webhook.Sign(current, signed, body), "t=1764057600", "t=1764057601", 1), body, both, signed, webhook.ErrNoMatchingSignature},
		{"uppercase_hex", "t=1764057600,v1=" + strings.ToUpper(golden), body, both, signed, nil},
		{"spaces_and_unknown_scheme", " t=1764057600 , v2=abc , v1=" + golden, body, both, signed, nil},
		{"edge_of_tolerance_past", webhook.Sign(current, signed, body), body, both, signed.Add(300 * time.Second), nil},
		{"edge_of_tolerance_future", webhook.Sign(current, signed, body), body, both, signed.Add(-300 * time.Second), nil},
		{"stale", webhook.Sign(current, signed, body), body, both, signed.Add(301 * time.Second), webhook.ErrStaleTimestamp},
		{"from_the_future", webhook.Sign(current, signed, body), body, both, signed.Add(-301 * time.Second), webhook.ErrStaleTimestamp},
		{"no_secrets", webhook.Sign(current, signed, body), body, nil, signed, webhook.ErrNoSecrets},
		{"empty_secret_skipped", webhook.Sign(nil, signed, body), body, [][]byte{{}}, signed, webhook.ErrNoMatchingSignature},
		{"malformed", "sha256=" + golden, body, both, signed, webhook.ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.header, tt.body, tt.secrets, tt.now, webhook.DefaultTolerance)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseHeader_malformed(t *testing.T) {
	v1 := ",v1=" + golden
	tests := []struct{ name, header string }{
		{"empty", ""},
		{"no_timestamp", "v1=" + golden},
		{"no_v1", "t=1764057600"},
		{"only_other_scheme", "t=1764057600,v0=" + golden},
		{"negative_timestamp", "t=-5" + v1},
		{"plus_timestamp", "t=+5" + v1},
		{"float_timestamp", "t=1.5" + v1},
		{"huge_timestamp", "t=99999999999999999999" + v1},
		{"repeated_timestamp", "t=1,t=2" + v1},
		{"v1_short", "t=1,v1=abcd"},
		{"v1_not_hex", "t=1,v1=" + strings.Repeat("zz", 32)},
		{"entry_without_equals", "t=1,garbage" + v1},
		{"empty_key", "t=1,=x" + v1},
		{"trailing_comma", "t=1" + v1 + ","},
		{"too_long", "t=1" + strings.Repeat(v1, 70)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.ParseHeader(tt.header); !errors.Is(err, webhook.ErrMalformedHeader) {
				t.Fatalf("ParseHeader(%q) = %v, want ErrMalformedHeader", tt.header, err)
			}
		})
	}
	sig, err := webhook.ParseHeader("t=1764057600,v1=" + golden + ",v1=" + strings.Repeat("0", 64))
	if err != nil || len(sig.V1) != 2 || !sig.Timestamp.Equal(signed) {
		t.Fatalf("two v1: %+v, %v", sig, err)
	}
}

func TestParseSecrets(t *testing.T) {
	got := webhook.ParseSecrets("# rotated 2026-11\n  whsec_current  \r\n\n\t\n#whsec_disabled\nwhsec_old")
	if len(got) != 2 || string(got[0]) != "whsec_current" || string(got[1]) != "whsec_old" {
		t.Fatalf("ParseSecrets = %q", got)
	}
	if got := webhook.ParseSecrets("\n# only comments\n"); len(got) != 0 {
		t.Fatalf("ParseSecrets(comments) = %q", got)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add("t=1764057600,v1=" + golden)
	f.Add("t=1,v1=" + golden + ",v1=" + golden)
	f.Add("t=1, v2=x ,v1=00")
	f.Add(",,,=")
	f.Fuzz(func(t *testing.T, h string) {
		sig, err := webhook.ParseHeader(h)
		if err != nil {
			if !errors.Is(err, webhook.ErrMalformedHeader) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(sig.V1) == 0 || sig.Timestamp.Unix() < 0 {
			t.Fatalf("accepted %q as %+v", h, sig)
		}
		for _, v := range sig.V1 {
			if len(v) != 32 {
				t.Fatalf("v1 of %d bytes", len(v))
			}
		}
		// Whatever parses must verify only with the right secret.
		err = webhook.Verify(h, []byte("x"), [][]byte{[]byte("k")}, sig.Timestamp, time.Second)
		if err != nil && !errors.Is(err, webhook.ErrNoMatchingSignature) {
			t.Fatalf("Verify of parsed header: %v", err)
		}
	})
}
