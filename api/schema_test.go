package api_test

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// schemaKeywords are the JSON Schema / OpenAPI keywords the validator knows.
// Validating keywords are enforced; the others are documentation. Any other
// keyword in the document is an error (see lintSchema), so a schema never
// silently means less than it says.
var schemaKeywords = map[string]bool{
	"$ref": true, "type": true, "nullable": true, "enum": true, "const": true,
	"properties": true, "required": true, "additionalProperties": true,
	"items": true, "minItems": true, "maxItems": true,
	"minLength": true, "maxLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"oneOf": true, "anyOf": true, "allOf": true,
	// documentation only
	"description": true, "title": true, "example": true, "examples": true, "default": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "externalDocs": true,
}

// validator checks JSON values (as decoded by encoding/json: map[string]any,
// []any, float64, string, bool, nil) against the subset of JSON Schema used
// by the OpenAPI document. $ref must point into the document
// ("#/components/schemas/X").
type validator struct {
	root map[string]any

	mu    sync.Mutex
	regex map[string]*regexp.Regexp
}

func newValidator(root map[string]any) *validator {
	return &validator{root: root, regex: map[string]*regexp.Regexp{}}
}

// resolve follows a local JSON pointer ("#/a/b").
func (v *validator) resolve(ref string) (any, error) {
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
func (v *validator) deref(x any) (map[string]any, error) {
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

// Validate returns every violation of schema by val, each prefixed with its
// location (path "$" is the root).
func (v *validator) Validate(schema, val any) []string {
	var errs []string
	v.check(schema, val, "$", &errs, 0)
	return errs
}

func (v *validator) fail(errs *[]string, path, format string, a ...any) {
	*errs = append(*errs, path+": "+fmt.Sprintf(format, a...))
}

func (v *validator) check(schema, val any, path string, errs *[]string, depth int) {
	if depth > 64 {
		v.fail(errs, path, "schema nesting too deep (recursive $ref?)")
		return
	}
	switch s := schema.(type) {
	case nil:
		return
	case bool:
		if !s {
			v.fail(errs, path, "no value is allowed here")
		}
		return
	case map[string]any:
		v.checkObject(s, val, path, errs, depth)
	default:
		v.fail(errs, path, "schema is a %T, not an object", schema)
	}
}

func (v *validator) checkObject(s map[string]any, val any, path string, errs *[]string, depth int) {
	for k := range s {
		if !schemaKeywords[k] && !strings.HasPrefix(k, "x-") {
			v.fail(errs, path, "schema keyword %q is not supported by the checker", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := v.resolve(ref)
		if err != nil {
			v.fail(errs, path, "%v", err)
			return
		}
		v.check(target, val, path, errs, depth+1)
	}
	if val == nil && s["nullable"] == true {
		return
	}
	if t, ok := s["type"]; ok && !typeMatches(t, val) {
		v.fail(errs, path, "is %s, want type %v", jsonType(val), t)
		return
	}
	if e, ok := s["enum"].([]any); ok && !containsValue(e, val) {
		v.fail(errs, path, "%s is not one of %v", show(val), e)
	}
	if c, ok := s["const"]; ok && !equalValues(c, val) {
		v.fail(errs, path, "%s is not %s", show(val), show(c))
	}
	switch x := val.(type) {
	case map[string]any:
		v.checkProperties(s, x, path, errs, depth)
	case []any:
		if n, ok := number(s["minItems"]); ok && float64(len(x)) < n {
			v.fail(errs, path, "has %d items, want at least %v", len(x), n)
		}
		if n, ok := number(s["maxItems"]); ok && float64(len(x)) > n {
			v.fail(errs, path, "has %d items, want at most %v", len(x), n)
		}
		if items, ok := s["items"]; ok {
			for i, it := range x {
				v.check(items, it, fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
			}
		}
	case string:
		v.checkString(s, x, path, errs)
	case float64:
		if n, ok := number(s["minimum"]); ok && x < n {
			v.fail(errs, path, "%v is below the minimum %v", x, n)
		}
		if n, ok := number(s["maximum"]); ok && x > n {
			v.fail(errs, path, "%v is above the maximum %v", x, n)
		}
		if n, ok := number(s["exclusiveMinimum"]); ok && x <= n {
			v.fail(errs, path, "%v is not above %v", x, n)
		}
		if n, ok := number(s["exclusiveMaximum"]); ok && x >= n {
			v.fail(errs, path, "%v is not below %v", x, n)
		}
	}
	v.checkCombinators(s, val, path, errs, depth)
}

func (v *validator) checkProperties(s map[string]any, obj map[string]any, path string, errs *[]string, depth int) {
	props, _ := s["properties"].(map[string]any)
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				v.fail(errs, path, "required member %q is missing", name)
			}
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ap, hasAP := s["additionalProperties"]
	for _, k := range keys {
		sub := path + "." + k
		if ps, ok := props[k]; ok {
			v.check(ps, obj[k], sub, errs, depth+1)
			continue
		}
		if !hasAP {
			continue
		}
		if ap == false {
			v.fail(errs, path, "member %q is not documented (additionalProperties: false)", k)
			continue
		}
		v.check(ap, obj[k], sub, errs, depth+1)
	}
}

func (v *validator) checkString(s map[string]any, x, path string, errs *[]string) {
	n := float64(utf8.RuneCountInString(x))
	if m, ok := number(s["minLength"]); ok && n < m {
		v.fail(errs, path, "%q is shorter than %v characters", x, m)
	}
	if m, ok := number(s["maxLength"]); ok && n > m {
		v.fail(errs, path, "is longer than %v characters", m)
	}
	if p, ok := s["pattern"].(string); ok {
		re, err := v.compile(p)
		if err != nil {
			v.fail(errs, path, "bad pattern %q: %v", p, err)
		} else if !re.MatchString(x) {
			v.fail(errs, path, "%q does not match %q", x, p)
		}
	}
	switch s["format"] {
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
			v.fail(errs, path, "%q is not an RFC 3339 date-time", x)
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, x); err != nil {
			v.fail(errs, path, "%q is not a date (YYYY-MM-DD)", x)
		}
	case "uri":
		if u, err := url.Parse(x); err != nil || u.Scheme == "" {
			v.fail(errs, path, "%q is not an absolute URI", x)
		}
	}
}

func (v *validator) checkCombinators(s map[string]any, val any, path string, errs *[]string, depth int) {
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			v.check(sub, val, path, errs, depth+1)
		}
	}
	// matches counts the alternatives val satisfies and explains the
	// closest miss (fewest errors), which is nearly always the intended one.
	matches := func(list []any) (int, string) {
		n, best := 0, ""
		fewest := -1
		for i, sub := range list {
			var e []string
			v.check(sub, val, path, &e, depth+1)
			if len(e) == 0 {
				n++
			} else if fewest < 0 || len(e) < fewest {
				fewest = len(e)
				best = fmt.Sprintf("closest is alternative %d: %s", i, strings.Join(e, "; "))
			}
		}
		return n, best
	}
	if one, ok := s["oneOf"].([]any); ok {
		switch n, why := matches(one); {
		case n == 0:
			v.fail(errs, path, "matches none of oneOf (%s)", why)
		case n > 1:
			v.fail(errs, path, "matches %d alternatives of oneOf, want exactly one", n)
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		if n, why := matches(anyOf); n == 0 {
			v.fail(errs, path, "matches none of anyOf (%s)", why)
		}
	}
}

func (v *validator) compile(p string) (*regexp.Regexp, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if re, ok := v.regex[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	v.regex[p] = re
	return re, nil
}

// typeMatches reports whether val has the type t (a name or a list of names,
// as OpenAPI 3.1 allows: [string, "null"]).
func typeMatches(t, val any) bool {
	switch tt := t.(type) {
	case string:
		return isType(tt, val)
	case []any:
		for _, x := range tt {
			if s, ok := x.(string); ok && isType(s, val) {
				return true
			}
		}
	}
	return false
}

func isType(t string, val any) bool {
	switch t {
	case "null":
		return val == nil
	case "object":
		_, ok := val.(map[string]any)
		return ok
	case "array":
		_, ok := val.([]any)
		return ok
	case "string":
		_, ok := val.(string)
		return ok
	case "boolean":
		_, ok := val.(bool)
		return ok
	case "number":
		_, ok := val.(float64)
		return ok
	case "integer":
		f, ok := val.(float64)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func jsonType(val any) string {
	switch x := val.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", val)
}

// number converts a YAML or JSON number.
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
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
