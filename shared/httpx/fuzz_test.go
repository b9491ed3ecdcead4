package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// fuzzDoc is a request shape with the kinds of members handlers decode:
// strings, numbers, booleans, nested objects, pointers, slices and maps.
type fuzzDoc struct {
	Code      string            `json:"code"`
	Fee       int64             `json:"fee"`
	Rate      float64           `json:"rate"`
	Urgent    bool              `json:"urgent"`
	Applicant *fuzzApplicant    `json:"applicant"`
	Documents []fuzzDocument    `json:"documents"`
	Form      map[string]any    `json:"form"`
	Labels    map[string]string `json:"labels"`
}

type fuzzApplicant struct {
	FullName string `json:"fullName"`
	IDNumber string `json:"idNumber"`
}

type fuzzDocument struct {
	Name  string `json:"name"`
	Pages uint16 `json:"pages"`
}

// FuzzDecodeJSON checks that DecodeJSON never panics, that whatever it
// accepts re-encodes and decodes again to the same encoding, and that
// whatever it refuses is a *Problem with a 4xx status.
func FuzzDecodeJSON(f *testing.F) {
	const ok = `{"code":"1.00123","fee":50000,"rate":0.5,"urgent":true,"applicant":{"fullName":"Nguyễn Văn A","idNumber":"001234567889"},"documents":[{"name":"Tờ khai","pages":2}],"form":{"a":[1,"x",null,{"b":false}]},"labels":{"k":"v"}}`
	seeds := []struct {
		ct   string
		body string
	}{
		{"application/json", ok},
		{"application/json; charset=utf-8", ok + "\n"},
		{"application/vnd.motcua+json", `{"code":"x"}`},
		{"application/json", "{}"},
		{"application/json", "null"},
		{"application/json", ""},
		{"application/json", "  \n\t"},
		{"application/json", `{"code":"Nguye\u0302\u0303n"}`},
		{"application/json", "{\"code\":\"Nguye\u0302\u0303n\"}"},
		{"application/json", `{"fee":1,,}`},
		{"application/json", `{"fee":"50000"}`},
		{"application/json", `{"fee":1e400}`},
		{"application/json", `{"fee":9223372036854775808}`},
		{"application/json", `{"documents":[{"pages":70000}]}`},
		{"application/json", `{"unknown":1}`},
		{"application/json", `{"applicant":{"fullName":1}}`},
		{"application/json", `{"code":"a"} {"code":"b"}`},
		{"application/json", `[1,2,3]`},
		{"application/json", `{"code":"` + "\xff\xfe" + `"}`},
		{"application/json", `{"code":"\ud800"}`},
		{"application/json", `{"code":`},
		{"text/plain", ok},
		{"", ok},
		{"application/json; charset=iso-8859-1", ok},
		{"application/json; charset", ok},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ct)
		req := handler.Request{Method: http.MethodPost, Header: h, Body: body}

		var doc fuzzDoc
		err := DecodeJSON(req, &doc)
		if err != nil {
			fuzzCheckProblem(t, err)
		} else {
			// Accepted text is NFC whether it came as UTF-8 or as \u
			// escapes, so the encoding is stable from the first pass.
			first, merr := json.Marshal(doc)
			if merr != nil {
				t.Fatalf("accepted value does not re-encode: %v", merr)
			}
			if second := fuzzRoundTrip(t, first); !bytes.Equal(first, second) {
				t.Fatalf("encoding not stable:\n%s\n%s", first, second)
			}
		}

		// The lenient options must keep the same guarantees.
		var loose fuzzDoc
		req = handler.Request{Method: http.MethodPost, Header: h, Body: body}
		if err := DecodeJSON(req, &loose, AllowUnknownFields(), AllowEmptyBody(), KeepUnnormalized(), MaxBytes(1<<10)); err != nil {
			fuzzCheckProblem(t, err)
		} else if _, err := json.Marshal(loose); err != nil {
			t.Fatalf("accepted value (lenient) does not re-encode: %v", err)
		}
	})
}

// fuzzRoundTrip decodes an encoding produced by json.Marshal with
// DecodeJSON and encodes the result again.
func fuzzRoundTrip(t *testing.T, enc []byte) []byte {
	t.Helper()
	req := handler.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: enc}
	var doc fuzzDoc
	if err := DecodeJSON(req, &doc); err != nil {
		t.Fatalf("re-encoded value %s refused: %v", enc, err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	return out
}

// fuzzCheckProblem fails t unless err is a *Problem with a 4xx status and an
// encodable body.
func fuzzCheckProblem(t *testing.T, err error) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error is %T (%v), want *Problem", err, err)
	}
	if p.Status < 400 || p.Status > 499 {
		t.Fatalf("problem status %d, want 4xx: %v", p.Status, p)
	}
	if p.Code == "" {
		t.Fatalf("problem without code: %v", p)
	}
	b, merr := json.Marshal(p)
	if merr != nil {
		t.Fatalf("problem does not encode: %v", merr)
	}
	if !json.Valid(b) {
		t.Fatalf("problem encodes to invalid JSON: %s", b)
	}
}
