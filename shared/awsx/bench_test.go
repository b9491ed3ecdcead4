package awsx

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// minimalAWS answers PutObject, GetObject and SendMessage the way S3 and
// SQS do (ETag, the checksums S3 echoes, SQS's MD5 of the body) and nothing
// more, so that a benchmark against it measures the client's CPU per
// request.
func minimalAWS(object []byte) http.Handler {
	sum := crc32.ChecksumIEEE(object)
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], sum)
	objectCRC := base64.StdEncoding.EncodeToString(crc[:])
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		switch {
		case r.Header.Get("X-Amz-Target") == "AmazonSQS.SendMessage":
			var in struct{ MessageBody string }
			_ = json.Unmarshal(body, &in)
			m := md5.Sum([]byte(in.MessageBody))
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = io.WriteString(w, `{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"`+hex.EncodeToString(m[:])+`"}`)
		case r.Method == http.MethodPut:
			for k, v := range r.Header {
				if strings.HasPrefix(k, "X-Amz-Checksum-") {
					w.Header()[k] = v
				}
			}
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		case r.Method == http.MethodGet:
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
			w.Header().Set("Content-Type", "application/json")
			if strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
				w.Header().Set("X-Amz-Checksum-Crc32", objectCRC)
			}
			_, _ = w.Write(object)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	})
}

// inMemory is an SDK HTTP client that hands each request to a handler in
// the same goroutine: no sockets, no server goroutines, so the CPU measured
// is the SDK's (and the trivial handler's).
type inMemory struct{ h http.Handler }

// Do implements aws.HTTPClient.
func (c inMemory) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return rec.Result(), nil
}

// reportCPU reports the process's CPU time (user + system, all goroutines:
// client, server and GC) per operation as "cpu-ns/op": on a shared machine
// it varies far less than the wall time. Call as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchConfig(endpoint string, client aws.HTTPClient) aws.Config {
	return aws.Config{
		Region:       "ap-southeast-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   client,
		// What config.LoadDefaultConfig (awsx.Load) sets when nothing in
		// the environment says otherwise.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
}

// BenchmarkClient measures the client side of the requests a submission
// makes (PutObject of a ~1.5 KB document, GetObject, SendMessage) against a
// handler that does nothing, over an in-memory transport, in the same run:
// the SDK's defaults as config.LoadDefaultConfig sets them ("sdk"), the
// clients awsx builds ("awsx"), and one knob at a time for weighing it
// ("endpoints": the cache alone; "no_request_checksum", "no_checksums" and
// "no_user_agent": what awsx does not do, and why is in the README):
//
//	go test ./shared/awsx -run '^$' -bench Client -benchmem -count 5
func BenchmarkClient(b *testing.B) {
	doc := bytes.Repeat([]byte(`{"k":"giay to 1"}`), 96)
	const endpoint = "http://127.0.0.1:4566"
	cfg := benchConfig(endpoint, inMemory{minimalAWS(doc)})
	clients := []struct {
		name string
		s3   *s3.Client
		sqs  *sqs.Client
	}{
		{"sdk", s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), sqs.NewFromConfig(cfg)},
		{"endpoints", s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.EndpointResolverV2 = CachingS3Endpoints(o.EndpointResolverV2)
		}), sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.EndpointResolverV2 = CachingSQSEndpoints(o.EndpointResolverV2) })},
		{"no_request_checksum", s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}), sqs.NewFromConfig(cfg)},
		{"no_checksums", s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}), sqs.NewFromConfig(cfg)},
		{"no_user_agent", s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { _, err := s.Build.Remove("UserAgent"); return err })
		}), sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { _, err := s.Build.Remove("UserAgent"); return err })
		})},
		{"awsx", NewS3(cfg, true), SQS(cfg)},
	}
	ctx := context.Background()
	for _, c := range clients {
		b.Run("PutObject/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("motcua-data"),
					Key: aws.String("applications/2026/A-1.json"), Body: bytes.NewReader(doc),
					ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*")}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range clients {
		b.Run("GetObject/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("motcua-data"), Key: aws.String("applications/2026/A-1.json")})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, out.Body); err != nil {
					b.Fatal(err)
				}
				_ = out.Body.Close()
			}
		})
	}
	for _, c := range clients {
		b.Run("SendMessage/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := c.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(endpoint + "/000000000000/application-events"),
					MessageBody: aws.String(string(doc[:900]))}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEndpoints measures one endpoint resolution, the SDK's rules
// engine ("sdk") against awsx's cache ("cached", a hit: a map lookup and a
// copy of the answer):
//
//	go test ./shared/awsx -run '^$' -bench Endpoints -benchmem
func BenchmarkEndpoints(b *testing.B) {
	ctx := context.Background()
	s3p := s3.EndpointParameters{Bucket: aws.String("motcua-data"), Region: aws.String("ap-southeast-1"),
		Endpoint: aws.String("http://127.0.0.1:4566"), ForcePathStyle: aws.Bool(true), UseFIPS: aws.Bool(false),
		UseDualStack: aws.Bool(false), Accelerate: aws.Bool(false), Key: aws.String("applications/2026/A-1.json")}
	awsp := s3.EndpointParameters{Bucket: aws.String("motcua-data"), Region: aws.String("ap-southeast-1"),
		ForcePathStyle: aws.Bool(false), UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false), Accelerate: aws.Bool(false)}
	sqsp := sqs.EndpointParameters{Region: aws.String("ap-southeast-1"), Endpoint: aws.String("http://127.0.0.1:4566"),
		UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false)}
	for _, r := range []struct {
		name string
		s3   s3.EndpointResolverV2
		sqs  sqs.EndpointResolverV2
	}{
		{"sdk", s3.NewDefaultEndpointResolverV2(), sqs.NewDefaultEndpointResolverV2()},
		{"cached", CachingS3Endpoints(nil), CachingSQSEndpoints(nil)},
	} {
		for _, p := range []struct {
			name string
			p    s3.EndpointParameters
		}{{"S3_custom_endpoint_path_style", s3p}, {"S3_aws_virtual_host", awsp}} {
			b.Run(p.name+"/"+r.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.s3.ResolveEndpoint(ctx, p.p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("SQS_custom_endpoint/"+r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.sqs.ResolveEndpoint(ctx, sqsp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
