package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/payment/vnpay"
)

func TestRun(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("provider")
		w.Write(vnpay.ReplyFor(vnpay.Verify("s3cret", q)).Body())
	}))
	defer gw.Close()
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "vnpay-hash-secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	payURL, err := vnpay.BuildPaymentURL(vnpay.Config{TmnCode: "MOTCUA01", HashSecret: "s3cret", ReturnURL: "http://127.0.0.1/r"},
		vnpay.Payment{TxnRef: "MCAAAAAAAAAAAA", AmountVND: 100000, OrderInfo: "Lệ phí", IPAddr: "127.0.0.1", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--gateway", gw.URL, "--secrets-dir", secrets, "--ledger", filepath.Join(dir, "ledger.jsonl")}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no_args", nil, 2, "", "usage"},
		{"unknown_command", []string{"fly"}, 2, "", "unknown command"},
		{"bad_mode", []string{"pay-vnpay", "--url", payURL, "--mode", "sideways"}, 2, "", "unknown mode"},
		{"pay_vnpay_reads_dev_secret", append([]string{"pay-vnpay", "--url", payURL}, common...), 0, `"rsp_code": "00"`, ""},
		{"pay_vnpay_bad_signature_mode", append([]string{"pay-vnpay", "--url", payURL, "--mode", "bad-signature"}, common...), 0, `"rsp_code": "97"`, ""},
		{"pay_vnpay_wrong_secret", append([]string{"pay-vnpay", "--url", payURL, "--secret", "other"}, common...), 1, "", "signature"},
		{"pay_vietqr_without_secret", append([]string{"pay-vietqr", "--payload", "x"}, common...), 2, "", "webhook secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut, func(string) string { return "" })
			if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", code, tc.wantCode, out.String(), errOut.String())
			}
		})
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--secret", "s", "--tmn-code", "MOTCUA01", "--ledger", ""},
			&bytes.Buffer{}, &errOut, func(string) string { return "" })
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// MOTCUA_GATEWAY_ADDR and MOTCUA_DATA_DIR move bank-sim's defaults the way
// they move motcua-local: the gateway, the dev secrets and the ledger.
func TestRun_embedded_stack_variables(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("provider")
		w.Write(vnpay.ReplyFor(vnpay.Verify("s3cret", q)).Body())
	}))
	defer gw.Close()
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "secrets", "vnpay-hash-secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	payURL, err := vnpay.BuildPaymentURL(vnpay.Config{TmnCode: "MOTCUA01", HashSecret: "s3cret", ReturnURL: "http://127.0.0.1/r"},
		vnpay.Payment{TxnRef: "MCBBBBBBBBBBBB", AmountVND: 100000, OrderInfo: "Lệ phí", IPAddr: "127.0.0.1", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MOTCUA_GATEWAY_ADDR": strings.TrimPrefix(gw.URL, "http://"), "MOTCUA_DATA_DIR": data}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"pay-vnpay", "--url", payURL}, &out, &errOut, func(k string) string { return env[k] })
	if code != 0 || !strings.Contains(out.String(), `"rsp_code": "00"`) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(filepath.Join(data, "bank-sim", "ledger.jsonl")); err != nil {
		t.Fatalf("ledger not under MOTCUA_DATA_DIR: %v", err)
	}
}
