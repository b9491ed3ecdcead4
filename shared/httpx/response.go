package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/logx"
)

// HeaderCallID is the header the OpenFaaS gateway sets on every call.
const HeaderCallID = "X-Call-Id"

// ContentTypeJSON is the media type of JSON responses.
const ContentTypeJSON = "application/json; charset=utf-8"

// Marshal encodes v as JSON for a response body without HTML escaping: a
// URL stays "a?b=1&c=2" instead of "a?b=1\u0026c=2", so what a client
// copies out of a response (a payUrl) works as is. Every response body
// goes through it.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// JSON encodes v as the body of a response with the given status. Headers
// given are merged (Content-Type is set unless one of them sets it). If v
// cannot be encoded (a programming error) the response is the generic 500
// problem.
func JSON(status int, v any, headers ...http.Header) handler.Response {
	body, err := Marshal(v)
	if err != nil {
		return ProblemResponse(Internal())
	}
	h := http.Header{}
	for _, extra := range headers {
		for k, vs := range extra {
			for _, s := range vs {
				h.Add(k, s)
			}
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ContentTypeJSON)
	}
	return handler.Response{StatusCode: status, Body: body, Header: h}
}

// ProblemResponse encodes p as an application/problem+json response with its
// headers (Allow, Retry-After …) and Cache-Control: no-store.
func ProblemResponse(p *Problem) handler.Response {
	if p == nil {
		p = Internal()
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	body, err := Marshal(p)
	if err != nil {
		// Extra held something unencodable; drop it rather than fail.
		q := *p
		q.Extra = nil
		body, _ = Marshal(&q)
	}
	h := http.Header{}
	for k, vs := range p.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("Content-Language", "vi, en")
	h.Set("Cache-Control", "no-store")
	return handler.Response{StatusCode: p.Status, Body: body, Header: h}
}

// CallID returns the request's X-Call-Id, or "" when absent or not a sane
// id (at most 128 printable ASCII characters).
func CallID(req handler.Request) string {
	id := strings.TrimSpace(req.Header.Get(HeaderCallID))
	if id == "" || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return ""
		}
	}
	return id
}

// RequestContext returns the request's context carrying its call id (see
// logx.WithCallID), so logs and FromError can name the call. When the
// request has no usable X-Call-Id a random one is made up. The upstream
// golang-http SDK returns a nil context for a Request built without
// WithContext (tests, other callers): that becomes context.Background().
func RequestContext(req handler.Request) context.Context {
	id := CallID(req)
	if id == "" {
		id = uuid.NewString()
	}
	ctx := req.Context()
	if ctx == nil { // the upstream golang-http SDK gives nil without WithContext
		ctx = context.Background()
	}
	return logx.WithCallID(ctx, id)
}

// Query parses the request's query string. Malformed pairs are skipped.
func Query(req handler.Request) url.Values {
	v, _ := url.ParseQuery(req.QueryString)
	if v == nil {
		v = url.Values{}
	}
	return v
}

// AllowMethods returns nil when the request's method is one of methods,
// otherwise a 405 problem carrying the Allow header.
func AllowMethods(req handler.Request, methods ...string) *Problem {
	for _, m := range methods {
		if strings.EqualFold(req.Method, m) {
			return nil
		}
	}
	allow := strings.Join(methods, ", ")
	return NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "Phương thức không được hỗ trợ").
		WithDetail("Method "+req.Method+" is not allowed here; use "+allow+".",
			"Phương thức "+req.Method+" không được hỗ trợ; hãy dùng "+allow+".").
		WithHeader("Allow", allow)
}

// StrictQuery parses the request's query string, refusing a malformed one
// (a bad percent escape such as q=%ZZ, a semicolon separator) with a 400
// "invalid_query" problem instead of silently dropping pairs.
func StrictQuery(req handler.Request) (url.Values, error) {
	v, err := url.ParseQuery(req.QueryString)
	if err != nil {
		return nil, BadRequest("invalid_query", "The query string is malformed (check percent-encoding).",
			"Chuỗi tham số truy vấn không hợp lệ (kiểm tra mã hóa phần trăm).")
	}
	return v, nil
}
