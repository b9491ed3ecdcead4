package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"
	"golang.org/x/text/unicode/norm"
)

// DefaultMaxBodyBytes is the body limit DecodeJSON applies unless told
// otherwise (256 KiB). Files never travel in JSON bodies: clients upload them
// with presigned URLs.
const DefaultMaxBodyBytes = 256 << 10

type decodeConfig struct {
	maxBytes      int
	allowUnknown  bool
	allowEmpty    bool
	skipNormalize bool
}

// DecodeOption changes what DecodeJSON accepts.
type DecodeOption func(*decodeConfig)

// MaxBytes sets the body size limit (bytes); n <= 0 keeps the default.
func MaxBytes(n int) DecodeOption {
	return func(c *decodeConfig) {
		if n > 0 {
			c.maxBytes = n
		}
	}
}

// AllowUnknownFields makes DecodeJSON ignore members dst has no field for.
func AllowUnknownFields() DecodeOption {
	return func(c *decodeConfig) { c.allowUnknown = true }
}

// AllowEmptyBody makes an empty body decode as nothing (dst untouched)
// instead of a 400.
func AllowEmptyBody() DecodeOption {
	return func(c *decodeConfig) { c.allowEmpty = true }
}

// KeepUnnormalized skips the Unicode NFC normalisation of the body.
func KeepUnnormalized() DecodeOption {
	return func(c *decodeConfig) { c.skipNormalize = true }
}

// DecodeJSON decodes the request body into dst (a non-nil pointer).
//
// It answers with a *Problem (which is an error) when the request is at
// fault: 415 "unsupported_media_type" unless Content-Type is
// application/json or application/*+json (a charset parameter must be
// utf-8); 413 "body_too_large" above the limit (DefaultMaxBodyBytes unless
// MaxBytes); 400 "empty_body", "invalid_encoding" (not UTF-8),
// "malformed_json" (with the byte offset), "unknown_field" (naming it),
// "invalid_type" (naming the field and the expected type) or
// "trailing_data". Vietnamese text is normalised to NFC, whether it came
// as UTF-8 or as \u escapes.
// A bad dst is a programming error and returns a plain error.
func DecodeJSON(req handler.Request, dst any, opts ...DecodeOption) error {
	cfg := decodeConfig{maxBytes: DefaultMaxBodyBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("httpx.DecodeJSON: dst must be a non-nil pointer, got %T", dst)
	}
	if p := checkContentType(req.Header.Get("Content-Type")); p != nil {
		return p
	}
	body := req.Body
	if len(body) > cfg.maxBytes {
		return NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large", "Dữ liệu gửi lên quá lớn").
			WithDetail(fmt.Sprintf("The request body is %d bytes; the limit is %d bytes.", len(body), cfg.maxBytes),
				fmt.Sprintf("Dữ liệu gửi lên có %d byte, vượt giới hạn %d byte.", len(body), cfg.maxBytes)).
			WithExtra("max_bytes", cfg.maxBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if cfg.allowEmpty {
			return nil
		}
		return BadRequest("empty_body", "The request body is empty; a JSON object is expected.",
			"Nội dung yêu cầu trống; cần gửi dữ liệu JSON.")
	}
	if !utf8.Valid(body) {
		return BadRequest("invalid_encoding", "The request body is not valid UTF-8.",
			"Nội dung yêu cầu không được mã hóa UTF-8 hợp lệ.")
	}
	if !cfg.skipNormalize && !norm.NFC.IsNormal(body) {
		body = norm.NFC.Bytes(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !cfg.allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		// JSON (and JSON Schema) make 2.0 the same integer as 2; Go's
		// decoder refuses it for an integer field. Retry once with whole
		// numbers spelled as integers, so a client whose encoder writes
		// 2.0 is not refused for a value its schema allows.
		var typ *json.UnmarshalTypeError
		alt, ok := body, false
		if errors.As(err, &typ) && isIntegerKind(typ.Type) {
			alt, ok = wholeNumbersAsIntegers(body)
		}
		if !ok {
			return decodeProblem(err, len(body))
		}
		dec = json.NewDecoder(bytes.NewReader(alt))
		if !cfg.allowUnknown {
			dec.DisallowUnknownFields()
		}
		if err := dec.Decode(dst); err != nil {
			return decodeProblem(err, len(alt))
		}
		body = alt
	}
	if !cfg.skipNormalize && bytes.Contains(body, []byte(`\u`)) {
		// Text written as \u escapes (Python's json.dumps writes all
		// non-ASCII so) was not covered by normalising the bytes above.
		nfcValue(reflect.ValueOf(dst))
	}
	// Anything but whitespace after the value is an error.
	off := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		off += int64(len(body[off:]) - len(bytes.TrimLeft(body[off:], " \t\r\n")))
		return BadRequest("trailing_data",
			fmt.Sprintf("Unexpected data after the JSON value at byte %d.", off),
			fmt.Sprintf("Có dữ liệu thừa sau giá trị JSON tại byte %d.", off)).
			WithExtra("offset", off)
	}
	return nil
}

func checkContentType(ct string) *Problem {
	bad := func(detail, detailVi string) *Problem {
		return NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type", "Định dạng dữ liệu không được hỗ trợ").
			WithDetail(detail, detailVi).
			WithHeader("Accept-Post", "application/json")
	}
	if ct == "" {
		return bad("Content-Type is missing; send application/json.",
			"Thiếu Content-Type; hãy gửi application/json.")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return bad("Content-Type must be application/json.",
			"Content-Type phải là application/json.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return bad("Only the utf-8 charset is accepted.",
			"Chỉ chấp nhận bảng mã utf-8.")
	}
	return nil
}

// decodeProblem turns an encoding/json error into a 400 problem.
func decodeProblem(err error, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return malformed(syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed(int64(size))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(root)"
		}
		want := jsonTypeName(typ.Type)
		return BadRequest("invalid_type",
			fmt.Sprintf("Field %q must be %s, not %s.", field, want, typ.Value),
			fmt.Sprintf("Trường %q phải là %s, không phải %s.", field, jsonTypeNameVi(typ.Type), typ.Value)).
			withField(field, "invalid_type",
				fmt.Sprintf("must be %s", want),
				fmt.Sprintf("phải là %s", jsonTypeNameVi(typ.Type)))
	}
	if name, ok := unknownField(err); ok {
		return BadRequest("unknown_field",
			fmt.Sprintf("Unknown field %q.", name),
			fmt.Sprintf("Trường %q không được hỗ trợ.", name)).
			withField(name, "unknown_field", "is not a known field", "không phải là trường hợp lệ")
	}
	// Other decode failures (e.g. a json.Unmarshaler of dst refusing the
	// value) are still the client's input.
	return BadRequest("invalid_value", "A value in the request body is not acceptable.",
		"Một giá trị trong dữ liệu gửi lên không hợp lệ.").WithCause(err)
}

func malformed(off int64) *Problem {
	return BadRequest("malformed_json",
		fmt.Sprintf("The request body is not valid JSON (error at byte %d).", off),
		fmt.Sprintf("Nội dung yêu cầu không phải JSON hợp lệ (lỗi tại byte %d).", off)).
		WithExtra("offset", off)
}

// unknownField extracts the field name from encoding/json's
// `json: unknown field "x"` error, which has no type of its own.
func unknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return "", false
	}
	name, uerr := strconv.Unquote(strings.TrimPrefix(msg, prefix))
	if uerr != nil {
		name = strings.Trim(strings.TrimPrefix(msg, prefix), `"`)
	}
	return name, true
}

func (p *Problem) withField(field, code, en, vi string) *Problem {
	p.Errors = append(p.Errors, FieldError{Field: field, Code: code, Message: en, MessageVi: vi})
	return p
}

func jsonTypeName(t reflect.Type) string {
	switch kindClass(t) {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "integer":
		return "an integer"
	case "boolean":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	return "another type"
}

func jsonTypeNameVi(t reflect.Type) string {
	switch kindClass(t) {
	case "string":
		return "chuỗi ký tự"
	case "number":
		return "số"
	case "integer":
		return "số nguyên"
	case "boolean":
		return "true hoặc false"
	case "array":
		return "mảng"
	case "object":
		return "đối tượng"
	}
	return "kiểu dữ liệu khác"
}

func kindClass(t reflect.Type) string {
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

// nfcValue normalises to NFC every string reachable from v that can be set:
// struct fields, slice and array elements, map keys and values, and values
// held in interfaces (as JSON decodes into any).
func nfcValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			nfcValue(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		switch e.Kind() {
		case reflect.String:
			if s := e.String(); v.CanSet() && !norm.NFC.IsNormalString(s) {
				v.Set(reflect.ValueOf(norm.NFC.String(s)).Convert(e.Type()))
			}
		case reflect.Map, reflect.Slice, reflect.Pointer:
			nfcValue(e)
		}
	case reflect.String:
		if s := v.String(); v.CanSet() && !norm.NFC.IsNormalString(s) {
			v.SetString(norm.NFC.String(s))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				nfcValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			nfcValue(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			nfcValue(val)
			nk := k
			if k.Kind() == reflect.String && !norm.NFC.IsNormalString(k.String()) {
				nk = reflect.New(k.Type()).Elem()
				nk.SetString(norm.NFC.String(k.String()))
				v.SetMapIndex(k, reflect.Value{})
			}
			v.SetMapIndex(nk, val)
		}
	}
}

// isIntegerKind reports whether t (the target of a failed decode) is an
// integer type.
func isIntegerKind(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// maxExactWhole is the largest magnitude a float64 spells exactly (2^53).
const maxExactWhole = 1 << 53

// wholeNumbersAsIntegers rewrites body with every number literal that is
// a whole number written with a fraction or an exponent (2.0, 2e0, 1.5e1)
// spelled as an integer (2, 2, 15), everything else kept as it is. It
// reports false when there is nothing to rewrite or body does not parse.
func wholeNumbersAsIntegers(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	changed := false
	var walk func(x any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		case json.Number:
			s := string(t)
			if !strings.ContainsAny(s, ".eE") {
				return t
			}
			f, err := t.Float64()
			if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactWhole {
				return t
			}
			changed = true
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
		return x
	}
	v = walk(v)
	if !changed {
		return nil, false
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}
