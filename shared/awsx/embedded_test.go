package awsx_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
)

// tamper is an SDK HTTP client that sends requests through the stack's
// real client and can flip one byte of a request body after the SDK has
// signed it, or of a response body before the SDK reads it: what a faulty
// proxy, NIC or disk would do.
type tamper struct {
	next               aws.HTTPClient
	request, response  atomic.Bool
	requests, received atomic.Int64
}

func (c *tamper) Do(r *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	if c.request.Load() && r.Body != nil && r.ContentLength > 0 {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b[len(b)/2] ^= 0x20
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := c.next.Do(r)
	if err != nil || !c.response.Load() || r.Method != http.MethodGet {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		b[len(b)/2] ^= 0x20
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func stackConfig(t *testing.T) (aws.Config, *tamper) {
	t.Helper()
	st := embedded.StartForTest(t)
	cfg, err := st.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tp := &tamper{next: cfg.HTTPClient}
	cfg.HTTPClient = tp
	return cfg, tp
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestClients_against_embedded_stack: awsx's clients (cached endpoints,
// checksums) do what motcua's stores and queues do, over HTTP with the real
// SDK.
func TestClients_against_embedded_stack(t *testing.T) {
	ctx := context.Background()
	cfg, tp := stackConfig(t)
	s3c, sqsc := awsx.NewS3(cfg, true), awsx.SQS(cfg)
	doc := []byte(`{"code":"STP-261203-0001","applicant":"Nguyễn Thị Hồng Nhung"}`)
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/a.json"),
		Body: bytes.NewReader(doc), ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatal(err)
	}
	if put.ChecksumCRC32 == nil {
		t.Fatal("the PUT carried no CRC32 (the server echoes what it verified)")
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/a.json"),
		Body: bytes.NewReader(doc), IfNoneMatch: aws.String("*")}); apiCode(err) != "PreconditionFailed" {
		t.Fatalf("second create-once PUT: %v, want PreconditionFailed", err)
	}
	get, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/a.json")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	_ = get.Body.Close()
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if get.ChecksumCRC32 == nil || *get.ChecksumCRC32 != *put.ChecksumCRC32 {
		t.Fatalf("GET checksum %v, want the stored %s (validated by the SDK as it reads)", get.ChecksumCRC32, *put.ChecksumCRC32)
	}
	// DeleteObjects is one of the operations S3 requires a checksum for.
	del, err := s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("motcua-data"),
		Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("awsx/a.json")}}}})
	if err != nil || len(del.Errors) != 0 || len(del.Deleted) != 1 {
		t.Fatalf("DeleteObjects = %+v, %v", del, err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("awsx-test")})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(doc))}); err != nil {
			t.Fatal(err)
		}
	}
	recv, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(recv.Messages) == 0 || *recv.Messages[0].Body != string(doc) {
		t.Fatalf("ReceiveMessage = %+v, %v", recv, err)
	}
	if tp.requests.Load() < 9 {
		t.Fatalf("%d requests went through the client", tp.requests.Load())
	}
}

// TestIntegrity_over_plain_http: what protects an object's bytes on a
// plain-HTTP endpoint with awsx's clients. A body changed after signing is
// refused (the signed SHA-256 and the CRC32 no longer match) and nothing is
// stored; a response body changed on the way back fails the read (the
// stored CRC32, checked by the SDK).
func TestIntegrity_over_plain_http(t *testing.T) {
	ctx := context.Background()
	cfg, tp := stackConfig(t)
	s3c := awsx.NewS3(cfg, true)
	doc := []byte(`{"amount":150000,"payer":"Nguyễn Thị Hồng Nhung"}`)

	tp.request.Store(true)
	_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/t.json"), Body: bytes.NewReader(doc)})
	if code := apiCode(err); code != "XAmzContentSHA256Mismatch" && code != "BadDigest" {
		t.Fatalf("tampered PUT: %v, want XAmzContentSHA256Mismatch or BadDigest", err)
	}
	tp.request.Store(false)
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/t.json")}); err == nil {
		t.Fatal("the tampered PUT was stored")
	}

	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/t.json"), Body: bytes.NewReader(doc)}); err != nil {
		t.Fatal(err)
	}
	tp.response.Store(true)
	get, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("awsx/t.json")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(get.Body)
	_ = get.Body.Close()
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Fatalf("reading a tampered body: %v, want a checksum mismatch", err)
	}
}
