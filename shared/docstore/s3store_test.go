package docstore_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

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
