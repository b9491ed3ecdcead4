package sqsserver

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const crashChildEnv = "SQSSERVER_CRASH_CHILD_DIR"

// TestMain turns the test binary into the crash-test child when asked.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// crashChild serves a server on dir and sends messages from several
// goroutines forever, printing "SENT <id>" after each acknowledged send,
// until it is killed.
func crashChild(dir string) int {
	srv, err := New(Options{DataDir: dir, Logger: quietLogger(), Credentials: testCredentials})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child New:", err)
		return 2
	}
	ts := httptest.NewServer(srv)
	c := newClient(ts.URL)
	out, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("crash")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child CreateQueue:", err)
		return 2
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "READY")
	w.Flush()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%d-%d", g, i)
				in := &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(crashBody(key))}
				if i%3 == 0 {
					in.MessageAttributes = map[string]types.MessageAttributeValue{"key": {DataType: aws.String("String"), StringValue: aws.String(key)}}
				}
				res, err := c.SendMessage(bg, in)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child SendMessage:", err)
					return
				}
				mu.Lock()
				fmt.Fprintln(w, "SENT", aws.ToString(res.MessageId), key)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 1
}

// crashBody is the body the crash child sends for key: about 1 KiB, so the
// content bucket sees real pages, not just tiny values.
func crashBody(key string) string {
	return key + ":" + strings.Repeat("nội dung ", 110)
}

func TestRestartKeepsMessagesAndReceiveCounts(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, false)
	dlq := e.createQueue("r-dlq", nil)
	url := e.createQueue("r", map[string]string{
		"VisibilityTimeout": "0",
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + e.attrs(dlq)["QueueArn"] + `","maxReceiveCount":"2"}`,
	})
	keep := e.send(url, "keep")
	inflightURL := e.createQueue("r-inflight", map[string]string{"VisibilityTimeout": "600"})
	e.send(inflightURL, "in flight")
	inflight := e.receive(inflightURL, 1, 0, nil)
	if got := e.receive(url, 1, 0, nil); len(got) != 1 {
		t.Fatalf("first receive got %d", len(got))
	}
	e.stop()

	e2 := newEnv(t, dir, false)
	url2 := e2.ts.URL + "/000000000000/r"
	got := e2.receive(url2, 1, 0, nil)
	if len(got) != 1 || aws.ToString(got[0].MessageId) != aws.ToString(keep.MessageId) {
		t.Fatalf("after restart received %v", got)
	}
	if got[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("ApproximateReceiveCount after restart = %q, want 2", got[0].Attributes["ApproximateReceiveCount"])
	}
	// The third receive redrives: the count survived the restart.
	if got := e2.receive(url2, 1, 0, nil); len(got) != 0 {
		t.Fatalf("message delivered beyond maxReceiveCount")
	}
	if got := e2.receive(e2.ts.URL+"/000000000000/r-dlq", 1, 5, nil); len(got) != 1 {
		t.Fatalf("message not in DLQ after restart")
	}
	// In-flight state and its receipt handle survive too.
	in2 := e2.ts.URL + "/000000000000/r-inflight"
	if a := e2.attrs(in2); a["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("in-flight message visible after restart: %v", a)
	}
	if _, err := e2.c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(in2), ReceiptHandle: inflight[0].ReceiptHandle, VisibilityTimeout: 10}); err != nil {
		t.Fatalf("receipt handle from before restart: %v", err)
	}
	if _, err := e2.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(in2), ReceiptHandle: inflight[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage after restart: %v", err)
	}
	// Deleted queues stay deleted; purges stay purged.
	if _, err := e2.c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: aws.String(in2)}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	e2.stop()
	e3 := newEnv(t, dir, false)
	out, err := e3.c.ListQueues(bg, &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 2 {
		t.Fatalf("queues after second restart = %v, %v", out, err)
	}
}

func TestCrashKeepsEveryAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped in -short mode")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	acked := map[string]string{} // message id -> key
	killed := false
	deadline := time.Now().Add(60 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "SENT "); ok {
			id, key, _ := strings.Cut(rest, " ")
			acked[id] = key
		}
		if !killed && (len(acked) >= 200 || time.Now().After(deadline)) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true // keep reading: lines already written were acknowledged
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before being killed (acked %d)", len(acked))
	}
	if len(acked) == 0 {
		t.Fatalf("child acknowledged no message before it was killed")
	}

	e := newEnv(t, dir, true)
	url := e.ts.URL + "/000000000000/crash"
	found := map[string]types.Message{}
	for {
		out, err := e.c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			found[aws.ToString(m.MessageId)] = m
		}
	}
	missing, wrong := 0, 0
	for id, key := range acked {
		m, ok := found[id]
		if !ok {
			missing++
			continue
		}
		// The body (and attributes) of every acknowledged send survived
		// too, not just its state record.
		_, seq, _ := strings.Cut(key, "-")
		i, _ := strconv.Atoi(seq)
		if aws.ToString(m.Body) != crashBody(key) {
			wrong++
			t.Errorf("message %s (%s): body %.40q..., want %.40q...", id, key, aws.ToString(m.Body), crashBody(key))
		}
		if a, ok := m.MessageAttributes["key"]; ok != (i%3 == 0) || ok && aws.ToString(a.StringValue) != key {
			wrong++
			t.Errorf("message %s (%s): attribute key = %v", id, key, m.MessageAttributes)
		}
	}
	if missing > 0 || wrong > 0 {
		t.Fatalf("%d of %d acknowledged messages lost, %d damaged after SIGKILL", missing, len(acked), wrong)
	}
	t.Logf("all %d acknowledged messages survived SIGKILL with their bodies (%d stored)", len(acked), len(found))
}
