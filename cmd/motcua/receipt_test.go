package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/receipt/format"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/receipttest"
	"motcua/shared/receipt/signing"
)

func TestReceiptVerifyQR(t *testing.T) {
	dir := t.TempDir()
	sec, err := offlineqr.GenerateDevSecret("Q26A")
	if err != nil {
		t.Fatal(err)
	}
	s, err := offlineqr.ParseSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys.json")
	b, _ := json.Marshal(s.KeySet())
	if err := os.WriteFile(keys, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"keys":[]}`), 0o600)
	payload, err := s.SignReceipt(receipttest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(payload, ":150000:", ":1500000:", 1)
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   string
	}{
		{"valid", []string{"--keys", keys, payload}, "", 0, "VALID receipt QR (key Q26A)"},
		{"valid_from_stdin", []string{"--keys", keys, "-"}, payload + "\n", 0, "amount  150.000 đồng"},
		{"payer_matches", []string{"--keys", keys, "--payer-id", receipttest.PayerCCCD, payload}, "", 0, "payer   matches"},
		{"payer_differs", []string{"--keys", keys, "--payer-id", "001099012346", payload}, "", 1, "DOES NOT MATCH"},
		{"amount_tampered", []string{"--keys", keys, tampered}, "", 1, "INVALID"},
		{"garbage", []string{"--keys", keys, "hello"}, "", 1, "INVALID"},
		{"no_keys", []string{payload}, "", 2, ""},
		{"empty_key_set", []string{"--keys", bad, payload}, "", 2, ""},
		{"two_payloads", []string{"--keys", keys, payload, payload}, "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"receipt", "verify-qr"}, tt.args...),
				&env{stdout: &out, stderr: &errb, stdin: strings.NewReader(tt.stdin)})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Fatalf("stdout %q lacks %q", out.String(), tt.out)
			}
		})
	}
}

func TestReceiptVerifyXML(t *testing.T) {
	dir := t.TempDir()
	keyPEM, certPEM, err := signing.GenerateDevPair("Sở Tư pháp tỉnh Lâm Đồng", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, otherPEM, _ := signing.GenerateDevPair("other", time.Now())
	s, err := signing.NewLocal(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := format.Current().Issue(receipttest.Sample(), s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.xml", signed)
	tampered := write("tampered.xml", bytes.Replace(signed, []byte("<STien>100000</STien>"), []byte("<STien>900000</STien>"), 1))
	cert := write("cert.pem", certPEM)
	other := write("other.pem", otherPEM)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"valid", []string{good}, 0, "VALID receipt (format v2025)"},
		{"valid_trusted", []string{"--trusted-cert", cert, good}, 0, "payer   Nguyễn Thị Hồng Nhung"},
		{"other_certificate", []string{"--trusted-cert", other, good}, 1, "signed with another certificate"},
		{"amount_tampered", []string{tampered}, 1, "content_altered"},
		{"missing_file", []string{filepath.Join(dir, "nope.xml")}, 2, ""},
		{"no_file", nil, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"receipt", "verify"}, tt.args...), &env{stdout: &out, stderr: &errb})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Fatalf("stdout %q lacks %q", out.String(), tt.out)
			}
		})
	}
}
