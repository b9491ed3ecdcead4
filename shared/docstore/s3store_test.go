package docstore_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/infra/s3server"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
)

func TestS3Store_contract_s3server(t *testing.T) {
	srv, err := s3server.New(s3server.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := aws.Config{
		Region:       "ap-southeast-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(hs.URL),
	}
	client := awsx.S3(cfg)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("motcua-data")}); err != nil {
		t.Fatal(err)
	}
	docstoretest.Run(t, func(t *testing.T) docstore.Store {
		return docstore.NewS3Store(client, nil, "motcua-data")
	})
}
