package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"motcua/shared/docstore"
	"motcua/shared/logx"
)

// notPayable is a domain error as a domain package would define it,
// without importing httpx.
type notPayable struct{ status string }

func (e notPayable) Error() string       { return "application is " + e.status + ", not awaiting payment" }
func (e notPayable) ProblemCode() string { return "not_payable" }
func (e notPayable) StatusCode() int     { return http.StatusConflict }
func (e notPayable) MessageVi() string   { return "Hồ sơ không ở trạng thái chờ thanh toán." }
func (e notPayable) ProblemExtra() map[string]any {
	return map[string]any{"current_status": e.status}
}

type badFields struct{}

func (badFields) Error() string       { return "bad fields" }
func (badFields) ProblemCode() string { return "invalid_receipt" }
func (badFields) StatusCode() int     { return 422 }
func (badFields) MessageVi() string   { return "Biên lai không hợp lệ." }
func (badFields) MessageEn() string   { return "The receipt is not valid." }
func (badFields) ProblemFields() [][4]string {
	return [][4]string{{"amount", "mismatch", "Does not match the fee.", "Không khớp với lệ phí."}}
}

type serverCoded struct{}

func (serverCoded) Error() string       { return "bank gateway 10.0.0.7 refused TLS" }
func (serverCoded) ProblemCode() string { return "bank_unavailable" }
func (serverCoded) StatusCode() int     { return http.StatusBadGateway }
func (serverCoded) MessageVi() string   { return "Ngân hàng tạm thời không phản hồi." }

func readProblem(t *testing.T, body []byte) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body is not a problem: %v\n%s", err, body)
	}
	return p
}

func TestFromError(t *testing.T) {
	secret := "s3 bucket motcua-apps key applications/001234567889.json: connection reset"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantLog    string // substring of the log output, "" for no log line
		check      func(t *testing.T, p Problem)
	}{
		{
			name:       "problem_as_is",
			err:        BadRequest("bad_thing", "en", "vi"),
			wantStatus: 400, wantCode: "bad_thing",
		},
		{
			name:       "wrapped_problem",
			err:        fmt.Errorf("submit: %w", Conflict("duplicate", "en", "vi")),
			wantStatus: 409, wantCode: "duplicate",
		},
		{
			name:       "validation_problem_keeps_fields",
			err:        Validate(&valInput{}),
			wantStatus: 422, wantCode: "validation_failed",
			check: func(t *testing.T, p Problem) {
				if len(p.Errors) == 0 || p.Errors[0].MessageVi == "" {
					t.Errorf("errors = %+v", p.Errors)
				}
			},
		},
		{
			name:       "coded_domain_error",
			err:        fmt.Errorf("pay %s: %w", "HS-1", notPayable{status: "processing"}),
			wantStatus: 409, wantCode: "not_payable",
			check: func(t *testing.T, p Problem) {
				if p.Detail != "application is processing, not awaiting payment" || p.DetailVi != "Hồ sơ không ở trạng thái chờ thanh toán." {
					t.Errorf("details = %q / %q", p.Detail, p.DetailVi)
				}
				if p.Extra["current_status"] != "processing" || p.TitleVi != "Xung đột dữ liệu" {
					t.Errorf("extra = %v, title_vi = %q", p.Extra, p.TitleVi)
				}
			},
		},
		{
			name:       "coded_with_fields_and_english",
			err:        badFields{},
			wantStatus: 422, wantCode: "invalid_receipt",
			check: func(t *testing.T, p Problem) {
				if p.Detail != "The receipt is not valid." || len(p.Errors) != 1 || p.Errors[0].Field != "amount" {
					t.Errorf("problem = %+v", p)
				}
			},
		},
		{
			name:       "coded_5xx_hides_english_text",
			err:        serverCoded{},
			wantStatus: 502, wantCode: "bank_unavailable",
			wantLog: "10.0.0.7",
			check: func(t *testing.T, p Problem) {
				if strings.Contains(p.Detail, "10.0.0.7") || p.DetailVi != "Ngân hàng tạm thời không phản hồi." {
					t.Errorf("details = %q / %q", p.Detail, p.DetailVi)
				}
			},
		},
		{
			name:       "docstore_not_found",
			err:        fmt.Errorf("get app: %w", docstore.ErrNotFound),
			wantStatus: 404, wantCode: "not_found", wantLog: "get app",
		},
		{
			name:       "docstore_conflict",
			err:        fmt.Errorf("create: %w", docstore.ErrConflict),
			wantStatus: 409, wantCode: "conflict", wantLog: "create",
		},
		{
			name:       "docstore_precondition",
			err:        fmt.Errorf("update: %w", docstore.ErrPrecondition),
			wantStatus: 409, wantCode: "conflict", wantLog: "update",
		},
		{
			name:       "deadline_exceeded",
			err:        fmt.Errorf("put: %w", context.DeadlineExceeded),
			wantStatus: 504, wantCode: "timeout", wantLog: "deadline exceeded",
		},
		{
			name:       "cancelled",
			err:        fmt.Errorf("put: %w", context.Canceled),
			wantStatus: 503, wantCode: "cancelled", wantLog: "canceled",
		},
		{
			name:       "unknown_error_is_generic_500",
			err:        fmt.Errorf("save: %w", errors.New(secret)),
			wantStatus: 500, wantCode: "internal_error",
			wantLog: "connection reset",
		},
		{
			name:       "nil_error_is_500",
			err:        nil,
			wantStatus: 500, wantCode: "internal_error", wantLog: "nil error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx := logx.WithCallID(context.Background(), "call-42")
			resp := FromError(ctx, logx.New(&logs, "info"), tt.err)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != ContentTypeProblem {
				t.Errorf("content-type = %q", ct)
			}
			p := readProblem(t, resp.Body)
			if p.Code != tt.wantCode || p.Status != tt.wantStatus {
				t.Errorf("problem = %d %q, want %d %q", p.Status, p.Code, tt.wantStatus, tt.wantCode)
			}
			if p.Type != ProblemTypeBase+tt.wantCode {
				t.Errorf("type = %q", p.Type)
			}
			if p.Instance != "urn:motcua:call:call-42" {
				t.Errorf("instance = %q", p.Instance)
			}
			if p.Title == "" || p.TitleVi == "" || p.DetailVi == "" {
				t.Errorf("missing text: %+v", p)
			}
			if bytes.Contains(resp.Body, []byte("connection reset")) || bytes.Contains(resp.Body, []byte("001234567889")) {
				t.Errorf("internal error leaked into body: %s", resp.Body)
			}
			if tt.wantLog == "" {
				if logs.Len() != 0 {
					t.Errorf("unexpected log: %s", logs.String())
				}
			} else {
				if !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), `"call_id":"call-42"`) {
					t.Errorf("log %q lacks %q or the call id", logs.String(), tt.wantLog)
				}
				if strings.Contains(logs.String(), "001234567889") {
					t.Errorf("log leaks the citizen ID: %s", logs.String())
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestFromErrorDoesNotMutateSharedProblem(t *testing.T) {
	shared := NotFound("en", "vi")
	FromError(logx.WithCallID(context.Background(), "a"), logx.New(&bytes.Buffer{}, "info"), shared)
	if shared.Instance != "" {
		t.Errorf("FromError changed the caller's problem: %q", shared.Instance)
	}
}
