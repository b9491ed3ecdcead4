package asynccall_test

import (
	"bytes"
	"net/http"
	"testing"

	"motcua/infra/asynccall"
)

// FuzzDecode feeds arbitrary queue message bodies to Decode: it never
// panics, and whatever it accepts encodes to a body that decodes to the same
// encoding (the connector re-queues calls it could decode).
func FuzzDecode(f *testing.F) {
	good, err := asynccall.Call{
		CallID:      "0f8fad5b-d9cb-469f-a165-70867728950e",
		Function:    "process-application",
		Method:      http.MethodPost,
		Query:       "action=submit&lang=vi",
		Header:      http.Header{"Content-Type": {"application/json"}, "X-Call-Id": {"0f8fad5b"}},
		Body:        []byte(`{"code":"HS-2026-000123","ghiChu":"Hồ sơ"}`),
		CallbackURL: "http://127.0.0.1:8080/function/notify",
	}.Encode()
	if err != nil {
		f.Fatalf("Encode: %v", err)
	}
	for _, s := range []string{
		string(good),
		`{"callId":"x","function":"f","method":"GET"}`,
		`{"callId":"x","function":"f","method":"POST","header":{},"body":""}`,
		`{"body":"not base64!"}`,
		`{"header":{"A":"not a list"}}`,
		`{"header":{"A":[null,"b"]}}`,
		`{"callId":1}`,
		`{"callId":"\ud800","function":"\xff"}`,
		`null`,
		`[]`,
		`{"callId":"a"}{"callId":"b"}`,
		``,
		`{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := asynccall.Decode(b)
		if err != nil {
			return
		}
		first, err := c.Encode()
		if err != nil {
			t.Fatalf("decoded call does not encode: %v", err)
		}
		c2, err := asynccall.Decode(first)
		if err != nil {
			t.Fatalf("encoded call %s does not decode: %v", first, err)
		}
		second, err := c2.Encode()
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding not stable:\n%s\n%s", first, second)
		}
	})
}
