package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
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

// floorServerEnv names the data folder of the stack TestFloorServer serves
// when BenchmarkFloor runs it as a child process.
const floorServerEnv = "MOTCUA_FLOOR_SERVER_DIR"

// floorProfileEnv, when set for BenchmarkFloor, is a file the stack
// process writes its CPU profile to:
//
//	MOTCUA_FLOOR_SERVER_PROFILE=/tmp/stack.prof go test ./infra/embedded -run '^$' -bench Floor -benchtime 4000x
const floorProfileEnv = "MOTCUA_FLOOR_SERVER_PROFILE"

// TestFloorServer is not a test: BenchmarkFloor re-executes the test
// binary with floorServerEnv set to run the embedded stack (fsync on) in a
// process of its own, so the stack's CPU can be read from /proc apart from
// the SDK clients'. It prints "ENDPOINT <url> <queue url>" and serves until
// its standard input closes. Without floorServerEnv it is skipped.
func TestFloorServer(t *testing.T) {
	dir := os.Getenv(floorServerEnv)
	if dir == "" {
		t.Skip("helper process of BenchmarkFloor")
	}
	ctx := context.Background()
	st, err := embedded.Start(ctx, embedded.Config{
		Addr: "127.0.0.1:0", DataDir: dir,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	queue, ok := st.QueueURL("application-events")
	if !ok {
		t.Fatal("queue application-events not provisioned")
	}
	if path := os.Getenv(floorProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	fmt.Printf("ENDPOINT %s %s\n", st.Endpoint(), queue)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// startFloorServer runs TestFloorServer in a child process and returns the
// stack's endpoint, the queue URL and the child's pid.
func startFloorServer(b *testing.B) (endpoint, queue string, pid int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFloorServer$", "-test.count", "1")
	cmd.Env = append(os.Environ(), floorServerEnv+"="+b.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ENDPOINT" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return f[1], f[2], cmd.Process.Pid
		}
	}
	b.Fatalf("floor server exited before announcing its endpoint: %v", sc.Err())
	return "", "", 0
}

// childCPU is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat (clock ticks of 10 ms).
func childCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("server CPU: %v", err)
	}
	// Fields after the parenthesised command name: state is field 3,
	// utime and stime are fields 14 and 15.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("server CPU: cannot parse %q", s)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkFloor is the submission floor against the embedded stack, fsync
// on, as `make run` serves it: ~50 concurrent clients each doing one
// create-once S3 PUT (If-None-Match: *, 1 KiB) and one SQS SendMessage
// through the edge, with the real AWS SDK. The stack runs in a child
// process (Linux: its CPU is read from /proc), so the metrics separate
// server-cpu-ns/op, the stack's CPU per PUT+send (edge, SigV4 checks, S3
// and SQS servers, bolt commits and their fsyncs, net/http), from
// client-cpu-ns/op, the SDK clients'. On a shared machine CPU per operation
// varies far less than ns/op; compare two builds by alternating them.
//
//	go test ./infra/embedded -run '^$' -bench Floor -benchtime 4000x -count 3
func BenchmarkFloor(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads the stack process's CPU time from /proc")
	}
	ctx := context.Background()
	endpoint, queue, pid := startFloorServer(b)
	cfg := aws.Config{
		Region:       embedded.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(embedded.AccessKeyID, embedded.SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   awsx.HTTPClient(),
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sqsc := sqs.NewFromConfig(cfg)
	body := bytes.Repeat([]byte("x"), 1024)
	event := `{"type":"application.submitted","id":"bench"}`
	var seq atomic.Int64
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	b.SetParallelism((floorClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	clientStart, serverStart := processCPU(), childCPU(b, pid)
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
	b.ReportMetric(float64(childCPU(b, pid)-serverStart)/float64(b.N), "server-cpu-ns/op")
	b.ReportMetric(float64(processCPU()-clientStart)/float64(b.N), "client-cpu-ns/op")
}
