// Package edge is the single HTTP entry point of the embedded local stack,
// the way LocalStack's edge port (:4566) fronts every service: it decides
// per request whether it is an SQS or an S3 call and hands it on.
//
// A request is SQS when any of these holds, else it is S3:
//   - X-Amz-Target starts with "AmazonSQS." (the JSON protocol of current SDKs);
//   - the SigV4 credential scope names service "sqs", in the Authorization
//     header or in a presigned X-Amz-Credential query parameter;
//   - it is a query-protocol call: "Action=" in the URL query or in a
//     form-encoded POST body (older SDKs, boto3 before 2024, the AWS CLI v1).
//
// It also answers GET /_localstack/health (LocalStack's health document) and
// GET /healthz.
package edge

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxFormPeek is how much of a form-encoded body the router reads to look
// for Action=; SQS's own request limit (1 MiB message, base64 and form
// encoded) stays below it. Bodies are always passed on whole.
const maxFormPeek = 4 << 20

// HealthPath is LocalStack's health endpoint.
const HealthPath = "/_localstack/health"

// New returns the edge handler routing to s3 and sqs. logger may be nil.
func New(s3, sqs http.Handler, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return &router{s3: s3, sqs: sqs, logger: logger}
}

type router struct {
	s3, sqs http.Handler
	logger  *slog.Logger
}

// healthDoc is the body of GET /_localstack/health.
type healthDoc struct {
	Services map[string]string `json:"services"`
	Edition  string            `json:"edition"`
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		switch {
		case r.URL.Path == HealthPath || r.URL.Path == HealthPath+"/":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(healthDoc{
				Services: map[string]string{"s3": "running", "sqs": "running"},
				Edition:  "motcua-embedded",
			})
			return
		case r.URL.Path == "/healthz" && r.URL.RawQuery == "":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "ok\n")
			return
		}
	}
	if isSQS(r) {
		rt.logger.Debug("edge route", "service", "sqs", "method", r.Method, "path", r.URL.Path)
		rt.sqs.ServeHTTP(w, r)
		return
	}
	rt.logger.Debug("edge route", "service", "s3", "method", r.Method, "path", r.URL.Path)
	rt.s3.ServeHTTP(w, r)
}

// isSQS classifies r. It may replace r.Body with an equivalent reader.
func isSQS(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		return true
	}
	if credentialService(r.Header.Get("Authorization")) == "sqs" {
		return true
	}
	// Parse the query only when it can hold either parameter (S3 SDK
	// requests carry one, e.g. "x-id=PutObject"); '%' may hide a name.
	if raw := r.URL.RawQuery; strings.Contains(raw, "Action") || strings.Contains(raw, "Credential") || strings.Contains(raw, "%") {
		q := r.URL.Query()
		if scopeService(q.Get("X-Amz-Credential")) == "sqs" {
			return true
		}
		if q.Get("Action") != "" {
			return true
		}
	}
	if r.Method == http.MethodPost && r.Body != nil && isForm(r.Header.Get("Content-Type")) {
		return formHasAction(r)
	}
	return false
}

// credentialService returns the service of a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request,
// SignedHeaders=..., Signature=..."), or "".
func credentialService(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	return scopeService(strings.TrimSpace(cred))
}

// scopeService returns the service part of "AKID/date/region/service/aws4_request".
func scopeService(cred string) string {
	rest, ok := strings.CutSuffix(cred, "/aws4_request")
	if !ok || strings.Count(rest, "/") < 3 {
		return ""
	}
	return rest[strings.LastIndexByte(rest, '/')+1:]
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// formHasAction reads up to maxFormPeek bytes of the body, restores it for
// the next handler, and reports whether the form has an Action field.
func formHasAction(r *http.Request) bool {
	peek, err := io.ReadAll(io.LimitReader(r.Body, maxFormPeek))
	r.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(peek), r.Body), Closer: r.Body}
	if err != nil {
		return false
	}
	// ParseQuery keeps every field it could parse even when it reports an
	// error (e.g. a body truncated at maxFormPeek), which is what we want.
	vals, _ := url.ParseQuery(string(peek))
	return vals.Get("Action") != ""
}

type readCloser struct {
	io.Reader
	io.Closer
}
