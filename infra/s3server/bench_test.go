package s3server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"motcua/infra/s3server"
	"motcua/shared/awsx"
)

// benchClients is the number of concurrent clients BenchmarkPutParallel
// aims for (the application benchmark runs 50).
const benchClients = 50

// benchServer starts a fsyncing server for a benchmark and returns an SDK
// client whose transport keeps a connection per concurrent client.
func benchServer(b *testing.B) *s3.Client {
	return benchServerWith(b, testCredentials, false)
}

// benchServerWith is benchServer with the given credentials (nil: no
// signature checks), fsyncing unless noSync.
func benchServerWith(b *testing.B, creds map[string]string, noSync bool) *s3.Client {
	b.Helper()
	srv, err := s3server.New(s3server.Options{DataDir: b.TempDir(), Logger: quietLogger(), Credentials: creds, NoSync: noSync})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * benchClients
	tr.MaxIdleConnsPerHost = 2 * benchClients
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
		if err := srv.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	c := s3.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(hs.URL),
		HTTPClient:   &http.Client{Transport: tr},
		APIOptions:   []func(*middleware.Stack) error{awsx.SafeRequestBody},
	}, func(o *s3.Options) { o.UsePathStyle = true })
	createBucket(b, c)
	return c
}

func putBytes(ctx context.Context, c *s3.Client, key string, body []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	})
	return err
}

// BenchmarkPut is one client PUTting 1 KiB objects, fsync per write.
func BenchmarkPut(b *testing.B) {
	c := benchServer(b)
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 1024)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := putBytes(ctx, c, fmt.Sprintf("bench/%09d", i), body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet is one client GETting a 1 KiB object.
func BenchmarkGet(b *testing.B) {
	c := benchServer(b)
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 1024)
	if err := putBytes(ctx, c, "bench/get", body); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("bench/get")})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, out.Body)
		_ = out.Body.Close()
	}
}

// BenchmarkPutParallel is ~50 concurrent clients PUTting distinct 1 KiB
// objects, fsync per commit: the load group commit is for.
func BenchmarkPutParallel(b *testing.B) {
	c := benchServer(b)
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 1024)
	var seq atomic.Int64
	b.SetBytes(int64(len(body)))
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := putBytes(ctx, c, fmt.Sprintf("bench/%09d", seq.Add(1)), body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutGetSigV4 measures what verifying signatures costs: one client
// PUTs then GETs a 1 KiB object, with the signature checks off (baseline)
// and on, in the same run. Writes are not fsynced here: an fsync costs
// milliseconds and varies far more than the checks cost, hiding them.
//
//	go test -run '^$' -bench PutGetSigV4 -count 5 ./infra/s3server/
func BenchmarkPutGetSigV4(b *testing.B) {
	for _, bc := range []struct {
		name  string
		creds map[string]string
	}{{"verify=off", nil}, {"verify=on", testCredentials}} {
		b.Run(bc.name, func(b *testing.B) {
			c := benchServerWith(b, bc.creds, true)
			ctx := context.Background()
			body := bytes.Repeat([]byte("x"), 1024)
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key := fmt.Sprintf("bench/%09d", i)
				if err := putBytes(ctx, c, key, body); err != nil {
					b.Fatal(err)
				}
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, out.Body)
				_ = out.Body.Close()
			}
		})
	}
}
