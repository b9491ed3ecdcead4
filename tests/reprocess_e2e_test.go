package e2e

// End-to-end staff batch reprocessing through the real local stack: the
// reprocess function behind the gateway, the reprocess-worker fed by the
// connector from reprocess-jobs, S3 and SQS over the AWS SDK.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.yaml.in/yaml/v3"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/stackfile"
	"motcua/shared/jobs"
	"motcua/shared/outbox"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

type reprocessStack struct {
	a            *app.App
	gw           string
	admin, staff string // Authorization headers
}

func startReprocessStack(t *testing.T) *reprocessStack {
	t.Helper()
	secrets := t.TempDir()
	a, _ := startApp(t, app.Config{RepoRoot: repoRoot(t), StackFile: reprocessOnlyStack(t), SecretsDir: secrets})
	signer := stafftest.LoadSigner(t, secrets)
	return &reprocessStack{a: a, gw: a.GatewayURL(),
		admin: "Bearer " + stafftest.Token(t, signer, "admin-e2e", "STP", staffauth.RoleStaff, jobs.RoleAdmin),
		staff: "Bearer " + stafftest.Token(t, signer, "officer-e2e", "STP")}
}

// reprocessOnlyStack writes a stack file holding only reprocess and
// reprocess-worker, exactly as stack.yml declares them (handlers by
// absolute path), so the test builds two functions instead of all of them.
func reprocessOnlyStack(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	st, err := stackfile.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]stackfile.Function{}
	for _, name := range []string{"reprocess", "reprocess-worker"} {
		fn, ok := st.Function(name)
		if !ok {
			t.Fatalf("stack.yml has no function %s", name)
		}
		fn.Handler = st.HandlerDir(fn)
		keep[name] = fn
	}
	st.Functions = keep
	dir := t.TempDir()
	// The build context takes the template and configuration.copy from the
	// stack file's folder: copy them there (they are small).
	for _, p := range append([]string{"template"}, st.Configuration.Copy...) {
		src, dst := filepath.Join(root, p), filepath.Join(dir, p)
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			err = os.CopyFS(dst, os.DirFS(src))
		} else {
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := yaml.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (s *reprocessStack) call(t *testing.T, method, query string, body any, auth string) (int, http.Header, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	hdr := []string{"Content-Type", "application/json"}
	if auth != "" {
		hdr = append(hdr, "Authorization", auth)
	}
	return do(t, method, s.gw+"/function/reprocess"+query, rd, hdr...)
}

func (s *reprocessStack) job(t *testing.T, id string) jobs.View {
	t.Helper()
	code, _, b := s.call(t, http.MethodGet, "?job="+id, nil, s.admin)
	if code != http.StatusOK {
		t.Fatalf("GET job %s: %d %s", id, code, b)
	}
	var v jobs.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (s *reprocessStack) start(t *testing.T, req jobs.StartRequest, want int) jobs.View {
	t.Helper()
	code, _, b := s.call(t, http.MethodPost, "", req, s.admin)
	if code != want {
		t.Fatalf("POST %+v: %d %s", req, code, b)
	}
	var v jobs.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// seedOutbox writes n outbox markers straight to S3 (a crash left them).
func (s *reprocessStack) seedOutbox(t *testing.T, n int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for i := range n {
		env, _ := queue.NewEnvelope("application.status_changed", "e2e", map[string]int{"i": i})
		m := outbox.Marker{Queue: "application-events", Envelope: env, CreatedAt: time.Now().UTC()}
		b, _ := json.Marshal(m)
		_, err := s.a.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("motcua-data"),
			Key: aws.String(outbox.Key(env.ID)), Body: bytes.NewReader(b), ContentType: aws.String("application/json")})
		if err != nil {
			t.Fatal(err)
		}
		ids[env.ID] = true
	}
	return ids
}

func (s *reprocessStack) outboxLeft(t *testing.T) int {
	t.Helper()
	out, err := s.a.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("motcua-data"), Prefix: aws.String(outbox.Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	return int(aws.ToInt32(out.KeyCount))
}

// published drains application-events and returns the distinct event ids.
func (s *reprocessStack) published(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	u, err := s.a.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("application-events")})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		out, err := s.a.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return seen
		}
		for _, m := range out.Messages {
			var env queue.Envelope
			_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &env)
			seen[env.ID]++
			_, _ = s.a.SQS().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: u.QueueUrl, ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func TestReprocess_end_to_end(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack")
	}
	s := startReprocessStack(t)

	t.Run("no_token_401_staff_without_admin_403", func(t *testing.T) {
		code, hdr, b := s.call(t, http.MethodGet, "", nil, "")
		if p := decodeProblem(t, hdr, b); code != http.StatusUnauthorized || p.Status != 401 {
			t.Fatalf("no token: %d %s", code, b)
		}
		code, hdr, b = s.call(t, http.MethodPost, "", jobs.StartRequest{Kind: "republish-outbox"}, s.staff)
		p := decodeProblem(t, hdr, b)
		if code != http.StatusForbidden || !strings.Contains(string(b), `"role_required"`) || p.TitleVI == "" {
			t.Fatalf("staff without admin: %d %s", code, b)
		}
	})

	t.Run("bad_scope_names_the_field", func(t *testing.T) {
		code, _, b := s.call(t, http.MethodPost, "", jobs.StartRequest{Kind: "republish-outbox", Scope: jobs.Scope{OlderThan: "later"}}, s.admin)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"field":"scope.olderThan"`) {
			t.Fatalf("%d %s", code, b)
		}
	})

	t.Run("republish_outbox_survives_a_killed_worker", func(t *testing.T) {
		const n = 400
		ids := s.seedOutbox(t, n)
		time.Sleep(1100 * time.Millisecond) // markers must be older than the threshold (S3 times are whole seconds)
		dry := s.start(t, jobs.StartRequest{Kind: "republish-outbox", Scope: jobs.Scope{OlderThan: "1s"}, Reason: "e2e"}, http.StatusCreated)
		if dry.Status != jobs.StatusPlanned || dry.Plan.Total < n {
			t.Fatalf("dry run: %s total %d", dry.Status, dry.Plan.Total)
		}
		if left := s.outboxLeft(t); left < n {
			t.Fatalf("the dry run changed something: %d markers left", left)
		}
		run := s.start(t, jobs.StartRequest{Confirm: dry.ID}, http.StatusAccepted)
		if run.Status != jobs.StatusRunning && run.Status != jobs.StatusCompleted {
			t.Fatalf("confirm: %s", run.Status)
		}
		// Kill the worker as soon as it has made progress.
		waitFor(t, time.Minute, "first items", func() bool { v := s.job(t, dry.ID); return v.Progress.Finished() > 0 })
		if v := s.job(t, dry.ID); v.Status == jobs.StatusRunning {
			pid, ok := s.a.Runner().PID("reprocess-worker")
			if !ok {
				t.Fatal("no reprocess-worker process")
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed reprocess-worker (pid %d) at %d/%d", pid, v.Progress.Finished(), v.Progress.Total)
		}
		waitFor(t, 3*time.Minute, "job finished", func() bool { return s.job(t, dry.ID).Status == jobs.StatusCompleted })
		v := s.job(t, dry.ID)
		if v.Progress.Failed != 0 || v.Progress.Finished() != v.Progress.Total {
			t.Fatalf("progress %+v", v.Progress)
		}
		if left := s.outboxLeft(t); left != 0 {
			t.Fatalf("%d outbox markers left", left)
		}
		got := s.published(t)
		for id := range ids {
			if got[id] == 0 {
				t.Fatalf("event %s never published (%d of %d seen)", id, len(got), n)
			}
		}
		// The CSV report has one row per item.
		code, hdr, b := s.call(t, http.MethodGet, "?job="+dry.ID+"&format=csv", nil, s.admin)
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || err != nil || len(rows) != v.Progress.Total+1 {
			t.Fatalf("report: %d %s, %d rows, %v", code, hdr.Get("Content-Type"), len(rows), err)
		}
		// Running it again finds nothing to do.
		again := s.start(t, jobs.StartRequest{Kind: "republish-outbox", Scope: jobs.Scope{OlderThan: "1s"}}, http.StatusCreated)
		if again.Plan.Total != 0 {
			t.Fatalf("second dry run plans %d items", again.Plan.Total)
		}
		// Audited and listed.
		code, _, b = s.call(t, http.MethodGet, "?limit=10", nil, s.admin)
		if code != http.StatusOK || !strings.Contains(string(b), dry.ID) {
			t.Fatalf("list: %d %s", code, b)
		}
		for _, action := range []string{"planned", "confirmed", "finished"} {
			if _, err := s.a.S3().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("motcua-data"),
				Key: aws.String(jobs.AuditKey(dry.ID, action))}); err != nil {
				t.Errorf("audit %s: %v", action, err)
			}
		}
	})

	t.Run("cancel_stops_a_paced_job", func(t *testing.T) {
		s.seedOutbox(t, 120)
		time.Sleep(1100 * time.Millisecond)
		dry := s.start(t, jobs.StartRequest{Kind: "republish-outbox", Scope: jobs.Scope{OlderThan: "1s"}, Rate: 20}, http.StatusCreated)
		s.start(t, jobs.StartRequest{Confirm: dry.ID, Kind: "republish-outbox"}, http.StatusAccepted)
		waitFor(t, time.Minute, "some progress", func() bool { return s.job(t, dry.ID).Progress.Finished() >= 10 })
		code, _, b := s.call(t, http.MethodPost, "?job="+dry.ID+"&action=cancel", nil, s.admin)
		if code != http.StatusAccepted {
			t.Fatalf("cancel: %d %s", code, b)
		}
		waitFor(t, time.Minute, "job cancelled", func() bool { return s.job(t, dry.ID).Status == jobs.StatusCancelled })
		v := s.job(t, dry.ID)
		if v.Progress.Skipped == 0 || v.Progress.Finished() != v.Progress.Total || v.Cancelled == nil {
			t.Fatalf("after cancel: %+v", v.Progress)
		}
		if left := s.outboxLeft(t); left != v.Progress.Skipped {
			t.Fatalf("%d markers left, %d items skipped", left, v.Progress.Skipped)
		}
		fmt.Fprintf(os.Stderr, "cancelled at %d done of %d\n", v.Progress.Done, v.Progress.Total)
	})
}
