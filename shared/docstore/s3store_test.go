package docstore_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
)

// TestS3Store_contract_embedded runs the contract suite through the real AWS
// SDK against the embedded stack's S3 server, in its motcua-data bucket.
func TestS3Store_contract_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.S3(cfg)
	docstoretest.Run(t, func(t *testing.T) docstore.Store {
		return docstore.NewS3Store(client, nil, "motcua-data")
	})
}

// TestS3Store_contract_without_conditional_delete runs the contract suite
// against the embedded S3 behind a proxy that answers 501 NotImplemented
// to every DELETE carrying If-Match, as LocalStack 4.x does: the store's
// fallback (Head, compare, plain delete) keeps conditional deletes right
// (stale ETag and absent key are ErrPrecondition), and the proxy sees the
// conditional DELETEs it refused.
func TestS3Store_contract_without_conditional_delete(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(stack.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // SigV4 signed the proxy's host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && r.Header.Get("If-Match") != "" {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = io.WriteString(w, `<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg.BaseEndpoint = aws.String(srv.URL)
	client := awsx.S3(cfg)
	docstoretest.Run(t, func(t *testing.T) docstore.Store {
		return docstore.NewS3Store(client, nil, "motcua-data")
	})
	if refused.Load() == 0 {
		t.Fatal("no conditional DELETE reached the proxy: the fallback was not exercised")
	}
}

// TestS3Store_PresignPutSized_signs_length_and_type: the presigned PUT
// carries Content-Length and Content-Type among its signed headers, so S3
// (and the embedded S3 once it checks signatures) refuses any other body
// length or type.
func TestS3Store_PresignPutSized_signs_length_and_type(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-uploads")
	raw, err := s.PresignPutSized(context.Background(), "applications/STP-261203-0001/documents/TK/a.pdf", "application/pdf", 5000, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	signed := strings.Split(u.Query().Get("X-Amz-SignedHeaders"), ";")
	for _, h := range []string{"content-length", "content-type", "host"} {
		if !slices.Contains(signed, h) {
			t.Fatalf("X-Amz-SignedHeaders = %v, want %s among them", signed, h)
		}
	}
	if _, err := s.PresignPutSized(context.Background(), "k", "application/pdf", 0, time.Minute); err == nil {
		t.Fatal("a zero size was signed")
	}
}

// TestS3Store_PresignPutSized_is_enforced_by_the_embedded_S3: the embedded
// S3 checks SigV4 on presigned requests, so the signed length and type hold
// locally as they do on AWS: a 12 MB body against a declared 5 000 bytes,
// or another Content-Type, is refused before anything is stored.
func TestS3Store_PresignPutSized_is_enforced_by_the_embedded_S3(t *testing.T) {
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	cfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-uploads")
	const key = "applications/STP-261203-0001/documents/TK/a.pdf"
	u, err := s.PresignPutSized(ctx, key, "application/pdf", 5000, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body []byte, ctype string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			// A server may close the connection on a refused large body.
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	cases := []struct {
		name  string
		body  []byte
		ctype string
		ok    bool
	}{
		{"oversized", bytes.Repeat([]byte("A"), 12<<20), "application/pdf", false},
		{"undersized", bytes.Repeat([]byte("A"), 4999), "application/pdf", false},
		{"other_type", bytes.Repeat([]byte("A"), 5000), "text/html", false},
		{"as_declared", bytes.Repeat([]byte("A"), 5000), "application/pdf", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := put(c.body, c.ctype)
			if c.ok != (code == http.StatusOK) {
				t.Fatalf("PUT %d bytes of %s: status %d", len(c.body), c.ctype, code)
			}
			e, err := s.Head(ctx, key)
			if c.ok && (err != nil || e.Size != 5000) {
				t.Fatalf("accepted upload not stored: %+v %v", e, err)
			}
			if !c.ok && err == nil {
				t.Fatalf("refused upload stored: %+v", e)
			}
		})
	}
}

// TestS3Store_DeleteMany_maps_answer: per-key errors in a DeleteObjects
// answer are mapped to their keys (NoSuchKey is not a failure), and a
// request failing as a whole fails every key it carried, while the other
// requests of a split list still go. The S3 endpoint here is a scripted
// fake, since a real one cannot be made to refuse single keys on demand.
func TestS3Store_DeleteMany_maps_answer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !r.URL.Query().Has("delete") {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
			return
		}
		var req struct {
			Quiet   bool `xml:"Quiet"`
			Objects []struct {
				Key string `xml:"Key"`
			} `xml:"Object"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil || !req.Quiet || len(req.Objects) > docstore.MaxDeleteMany {
			http.Error(w, fmt.Sprintf("bad body: %v quiet=%v n=%d", err, req.Quiet, len(req.Objects)), http.StatusBadRequest)
			return
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>denied</Message></Error>`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`+
			`<Error><Key>k/refused</Key><Code>InternalError</Code><Message>try again</Message></Error>`+
			`<Error><Key>k/absent</Key><Code>NoSuchKey</Code><Message>gone</Message></Error></DeleteResult>`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
	st := docstore.NewS3Store(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), nil, "b")
	var keys []string
	for i := range docstore.MaxDeleteMany {
		keys = append(keys, fmt.Sprintf("k/first/%04d", i)) // the first request, refused whole
	}
	keys = append(keys, "k/refused", "k/absent", "k/ok", "k/ok") // the second; a repeat sent once
	failed, err := st.DeleteMany(context.Background(), keys)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want the refused request's AccessDenied", err)
	}
	want := append(slices.Clone(keys[:docstore.MaxDeleteMany]), "k/refused")
	if got := slices.Sorted(maps.Keys(failed)); !slices.Equal(got, want) {
		t.Fatalf("failed keys = %d %v…, want the first request's %d keys and k/refused", len(got), got[max(0, len(got)-3):], docstore.MaxDeleteMany)
	}
	if e := failed["k/refused"]; e == nil || !strings.Contains(e.Error(), "InternalError") {
		t.Errorf("k/refused: %v", e)
	}
	if e := failed["k/first/0000"]; e == nil || !strings.Contains(e.Error(), "AccessDenied") {
		t.Errorf("k/first/0000: %v", e)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d DeleteObjects requests, want 2", n)
	}
}
