package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/infra/embedded"
)

// floorClients is the number of concurrent clients of BenchmarkFloor, as in
// the submission benchmark (motcua-bench -n 50).
const floorClients = 50

// processCPU is the CPU time (user + system) this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFloor is the submission floor against the embedded stack, fsync
// on, as `make run` serves it: ~50 concurrent clients each doing one
// create-once S3 PUT (If-None-Match: *, 1 KiB) and one SQS SendMessage
// through the edge, with the real AWS SDK. cpu-ns/op is the CPU the whole
// process (stack and SDK clients) spends per PUT+send: on a shared machine
// it varies far less than ns/op, and the server's share is what changes
// between two builds of the stack.
//
//	go test ./infra/embedded -run '^$' -bench Floor -benchtime 4000x -count 3
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	st, err := embedded.Start(ctx, embedded.Config{
		Addr: "127.0.0.1:0", DataDir: b.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	s3c, sqsc, err := st.Clients(ctx)
	if err != nil {
		b.Fatal(err)
	}
	queue, ok := st.QueueURL("application-events")
	if !ok {
		b.Fatal("queue application-events not provisioned")
	}
	body := bytes.Repeat([]byte("x"), 1024)
	event := `{"type":"application.submitted","id":"bench"}`
	var seq atomic.Int64
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	b.SetParallelism((floorClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	start := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench/%s/%09d.json", run, seq.Add(1))
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("motcua-data"), Key: aws.String(key),
				Body: bytes.NewReader(body), IfNoneMatch: aws.String("*"),
			}); err != nil {
				b.Error(err)
				return
			}
			if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(event)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}
