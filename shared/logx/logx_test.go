package logx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"cccd_alone", "001234567889", "001*******89"},
		{"cccd_in_sentence", "nộp hồ sơ cho CCCD 001234567889.", "nộp hồ sơ cho CCCD 001*******89."},
		{"cmnd_nine_digits", "cmnd=012345678", "cmnd=012****78"},
		{"phone_domestic", "gọi 0901234567 nhé", "gọi 090****567 nhé"},
		{"phone_plus84", "+84901234567", "+8490****567"},
		{"phone_84", "84901234567", "8490****567"},
		{"email", "nguyenvana@gmail.com", "ng********@gmail.com"},
		{"short_email", "ab@x.vn", "a*@x.vn"},
		{"email_with_phone_local_part", "0901234567@vnpt.vn", "09********@vnpt.vn"},
		{"several_in_one", "001234567889 / 0912345678", "001*******89 / 091****678"},
		{"uuid_untouched", "id 550e8400-e29b-41d4-a716-446655440000", "id 550e8400-e29b-41d4-a716-446655440000"},
		{"glued_to_letters_untouched", "HS001234567889", "HS001234567889"},
		{"short_numbers_untouched", "phí 50000 đồng, 3 ngày", "phí 50000 đồng, 3 ngày"},
		{"long_numbers_untouched", "ts 1732550000000123", "ts 1732550000000123"},
		{"tax_code_untouched", "MST 0101234567-001", "MST 0101234567-001"},
		{"landline", "ĐT 02838123456", "ĐT 028*****456"},
		{"no_digits_fast_path", "xin chào", "xin chào"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true},
		{"userPassword", true},
		{"client_secret", true},
		{"access_token", true},
		{"Authorization", true},
		{"pin", true},
		{"PIN", true},
		{"otp", true},
		{"body_hash", true},
		{"Signature", true},
		{"api_key", true},
		{"apiKey", true},
		{"Idempotency-Key", true},
		{"Cookie", true},
		{"set-cookie", true},
		{"pepper", true},
		{"citizen_pepper", true},
		{"shipping", false},
		{"monkey", false},
		{"author", false},
		{"applicant", false},
		{"call_id", false},
		{"status", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := IsSecretKey(tt.key); got != tt.want {
				t.Errorf("IsSecretKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func decodeLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, buf.String())
	}
	return m
}

type applicant struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
	Phone    string `json:"phone"`
	Password string `json:"password"`
	Age      int    `json:"age"`
}

type stringer struct{}

func (stringer) String() string { return "stringer 001234567889" }

func TestLoggerMasks(t *testing.T) {
	tests := []struct {
		name  string
		log   func(l *slog.Logger)
		check func(t *testing.T, m map[string]any, raw string)
	}{
		{
			name: "message_is_masked",
			log:  func(l *slog.Logger) { l.Info("nhận hồ sơ của 001234567889, sđt 0901234567") },
			check: func(t *testing.T, m map[string]any, _ string) {
				if got := m["msg"]; got != "nhận hồ sơ của 001*******89, sđt 090****567" {
					t.Errorf("msg = %q", got)
				}
			},
		},
		{
			name: "string_attr_is_masked",
			log:  func(l *slog.Logger) { l.Info("x", "cccd", "001234567889") },
			check: func(t *testing.T, m map[string]any, _ string) {
				if got := m["cccd"]; got != "001*******89" {
					t.Errorf("cccd = %v", got)
				}
			},
		},
		{
			name: "int_attr_is_masked",
			log:  func(l *slog.Logger) { l.Info("x", "phone", int64(84901234567)) },
			check: func(t *testing.T, m map[string]any, _ string) {
				if got := m["phone"]; got != "8490****567" {
					t.Errorf("phone = %v", got)
				}
			},
		},
		{
			name: "secret_keys_are_redacted",
			log: func(l *slog.Logger) {
				l.Info("x", "password", "hunter2", "Authorization", "Bearer abc", "pin", 1234, "token", []string{"a"})
			},
			check: func(t *testing.T, m map[string]any, raw string) {
				for _, k := range []string{"password", "Authorization", "pin", "token"} {
					if m[k] != Redacted {
						t.Errorf("%s = %v, want redacted", k, m[k])
					}
				}
				for _, leak := range []string{"hunter2", "Bearer abc", "1234"} {
					if strings.Contains(raw, leak) {
						t.Errorf("log leaks %q: %s", leak, raw)
					}
				}
			},
		},
		{
			name: "nested_groups_are_masked",
			log: func(l *slog.Logger) {
				l.Info("x", slog.Group("req", slog.Group("applicant", "id", "001234567889", "secret", "s3cr3t")))
			},
			check: func(t *testing.T, m map[string]any, raw string) {
				a := m["req"].(map[string]any)["applicant"].(map[string]any)
				if a["id"] != "001*******89" || a["secret"] != Redacted {
					t.Errorf("applicant = %v", a)
				}
				if strings.Contains(raw, "s3cr3t") {
					t.Errorf("leak: %s", raw)
				}
			},
		},
		{
			name: "secret_group_key_redacts_whole_group",
			log:  func(l *slog.Logger) { l.Info("x", slog.Group("credentials", "user", "u", "pass", "p4ss")) },
			check: func(t *testing.T, m map[string]any, raw string) {
				if m["credentials"] != Redacted || strings.Contains(raw, "p4ss") {
					t.Errorf("credentials not redacted: %s", raw)
				}
			},
		},
		{
			name: "with_group_and_with_attrs_are_masked",
			log: func(l *slog.Logger) {
				l.WithGroup("payment").With("payer_phone", "0912345678", "signature", "abc").
					WithGroup("bank").Info("x", "account_holder_id", "001234567889")
			},
			check: func(t *testing.T, m map[string]any, raw string) {
				p := m["payment"].(map[string]any)
				if p["payer_phone"] != "091****678" || p["signature"] != Redacted {
					t.Errorf("payment = %v", p)
				}
				if b := p["bank"].(map[string]any); b["account_holder_id"] != "001*******89" {
					t.Errorf("bank = %v", b)
				}
			},
		},
		{
			name: "struct_values_are_walked",
			log: func(l *slog.Logger) {
				l.Info("x", "applicant", applicant{Name: "Nguyễn Văn A", IDNumber: "001234567889", Phone: "0901234567", Password: "pw", Age: 30})
			},
			check: func(t *testing.T, m map[string]any, raw string) {
				a := m["applicant"].(map[string]any)
				if a["idNumber"] != "001*******89" || a["phone"] != "090****567" || a["password"] != Redacted || a["name"] != "Nguyễn Văn A" {
					t.Errorf("applicant = %v", a)
				}
				if a["age"] != float64(30) {
					t.Errorf("age = %v", a["age"])
				}
			},
		},
		{
			name: "errors_and_stringers_are_masked",
			log: func(l *slog.Logger) {
				err := fmt.Errorf("lookup %s: %w", "001234567889", errors.New("boom"))
				l.Info("x", "err", err, "s", stringer{})
			},
			check: func(t *testing.T, m map[string]any, _ string) {
				if m["err"] != "lookup 001*******89: boom" || m["s"] != "stringer 001*******89" {
					t.Errorf("err = %v, s = %v", m["err"], m["s"])
				}
			},
		},
		{
			name: "log_valuer_is_resolved_then_masked",
			log:  func(l *slog.Logger) { l.Info("x", "v", valuer{}) },
			check: func(t *testing.T, m map[string]any, _ string) {
				if m["v"] != "090****567" {
					t.Errorf("v = %v", m["v"])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(New(&buf, "debug"))
			tt.check(t, decodeLine(t, &buf), buf.String())
		})
	}
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("0901234567") }

func TestCallID(t *testing.T) {
	tests := []struct {
		name  string
		log   func(ctx context.Context, l *slog.Logger)
		check func(t *testing.T, m map[string]any)
	}{
		{
			name: "top_level",
			log:  func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "x") },
			check: func(t *testing.T, m map[string]any) {
				if m[CallIDKey] != "call-1" {
					t.Errorf("call_id = %v", m[CallIDKey])
				}
			},
		},
		{
			name: "stays_top_level_under_group",
			log: func(ctx context.Context, l *slog.Logger) {
				l.WithGroup("g").InfoContext(ctx, "x", "a", 1)
			},
			check: func(t *testing.T, m map[string]any) {
				if m[CallIDKey] != "call-1" {
					t.Errorf("call_id = %v in %v", m[CallIDKey], m)
				}
				if g := m["g"].(map[string]any); g["a"] != float64(1) {
					t.Errorf("g = %v", g)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := WithCallID(context.Background(), "call-1")
			tt.log(ctx, New(&buf, "info"))
			tt.check(t, decodeLine(t, &buf))
		})
	}
	if got := CallIDFrom(context.Background()); got != "" {
		t.Errorf("CallIDFrom(empty) = %q", got)
	}
	if got := CallIDFrom(WithCallID(context.Background(), "")); got != "" {
		t.Errorf("empty id stored: %q", got)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{"", slog.LevelInfo},
		{"warning", slog.LevelWarn},
		{"error", slog.LevelError},
		{"WARN+1", slog.LevelWarn + 1},
		{"nonsense", slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseLevel(tt.in); got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	New(&buf, "warn").Info("hidden")
	if buf.Len() != 0 {
		t.Errorf("info logged at warn level: %s", buf.String())
	}
}

func benchLog(b *testing.B, l *slog.Logger) {
	ctx := WithCallID(context.Background(), "c0ffee")
	b.ReportAllocs()
	for b.Loop() {
		l.InfoContext(ctx, "nộp hồ sơ thành công cho 001234567889",
			"procedure", "1.001234.000.00.00.H12",
			"phone", "0901234567",
			"amount", 50000,
			slog.Group("applicant", "name", "Nguyễn Văn A", "email", "nguyenvana@gmail.com"),
		)
	}
}

// BenchmarkPlainJSON is the baseline: slog's JSON handler, no masking.
func BenchmarkPlainJSON(b *testing.B) {
	benchLog(b, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// BenchmarkMaskingJSON is the same record through New's masking handler.
func BenchmarkMaskingJSON(b *testing.B) {
	benchLog(b, New(io.Discard, "info"))
}

// BenchmarkMaskingJSONNoPII measures the fast path: nothing to mask.
func BenchmarkMaskingJSONNoPII(b *testing.B) {
	l := New(io.Discard, "info")
	b.ReportAllocs()
	for b.Loop() {
		l.Info("request done", "status", 200, "function", "submit-application", "ms", 12)
	}
}
