package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// resolver follows local JSON pointers in the decoded document, to read
// the examples, parameters and responses of an operation. Validation is
// kin-openapi's (see kinDoc), not hand-written.
type resolver struct {
	root map[string]any
}

// resolve follows a local JSON pointer ("#/a/b").
func (v *resolver) resolve(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q: only local references are supported", ref)
	}
	var cur any = v.root
	for _, raw := range strings.Split(ref[2:], "/") {
		part := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no member %q", ref, part)
		}
	}
	return cur, nil
}

// deref follows $ref chains of a non-schema object (response, parameter).
func (v *resolver) deref(x any) (map[string]any, error) {
	for i := 0; i < 16; i++ {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object, got %T", x)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if x, err = v.resolve(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// kinDoc is the document as github.com/getkin/kin-openapi loads it
// (OpenAPI 3.1: schemas are checked by its JSON Schema 2020-12 validator),
// with a router that finds an operation from a request.
type kinDoc struct {
	t      *openapi3.T
	router routers.Router
}

// filterOptions are the openapi3filter options of every check: every
// problem reported, undocumented statuses refused; bearer tokens are the
// handlers' business (the examples carry real ones).
func filterOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	}
}

// route finds the documented operation of req (any host: the servers of
// the document are not the test's).
func (k *kinDoc) route(req *http.Request) (*routers.Route, map[string]string, error) {
	return k.router.FindRoute(req)
}

// validateRequest checks a request (query, headers, body) against the
// document and returns every violation.
func (k *kinDoc) validateRequest(req *http.Request) []string {
	route, params, err := k.route(req)
	if err != nil {
		return []string{fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: filterOptions()}
	return flatten(openapi3filter.ValidateRequest(context.Background(), in))
}

// validateResponse checks an answer (status, headers, body) to req against
// the document and returns every violation.
func (k *kinDoc) validateResponse(req *http.Request, status int, header http.Header, body []byte) []string {
	route, params, err := k.route(req)
	if err != nil {
		return []string{fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)}
	}
	opts := filterOptions()
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	return flatten(openapi3filter.ValidateResponse(context.Background(), in))
}

// validateValue checks a JSON value against a named component schema.
func (k *kinDoc) validateValue(schema string, val any) []string {
	ref, ok := k.t.Components.Schemas[schema]
	if !ok || ref.Value == nil {
		return []string{fmt.Sprintf("no component schema %q", schema)}
	}
	return flatten(ref.Value.VisitJSON(val, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()))
}

// flatten turns a (multi) error of kin-openapi into one line per problem.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var prefix string
	var re *openapi3filter.ResponseError
	var rq *openapi3filter.RequestError
	switch {
	case errors.As(err, &re):
		prefix = re.Reason
		if re.Err == nil {
			return []string{prefix}
		}
		err = re.Err
	case errors.As(err, &rq):
		if rq.Err == nil {
			return []string{rq.Error()}
		}
		if rq.Parameter != nil {
			prefix = rq.Parameter.In + " parameter " + rq.Parameter.Name
		} else {
			prefix = "request body"
		}
		err = rq.Err
	}
	if errors.As(err, &me) && len(me) > 0 {
		var out []string
		for _, e := range me {
			for _, line := range flatten(e) {
				out = append(out, strings.TrimPrefix(prefix+": "+line, ": "))
			}
		}
		return out
	}
	msg := err.Error()
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		msg = "$/" + strings.Join(se.JSONPointer(), "/") + ": " + se.Reason
	} else if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	return []string{strings.ReplaceAll(msg, "\n", " | ")}
}

// readBody returns a request's body for a second read.
func readBody(req *http.Request) []byte {
	if req.GetBody == nil {
		return nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil
	}
	raw, _ := io.ReadAll(b)
	return raw
}

// number converts a JSON or YAML number to float64.
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// equalValues compares a value from the YAML document with one decoded from
// JSON (numbers compared as float64).
func equalValues(a, b any) bool {
	if na, ok := number(a); ok {
		nb, ok := number(b)
		return ok && na == nb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalValues(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func containsValue(list []any, val any) bool {
	for _, e := range list {
		if equalValues(e, val) {
			return true
		}
	}
	return false
}

// subsetMismatch returns "" when got contains want: objects member by
// member (extra members allowed), arrays element by element (got may be
// longer only when want is non-empty), scalars equal.
func subsetMismatch(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object", path, show(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if m := subsetMismatch(w[k], gv, path+"."+k); m != "" {
				return m
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) < len(w) || (len(w) == 0 && len(g) != 0) {
			return fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))
		}
		for i := range w {
			if m := subsetMismatch(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); m != "" {
				return m
			}
		}
		return ""
	}
	if !equalValues(want, got) {
		return fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))
	}
	return ""
}

func show(x any) string {
	switch s := x.(type) {
	case string:
		return strconv.Quote(s)
	case nil:
		return "null"
	}
	s := fmt.Sprint(x)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
