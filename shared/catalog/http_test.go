package catalog_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

var _ httpx.Coded = (*catalog.Error)(nil)

func call(t *testing.T, h *catalog.HTTP, method, query string) handler.Response {
	t.Helper()
	return h.Serve(context.Background(), handler.Request{Method: method, QueryString: query, Header: http.Header{}})
}

func problem(t *testing.T, resp handler.Response) httpx.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != httpx.ContentTypeProblem {
		t.Fatalf("content type %q, want problem+json; body %s", ct, resp.Body)
	}
	var p httpx.Problem
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHTTP(t *testing.T) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := catalog.NewHTTP(catalog.NewService(docstore.NewMemStore("motcua-data"), quiet, catalog.ServiceOptions{SeedIfEmpty: true}), quiet)
	tests := []struct {
		name      string
		method    string
		query     string
		status    int
		code      string // problem code, for errors
		param     string // offending parameter, for 400s
		bodyCheck func(t *testing.T, body []byte)
	}{
		{name: "get_one", method: "GET", query: "code=X.HT.001", status: 200, bodyCheck: func(t *testing.T, b []byte) {
			var p catalog.Procedure
			if err := json.Unmarshal(b, &p); err != nil || p.Name != "Đăng ký khai sinh" || p.Level != catalog.LevelCommune {
				t.Fatalf("procedure = %+v, %v", p, err)
			}
		}},
		{name: "get_one_lowercase_code", method: "GET", query: "code=t.gt.001", status: 200},
		{name: "unknown_code", method: "GET", query: "code=NOPE.404", status: 404, code: "procedure_not_found"},
		{name: "blank_code", method: "GET", query: "code=", status: 400, code: "invalid_query", param: "code"},
		{name: "code_of_64_letters_is_just_unknown", method: "GET", query: "code=" + strings.Repeat("%C4%90", 64), status: 404, code: "procedure_not_found"},
		{name: "code_of_65_letters", method: "GET", query: "code=" + strings.Repeat("%C4%90", 65), status: 400, code: "invalid_query", param: "code"},
		{name: "list_default", method: "GET", query: "", status: 200, bodyCheck: func(t *testing.T, b []byte) {
			var p catalog.Page[catalog.Procedure]
			if err := json.Unmarshal(b, &p); err != nil || p.Total != 17 || p.PageSize != 20 || len(p.Items) != 17 {
				t.Fatalf("page = total %d size %d items %d, %v", p.Total, p.PageSize, len(p.Items), err)
			}
		}},
		{name: "search_without_accents", method: "GET", query: "q=dang+ky+khai+sinh", status: 200, bodyCheck: func(t *testing.T, b []byte) {
			var p catalog.Page[catalog.Procedure]
			if err := json.Unmarshal(b, &p); err != nil || p.Total != 1 || p.Items[0].Code != "X.HT.001" {
				t.Fatalf("page = %s, %v", b, err)
			}
		}},
		{name: "filters_and_paging", method: "GET", query: "level=commune&agency=UBND-X-VIETHUNG&page=2&pageSize=2", status: 200, bodyCheck: func(t *testing.T, b []byte) {
			var p catalog.Page[catalog.Procedure]
			if err := json.Unmarshal(b, &p); err != nil || p.Page != 2 || len(p.Items) != 2 || p.TotalPages != 3 {
				t.Fatalf("page = %s, %v", b, err)
			}
		}},
		{name: "bad_level", method: "GET", query: "level=ward", status: 400, code: "invalid_query", param: "level"},
		{name: "bad_page", method: "GET", query: "page=abc", status: 400, code: "invalid_query", param: "page"},
		{name: "page_size_too_big", method: "GET", query: "pageSize=101", status: 400, code: "invalid_query", param: "pageSize"},
		{name: "malformed_query_string", method: "GET", query: "q=%ZZ", status: 400, code: "invalid_query"},
		{name: "post_not_allowed", method: "POST", query: "", status: 405, code: "method_not_allowed"},
		{name: "delete_not_allowed", method: "DELETE", query: "code=X.HT.001", status: 405, code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, h, tt.method, tt.query)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status >= 400 {
				p := problem(t, resp)
				if p.Code != tt.code || p.DetailVi == "" || p.Detail == "" {
					t.Fatalf("problem = %+v, want code %s with both messages", p, tt.code)
				}
				if tt.param != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.param) {
					t.Fatalf("problem errors = %+v, want field %s", p.Errors, tt.param)
				}
				if tt.status == 405 && resp.Header.Get("Allow") != "GET" {
					t.Fatalf("Allow = %q", resp.Header.Get("Allow"))
				}
				return
			}
			if resp.Header.Get("Cache-Control") != catalog.CacheControl {
				t.Fatalf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if tt.bodyCheck != nil {
				tt.bodyCheck(t, resp.Body)
			}
		})
	}
}
