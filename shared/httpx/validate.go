package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// ruleMessage is the English and Vietnamese text of a validation tag;
// {param} is replaced by the tag's parameter.
type ruleMessage struct{ en, vi string }

var (
	validatorOnce sync.Once
	validate      *validator.Validate

	customMu       sync.RWMutex
	customMessages = map[string]ruleMessage{}
)

// instance returns the process-wide validator, configured to name fields by
// their JSON names.
func instance() *validator.Validate {
	validatorOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			return name
		})
	})
	return validate
}

// RegisterRule adds a custom validation tag with its English and Vietnamese
// messages ({param} in them is replaced by the tag's parameter). It also
// replaces the messages of a built-in tag when fn is nil. Register rules
// at start-up (init or before serving): the validator does not support
// registering concurrently with Validate.
func RegisterRule(tag string, fn validator.Func, en, vi string) error {
	if tag == "" || en == "" || vi == "" {
		return fmt.Errorf("httpx.RegisterRule %q: tag and both messages are required", tag)
	}
	if fn != nil {
		if err := instance().RegisterValidation(tag, fn); err != nil {
			return fmt.Errorf("httpx.RegisterRule %q: %w", tag, err)
		}
	}
	customMu.Lock()
	customMessages[tag] = ruleMessage{en: en, vi: vi}
	customMu.Unlock()
	return nil
}

// Validate checks v (a struct or a pointer to one) against its `validate`
// tags. It returns nil, a 422 "validation_failed" *Problem listing every
// bad field by JSON path with English and Vietnamese messages, or a plain
// error when v cannot be validated at all (a programming error).
func Validate(v any) error {
	err := instance().Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("httpx.Validate %T: %w", v, err)
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, fieldError(fe))
	}
	return ValidationProblem(fields...)
}

// ValidationProblem returns the 422 "validation_failed" problem for the
// given field errors; domain code can use it for checks a tag cannot
// express.
func ValidationProblem(fields ...FieldError) *Problem {
	n := len(fields)
	en := "1 field is invalid."
	if n != 1 {
		en = fmt.Sprintf("%d fields are invalid.", n)
	}
	p := NewProblem(http.StatusUnprocessableEntity, "validation_failed", "Validation failed", "Dữ liệu không hợp lệ").
		WithDetail(en, fmt.Sprintf("Có %d trường dữ liệu không hợp lệ.", n))
	p.Errors = fields
	return p
}

func fieldError(fe validator.FieldError) FieldError {
	path := fe.Namespace()
	// Drop the top-level struct's type name: "Input.applicant.idNumber".
	if i := strings.IndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	m := messageFor(fe.Tag(), fe.Kind(), fe.Type())
	param := fe.Param()
	switch fe.Tag() {
	case "oneof":
		param = strings.Join(strings.Fields(param), ", ")
	case "datetime":
		param = humanLayout(param)
	}
	return FieldError{
		Field:     path,
		Code:      fe.Tag(),
		Message:   strings.ReplaceAll(m.en, "{param}", param),
		MessageVi: strings.ReplaceAll(m.vi, "{param}", param),
	}
}

// humanLayout writes a Go time layout the way people read it: 2006-01-02
// becomes YYYY-MM-DD (Go's reference date means nothing to a client).
func humanLayout(layout string) string {
	return strings.NewReplacer("2006", "YYYY", "01", "MM", "02", "DD", "15", "hh", "04", "mm", "05", "ss", "Z07:00", "±hh:mm").Replace(layout)
}

// sizeClass tells whether min/max/len speak of characters, items or values.
func sizeClass(k reflect.Kind, t reflect.Type) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array, reflect.Map:
		return "collection"
	}
	if t != nil && t.String() == "time.Time" {
		return "time"
	}
	return "number"
}

// sizedMessages holds the kind-dependent tags.
var sizedMessages = map[string]map[string]ruleMessage{
	"len": {
		"string":     {"Must be exactly {param} characters long.", "Phải có đúng {param} ký tự."},
		"collection": {"Must contain exactly {param} item(s).", "Phải có đúng {param} phần tử."},
		"number":     {"Must equal {param}.", "Phải bằng {param}."},
	},
	"min": {
		"string":     {"Must be at least {param} characters long.", "Phải có ít nhất {param} ký tự."},
		"collection": {"Must contain at least {param} item(s).", "Phải có ít nhất {param} phần tử."},
		"number":     {"Must be at least {param}.", "Phải lớn hơn hoặc bằng {param}."},
	},
	"max": {
		"string":     {"Must be at most {param} characters long.", "Không được dài quá {param} ký tự."},
		"collection": {"Must contain at most {param} item(s).", "Không được có quá {param} phần tử."},
		"number":     {"Must be at most {param}.", "Phải nhỏ hơn hoặc bằng {param}."},
	},
	"gt": {
		"string":     {"Must be longer than {param} characters.", "Phải dài hơn {param} ký tự."},
		"collection": {"Must contain more than {param} item(s).", "Phải có nhiều hơn {param} phần tử."},
		"number":     {"Must be greater than {param}.", "Phải lớn hơn {param}."},
		"time":       {"Must be later than now.", "Phải sau thời điểm hiện tại."},
	},
	"lt": {
		"string":     {"Must be shorter than {param} characters.", "Phải ngắn hơn {param} ký tự."},
		"collection": {"Must contain fewer than {param} item(s).", "Phải có ít hơn {param} phần tử."},
		"number":     {"Must be less than {param}.", "Phải nhỏ hơn {param}."},
		"time":       {"Must be earlier than now.", "Phải trước thời điểm hiện tại."},
	},
}

func init() {
	sizedMessages["gte"] = sizedMessages["min"]
	sizedMessages["lte"] = sizedMessages["max"]
}

var timeNotNow = map[string]ruleMessage{
	"min": {"Must not be in the past.", "Không được ở thời điểm trong quá khứ."},
	"gte": {"Must not be in the past.", "Không được ở thời điểm trong quá khứ."},
	"max": {"Must not be in the future.", "Không được ở thời điểm trong tương lai."},
	"lte": {"Must not be in the future.", "Không được ở thời điểm trong tương lai."},
}

// tagMessages holds the messages of common tags that do not depend on kind.
var tagMessages = map[string]ruleMessage{
	"required":             {"This field is required.", "Trường này là bắt buộc, không được để trống."},
	"required_if":          {"This field is required here.", "Trường này là bắt buộc trong trường hợp này."},
	"required_unless":      {"This field is required here.", "Trường này là bắt buộc trong trường hợp này."},
	"required_with":        {"This field is required together with {param}.", "Trường này là bắt buộc khi có {param}."},
	"required_with_all":    {"This field is required together with {param}.", "Trường này là bắt buộc khi có {param}."},
	"required_without":     {"This field is required when {param} is absent.", "Trường này là bắt buộc khi không có {param}."},
	"required_without_all": {"This field is required when {param} are absent.", "Trường này là bắt buộc khi không có {param}."},
	"excluded_if":          {"This field must be empty here.", "Trường này phải để trống trong trường hợp này."},
	"excluded_with":        {"This field must be empty when {param} is given.", "Trường này phải để trống khi có {param}."},
	"isdefault":            {"This field must be empty.", "Trường này phải để trống."},
	"email":                {"Must be a valid email address.", "Phải là địa chỉ email hợp lệ."},
	"oneof":                {"Must be one of: {param}.", "Phải là một trong các giá trị: {param}."},
	"numeric":              {"Must be a number.", "Phải là giá trị số."},
	"number":               {"Must contain digits only.", "Chỉ được chứa chữ số."},
	"alpha":                {"Must contain letters only.", "Chỉ được chứa chữ cái."},
	"alphanum":             {"Must contain letters and digits only.", "Chỉ được chứa chữ cái và chữ số."},
	"alphaunicode":         {"Must contain letters only.", "Chỉ được chứa chữ cái."},
	"alphanumunicode":      {"Must contain letters and digits only.", "Chỉ được chứa chữ cái và chữ số."},
	"ascii":                {"Must contain ASCII characters only.", "Chỉ được chứa ký tự ASCII."},
	"printascii":           {"Must contain printable ASCII characters only.", "Chỉ được chứa ký tự ASCII in được."},
	"boolean":              {"Must be true or false.", "Phải là true hoặc false."},
	"datetime":             {"Must be a date/time in the format {param}.", "Phải là ngày giờ theo định dạng {param}."},
	"url":                  {"Must be a valid URL.", "Phải là địa chỉ URL hợp lệ."},
	"http_url":             {"Must be a valid http(s) URL.", "Phải là địa chỉ URL http(s) hợp lệ."},
	"https_url":            {"Must be a valid https URL.", "Phải là địa chỉ URL https hợp lệ."},
	"uri":                  {"Must be a valid URI.", "Phải là URI hợp lệ."},
	"uuid":                 {"Must be a valid UUID.", "Phải là mã UUID hợp lệ."},
	"uuid4":                {"Must be a valid version 4 UUID.", "Phải là mã UUID phiên bản 4 hợp lệ."},
	"e164":                 {"Must be a phone number in international format, e.g. +84901234567.", "Phải là số điện thoại theo định dạng quốc tế, ví dụ +84901234567."},
	"eq":                   {"Must equal {param}.", "Phải bằng {param}."},
	"ne":                   {"Must not equal {param}.", "Không được bằng {param}."},
	"eqfield":              {"Must match {param}.", "Phải trùng khớp với {param}."},
	"nefield":              {"Must differ from {param}.", "Phải khác với {param}."},
	"gtfield":              {"Must be greater than {param}.", "Phải lớn hơn {param}."},
	"gtefield":             {"Must be greater than or equal to {param}.", "Phải lớn hơn hoặc bằng {param}."},
	"ltfield":              {"Must be less than {param}.", "Phải nhỏ hơn {param}."},
	"ltefield":             {"Must be less than or equal to {param}.", "Phải nhỏ hơn hoặc bằng {param}."},
	"unique":               {"Must not contain duplicates.", "Không được chứa giá trị trùng lặp."},
	"contains":             {"Must contain {param}.", "Phải chứa {param}."},
	"excludes":             {"Must not contain {param}.", "Không được chứa {param}."},
	"startswith":           {"Must start with {param}.", "Phải bắt đầu bằng {param}."},
	"endswith":             {"Must end with {param}.", "Phải kết thúc bằng {param}."},
	"ip":                   {"Must be a valid IP address.", "Phải là địa chỉ IP hợp lệ."},
	"ipv4":                 {"Must be a valid IPv4 address.", "Phải là địa chỉ IPv4 hợp lệ."},
	"ipv6":                 {"Must be a valid IPv6 address.", "Phải là địa chỉ IPv6 hợp lệ."},
	"hexadecimal":          {"Must be a hexadecimal string.", "Phải là chuỗi thập lục phân."},
	"base64":               {"Must be valid base64.", "Phải là chuỗi base64 hợp lệ."},
	"json":                 {"Must be valid JSON.", "Phải là JSON hợp lệ."},
	"latitude":             {"Must be a valid latitude.", "Phải là vĩ độ hợp lệ."},
	"longitude":            {"Must be a valid longitude.", "Phải là kinh độ hợp lệ."},
	"iso3166_1_alpha2":     {"Must be a two-letter country code.", "Phải là mã quốc gia hai chữ cái."},
	"bcp47_language_tag":   {"Must be a language tag such as vi or en.", "Phải là mã ngôn ngữ, ví dụ vi hoặc en."},
}

// messageFor picks the messages for a tag: registered ones first, then the
// kind-dependent and plain built-ins, then a generic text naming the tag.
func messageFor(tag string, k reflect.Kind, t reflect.Type) ruleMessage {
	customMu.RLock()
	m, ok := customMessages[tag]
	customMu.RUnlock()
	if ok {
		return m
	}
	if byKind, ok := sizedMessages[tag]; ok {
		class := sizeClass(k, t)
		if class == "time" {
			if m, ok := timeNotNow[tag]; ok {
				return m
			}
			class = "number"
		}
		if m, ok := byKind[class]; ok {
			return m
		}
	}
	if m, ok := tagMessages[tag]; ok {
		return m
	}
	return ruleMessage{
		en: "Is not valid (rule " + tag + ").",
		vi: "Giá trị không hợp lệ (quy tắc " + tag + ").",
	}
}
