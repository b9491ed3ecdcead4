package docstore_test

import (
	"context"
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
