package sqsserver

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// backlogSize is how many messages BenchmarkBacklogHeap leaves in a queue:
// SQSSERVER_BENCH_BACKLOG or 200 000.
func backlogSize(b *testing.B) int {
	if v := os.Getenv("SQSSERVER_BENCH_BACKLOG"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			b.Fatalf("SQSSERVER_BENCH_BACKLOG=%q: want a number >= 10", v)
		}
		return n
	}
	return 200_000
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// cpuTime is the CPU time (user + system) this process has used: on a
// shared machine it varies far less than wall-clock time per operation.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time (server and SDK client) per
// operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// fill sends n messages of body to url in batches of 10.
func fill(b *testing.B, c *sqs.Client, url string, n int, body string) {
	b.Helper()
	for i := 0; i < n; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < i+10 && j < n; j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", j)), MessageBody: aws.String(body)})
		}
		out, err := c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			b.Fatalf("SendMessageBatch: %v %v", out, err)
		}
	}
}

// BenchmarkBacklogHeap sends a backlog of 1 KiB messages nobody consumes
// (200 000 by default, SQSSERVER_BENCH_BACKLOG to change) and reports the
// heap the server holds for it, after GC: heap-B/msg while serving, and
// restored-heap-B/msg after a restart on the same data (New loads every
// message's index). heap/payload is the heap held per byte of message body
// (1.0 = every body in RAM). Run it with -benchtime=1x:
//
//	go test -run '^$' -bench BacklogHeap -benchtime=1x ./infra/sqsserver/
func BenchmarkBacklogHeap(b *testing.B) {
	n := backlogSize(b)
	body := strings.Repeat("x", 1024)
	for b.Loop() {
		dir := b.TempDir()
		base := heapInUse()
		e := newEnv(b, dir, true)
		url := e.createQueue("backlog", nil)
		fill(b, e.c, url, n, body)
		live := heapInUse()
		if got := e.attrs(url)["ApproximateNumberOfMessages"]; got != strconv.Itoa(n) {
			b.Fatalf("ApproximateNumberOfMessages = %s, want %d", got, n)
		}
		e.stop()
		base2 := heapInUse()
		e = newEnv(b, dir, true)
		restored := heapInUse()
		msgs := e.receive(url, 1, 0, nil)
		if len(msgs) != 1 || aws.ToString(msgs[0].Body) != body {
			b.Fatalf("after restart: %d messages", len(msgs))
		}
		e.stop()
		perMsg := float64(int64(live)-int64(base)) / float64(n)
		b.ReportMetric(perMsg, "heap-B/msg")
		b.ReportMetric(float64(int64(restored)-int64(base2))/float64(n), "restored-heap-B/msg")
		b.ReportMetric(perMsg/float64(len(body)), "heap/payload")
	}
}

// BenchmarkSend1KiB measures one SendMessage of a 1 KiB body through the Go
// SDK over loopback HTTP (NoSync: the server's own cost, not the disk's).
func BenchmarkSend1KiB(b *testing.B) {
	e := newEnv(b, "", true)
	url := e.createQueue("send", nil)
	body := strings.Repeat("s", 1024)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := e.c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			b.Fatalf("send: %v", err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkReceive1KiB measures one ReceiveMessage of 10 messages of 1 KiB
// (VisibilityTimeout 600: every receive changes the state of 10 messages and
// reads their bodies) from a queue prefilled with 10 per iteration, so each
// receive takes fresh messages. Use -benchtime=Nx: the fill is not timed.
func BenchmarkReceive1KiB(b *testing.B) {
	e := newEnv(b, "", true)
	url := e.createQueue("recv", map[string]string{"VisibilityTimeout": "600"})
	body := strings.Repeat("r", 1024)
	fill(b, e.c, url, 10*b.N, body)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		out, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			b.Fatalf("receive %d of %d: %v", i, b.N, err)
		}
		if len(out.Messages) != 10 || aws.ToString(out.Messages[0].Body) != body {
			b.Fatalf("receive: %d messages", len(out.Messages))
		}
	}
	reportCPU(b, start)
}
