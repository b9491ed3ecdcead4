package awsx

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// isolate points the SDK at an empty shared config so the test machine's
// ~/.aws never leaks in.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", PathStyleKey} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	reset()
	t.Cleanup(reset)
}

func reset() {
	mu.Lock()
	cached = nil
	mu.Unlock()
}

func TestLoad_retries_after_failure_then_caches(t *testing.T) {
	isolate(t)
	// Empty AWS_REGION is "unset" for the SDK.
	if _, err := Load(context.Background()); !errors.Is(err, ErrNoRegion) {
		t.Fatalf("Load without region: %v, want ErrNoRegion", err)
	}
	t.Setenv("AWS_REGION", "ap-southeast-1")
	cfg, err := Load(context.Background())
	if err != nil || cfg.Region != "ap-southeast-1" {
		t.Fatalf("Load after fixing region = %q, %v", cfg.Region, err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err = Load(context.Background())
	if err != nil || cfg.Region != "ap-southeast-1" {
		t.Fatalf("second Load = %q, %v; want the cached config", cfg.Region, err)
	}
}

func TestS3_path_style(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		base     string
		wantPath bool
	}{
		{name: "aws_default_virtual_hosted", wantPath: false},
		{name: "forced_by_motcua_var", env: map[string]string{PathStyleKey: "true"}, wantPath: true},
		{name: "global_endpoint_url", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, wantPath: true},
		{name: "s3_endpoint_url", env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4566"}, wantPath: true},
		{name: "sqs_endpoint_only_keeps_virtual_hosted", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566"}, wantPath: false},
		{name: "base_endpoint_in_config", base: "http://127.0.0.1:9000", wantPath: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", "ap-southeast-1")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.base != "" {
				cfg.BaseEndpoint = aws.String(tt.base)
			}
			if got := S3(cfg).Options().UsePathStyle; got != tt.wantPath {
				t.Fatalf("UsePathStyle = %v, want %v", got, tt.wantPath)
			}
		})
	}
}

func TestNewS3_explicit(t *testing.T) {
	cfg := aws.Config{Region: "ap-southeast-1"}
	for _, want := range []bool{true, false} {
		if got := NewS3(cfg, want).Options().UsePathStyle; got != want {
			t.Fatalf("NewS3(%v).UsePathStyle = %v", want, got)
		}
	}
	var _ *s3.Client = NewS3(cfg, true)
	if SQS(cfg) == nil {
		t.Fatal("SQS returned nil")
	}
}

func TestHTTPClient_keeps_enough_idle_connections(t *testing.T) {
	tr := HTTPClient().GetTransport()
	if tr.MaxIdleConnsPerHost != MaxConnsPerHost || tr.MaxIdleConns < MaxConnsPerHost {
		t.Fatalf("idle per host %d, total %d", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if tr.TLSHandshakeTimeout == 0 || tr.Proxy == nil {
		t.Fatal("the SDK's standard transport settings were lost")
	}
}

func TestClients_have_motcua_options(t *testing.T) {
	tests := []struct {
		name         string
		req          aws.RequestChecksumCalculation
		resp         aws.ResponseChecksumValidation
		wantReq      aws.RequestChecksumCalculation
		wantResponse aws.ResponseChecksumValidation
	}{
		{name: "unset_means_the_sdk_default", wantReq: aws.RequestChecksumCalculationWhenSupported, wantResponse: aws.ResponseChecksumValidationWhenSupported},
		{name: "explicit_setting_is_kept", req: aws.RequestChecksumCalculationWhenRequired, resp: aws.ResponseChecksumValidationWhenRequired,
			wantReq: aws.RequestChecksumCalculationWhenRequired, wantResponse: aws.ResponseChecksumValidationWhenRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := aws.Config{Region: "ap-southeast-1", BaseEndpoint: aws.String("http://127.0.0.1:4566"),
				RequestChecksumCalculation: tt.req, ResponseChecksumValidation: tt.resp}
			for name, c := range map[string]*s3.Client{"S3": S3(cfg), "S3WithPathStyle": S3WithPathStyle(cfg, true), "NewS3": NewS3(cfg, true)} {
				o := c.Options()
				if _, ok := o.EndpointResolverV2.(*s3Endpoints); !ok {
					t.Errorf("%s: endpoint resolver %T, want the cache", name, o.EndpointResolverV2)
				}
				if o.RequestChecksumCalculation != tt.wantReq || o.ResponseChecksumValidation != tt.wantResponse {
					t.Errorf("%s: checksums %v/%v, want %v/%v", name, o.RequestChecksumCalculation, o.ResponseChecksumValidation, tt.wantReq, tt.wantResponse)
				}
			}
			if r := SQS(cfg).Options().EndpointResolverV2; reflect.TypeOf(r) != reflect.TypeFor[*sqsEndpoints]() {
				t.Errorf("SQS endpoint resolver %T, want the cache", r)
			}
		})
	}
}
