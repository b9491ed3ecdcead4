package payment_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/payment"
)

func TestLoadConfig(t *testing.T) {
	devTmn := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // a runner-generated dev secret
	tests := []struct {
		name        string
		env         map[string]string
		secrets     map[string]string
		needs       payment.Needs
		wantMethods []string
		wantTmn     string
		wantBank    int
		wantErr     bool
	}{
		{"pay_with_everything", map[string]string{
			payment.KeyVNPayReturnURL: "https://dvc.example.gov.vn/kq", payment.KeyVietQRBIN: "970436", payment.KeyVietQRAccount: "0011001234567",
		}, map[string]string{payment.SecretVNPayTmnCode: "MOTCUA01\n", payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Pay: true}, []string{"vnpay", "vietqr"}, "MOTCUA01", 0, false},
		{"long_tmn_code_refused_not_cut", map[string]string{payment.KeyVNPayReturnURL: "https://dvc.example.gov.vn/kq"},
			map[string]string{payment.SecretVNPayTmnCode: devTmn, payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Pay: true}, nil, "", 0, true},
		{"lower_case_tmn_code_refused", map[string]string{payment.KeyVNPayReturnURL: "https://dvc.example.gov.vn/kq"},
			map[string]string{payment.SecretVNPayTmnCode: "motcua01", payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Pay: true}, nil, "", 0, true},
		{"short_tmn_code_refused_for_callbacks", nil,
			map[string]string{payment.SecretVNPayTmnCode: "ABC", payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Callbacks: true}, nil, "", 0, true},
		{"realistic_dev_tmn_code", map[string]string{payment.KeyVNPayReturnURL: "https://dvc.example.gov.vn/kq"},
			map[string]string{payment.SecretVNPayTmnCode: "2QXUI4J4\n", payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Pay: true}, []string{"vnpay"}, "2QXUI4J4", 0, false},
		{"no_secrets_no_vnpay", map[string]string{payment.KeyVNPayReturnURL: "https://dvc.example.gov.vn/kq", payment.KeyVietQRBIN: "970436", payment.KeyVietQRAccount: "1"},
			nil, payment.Needs{Pay: true}, []string{"vietqr"}, "", 0, false},
		{"no_return_url_no_vnpay", nil, map[string]string{payment.SecretVNPayTmnCode: "MOTCUA01", payment.SecretVNPayHashSecret: "s3cret"},
			payment.Needs{Pay: true}, []string{}, "", 0, false},
		{"callbacks_rotate_two_secrets", nil, map[string]string{payment.SecretVNPayHashSecret: "s3cret", payment.SecretBankWebhook: "# newest first\nnew-one\n\nold-one\n"},
			payment.Needs{Callbacks: true}, []string{}, "", 2, false},
		{"bad_ttl", map[string]string{payment.KeyTTL: "10s"}, nil, payment.Needs{Pay: true}, nil, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for k, v := range tc.secrets {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			src := config.MapSource{config.SecretsDirKey: dir}
			for k, v := range tc.env {
				src[k] = v
			}
			cfg, bank, err := payment.LoadConfig(src, config.SecretsFrom(src), tc.needs, quiet)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				if v := tc.secrets[payment.SecretVNPayTmnCode]; v != "" && strings.Contains(err.Error(), strings.TrimSpace(v)) {
					t.Fatalf("the error shows the secret's value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TTL != 15*time.Minute || cfg.EventsQueue != "payment-events" {
				t.Fatalf("defaults: %v %q", cfg.TTL, cfg.EventsQueue)
			}
			store := newEnv(t).store
			svc, err := payment.NewService(payment.Deps{Store: store, Publisher: newEnv(t).q, BankSecrets: bank}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := svc.Methods(); !slices.Equal(got, tc.wantMethods) {
				t.Fatalf("methods = %v, want %v", got, tc.wantMethods)
			}
			if tc.wantTmn != "" && cfg.VNPay.TmnCode != tc.wantTmn {
				t.Fatalf("tmn = %q, want %q", cfg.VNPay.TmnCode, tc.wantTmn)
			}
			if tc.wantBank > 0 {
				s, err := bank()
				if err != nil || len(s) != tc.wantBank || string(s[0]) != "new-one" {
					t.Fatalf("bank secrets = %q, %v", s, err)
				}
			}
		})
	}
}

func TestRepository_Each_lists_only_payments(t *testing.T) {
	e := newEnv(t)
	a := e.addApp(t, "STP-260302-1000", application.StatusAwaitingPayment)
	p := e.pay(t, a.Code, payment.MethodVietQR)
	if _, err := e.svc.BankWebhook(context.Background(), signedBank(t, transfer("ev-each", "no ref", 5000), e.clock.Now(), newSecret)); err != nil {
		t.Fatal(err)
	}
	var refs []string
	if err := e.svc.Repository().Each(context.Background(), func(x payment.Payment) error {
		refs = append(refs, x.Ref)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != p.Ref {
		t.Fatalf("Each saw %v, want [%s]", refs, p.Ref)
	}
}
