package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/docstore"
	"motcua/shared/idempotency"
)

// TestIdempotencyKey_document_matches_the_handler compares, value by
// value, every Idempotency-Key header parameter of the document with the
// rule the functions apply (shared/idempotency's Keeper, reached through a
// real HTTP server so that the transport's own handling of the header —
// spaces at either end are stripped — is part of the check):
//
//   - a value the document admits reaches the Keeper unchanged and is
//     accepted (a schema-valid key answered 400 invalid_idempotency_key was
//     the tolerated schemathesis failure on processApplication, whose
//     parameter had its own looser schema: any 1–128 characters);
//   - a value the document refuses is refused by the Keeper, unless HTTP
//     itself changed it on the way (surrounding spaces), or the Go client
//     refuses to send it at all (control characters).
func TestIdempotencyKey_document_matches_the_handler(t *testing.T) {
	d := loadDocument(t)
	if d.kin == nil {
		t.Fatal(d.kinErr)
	}
	params := idempotencyKeyParams(d.kin.t)
	if len(params) < 5 {
		t.Fatalf("found %d Idempotency-Key parameters in the document, want the submit, staff, pay-fee and feedback ones", len(params))
	}

	var mu sync.Mutex
	var seen string
	keeper := idempotency.New(docstore.NewMemStore("idempotency"), "idempotency/test", time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = r.Header.Get(idempotency.HeaderKey)
		mu.Unlock()
		req := handler.Request{Body: body, Header: r.Header, Method: r.Method, QueryString: r.URL.RawQuery}
		resp, err := keeper.Do(context.Background(), "test", req, func() (handler.Response, error) {
			return handler.Response{StatusCode: http.StatusOK, Body: []byte("{}")}, nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	}))
	defer srv.Close()

	cases := []struct {
		name  string
		value string
	}{
		{"uuid", "6f1c2b1e-3d5a-4f7e-9a51-0b1f0e6c2d44"},
		{"one_character", "a"},
		{"punctuation_ends", "!~"},
		{"inner_space", "a b"},
		{"inner_spaces_run", "a" + strings.Repeat(" ", 253) + "b"},
		{"longest", strings.Repeat("k", 255)},
		{"too_long", strings.Repeat("k", 256)},
		{"longer_than_the_old_128", strings.Repeat("k", 129)},
		{"space_only", " "},
		{"spaces_only", "   "},
		{"leading_space", " a"},
		{"trailing_space", "a "},
		{"both_ends_space", " a "},
		{"leading_tab", "\ta"},
		{"inner_tab", "a\tb"},
		{"latin1", "caf\u00e9"},
		{"latin1_only", "\u00ff"},
		{"vietnamese", "khóa-1"},
		{"cjk", "日本"},
		{"del", "a\x7f"},
		{"nul", "a\x00b"},
		{"newline", "a\nb"},
		{"unit_separator", "a\x1fb"},
		{"longest_with_trailing_space", strings.Repeat("k", 254) + " "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header[idempotency.HeaderKey] = []string{c.value}
			mu.Lock()
			seen = "\x00unset"
			mu.Unlock()
			status, sent := 0, true
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				sent = false // the Go client refuses to send this header value
			} else {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
			}
			mu.Lock()
			got := seen
			mu.Unlock()
			for _, p := range params {
				valid := p.schema.VisitJSON(c.value) == nil
				switch {
				case valid && !sent:
					t.Errorf("%s: the document admits %q, which an HTTP client cannot send", p.at, c.value)
				case valid && got != c.value:
					t.Errorf("%s: the document admits %q, but the handler sees %q (HTTP changed it)", p.at, c.value, got)
				case valid && status != http.StatusOK:
					t.Errorf("%s: the document admits %q, the handler answers %d", p.at, c.value, status)
				case !valid && sent && got == c.value && status != http.StatusBadRequest:
					t.Errorf("%s: the document refuses %q, the handler answers %d", p.at, c.value, status)
				}
			}
		})
	}
}

// keyParam is one Idempotency-Key header parameter of the document.
type keyParam struct {
	at     string
	schema *openapi3.Schema
}

// idempotencyKeyParams returns every Idempotency-Key header parameter of
// the document's operations (path-level ones included), in path order.
func idempotencyKeyParams(doc *openapi3.T) []keyParam {
	var out []keyParam
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item := paths[p]
		for method, op := range item.Operations() {
			all := append(openapi3.Parameters{}, item.Parameters...)
			all = append(all, op.Parameters...)
			for _, ref := range all {
				if ref == nil || ref.Value == nil || ref.Value.In != openapi3.ParameterInHeader ||
					!strings.EqualFold(ref.Value.Name, idempotency.HeaderKey) || ref.Value.Schema == nil {
					continue
				}
				out = append(out, keyParam{at: method + " " + p, schema: ref.Value.Schema.Value})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}
