package edge_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"motcua/infra/edge"
)

// FuzzRouting sends arbitrary queries, credential scopes and form bodies
// through the edge: it must not panic, must call exactly one backend, must
// pass the body on whole, and must route to SQS whatever names it: an
// Action parameter in the query, or service "sqs" in the credential scope
// of the Authorization header (built here as
// "<keyDateRegion>/<service>/aws4_request").
func FuzzRouting(f *testing.F) {
	f.Add("x-id=PutObject", "AKID/20240101/us-east-1", "s3", "")
	f.Add("Action=ReceiveMessage", "", "", "")
	f.Add("%41ction=x", "", "", "")
	f.Add("X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsqs%2Faws4_request", "", "", "")
	f.Add("", "a/b/c", "sqs", "Action=SendMessage&QueueUrl=q")
	f.Add("delete", "us-east-1", "sqs", "key=a&x=1")
	f.Fuzz(func(t *testing.T, rawQuery, keyDateRegion, service, body string) {
		u, err := url.Parse("/000000000000/q?" + rawQuery)
		if err != nil {
			t.Skip("not a valid request target")
		}
		auth := ""
		if service != "" {
			if strings.ContainsAny(keyDateRegion+service, ", \r\n\x00") || strings.Contains(service, "/") {
				t.Skip("not a credential scope")
			}
			auth = "AWS4-HMAC-SHA256 Credential=" + keyDateRegion + "/" + service + "/aws4_request, SignedHeaders=host, Signature=abc"
		}
		s3 := &recorder{name: "s3"}
		sqs := &recorder{name: "sqs"}
		h := edge.New(s3, sqs, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.URL = u
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if s3.calls+sqs.calls != 1 {
			t.Fatalf("s3 %d calls, sqs %d calls", s3.calls, sqs.calls)
		}
		hit := s3
		if sqs.calls == 1 {
			hit = sqs
		}
		if hit.body != body {
			t.Fatalf("body passed on as %q, want %q", hit.body, body)
		}
		if q, err := url.ParseQuery(rawQuery); err == nil && q.Get("Action") != "" && sqs.calls != 1 {
			t.Fatalf("query %q names an Action but went to s3", rawQuery)
		}
		if service == "sqs" && strings.Count(keyDateRegion, "/") >= 2 && sqs.calls != 1 {
			t.Fatalf("credential scope names sqs but went to s3: %q", auth)
		}
	})
}
