// Package awsx creates motcua's AWS configuration and clients once per
// process, from the SDK's standard settings only: AWS_REGION, the credentials
// chain, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS to
// point at LocalStack or the embedded stack. There is no "if local" branch:
// the endpoint variables are the switch, as the SDK defines them.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
)

// PathStyleKey forces S3 path-style addressing when "true".
const PathStyleKey = "MOTCUA_S3_PATH_STYLE"

// MaxConnsPerHost is how many idle keep-alive connections the clients keep
// per endpoint. The SDK's default (10) is below a function's concurrency:
// with 50 requests in flight, 40 connections per burst were closed after
// use and redialled, adding a TCP handshake to each write and splitting
// what the storage server could commit as one group.
const MaxConnsPerHost = 256

// HTTPClient returns the SDK's standard HTTP client (timeouts, TLS,
// proxies as the SDK sets them) with MaxConnsPerHost idle connections per
// endpoint.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * MaxConnsPerHost
		t.MaxIdleConnsPerHost = MaxConnsPerHost
	})
}

// ErrNoRegion means no region is configured (AWS_REGION, AWS_DEFAULT_REGION
// or the shared config profile).
var ErrNoRegion = errors.New("awsx: no AWS region configured (set AWS_REGION)")

var (
	mu     sync.Mutex
	cached *aws.Config
)

// Load returns the process-wide AWS configuration, loading it on the first
// successful call with config.LoadDefaultConfig. A failed load is not cached:
// the next call tries again. Safe for concurrent use.
func Load(ctx context.Context) (aws.Config, error) {
	mu.Lock()
	defer mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithHTTPClient(HTTPClient()),
		awsconfig.WithAPIOptions([]func(*middleware.Stack) error{SafeRequestBody}))
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsx: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	cached = &cfg
	return cfg, nil
}

// S3 returns an S3 client for cfg. It uses path-style addressing when
// MOTCUA_S3_PATH_STYLE is true or a custom endpoint is configured
// (cfg.BaseEndpoint, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3), which is what
// S3-compatible servers such as LocalStack and the embedded stack need.
func S3(cfg aws.Config) *s3.Client {
	force, _ := strconv.ParseBool(os.Getenv(PathStyleKey))
	return S3WithPathStyle(cfg, force)
}

// S3WithPathStyle is S3 with the MOTCUA_S3_PATH_STYLE setting passed in
// (for callers reading configuration from an injected source): path style
// when force is true or a custom endpoint is configured.
func S3WithPathStyle(cfg aws.Config, force bool) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// The SDK has resolved the standard endpoint settings into
		// o.BaseEndpoint by the time options functions run.
		o.UsePathStyle = force || o.BaseEndpoint != nil
		S3Options(o)
	})
}

// NewS3 returns an S3 client for cfg with path-style addressing as given,
// ignoring the environment; for tests.
func NewS3(cfg aws.Config, pathStyle bool) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		S3Options(o)
	})
}

// SQS returns an SQS client for cfg (the endpoint follows AWS_ENDPOINT_URL /
// AWS_ENDPOINT_URL_SQS or cfg.BaseEndpoint), with SQSOptions.
func SQS(cfg aws.Config) *sqs.Client {
	return sqs.NewFromConfig(cfg, SQSOptions)
}

// S3Options applies what every motcua S3 client has, for callers that build
// one with s3.NewFromConfig themselves:
//
//   - endpoint resolution cached per parameter set (CachingS3Endpoints): the
//     SDK otherwise runs its rules engine on every request;
//   - flexible checksums on whenever the operation supports them (the SDK's
//     own default, set here when the configuration leaves it unset, as an
//     aws.Config literal does). What protects an object's bytes, by
//     endpoint:
//     HTTPS (AWS S3, any TLS endpoint): the SDK signs the payload as
//     STREAMING-UNSIGNED-PAYLOAD-TRAILER and sends a CRC32 of the body in an
//     aws-chunked trailer; S3 verifies it before storing, stores it, and
//     returns it on GET (x-amz-checksum-mode: ENABLED), where the SDK checks
//     the bytes it reads against it. Without the checksum a PUT over HTTPS
//     would be UNSIGNED-PAYLOAD: only TLS, no end-to-end check at all.
//     Plain HTTP (the embedded stack, LocalStack): the SigV4 signature
//     covers x-amz-content-sha256, the SHA-256 of the body, and the CRC32
//     travels in a signed header; infra/s3server verifies both against the
//     body before storing, stores the CRC32 and returns it on GET, where the
//     SDK checks it. The CRC32 adds nothing to the PUT there (SHA-256 is
//     stronger), but it is the only end-to-end check of the bytes read
//     back (bbolt keeps no checksum of values), while dropping it saves 16
//     of a PUT's ~480 allocations and no CPU the benchmarks can resolve
//     (BenchmarkClient; < 1 % in BenchmarkSubmitHTTP), so it stays.
//
// Operations whose checksum S3 requires (DeleteObjects ...) always get one.
//
// It also adds SafeRequestBody (a connection closed under a 200 otherwise).
func S3Options(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, SafeRequestBody)
	o.EndpointResolverV2 = CachingS3Endpoints(o.EndpointResolverV2)
	if o.RequestChecksumCalculation == 0 {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	}
	if o.ResponseChecksumValidation == 0 {
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
}

// SQSOptions applies what every motcua SQS client has: endpoint resolution
// cached per parameter set (CachingSQSEndpoints) and SafeRequestBody (a
// connection closed under a 200 otherwise). The SDK's MD5 check of message
// bodies (sent and received) stays on.
func SQSOptions(o *sqs.Options) {
	o.APIOptions = append(o.APIOptions, SafeRequestBody)
	o.EndpointResolverV2 = CachingSQSEndpoints(o.EndpointResolverV2)
}
