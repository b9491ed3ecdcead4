package httpx

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/logx"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		name       string
		fn         HandlerFunc
		wantStatus int
		wantLog    string
	}{
		{
			name: "success_passes_through_with_call_id_in_context",
			fn: func(ctx context.Context, req handler.Request) (handler.Response, error) {
				return JSON(http.StatusOK, map[string]string{"call": logx.CallIDFrom(ctx)}), nil
			},
			wantStatus: 200,
		},
		{
			name: "error_becomes_problem",
			fn: func(ctx context.Context, req handler.Request) (handler.Response, error) {
				return handler.Response{}, errors.New("disk on fire")
			},
			wantStatus: 500, wantLog: "disk on fire",
		},
		{
			name: "panic_becomes_500",
			fn: func(ctx context.Context, req handler.Request) (handler.Response, error) {
				var m map[string]int
				m["x"]++ // nil map write panics
				return handler.Response{}, nil
			},
			wantStatus: 500, wantLog: "panic: assignment to entry in nil map",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := Wrap(logx.New(&logs, "info"), tt.fn)
			req := handler.Request{Method: "GET", Header: http.Header{HeaderCallID: {"call-7"}}}
			resp, err := h(req)
			if err != nil {
				t.Fatalf("Wrap returned error %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus == 200 && string(resp.Body) != `{"call":"call-7"}` {
				t.Errorf("body %s", resp.Body)
			}
			if tt.wantLog != "" {
				if !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), `"call_id":"call-7"`) {
					t.Errorf("log %s lacks %q", logs.String(), tt.wantLog)
				}
				if strings.Contains(string(resp.Body), tt.wantLog) {
					t.Errorf("internal detail in body: %s", resp.Body)
				}
			}
		})
	}
}
