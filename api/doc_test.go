package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.yaml.in/yaml/v3"
)

// httpMethods are the operation keys of a path item, in the order OpenAPI
// lists them.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// document is the parsed OpenAPI document: plain values and document
// order for the examples, and kin-openapi's model for validation.
type document struct {
	root map[string]any
	ops  []operation // in document order
	v    *resolver
	kin  *kinDoc
	// kinErr is why kin-openapi could not load or validate the document
	// (reported by lintDocument); kin is nil then.
	kinErr error
}

// operation is one method of one path.
type operation struct {
	path, method string
	op           map[string]any
}

func (o operation) id() string {
	if id, ok := o.op["operationId"].(string); ok && id != "" {
		return id
	}
	return o.method + " " + o.path
}

// example is one entry of an operation's x-motcua-examples, or a setup step.
type example struct {
	Name       string            `json:"name"`
	Summary    string            `json:"summary"`
	Method     string            `json:"method"`
	Path       any               `json:"path"` // map of path parameters, or the full path of a setup step
	Query      map[string]any    `json:"query"`
	Headers    map[string]string `json:"headers"`
	Body       any               `json:"body"`
	BodyText   *string           `json:"bodyText"`
	Status     int               `json:"status"`
	ExpectBody any               `json:"expectBody"`
	// ExpectHeaders are response headers that must have exactly these
	// values.
	ExpectHeaders map[string]string `json:"expectHeaders"`
	Capture       map[string]string `json:"capture"`
	Setup         []example         `json:"setup"`
	// URL is a setup step's absolute URL instead of a gateway path, e.g.
	// a presigned upload URL captured earlier ('${resultUrl}').
	URL string `json:"url"`

	hasBody bool
}

// loadDocument reads api/openapi.yaml.
func loadDocument(t testing.TB) *document {
	t.Helper()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDocument(b)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return d
}

// parseDocument decodes the YAML twice: into plain values for the schemas,
// and as a node tree for the document order of paths and methods.
func parseDocument(b []byte) (*document, error) {
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	root, ok := normalize(raw).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is not a mapping")
	}
	var node yaml.Node
	if err := yaml.Unmarshal(b, &node); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	d := &document{root: root, v: &resolver{root: root}}
	d.kin, d.kinErr = loadKin(b)
	paths, _ := root["paths"].(map[string]any)
	for _, p := range orderedKeys(&node, "paths") {
		item, _ := paths[p].(map[string]any)
		for _, m := range orderedKeys(&node, "paths", p) {
			if op, ok := item[m].(map[string]any); ok && isMethod(m) {
				d.ops = append(d.ops, operation{path: p, method: m, op: op})
			}
		}
	}
	return d, nil
}

// loadKin loads the document with kin-openapi, validates it (schemas,
// references, and every example against its schema) and builds a router
// over its paths. The servers are dropped so that any host matches.
func loadKin(b []byte) (*kinDoc, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("kin-openapi: load: %w", err)
	}
	if err := t.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("kin-openapi: %w", err)
	}
	t.Servers = nil
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("kin-openapi: router: %w", err)
	}
	return &kinDoc{t: t, router: r}, nil
}

func isMethod(m string) bool {
	for _, x := range httpMethods {
		if m == x {
			return true
		}
	}
	return false
}

// orderedKeys returns the keys of the mapping at keys... in document order.
func orderedKeys(doc *yaml.Node, keys ...string) []string {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	var out []string
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// normalize turns YAML mappings with non-string keys into map[string]any.
func normalize(x any) any {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i := range v {
			v[i] = normalize(v[i])
		}
		return v
	}
	return x
}

// examples decodes the operation's x-motcua-examples.
func (o operation) examples() ([]example, error) {
	raw, ok := o.op["x-motcua-examples"]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: x-motcua-examples: %w", o.id(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var exs []example
	if err := dec.Decode(&exs); err != nil {
		return nil, fmt.Errorf("%s: x-motcua-examples: %w", o.id(), err)
	}
	list, _ := raw.([]any)
	for i := range exs {
		if i < len(list) {
			if m, ok := list[i].(map[string]any); ok {
				_, exs[i].hasBody = m["body"]
			}
		}
		for j := range exs[i].Setup {
			if i < len(list) {
				m, _ := list[i].(map[string]any)
				steps, _ := m["setup"].([]any)
				if j < len(steps) {
					sm, _ := steps[j].(map[string]any)
					_, exs[i].Setup[j].hasBody = sm["body"]
				}
			}
		}
	}
	return exs, nil
}

// parameters returns the operation's parameters (path-level ones first),
// $refs resolved, keyed by "in:name" (header names canonicalised).
func (d *document) parameters(o operation) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	item, _ := d.root["paths"].(map[string]any)[o.path].(map[string]any)
	var all []any
	if ps, ok := item["parameters"].([]any); ok {
		all = append(all, ps...)
	}
	if ps, ok := o.op["parameters"].([]any); ok {
		all = append(all, ps...)
	}
	for _, p := range all {
		m, err := d.v.deref(p)
		if err != nil {
			return nil, fmt.Errorf("%s parameter: %w", o.id(), err)
		}
		name, _ := m["name"].(string)
		in, _ := m["in"].(string)
		if in == "header" {
			name = http.CanonicalHeaderKey(name)
		}
		out[in+":"+name] = m
	}
	return out, nil
}

// response returns the documented response for status (exact, then 4XX
// style, then default), $refs resolved.
func (d *document) response(o operation, status int) (map[string]any, bool, error) {
	rs, _ := o.op["responses"].(map[string]any)
	for _, k := range []string{strconv.Itoa(status), fmt.Sprintf("%dXX", status/100), "default"} {
		if r, ok := rs[k]; ok {
			m, err := d.v.deref(r)
			return m, true, err
		}
	}
	return nil, false, nil
}

// mediaTypeOf returns the bare media type of a Content-Type value.
func mediaTypeOf(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// contentFor picks the documented content entry matching a media type
// (exact, type/*, */*).
func contentFor(content map[string]any, mt string) (map[string]any, bool) {
	for _, k := range []string{mt, strings.SplitN(mt, "/", 2)[0] + "/*", "*/*"} {
		if c, ok := content[k]; ok {
			m, _ := c.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			return m, true
		}
	}
	return nil, false
}

func isJSONMedia(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// checkResponse compares one real answer to req with the documentation of
// op and returns every mismatch: the status is documented (and the
// example's), the Content-Type is documented, headers and body match the
// schemas (kin-openapi's openapi3filter.ValidateResponse), and the
// example's expectHeaders/expectBody hold. It is the heart of the check,
// used unchanged by the meta tests.
func (d *document) checkResponse(req *http.Request, o operation, ex example, status int, header http.Header, body []byte) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if ex.Status != 0 && status != ex.Status {
		fail("status %d, the example expects %d", status, ex.Status)
	}
	resp, ok, err := d.response(o, status)
	if err != nil {
		return append(errs, err.Error())
	}
	if !ok {
		return append(errs, fmt.Sprintf("status %d is not documented for %s", status, o.id()))
	}
	if hs, ok := resp["headers"].(map[string]any); ok {
		for _, name := range sortedKeys(hs) {
			h, err := d.v.deref(hs[name])
			if err == nil && h["required"] == true && len(header.Values(name)) == 0 {
				fail("required header %s is missing", name)
			}
		}
	}
	for _, name := range sortedKeys(ex.ExpectHeaders) {
		if got := header.Get(name); got != ex.ExpectHeaders[name] {
			fail("expectHeaders: %s is %q, want %q", name, got, ex.ExpectHeaders[name])
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			fail("the response documents no body, got %q", truncate(body))
		}
	} else if _, ok := contentFor(content, mediaTypeOf(header.Get("Content-Type"))); !ok {
		return append(errs, fmt.Sprintf("Content-Type %q is not documented for %d (documented: %s)",
			header.Get("Content-Type"), status, strings.Join(sortedKeys(content), ", ")))
	}
	if d.kin == nil {
		return append(errs, fmt.Sprint(d.kinErr))
	}
	// Route by the documented method: an example may send another one (a
	// 405 example) and its answer is documented under this operation.
	routed := req.Clone(req.Context())
	routed.Method = strings.ToUpper(o.method)
	for _, e := range d.kin.validateResponse(routed, status, header, body) {
		fail("%s", e)
	}
	if ex.ExpectBody != nil {
		var val any
		if isJSONMedia(mediaTypeOf(header.Get("Content-Type"))) {
			if err := json.Unmarshal(body, &val); err != nil {
				return append(errs, fmt.Sprintf("body is not JSON: %v: %q", err, truncate(body)))
			}
		} else {
			val = string(body)
		}
		if m := subsetMismatch(ex.ExpectBody, val, "$"); m != "" {
			fail("expectBody: %s", m)
		}
	}
	return errs
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// vars holds the values captured by earlier examples and the generated
// ones (${uuid:label}, ${staff_token:AGENCY}).
type vars struct {
	captured map[string]any
	uuids    map[string]string
	newUUID  func() string
	// token mints a staff token of agency with roles (staff when none).
	token func(agency string, roles ...string) (string, error)
}

var placeholder = regexp.MustCompile(`\$\{([^}]+)\}`)

func (vs *vars) lookup(name string) (any, error) {
	switch {
	case strings.HasPrefix(name, "uuid:"):
		if u, ok := vs.uuids[name]; ok {
			return u, nil
		}
		u := vs.newUUID()
		vs.uuids[name] = u
		return u, nil
	case strings.HasPrefix(name, "repeat:"):
		// ${repeat:N:text}: text N times (large bodies without a large document).
		n, text, ok := strings.Cut(strings.TrimPrefix(name, "repeat:"), ":")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 || count > 8<<20 {
			return nil, fmt.Errorf("${%s}: want ${repeat:N:text} with 0 <= N <= %d", name, 8<<20)
		}
		return strings.Repeat(text, count), nil
	case strings.HasPrefix(name, "staff_token:"):
		if vs.token == nil {
			return nil, fmt.Errorf("${%s}: no staff token minter in this run", name)
		}
		// ${staff_token:AGENCY} or ${staff_token:AGENCY:role,role} (the
		// roles replace the default staff, e.g. staff,admin).
		agency, roles, _ := strings.Cut(strings.TrimPrefix(name, "staff_token:"), ":")
		var rs []string
		for _, r := range strings.Split(roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, r)
			}
		}
		return vs.token(agency, rs...)
	}
	v, ok := vs.captured[name]
	if !ok {
		return nil, fmt.Errorf("${%s} has not been captured yet (examples run in document order; capture it in an earlier example or a setup step)", name)
	}
	return v, nil
}

// subst replaces placeholders in every string of x. A string that is just
// one placeholder takes the captured value with its JSON type.
func (vs *vars) subst(x any) (any, error) {
	switch v := x.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(v); m != nil && m[0] == v {
			return vs.lookup(m[1])
		}
		var firstErr error
		out := placeholder.ReplaceAllStringFunc(v, func(s string) string {
			val, err := vs.lookup(s[2 : len(s)-1])
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return s
			}
			if str, ok := val.(string); ok {
				return str
			}
			b, _ := json.Marshal(val)
			return string(b)
		})
		return out, firstErr
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			s, err := vs.subst(e)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			s, err := vs.subst(e)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	return x, nil
}

// expectations returns ex with placeholders substituted in expectBody and
// expectHeaders, so an example can expect a value captured earlier.
func (vs *vars) expectations(ex example) (example, error) {
	if ex.ExpectBody != nil {
		b, err := vs.subst(ex.ExpectBody)
		if err != nil {
			return ex, fmt.Errorf("expectBody: %w", err)
		}
		ex.ExpectBody = b
	}
	if len(ex.ExpectHeaders) > 0 {
		h := make(map[string]string, len(ex.ExpectHeaders))
		for k, v := range ex.ExpectHeaders {
			s, err := vs.substString(v)
			if err != nil {
				return ex, fmt.Errorf("expectHeaders: %w", err)
			}
			h[k] = s
		}
		ex.ExpectHeaders = h
	}
	return ex, nil
}

func (vs *vars) substString(s string) (string, error) {
	v, err := vs.subst(s)
	if err != nil {
		return "", err
	}
	if str, ok := v.(string); ok {
		return str, nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// capture stores the members named by ex.Capture ("a.b.0.c" in the JSON
// body, or "header:Name").
func (vs *vars) capture(spec map[string]string, header http.Header, body []byte) error {
	if len(spec) == 0 {
		return nil
	}
	var val any
	_ = json.Unmarshal(body, &val)
	for name, path := range spec {
		if h, ok := strings.CutPrefix(path, "header:"); ok {
			got := header.Get(h)
			if got == "" {
				return fmt.Errorf("capture %s: header %s is absent", name, h)
			}
			vs.captured[name] = got
			continue
		}
		cur := val
		for _, part := range strings.Split(path, ".") {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[part]
			case []any:
				i, err := strconv.Atoi(part)
				if err != nil || i < 0 || i >= len(c) {
					return fmt.Errorf("capture %s: %q has no element %q", name, path, part)
				}
				cur = c[i]
			default:
				cur = nil
			}
			if cur == nil {
				return fmt.Errorf("capture %s: %q not found in %q", name, path, truncate(body))
			}
		}
		vs.captured[name] = cur
	}
	return nil
}

// buildRequest makes the HTTP request of an example (or setup step) against
// base. For examples, o gives the path template; setup steps carry their
// own full path.
func buildRequest(base string, o *operation, ex example, vs *vars) (*http.Request, error) {
	method := strings.ToUpper(ex.Method)
	var path string
	if o != nil {
		if method == "" {
			method = strings.ToUpper(o.method)
		}
		path = o.path
		params, _ := ex.Path.(map[string]any)
		for k, v := range params {
			s, err := vs.substString(fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(s))
		}
		if strings.ContainsAny(path, "{}") {
			return nil, fmt.Errorf("path %s: a path parameter has no value in the example", path)
		}
	} else if ex.URL != "" {
		full, err := vs.substString(ex.URL)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(full, "http://") && !strings.HasPrefix(full, "https://") {
			return nil, fmt.Errorf("setup step: url must be absolute, got %q", full)
		}
		path, base = full, ""
		if method == "" {
			method = http.MethodGet
		}
	} else {
		p, ok := ex.Path.(string)
		if !ok || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("setup step: path must be the full gateway path, got %v", ex.Path)
		}
		var err error
		if path, err = vs.substString(p); err != nil {
			return nil, err
		}
		if method == "" {
			method = http.MethodGet
		}
	}
	q := url.Values{}
	for k, v := range ex.Query {
		vals, ok := v.([]any)
		if !ok {
			vals = []any{v}
		}
		for _, e := range vals {
			s, err := vs.substString(scalarString(e))
			if err != nil {
				return nil, err
			}
			q.Add(k, s)
		}
	}
	var body []byte
	ctype := ""
	switch {
	case ex.BodyText != nil:
		s, err := vs.substString(*ex.BodyText)
		if err != nil {
			return nil, err
		}
		body, ctype = []byte(s), "text/plain; charset=utf-8"
	case ex.hasBody:
		b, err := vs.subst(ex.Body)
		if err != nil {
			return nil, err
		}
		if body, err = json.Marshal(b); err != nil {
			return nil, err
		}
		ctype = "application/json"
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range ex.Headers {
		s, err := vs.substString(v)
		if err != nil {
			return nil, err
		}
		req.Header.Set(k, s)
	}
	return req, nil
}

func scalarString(x any) string {
	if x == nil {
		return ""
	}
	if f, ok := x.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

// repoRoot is the repository root (the parent of api/).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
