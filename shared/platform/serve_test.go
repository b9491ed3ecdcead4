package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/logx"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestServe(t *testing.T) {
	ok := AdapterFunc(func(ctx context.Context, req handler.Request) handler.Response {
		if logx.CallIDFrom(ctx) == "" {
			t.Error("adapter got a context without a call id")
		}
		return handler.Response{StatusCode: http.StatusOK, Body: []byte("ok")}
	})
	boom := AdapterFunc(func(context.Context, handler.Request) handler.Response { panic("nil map write") })
	cases := []struct {
		name     string
		deps     func() (Adapter, error)
		method   string
		status   int
		wantCode string
	}{
		{"allowed_method_without_context", func() (Adapter, error) { return ok, nil }, http.MethodGet, 200, ""},
		{"method_not_allowed", func() (Adapter, error) { return ok, nil }, http.MethodDelete, 405, "method_not_allowed"},
		{"dependencies_fail", func() (Adapter, error) { return nil, errors.New("s3 unreachable") }, http.MethodGet, 500, "internal_error"},
		{"panic_recovered", func() (Adapter, error) { return boom, nil }, http.MethodPost, 500, "internal_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := serve(c.deps, []string{http.MethodGet, http.MethodPost})
			// No WithContext: the upstream SDK's Context() may give nil.
			resp, err := h(handler.Request{Method: c.method, Header: http.Header{}})
			if err != nil {
				t.Fatalf("Handle returned an error (the template would answer a bare 500): %v", err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			if c.wantCode != "" {
				var p struct{ Code string }
				if err := json.Unmarshal(resp.Body, &p); err != nil || p.Code != c.wantCode {
					t.Fatalf("problem code %q (%v), want %q: %s", p.Code, err, c.wantCode, resp.Body)
				}
			}
			if c.status == 405 && http.Header(resp.Header).Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// TestInstallLogger_masks_whatever_logger_writes: after the kit starts,
// slog.Default() and the standard log package both go through the masking
// handler.
func TestInstallLogger_masks_whatever_logger_writes(t *testing.T) {
	buf := &syncBuffer{}
	logOutput = buf
	InstallLogger()
	const cccd, phone = "001099012345", "0912345678"
	slog.Default().Error("dependency build failed", "applicant", "CCCD "+cccd+" phone "+phone, "pin", "12345678")
	slog.Info("plain slog call with cccd " + cccd)
	log.Printf("standard log with phone %s", phone)
	out := buf.String()
	if strings.Count(out, "\n") < 3 {
		t.Fatalf("expected three log lines, got:\n%s", out)
	}
	for _, secret := range []string{cccd, phone, "12345678"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%s reached the log unmasked:\n%s", secret, out)
		}
	}
}
