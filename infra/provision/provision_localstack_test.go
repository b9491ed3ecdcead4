//go:build localstack

package provision_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/infra/provision"
)

// TestApplyAgainstLocalStack runs Apply twice against a running LocalStack
// (MOTCUA_LOCALSTACK_ENDPOINT, default http://localhost:4566):
//
//	go test -tags localstack ./infra/provision -run LocalStack
func TestApplyAgainstLocalStack(t *testing.T) {
	endpoint := os.Getenv("MOTCUA_LOCALSTACK_ENDPOINT")
	if endpoint == "" {
		endpoint = "http://localhost:4566"
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sqsc := sqs.NewFromConfig(cfg)
	res, err := provision.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for run := range 2 {
		if _, err := provision.ApplyWithReport(ctx, s3c, sqsc, res); err != nil {
			t.Fatalf("apply run %d: %v", run, err)
		}
	}
	for _, q := range res.Queues {
		attrs := queueAttrs(t, sqsc, q.Name)
		if attrs["RedrivePolicy"] == "" {
			t.Errorf("%s has no RedrivePolicy", q.Name)
		}
	}
}
