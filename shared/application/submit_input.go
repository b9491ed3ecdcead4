package application

import (
	"fmt"
	"math"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"motcua/shared/catalog"
	"motcua/shared/fault"
	"motcua/shared/vnid"
)

var zeroTime time.Time

// SubmitInput is the body of a submission.
type SubmitInput struct {
	// ProcedureCode is the catalog procedure applied for.
	ProcedureCode string `json:"procedureCode" validate:"required,max=64"`
	// Applicant files the application.
	Applicant ApplicantInput `json:"applicant"`
	// Form holds the form fields by name.
	Form map[string]any `json:"form"`
	// Documents declares the files that will be uploaded.
	Documents []DocumentInput `json:"documents" validate:"max=50,dive"`
	// Channel is online (default), direct or postal (staff only).
	Channel Channel `json:"channel" validate:"omitempty,oneof=online direct postal"`
	// ResultDelivery is how the result is returned (online by default).
	ResultDelivery ResultDeliveryInput `json:"resultDelivery"`
}

// ApplicantInput is the applicant part of SubmitInput.
type ApplicantInput struct {
	// Kind is person or business.
	Kind ApplicantKind `json:"kind" validate:"required,oneof=person business"`
	// Name is the full name or business name.
	Name string `json:"name" validate:"required,max=200"`
	// IDNumber is the CCCD (persons).
	IDNumber string `json:"idNumber" validate:"required_if=Kind person,omitempty,cccd"`
	// DateOfBirth is YYYY-MM-DD (persons).
	DateOfBirth string `json:"dateOfBirth" validate:"required_if=Kind person,omitempty,datetime=2006-01-02"`
	// TaxCode is the MST (businesses).
	TaxCode string `json:"taxCode" validate:"required_if=Kind business,omitempty,mst"`
	// Representative is the legal representative (businesses).
	Representative *RepresentativeInput `json:"representative" validate:"required_if=Kind business,omitempty"`
	// Phone is a Vietnamese mobile number.
	Phone string `json:"phone" validate:"required,vnphone"`
	// Email is optional.
	Email string `json:"email" validate:"omitempty,email,max=254"`
	// Address is the contact address.
	Address string `json:"address" validate:"required,max=500"`
}

// RepresentativeInput is a business applicant's legal representative.
type RepresentativeInput struct {
	// Name is the representative's full name.
	Name string `json:"name" validate:"required,max=200"`
	// IDNumber is the representative's CCCD.
	IDNumber string `json:"idNumber" validate:"required,cccd"`
	// Position is the title.
	Position string `json:"position" validate:"max=100"`
}

// DocumentInput declares one file.
type DocumentInput struct {
	// Code is the catalog document code.
	Code string `json:"code" validate:"required,max=64"`
	// FileName is the file's name, with its extension.
	FileName string `json:"fileName" validate:"required,max=200"`
	// ContentType is the file's media type.
	ContentType string `json:"contentType" validate:"required,max=100"`
	// Size is the file's size in bytes.
	Size int64 `json:"size" validate:"required,min=1"`
}

// ResultDeliveryInput is how the result is returned.
type ResultDeliveryInput struct {
	// Method is online (default) or postal.
	Method string `json:"method" validate:"omitempty,oneof=online postal"`
	// Address is required for postal delivery.
	Address string `json:"address" validate:"required_if=Method postal,max=500"`
}

// hasFieldError reports whether errs name field.
func hasFieldError(errs []fault.Issue, field string) bool {
	for _, e := range errs {
		if e.Path == field {
			return true
		}
	}
	return false
}

// firstPerField keeps the first error of each field (a tag's error and a
// cross-field check's on the same value say the same thing twice); the
// "documents" list of missing documents keeps every entry.
func firstPerField(errs []fault.Issue) []fault.Issue {
	seen := map[string]bool{}
	out := errs[:0:0]
	for _, e := range errs {
		if seen[e.Path] && e.Path != "documents" {
			continue
		}
		seen[e.Path] = true
		out = append(out, e)
	}
	return out
}

// fieldErr builds one FieldError.
func fieldErr(field, code, en, vi string) fault.Issue {
	return fault.Issue{Path: field, Code: code, Message: en, MessageVi: vi}
}

// checkApplicant runs the cross-field checks tags cannot express; in must
// have passed the validation tags (httpx.Validate).
func checkApplicant(in ApplicantInput) []fault.Issue {
	var errs []fault.Issue
	if in.Kind == ApplicantPerson {
		dob, err := time.Parse(time.DateOnly, in.DateOfBirth)
		if err == nil {
			if dob.After(time.Now()) {
				errs = append(errs, fieldErr("applicant.dateOfBirth", "in_future",
					"The date of birth is in the future.", "Ngày sinh không được ở tương lai."))
			} else if _, err := vnid.ValidateCCCD(in.IDNumber, dob); err != nil {
				errs = append(errs, fieldErr("applicant.idNumber", "cccd_dob_mismatch",
					"The citizen ID's century/gender and year digits do not match the date of birth.",
					"Số CCCD không khớp với năm sinh (mã thế kỷ/giới tính và năm sinh)."))
			}
		}
	}
	return errs
}

// extContentTypes maps common file extensions to the media types a client
// may declare for them.
var extContentTypes = map[string][]string{
	"pdf":  {"application/pdf"},
	"jpg":  {"image/jpeg"},
	"jpeg": {"image/jpeg"},
	"png":  {"image/png"},
	"doc":  {"application/msword"},
	"docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	"xls":  {"application/vnd.ms-excel"},
	"xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	"xml":  {"application/xml", "text/xml"},
	"zip":  {"application/zip"},
}

// safeFileName keeps letters, digits, dot, dash and underscore (after
// accent folding), so upload keys are plain and predictable.
func safeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	folded := vnid.Fold(name)
	var b strings.Builder
	for _, r := range folded {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = "file"
	}
	return s
}

// checkDocuments checks declared documents against the procedure and
// returns the documents to record (upload keys filled by the caller).
func checkDocuments(in []DocumentInput, specs []catalog.DocumentSpec) ([]Document, []fault.Issue) {
	var errs []fault.Issue
	byCode := make(map[string]catalog.DocumentSpec, len(specs))
	for _, s := range specs {
		byCode[s.Code] = s
	}
	seen := map[string]bool{}
	docs := make([]Document, 0, len(in))
	for i, d := range in {
		at := fmt.Sprintf("documents[%d]", i)
		spec, ok := byCode[d.Code]
		if !ok {
			errs = append(errs, fieldErr(at+".code", "unknown_document",
				fmt.Sprintf("The procedure has no document %q.", d.Code),
				fmt.Sprintf("Thủ tục không có thành phần hồ sơ %q.", d.Code)))
			continue
		}
		if seen[d.Code] {
			errs = append(errs, fieldErr(at+".code", "duplicate_document",
				fmt.Sprintf("Document %q is declared twice.", d.Code),
				fmt.Sprintf("Thành phần hồ sơ %q được khai báo hai lần.", d.Code)))
			continue
		}
		seen[d.Code] = true
		name := safeFileName(d.FileName)
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
		if !formatAllowed(ext, spec.Formats) {
			errs = append(errs, fieldErr(at+".fileName", "format_not_allowed",
				fmt.Sprintf("Accepted formats for %s: %s.", spec.Code, strings.Join(spec.Formats, ", ")),
				fmt.Sprintf("Định dạng được chấp nhận cho %q: %s.", spec.Name, strings.Join(spec.Formats, ", "))))
		} else if cts, known := extContentTypes[ext]; known && !contains(cts, strings.ToLower(mediaType(d.ContentType))) {
			errs = append(errs, fieldErr(at+".contentType", "content_type_mismatch",
				fmt.Sprintf("A .%s file must be declared as %s.", ext, strings.Join(cts, " or ")),
				fmt.Sprintf("Tệp .%s phải có kiểu %s.", ext, strings.Join(cts, " hoặc "))))
		}
		maxSize := int64(spec.MaxSizeMB) << 20
		if spec.MaxSizeMB <= 0 {
			maxSize = math.MaxInt64
		}
		if d.Size > maxSize {
			errs = append(errs, fieldErr(at+".size", "file_too_large",
				fmt.Sprintf("The file is larger than %d MB.", spec.MaxSizeMB),
				fmt.Sprintf("Tệp vượt quá dung lượng tối đa %d MB.", spec.MaxSizeMB)))
		}
		docs = append(docs, Document{
			Code: spec.Code, Name: spec.Name, FileName: name, ContentType: mediaType(d.ContentType),
			Size: d.Size, MaxSize: maxSize, Required: spec.Required,
		})
	}
	for _, s := range specs {
		if s.Required && !seen[s.Code] {
			errs = append(errs, fieldErr("documents", "required_document_missing",
				fmt.Sprintf("Required document %q (%s) is missing.", s.Code, s.Name),
				fmt.Sprintf("Thiếu thành phần hồ sơ bắt buộc: %s (%s).", s.Name, s.Code)))
		}
	}
	return docs, errs
}

func formatAllowed(ext string, formats []string) bool {
	if len(formats) == 0 {
		return ext != ""
	}
	for _, f := range formats {
		f = strings.ToLower(strings.TrimPrefix(f, "."))
		if f == ext || (f == "jpg" && ext == "jpeg") || (f == "jpeg" && ext == "jpg") {
			return true
		}
	}
	return false
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// patternCache compiles form field patterns once.
var patternCache = newRegexpCache()

// checkForm validates form data against the procedure's fields and returns
// the cleaned form (only known fields, strings trimmed).
func checkForm(form map[string]any, specs []catalog.FieldSpec) (map[string]any, []fault.Issue) {
	var errs []fault.Issue
	out := make(map[string]any, len(specs))
	known := make(map[string]bool, len(specs))
	for _, s := range specs {
		known[s.Name] = true
		at := "form." + s.Name
		v, present := form[s.Name]
		if str, ok := v.(string); ok {
			v = strings.TrimSpace(str)
			present = present && v != ""
		}
		if !present || v == nil {
			if s.Required {
				errs = append(errs, fieldErr(at, "required",
					fmt.Sprintf("%s is required.", s.Name), fmt.Sprintf("%s là bắt buộc.", s.Label)))
			}
			continue
		}
		if e, ok := checkFieldValue(at, s, v); !ok {
			errs = append(errs, e)
			continue
		}
		if str, ok := v.(string); ok && s.Pattern != "" {
			// "0912 345 678" is stored as "0912345678", as applicant.phone is.
			if re, err := patternCache.get(s.Pattern); err == nil && !re.MatchString(str) {
				v = compact(str)
			}
		}
		out[s.Name] = v
	}
	for name := range form {
		if !known[name] {
			errs = append(errs, fieldErr("form."+name, "unknown_field",
				"The procedure's form has no such field.", "Tờ khai của thủ tục không có trường này."))
		}
	}
	return out, errs
}

// compact drops the separators people type inside numbers (spaces, dots,
// hyphens): a patterned field that does not match as typed is matched, and
// stored, compacted, so "0912 345 678" is accepted in a form field exactly
// where applicant.phone accepts it.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '\u00a0':
			return -1
		}
		return r
	}, s)
}

// checkFieldValue checks one present value against its spec.
func checkFieldValue(at string, s catalog.FieldSpec, v any) (fault.Issue, bool) {
	bad := func(code, en, vi string) (fault.Issue, bool) {
		return fieldErr(at, code, en, vi), false
	}
	switch s.Type {
	case catalog.FieldNumber:
		if _, ok := v.(float64); !ok {
			return bad("invalid_type", "Must be a number.", fmt.Sprintf("%s phải là số.", s.Label))
		}
	case catalog.FieldBool:
		if _, ok := v.(bool); !ok {
			return bad("invalid_type", "Must be true or false.", fmt.Sprintf("%s phải là true hoặc false.", s.Label))
		}
	case catalog.FieldDate:
		str, ok := v.(string)
		if _, err := time.Parse(time.DateOnly, str); !ok || err != nil {
			return bad("invalid_date", "Must be a date YYYY-MM-DD.", fmt.Sprintf("%s phải là ngày theo định dạng YYYY-MM-DD.", s.Label))
		}
	case catalog.FieldEnum:
		str, ok := v.(string)
		if !ok || !contains(s.Options, str) {
			return bad("oneof", "Must be one of: "+strings.Join(s.Options, ", ")+".",
				fmt.Sprintf("%s phải là một trong các giá trị: %s.", s.Label, strings.Join(s.Options, ", ")))
		}
	default: // string
		str, ok := v.(string)
		if !ok {
			return bad("invalid_type", "Must be text.", fmt.Sprintf("%s phải là chuỗi ký tự.", s.Label))
		}
		if len([]rune(str)) > 2000 {
			return bad("max", "Must be at most 2000 characters long.", fmt.Sprintf("%s không được dài quá 2000 ký tự.", s.Label))
		}
		if s.Pattern != "" {
			re, err := patternCache.get(s.Pattern)
			if err != nil || !re.MatchString(str) && !re.MatchString(compact(str)) {
				return bad("pattern", fmt.Sprintf("%s has the wrong format.", s.Name), fmt.Sprintf("%s không đúng định dạng.", s.Label))
			}
		}
	}
	return fault.Issue{}, true
}

type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func newRegexpCache() *regexpCache { return &regexpCache{m: map[string]*regexp.Regexp{}} }

func (c *regexpCache) get(p string) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("form pattern %q: %w", p, err)
	}
	c.m[p] = re
	return re, nil
}

// ErrInvalidInput is the 422 "validation_failed" of a submission, carrying
// every bad field as an issue (field, code, English and Vietnamese).
var ErrInvalidInput = fault.New(domain, "validation_failed", http.StatusUnprocessableEntity,
	"Dữ liệu không hợp lệ.", "The submission is invalid.")

// invalidInput is ErrInvalidInput for issues, with the count in both
// languages.
func invalidInput(issues ...fault.Issue) error {
	n := len(issues)
	en := "1 field is invalid."
	if n != 1 {
		en = fmt.Sprintf("%d fields are invalid.", n)
	}
	return ErrInvalidInput.WithMessages(fmt.Sprintf("Có %d trường dữ liệu không hợp lệ.", n), en).WithIssues(issues)
}
