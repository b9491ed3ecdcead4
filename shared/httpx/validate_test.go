package httpx

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/go-playground/validator/v10"
)

var twelveDigits = regexp.MustCompile(`^[0-9]{12}$`)

func TestMain(m *testing.M) {
	// A custom rule as a domain package would register it at start-up.
	if err := RegisterRule("test_cccd", func(fl validator.FieldLevel) bool {
		return twelveDigits.MatchString(fl.Field().String())
	}, "Must be a 12-digit citizen ID{param}.", "Phải là số CCCD gồm 12 chữ số{param}."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

type valApplicant struct {
	FullName string `json:"fullName" validate:"required,max=10"`
	IDNumber string `json:"idNumber" validate:"required,test_cccd"`
	Email    string `json:"email,omitempty" validate:"omitempty,email"`
	Phone    string `json:"phone" validate:"omitempty,e164"`
}

type valDoc struct {
	Name string `json:"name" validate:"required"`
}

type valInput struct {
	ProcedureCode string       `json:"procedureCode" validate:"required,len=5"`
	Channel       string       `json:"channel" validate:"required,oneof=online counter post"`
	Fee           int          `json:"fee" validate:"gte=0,lte=1000000"`
	Rating        int          `json:"rating" validate:"omitempty,min=1,max=5"`
	Applicant     valApplicant `json:"applicant"`
	Documents     []valDoc     `json:"documents" validate:"min=1,dive"`
	SubmittedAt   string       `json:"submittedAt" validate:"omitempty,datetime=2006-01-02"`
	CallbackURL   string       `json:"callbackUrl" validate:"omitempty,url"`
	RequestID     string       `json:"requestId" validate:"omitempty,uuid"`
	Zip           string       `json:"zip" validate:"omitempty,numeric"`
	Secret        string       `json:"-" validate:"omitempty,alpha"`
	Host          string       `json:"host" validate:"omitempty,hostname"`
}

func validInput() valInput {
	return valInput{
		ProcedureCode: "1.001",
		Channel:       "online",
		Fee:           50000,
		Applicant:     valApplicant{FullName: "Nguyễn A", IDNumber: "001234567889"},
		Documents:     []valDoc{{Name: "Tờ khai"}},
	}
}

func TestValidate(t *testing.T) {
	type want struct{ field, code, en, vi string }
	tests := []struct {
		name   string
		mutate func(*valInput)
		want   []want
	}{
		{name: "valid", mutate: func(*valInput) {}},
		{
			name:   "required_nested",
			mutate: func(in *valInput) { in.Applicant.FullName = "" },
			want:   []want{{"applicant.fullName", "required", "This field is required.", "Trường này là bắt buộc, không được để trống."}},
		},
		{
			name:   "max_string",
			mutate: func(in *valInput) { in.Applicant.FullName = "Nguyễn Văn Anh Tuấn" },
			want:   []want{{"applicant.fullName", "max", "Must be at most 10 characters long.", "Không được dài quá 10 ký tự."}},
		},
		{
			name:   "len_string",
			mutate: func(in *valInput) { in.ProcedureCode = "1.0" },
			want:   []want{{"procedureCode", "len", "Must be exactly 5 characters long.", "Phải có đúng 5 ký tự."}},
		},
		{
			name:   "oneof_lists_values",
			mutate: func(in *valInput) { in.Channel = "fax" },
			want:   []want{{"channel", "oneof", "Must be one of: online, counter, post.", "Phải là một trong các giá trị: online, counter, post."}},
		},
		{
			name:   "gte_number",
			mutate: func(in *valInput) { in.Fee = -1 },
			want:   []want{{"fee", "gte", "Must be at least 0.", "Phải lớn hơn hoặc bằng 0."}},
		},
		{
			name:   "lte_number",
			mutate: func(in *valInput) { in.Fee = 2000000 },
			want:   []want{{"fee", "lte", "Must be at most 1000000.", "Phải nhỏ hơn hoặc bằng 1000000."}},
		},
		{
			name:   "max_number",
			mutate: func(in *valInput) { in.Rating = 6 },
			want:   []want{{"rating", "max", "Must be at most 5.", "Phải nhỏ hơn hoặc bằng 5."}},
		},
		{
			name:   "min_collection",
			mutate: func(in *valInput) { in.Documents = nil },
			want:   []want{{"documents", "min", "Must contain at least 1 item(s).", "Phải có ít nhất 1 phần tử."}},
		},
		{
			name:   "dive_path_has_index",
			mutate: func(in *valInput) { in.Documents = append(in.Documents, valDoc{}) },
			want:   []want{{"documents[1].name", "required", "This field is required.", "Trường này là bắt buộc, không được để trống."}},
		},
		{
			name:   "email",
			mutate: func(in *valInput) { in.Applicant.Email = "not-an-email" },
			want:   []want{{"applicant.email", "email", "Must be a valid email address.", "Phải là địa chỉ email hợp lệ."}},
		},
		{
			name:   "e164",
			mutate: func(in *valInput) { in.Applicant.Phone = "0901234567" },
			want:   []want{{"applicant.phone", "e164", "Must be a phone number in international format, e.g. +84901234567.", "Phải là số điện thoại theo định dạng quốc tế, ví dụ +84901234567."}},
		},
		{
			name:   "datetime_param",
			mutate: func(in *valInput) { in.SubmittedAt = "25/11/2026" },
			want:   []want{{"submittedAt", "datetime", "Must be a date/time in the format YYYY-MM-DD.", "Phải là ngày giờ theo định dạng YYYY-MM-DD."}},
		},
		{
			name:   "url_uuid_numeric",
			mutate: func(in *valInput) { in.CallbackURL = "nope"; in.RequestID = "123"; in.Zip = "12a" },
			want: []want{
				{"callbackUrl", "url", "Must be a valid URL.", "Phải là địa chỉ URL hợp lệ."},
				{"requestId", "uuid", "Must be a valid UUID.", "Phải là mã UUID hợp lệ."},
				{"zip", "numeric", "Must be a number.", "Phải là giá trị số."},
			},
		},
		{
			name:   "custom_rule_messages",
			mutate: func(in *valInput) { in.Applicant.IDNumber = "12345" },
			want:   []want{{"applicant.idNumber", "test_cccd", "Must be a 12-digit citizen ID.", "Phải là số CCCD gồm 12 chữ số."}},
		},
		{
			name:   "unknown_tag_gets_generic_text",
			mutate: func(in *valInput) { in.Host = "-bad host-" },
			want:   []want{{"host", "hostname", "Is not valid (rule hostname).", "Giá trị không hợp lệ (quy tắc hostname)."}},
		},
		{
			name:   "json_dash_field_keeps_go_name",
			mutate: func(in *valInput) { in.Secret = "123" },
			want:   []want{{"Secret", "alpha", "Must contain letters only.", "Chỉ được chứa chữ cái."}},
		},
		{
			name: "every_bad_field_listed",
			mutate: func(in *valInput) {
				*in = valInput{Fee: -5, Documents: []valDoc{{}}}
			},
			want: []want{
				{"procedureCode", "required", "", ""},
				{"channel", "required", "", ""},
				{"fee", "gte", "", ""},
				{"applicant.fullName", "required", "", ""},
				{"applicant.idNumber", "required", "", ""},
				{"documents[0].name", "required", "", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.mutate(&in)
			err := Validate(&in)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("err = %v, want *Problem", err)
			}
			if p.Status != 422 || p.Code != "validation_failed" || p.TitleVi != "Dữ liệu không hợp lệ" {
				t.Errorf("problem = %d %q %q", p.Status, p.Code, p.TitleVi)
			}
			if len(p.Errors) != len(tt.want) {
				t.Fatalf("errors = %+v, want %d", p.Errors, len(tt.want))
			}
			for i, w := range tt.want {
				got := p.Errors[i]
				if got.Field != w.field || got.Code != w.code {
					t.Errorf("errors[%d] = %s/%s, want %s/%s", i, got.Field, got.Code, w.field, w.code)
				}
				if w.en != "" && (got.Message != w.en || got.MessageVi != w.vi) {
					t.Errorf("errors[%d] messages = %q / %q, want %q / %q", i, got.Message, got.MessageVi, w.en, w.vi)
				}
				if got.Message == "" || got.MessageVi == "" {
					t.Errorf("errors[%d] lacks a message: %+v", i, got)
				}
			}
		})
	}
}

func TestValidateNotAStruct(t *testing.T) {
	err := Validate(42)
	var p *Problem
	if err == nil || errors.As(err, &p) {
		t.Fatalf("err = %v, want a plain (programming) error", err)
	}
}

func TestRegisterRuleRejectsMissingMessages(t *testing.T) {
	if err := RegisterRule("x_rule", nil, "", "vi"); err == nil {
		t.Fatal("want an error for a rule without English text")
	}
}
