package httpx

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

type submitInput struct {
	ProcedureCode string     `json:"procedureCode"`
	Fee           int        `json:"fee"`
	Applicant     applicant  `json:"applicant"`
	Documents     []document `json:"documents"`
}

type applicant struct {
	FullName string `json:"fullName"`
	IDNumber string `json:"idNumber"`
}

type document struct {
	Name  string `json:"name"`
	Pages int    `json:"pages"`
}

func jsonReq(ct, body string) handler.Request {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return handler.Request{Method: http.MethodPost, Header: h, Body: []byte(body)}
}

func TestDecodeJSON(t *testing.T) {
	const ok = `{"procedureCode":"1.00123","fee":50000,"applicant":{"fullName":"Nguyễn Văn A","idNumber":"001234567889"}}`
	tests := []struct {
		name       string
		req        handler.Request
		opts       []DecodeOption
		wantStatus int    // 0: success
		wantCode   string // problem code
		wantField  string // FieldError.Field, when one is expected
		wantDetail string // substring of Detail
	}{
		{name: "valid_body", req: jsonReq("application/json", ok)},
		{name: "charset_param_allowed", req: jsonReq("application/json; charset=UTF-8", ok)},
		{name: "plus_json_allowed", req: jsonReq("application/vnd.motcua+json", ok)},
		{name: "trailing_whitespace_allowed", req: jsonReq("application/json", ok+"\n\t ")},
		{name: "missing_content_type", req: jsonReq("", ok), wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "form_content_type", req: jsonReq("application/x-www-form-urlencoded", ok), wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "latin1_charset", req: jsonReq("application/json; charset=iso-8859-1", ok), wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "body_over_default_limit", req: jsonReq("application/json", `{"procedureCode":"`+strings.Repeat("x", DefaultMaxBodyBytes)+`"}`), wantStatus: 413, wantCode: "body_too_large"},
		{name: "body_over_custom_limit", req: jsonReq("application/json", ok), opts: []DecodeOption{MaxBytes(10)}, wantStatus: 413, wantCode: "body_too_large"},
		{name: "empty_body", req: jsonReq("application/json", ""), wantStatus: 400, wantCode: "empty_body"},
		{name: "whitespace_body", req: jsonReq("application/json", "  \n"), wantStatus: 400, wantCode: "empty_body"},
		{name: "empty_body_allowed", req: jsonReq("application/json", ""), opts: []DecodeOption{AllowEmptyBody()}},
		{name: "malformed_json_with_offset", req: jsonReq("application/json", `{"fee": 1,,}`), wantStatus: 400, wantCode: "malformed_json", wantDetail: "byte 11"},
		{name: "truncated_json", req: jsonReq("application/json", `{"fee": 1`), wantStatus: 400, wantCode: "malformed_json", wantDetail: "byte 9"},
		{name: "unknown_field_named", req: jsonReq("application/json", `{"fee":1,"discount":5}`), wantStatus: 400, wantCode: "unknown_field", wantField: "discount"},
		{name: "unknown_field_allowed", req: jsonReq("application/json", `{"fee":1,"discount":5}`), opts: []DecodeOption{AllowUnknownFields()}},
		{name: "wrong_type_named", req: jsonReq("application/json", `{"fee":"50000"}`), wantStatus: 400, wantCode: "invalid_type", wantField: "fee"},
		{name: "wrong_type_nested_path", req: jsonReq("application/json", `{"applicant":{"idNumber":1234}}`), wantStatus: 400, wantCode: "invalid_type", wantField: "applicant.idNumber"},
		{name: "wrong_type_in_array", req: jsonReq("application/json", `{"documents":[{"name":"a","pages":"x"}]}`), wantStatus: 400, wantCode: "invalid_type", wantField: "documents.pages"},
		{name: "array_instead_of_object", req: jsonReq("application/json", `[1,2]`), wantStatus: 400, wantCode: "invalid_type"},
		{name: "trailing_object", req: jsonReq("application/json", ok+`{}`), wantStatus: 400, wantCode: "trailing_data"},
		{name: "trailing_garbage", req: jsonReq("application/json", ok+` x`), wantStatus: 400, wantCode: "trailing_data", wantDetail: "byte 109"},
		{name: "invalid_utf8", req: jsonReq("application/json", "{\"procedureCode\":\"\xff\"}"), wantStatus: 400, wantCode: "invalid_encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst submitInput
			err := DecodeJSON(tt.req, &dst, tt.opts...)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("err = %v, want *Problem", err)
			}
			if p.Status != tt.wantStatus || p.Code != tt.wantCode {
				t.Errorf("got %d %q, want %d %q (%s)", p.Status, p.Code, tt.wantStatus, tt.wantCode, p.Detail)
			}
			if p.Detail == "" || p.DetailVi == "" || p.TitleVi == "" {
				t.Errorf("missing English or Vietnamese text: %+v", p)
			}
			if tt.wantDetail != "" && !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.wantDetail)
			}
			if tt.wantField != "" {
				if len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField {
					t.Errorf("errors = %+v, want field %q", p.Errors, tt.wantField)
				}
				if !strings.Contains(p.Detail, tt.wantField) {
					t.Errorf("detail %q does not name %q", p.Detail, tt.wantField)
				}
			}
		})
	}
}

func TestDecodeJSONValues(t *testing.T) {
	// "Nguyễn" written with combining marks (NFD) arrives as NFC.
	nfd := "Nguye\u0302\u0303n"
	var dst submitInput
	err := DecodeJSON(jsonReq("application/json", `{"applicant":{"fullName":"`+nfd+`"},"fee":50000}`), &dst)
	if err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if dst.Applicant.FullName != "Nguyễn" || dst.Fee != 50000 {
		t.Errorf("decoded %+v", dst)
	}
}

func TestDecodeJSONBadDestination(t *testing.T) {
	var dst submitInput
	err := DecodeJSON(jsonReq("application/json", `{}`), dst)
	var p *Problem
	if err == nil || errors.As(err, &p) {
		t.Fatalf("err = %v, want a plain (programming) error", err)
	}
}

func TestDecodeJSON_normalises_text_sent_as_unicode_escapes(t *testing.T) {
	type doc struct {
		Name  string            `json:"name"`
		Tags  []string          `json:"tags"`
		Form  map[string]any    `json:"form"`
		Notes map[string]string `json:"notes"`
		Ptr   *string           `json:"ptr"`
	}
	// "Nguyễn" written decomposed (e + U+0302 + U+0303) and escaped, as
	// Python's json.dumps sends non-ASCII text.
	body := `{"name":"Nguye\u0302\u0303n","tags":["Nguye\u0302\u0303n"],` +
		`"form":{"ho\u0300":"Nguye\u0302\u0303n","list":["Nguye\u0302\u0303n"]},` +
		`"notes":{"k":"Nguye\u0302\u0303n"},"ptr":"Nguye\u0302\u0303n"}`
	var d doc
	err := DecodeJSON(handler.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}, &d)
	if err != nil {
		t.Fatal(err)
	}
	const want = "Nguyễn" // precomposed
	got := []string{d.Name, d.Tags[0], d.Form["hò"].(string), d.Form["list"].([]any)[0].(string), d.Notes["k"], *d.Ptr}
	for i, g := range got {
		if g != want {
			t.Errorf("value %d = %q (% x), want NFC %q", i, g, g, want)
		}
	}
	if _, ok := d.Form["hò"]; !ok {
		t.Errorf("map key not normalised: %v", d.Form)
	}
}

// JSON makes 2.0 the same integer as 2 (JSON Schema too, so a client that
// follows the API document may send it); integer fields accept it, a real
// fraction is still refused, and other numbers are left alone.
func TestDecodeJSON_whole_numbers_for_integer_fields(t *testing.T) {
	type doc struct {
		Size  int64    `json:"size"`
		Ratio float64  `json:"ratio"`
		Name  string   `json:"name"`
		List  []uint16 `json:"list"`
	}
	tests := []struct {
		name string
		body string
		want doc
		code string // problem code; "" = accepted
	}{
		{"integer", `{"size": 260}`, doc{Size: 260}, ""},
		{"whole_float", `{"size": 260.0, "ratio": 0.5}`, doc{Size: 260, Ratio: 0.5}, ""},
		{"exponent", `{"size": 2.6e2, "list": [1.0, 2]}`, doc{Size: 260, List: []uint16{1, 2}}, ""},
		{"text_kept", `{"size": 1.0, "name": "1.0 <b>"}`, doc{Size: 1, Name: "1.0 <b>"}, ""},
		{"fraction_refused", `{"size": 260.5}`, doc{}, "invalid_type"},
		{"too_big_refused", `{"size": 1e300}`, doc{}, "invalid_type"},
		{"unknown_field_still_refused", `{"size": 2.0, "x": 1}`, doc{}, "unknown_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			req := handler.Request{Body: []byte(tt.body), Header: http.Header{"Content-Type": {"application/json"}}}
			err := DecodeJSON(req, &got)
			if tt.code != "" {
				var p *Problem
				if !errors.As(err, &p) || p.Code != tt.code {
					t.Fatalf("err = %v, want problem %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Size != tt.want.Size || got.Ratio != tt.want.Ratio || got.Name != tt.want.Name || len(got.List) != len(tt.want.List) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
