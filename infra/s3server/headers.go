package s3server

import (
	"net/http"
	"strings"
)

// objectResponseHeaders are the x-amz-* response headers S3 sends on
// GET/HEAD Object besides user metadata and checksums; gofakes3 echoes
// every stored X-Amz-* request header, and the rest are dropped.
var objectResponseHeaders = map[string]bool{
	"X-Amz-Version-Id": true, "X-Amz-Delete-Marker": true, "X-Amz-Request-Id": true, "X-Amz-Id-2": true,
	"X-Amz-Server-Side-Encryption": true, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": true,
	"X-Amz-Storage-Class": true, "X-Amz-Website-Redirect-Location": true, "X-Amz-Tagging-Count": true,
	"X-Amz-Expiration": true, "X-Amz-Restore": true, "X-Amz-Mp-Parts-Count": true,
	"X-Amz-Replication-Status": true, "X-Amz-Object-Lock-Mode": true,
	"X-Amz-Object-Lock-Retain-Until-Date": true, "X-Amz-Object-Lock-Legal-Hold": true,
}

// objectHeaderWriter rewrites a GET/HEAD Object response's headers as S3
// sends them, just before they are written:
//   - user metadata keys in lower case (x-amz-meta-doc, as S3 stores them;
//     Go would send X-Amz-Meta-Doc, which boto3 reads as key "Doc");
//   - flexible checksums (x-amz-checksum-*) only when the request asked for
//     them with x-amz-checksum-mode: ENABLED (header, or query parameter in
//     a presigned URL), and never on a partial (206)
//     response: a whole-object checksum over a range makes boto3 raise
//     FlexibleChecksumError;
//   - no stored request headers (x-amz-date, x-amz-content-sha256 …).
type objectHeaderWriter struct {
	http.ResponseWriter
	checksums bool
	done      bool
}

func newObjectHeaderWriter(w http.ResponseWriter, r *http.Request) *objectHeaderWriter {
	return &objectHeaderWriter{
		ResponseWriter: w,
		checksums: (strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") ||
			strings.EqualFold(queryGetFold(r, "x-amz-checksum-mode"), "ENABLED")) && // hoisted by presigners
			r.Header.Get("Range") == "" && query(r).Get("partNumber") == "",
	}
}

// WriteHeader fixes the headers and writes them.
func (o *objectHeaderWriter) WriteHeader(code int) {
	if !o.done {
		o.done = true
		o.fix(code)
	}
	o.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes (and the headers first, if not yet written).
func (o *objectHeaderWriter) Write(b []byte) (int, error) {
	if !o.done {
		o.WriteHeader(http.StatusOK)
	}
	return o.ResponseWriter.Write(b)
}

// finish fixes the headers of a response whose handler wrote neither a
// status nor a body (a HEAD answered 200): net/http sends them after the
// handler returns.
func (o *objectHeaderWriter) finish() {
	if !o.done {
		o.done = true
		o.fix(http.StatusOK)
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (o *objectHeaderWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

func (o *objectHeaderWriter) fix(code int) {
	h := o.ResponseWriter.Header()
	for k, vs := range h {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		switch {
		case strings.HasPrefix(ck, "X-Amz-Meta-"):
			if lk := strings.ToLower(k); lk != k {
				delete(h, k)
				h[lk] = vs
			}
		case strings.HasPrefix(ck, "X-Amz-Checksum-"):
			if !o.checksums || code == http.StatusPartialContent {
				delete(h, k)
			}
		case !objectResponseHeaders[ck]:
			delete(h, k)
		}
	}
}

// queryGetFold returns the first value of the query parameter named name in
// any letter case (presigners hoist X-Amz-* headers with varying case).
func queryGetFold(r *http.Request, name string) string {
	for k, vs := range query(r) {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
