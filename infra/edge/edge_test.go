package edge_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"motcua/infra/edge"
)

// recorder is a stub backend that records what reached it.
type recorder struct {
	name  string
	calls int
	body  string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.calls++
	b, _ := io.ReadAll(r.Body)
	rc.body = string(b)
	_, _ = io.WriteString(w, rc.name)
}

func TestRouting(t *testing.T) {
	const sqsAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	const s3Auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	tests := []struct {
		name   string
		method string
		target string
		header map[string]string
		body   string
		want   string
	}{
		{name: "sqs_json_protocol_x_amz_target", method: "POST", target: "/",
			header: map[string]string{"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0", "Authorization": sqsAuth},
			body:   `{"QueueUrl":"http://127.0.0.1:4566/000000000000/q","MessageBody":"hi"}`, want: "sqs"},
		{name: "boto3_style_query_protocol_form_post", method: "POST", target: "/",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			body:   "Action=ListQueues&Version=2012-11-05", want: "sqs"},
		{name: "query_protocol_action_in_url", method: "GET", target: "/000000000000/q?Action=ReceiveMessage&Version=2012-11-05", want: "sqs"},
		{name: "sigv4_scope_names_sqs_without_target", method: "POST", target: "/000000000000/q",
			header: map[string]string{"Authorization": sqsAuth, "Content-Type": "application/json"}, body: "{}", want: "sqs"},
		{name: "s3_list_buckets", method: "GET", target: "/",
			header: map[string]string{"Authorization": s3Auth}, want: "s3"},
		{name: "s3_put_object_signed", method: "PUT", target: "/motcua-data/apps/1.json",
			header: map[string]string{"Authorization": s3Auth, "Content-Type": "application/json"}, body: `{"a":1}`, want: "s3"},
		{name: "s3_presigned_get_credential_in_query", method: "GET",
			target: "/motcua-uploads/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
			want:   "s3"},
		{name: "sqs_presigned_credential_in_query", method: "GET",
			target: "/000000000000/q?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
			want:   "sqs"},
		{name: "s3_credential_scope_too_short", method: "GET", target: "/motcua-data/k",
			header: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=abc"}, want: "s3"},
		{name: "query_protocol_action_name_percent_encoded", method: "GET", target: "/000000000000/q?%41ction=ReceiveMessage", want: "sqs"},
		{name: "s3_sdk_put_with_x_id_query", method: "PUT", target: "/motcua-data/apps/1.json?x-id=PutObject",
			header: map[string]string{"Authorization": s3Auth}, body: `{"a":1}`, want: "s3"},
		{name: "s3_multi_delete_post_xml", method: "POST", target: "/motcua-data?delete",
			header: map[string]string{"Authorization": s3Auth, "Content-Type": "application/xml"}, body: "<Delete><Object><Key>Action=x</Key></Object></Delete>", want: "s3"},
		{name: "s3_form_post_without_action", method: "POST", target: "/motcua-data",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "key=a&x=1", want: "s3"},
		{name: "s3_bucket_named_like_health_with_query", method: "GET", target: "/healthz?list-type=2", want: "s3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s3 := &recorder{name: "s3"}
			sqs := &recorder{name: "sqs"}
			h := edge.New(s3, sqs, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tc.want {
				t.Fatalf("routed to %q, want %q", got, tc.want)
			}
			hit := map[string]*recorder{"s3": s3, "sqs": sqs}[tc.want]
			if hit.calls != 1 || hit.body != tc.body {
				t.Fatalf("backend got %d calls, body %q; want 1 call with body %q", hit.calls, hit.body, tc.body)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	s3 := &recorder{name: "s3"}
	sqs := &recorder{name: "sqs"}
	h := edge.New(s3, sqs, nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/_localstack/health", nil))
	var doc struct {
		Services map[string]string `json:"services"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("health body %q: %v", rec.Body.String(), err)
	}
	if rec.Code != http.StatusOK || doc.Services["s3"] != "running" || doc.Services["sqs"] != "running" {
		t.Fatalf("health = %d %s", rec.Code, rec.Body.String())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK || s3.calls+sqs.calls != 0 {
		t.Fatalf("healthz = %d, backend calls %d", rec.Code, s3.calls+sqs.calls)
	}
}
