package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/buildctx/buildctxtest"
	"motcua/infra/embedded"
)

// childEnv makes the test binary run the embedded stack only (see TestMain).
const childEnv = "MOTCUA_E2E_STACK_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runStackChild(dir))
	}
	os.Exit(m.Run())
}

// runStackChild serves the embedded stack (fsync on, as `make run` does) on
// dir, prints "READY <endpoint>" and runs until stdin closes or it is killed.
func runStackChild(dir string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	st, err := embedded.Start(ctx, embedded.Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: log})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Printf("READY %s\n", st.Endpoint())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := st.Close(); err != nil {
		return 1
	}
	return 0
}

// faultHandler consumes queued messages ({"notify": URL}). It reports
// "start RECEIVE PID" to the notify URL; on the first receive it then hangs
// (the test kills it mid-delivery); on later receives it reports
// "done RECEIVE PID" and answers 200.
const faultHandler = `package function

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Handle is a consumer that hangs on a message's first delivery.
func Handle(req handler.Request) (handler.Response, error) {
	var msg struct {
		Notify string ` + "`json:\"notify\"`" + `
	}
	if err := json.Unmarshal(req.Body, &msg); err != nil || msg.Notify == "" {
		return handler.Response{StatusCode: http.StatusBadRequest}, nil
	}
	n := req.Header.Get("X-Receive-Count")
	note := func(ev string) error {
		res, err := http.Post(msg.Notify, "text/plain", strings.NewReader(ev+" "+n+" "+strconv.Itoa(os.Getpid())))
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	if n == "1" {
		_ = note("start")
		select {
		case <-req.Context().Done():
		case <-time.After(2 * time.Minute):
		}
		return handler.Response{StatusCode: http.StatusServiceUnavailable}, nil
	}
	if err := note("done"); err != nil {
		return handler.Response{StatusCode: http.StatusServiceUnavailable}, nil
	}
	return handler.Response{Body: []byte("ok")}, nil
}
`

type faultEvent struct {
	kind    string
	receive int
	pid     int
}

// TestFault_function_killed_during_delivery_gets_the_message_again kills -9
// a consumer function's process while the connector is delivering a queued
// message to it (through the gateway), and checks that the runner restarts
// it and the message is delivered to the new process and then deleted.
func TestFault_function_killed_during_delivery_gets_the_message_again(t *testing.T) {
	const queue = "application-events"
	stack := buildctxtest.NewRepo(t, buildctxtest.Func{Name: "fault", Source: faultHandler,
		Annotations: map[string]string{"topic": queue}})
	a, logs := startApp(t, app.Config{StackFile: stack, ConnectorRetryBaseDelay: 200 * time.Millisecond})

	// The listing the connector reads carries the topic annotation.
	code, _, body := do(t, http.MethodGet, a.GatewayURL()+"/system/function/fault", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"topic":"`+queue+`"`) {
		t.Fatalf("GET /system/function/fault: %d %s", code, body)
	}

	events := make(chan faultEvent, 16)
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev faultEvent
		if _, err := fmt.Sscanf(string(b), "%s %d %d", &ev.kind, &ev.receive, &ev.pid); err == nil {
			events <- ev
		}
	}))
	defer notify.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q, err := a.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := json.Marshal(map[string]string{"notify": notify.URL})
	if _, err := a.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(msg))}); err != nil {
		t.Fatal(err)
	}

	next := func(what string) faultEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(60 * time.Second):
			t.Fatalf("no %s event within 60 s", what)
			return faultEvent{}
		}
	}
	first := next("start")
	pid, ok := a.Runner().PID("fault")
	if first.kind != "start" || first.receive != 1 || !ok || first.pid != pid {
		t.Fatalf("first event %+v, runner pid %d (%v)", first, pid, ok)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	var done faultEvent
	for done.kind != "done" {
		done = next("done")
	}
	if done.receive < 2 || done.pid == pid {
		t.Fatalf("redelivery %+v; killed pid %d", done, pid)
	}
	if a.Runner().Restarts("fault") < 1 {
		t.Fatal("runner did not count a restart")
	}
	// Delivered means deleted: nothing left on the queue or its DLQ.
	for _, name := range []string{queue, queue + "-dlq"} {
		u, err := a.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, name+" to be empty", func() bool {
			out, err := a.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl,
				AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
					types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" &&
				out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
		})
	}
	if !strings.Contains(logs.String(), "function process exited; restarting") {
		t.Error("the crash was not logged by the runner")
	}
}

// stackChild is a child process serving the embedded stack.
type stackChild struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	endpoint string
	stderr   *syncBuffer
}

func startStackChild(t *testing.T, dir string) *stackChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &stackChild{cmd: cmd, stdin: stdin, stderr: &syncBuffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- ep
			}
		}
		close(ready)
	}()
	select {
	case ep, ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("stack child exited before ready: %s", c.stderr)
		}
		c.endpoint = ep
	case <-time.After(60 * time.Second):
		t.Fatalf("stack child not ready in 60 s: %s", c.stderr)
	}
	return c
}

// clients are SDK clients without retries, so one call is one attempt and
// an acknowledged call is one the server answered.
func clients(endpoint string) (*s3.Client, *sqs.Client) {
	cfg := aws.Config{
		Region:       embedded.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(embedded.AccessKeyID, embedded.SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), sqs.NewFromConfig(cfg)
}

// TestFault_sigkill_of_the_stack_under_writes_loses_nothing_acknowledged
// writes S3 objects and SQS messages to an embedded stack running in a child
// process, SIGKILLs it mid-stream, restarts it on the same data folder and
// checks that every acknowledged object and message is there.
func TestFault_sigkill_of_the_stack_under_writes_loses_nothing_acknowledged(t *testing.T) {
	const (
		bucket  = "motcua-data"
		queue   = "reprocess-jobs" // 120 s visibility: a receive sees each message once
		minAcks = 200
	)
	dir := filepath.Join(t.TempDir(), "data")
	child := startStackChild(t, dir)
	s3c, sqsc := clients(child.endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	qurl, err := sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		objects  = map[string]string{} // acknowledged key -> content
		messages = map[string]bool{}   // acknowledged bodies
		killed   = make(chan struct{})
		early    []error // failures before the kill
	)
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(objects), len(messages)
	}
	// fail records a write error unless the stack was killed on purpose.
	fail := func(err error) {
		select {
		case <-killed:
			return
		default:
		}
		mu.Lock()
		early = append(early, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("e2e-crash/w%d/%06d.json", w, i)
				val := fmt.Sprintf(`{"writer":%d,"seq":%d,"pad":"%s"}`, w, i, strings.Repeat("x", 512))
				_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
					Body: strings.NewReader(val), ContentLength: aws.Int64(int64(len(val)))})
				if err != nil {
					fail(fmt.Errorf("put %s: %w", key, err))
					return
				}
				mu.Lock()
				objects[key] = val
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for i := 0; ; i++ {
				body := fmt.Sprintf("msg-w%d-%06d", w, i)
				_, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qurl.QueueUrl, MessageBody: aws.String(body)})
				if err != nil {
					fail(fmt.Errorf("send %s: %w", body, err))
					return
				}
				mu.Lock()
				messages[body] = true
				mu.Unlock()
			}
		})
	}
	waitFor(t, 60*time.Second, "writes to be acknowledged", func() bool {
		o, m := counts()
		mu.Lock()
		defer mu.Unlock()
		return len(early) > 0 || (o >= minAcks && m >= minAcks)
	})
	close(killed)
	if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_ = child.cmd.Wait()
	if len(early) > 0 {
		t.Fatalf("writes failed before the kill: %v\nchild stderr: %s", early, child.stderr)
	}
	nObj, nMsg := counts()
	t.Logf("acknowledged before SIGKILL: %d objects, %d messages", nObj, nMsg)

	child2 := startStackChild(t, dir)
	s3c, sqsc = clients(child2.endpoint)
	for key, want := range objects {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Errorf("acknowledged object %s lost: %v", key, err)
			continue
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || string(got) != want {
			t.Errorf("acknowledged object %s: got %q (%v)", key, got, err)
		}
	}
	qurl, err = sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	missing := func() int {
		n := 0
		for b := range messages {
			if !seen[b] {
				n++
			}
		}
		return n
	}
	for empty := 0; missing() > 0 && empty < 3; {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qurl.QueueUrl,
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
		}
		for _, m := range out.Messages {
			seen[aws.ToString(m.Body)] = true
		}
	}
	if n := missing(); n > 0 {
		t.Fatalf("%d of %d acknowledged messages lost after SIGKILL (received %d)", n, len(messages), len(seen))
	}
	t.Logf("after restart: all %d objects and %d messages present (%d messages received in all)", nObj, nMsg, len(seen))
	_ = child2.stdin.Close()
	if err := child2.cmd.Wait(); err != nil {
		t.Errorf("child stack did not stop cleanly: %v: %s", err, child2.stderr)
	}
}
