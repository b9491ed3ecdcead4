//go:build localstack

package docstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
)

// TestS3Store_contract_localstack runs the contract suite against the S3 at
// AWS_ENDPOINT_URL (LocalStack on :4566, moto, ...) in a bucket of its own:
//
//	AWS_ENDPOINT_URL=http://127.0.0.1:4566 go test -tags localstack ./shared/docstore/
func TestS3Store_contract_localstack(t *testing.T) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" && os.Getenv("AWS_ENDPOINT_URL_S3") == "" {
		t.Fatal("the localstack tag needs AWS_ENDPOINT_URL (e.g. http://127.0.0.1:4566)")
	}
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
		if os.Getenv(k) == "" {
			t.Setenv(k, v)
		}
	}
	ctx := context.Background()
	cfg, err := awsx.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.S3(cfg)
	bucket := fmt.Sprintf("motcua-contract-%d", time.Now().UnixNano())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() { emptyAndDelete(t, client, bucket) })
	docstoretest.Run(t, func(t *testing.T) docstore.Store {
		return docstore.NewS3Store(client, nil, bucket)
	})
}

func emptyAndDelete(t *testing.T, client *s3.Client, bucket string) {
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("cleanup list %s: %v", bucket, err)
			return
		}
		for _, o := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				t.Logf("cleanup delete %s: %v", aws.ToString(o.Key), err)
			}
		}
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Logf("cleanup bucket %s: %v", bucket, err)
	}
}
