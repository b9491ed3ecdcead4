package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/infra/embedded"
	"motcua/infra/provision"
	"motcua/shared/queue"
)

func TestLoadDefault(t *testing.T) {
	res, err := provision.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"motcua-data", "motcua-uploads"} {
		if _, ok := res.Bucket(b); !ok {
			t.Errorf("bucket %s missing", b)
		}
	}
	q, ok := res.Queue("reprocess-jobs")
	if !ok || q.MaxReceiveCount != 3 || q.VisibilityTimeout != 120 || q.MessageRetentionPeriod != 1209600 {
		t.Errorf("reprocess-jobs = %+v, %v", q, ok)
	}
	if _, ok := res.Queue("faas-async-calls"); !ok {
		t.Error("faas-async-calls missing")
	}
	// The file on disk and the embedded copy are the same thing.
	fromFile, err := provision.Load("resources.json")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromFile)
	b, _ := json.Marshal(res)
	if string(a) != string(b) {
		t.Fatal("Load(resources.json) differs from LoadDefault()")
	}
}

func TestParseRejectsBadDefinitions(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr []string
	}{
		{name: "not_json", json: `{`, wantErr: []string{"decode"}},
		{name: "bad_bucket_name", json: `{"buckets":[{"name":"Motcua_Data"}]}`, wantErr: []string{`buckets[0].name "Motcua_Data"`}},
		{name: "duplicate_bucket", json: `{"buckets":[{"name":"abc"},{"name":"abc"}]}`, wantErr: []string{"buckets[1].name", "duplicate"}},
		{name: "every_bad_queue_field_reported",
			json:    `{"queues":[{"name":"q","visibilityTimeout":-1,"maxReceiveCount":0,"messageRetentionPeriod":10}]}`,
			wantErr: []string{"queues[0].visibilityTimeout", "queues[0].maxReceiveCount", "queues[0].messageRetentionPeriod"}},
		{name: "queue_clashing_with_a_dlq",
			json:    `{"queues":[{"name":"a","visibilityTimeout":1,"maxReceiveCount":1,"messageRetentionPeriod":60},{"name":"a-dlq","visibilityTimeout":1,"maxReceiveCount":1,"messageRetentionPeriod":60}]}`,
			wantErr: []string{`queues[1].name "a-dlq"`}},
		{name: "fifo_queue_not_supported",
			json:    `{"queues":[{"name":"a.fifo","visibilityTimeout":1,"maxReceiveCount":1,"messageRetentionPeriod":60}]}`,
			wantErr: []string{"queues[0].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := provision.Parse([]byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := provision.Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestApplyIsIdempotentAndSetsRedrive(t *testing.T) {
	st := embedded.StartForTest(t) // Start already applied the default resources once.
	ctx := context.Background()
	s3c, sqsc, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := provision.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		rep, err := provision.ApplyWithReport(ctx, s3c, sqsc, res)
		if err != nil {
			t.Fatalf("apply run %d: %v", run, err)
		}
		if want := len(res.Buckets) + 2*len(res.Queues); len(rep.Actions) != want {
			t.Fatalf("run %d: %d actions, want %d", run, len(rep.Actions), want)
		}
		for _, a := range rep.Actions {
			if a.Created {
				t.Errorf("run %d: %s %s created again", run, a.Kind, a.Name)
			}
		}
	}

	buckets, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets.Buckets) != len(res.Buckets) {
		t.Errorf("%d buckets, want %d", len(buckets.Buckets), len(res.Buckets))
	}

	for _, q := range res.Queues {
		t.Run(q.Name, func(t *testing.T) {
			attrs := queueAttrs(t, sqsc, q.Name)
			dlqAttrs := queueAttrs(t, sqsc, provision.DLQName(q.Name))
			var rp struct {
				DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
				MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(attrs["RedrivePolicy"]), &rp); err != nil {
				t.Fatalf("RedrivePolicy %q: %v", attrs["RedrivePolicy"], err)
			}
			if rp.DeadLetterTargetArn != dlqAttrs["QueueArn"] || rp.DeadLetterTargetArn == "" {
				t.Errorf("redrive target %q, want DLQ arn %q", rp.DeadLetterTargetArn, dlqAttrs["QueueArn"])
			}
			if got := strings.Trim(string(rp.MaxReceiveCount), `"`); got != itoa(q.MaxReceiveCount) {
				t.Errorf("maxReceiveCount %s, want %d", got, q.MaxReceiveCount)
			}
			if attrs["VisibilityTimeout"] != itoa(q.VisibilityTimeout) || attrs["MessageRetentionPeriod"] != itoa(q.MessageRetentionPeriod) {
				t.Errorf("attributes %v", attrs)
			}
			if dlqAttrs["MessageRetentionPeriod"] != itoa(provision.DLQRetentionSeconds) {
				t.Errorf("dlq retention %s", dlqAttrs["MessageRetentionPeriod"])
			}
		})
	}
}

func TestApplyCreatesThenConverges(t *testing.T) {
	st := embedded.StartForTest(t)
	ctx := context.Background()
	s3c, sqsc, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := provision.Resources{
		Buckets: []provision.Bucket{{Name: "extra-bucket"}},
		Queues:  []provision.Queue{{Name: "extra-jobs", VisibilityTimeout: 30, MaxReceiveCount: 2, MessageRetentionPeriod: 3600}},
	}
	rep, err := provision.ApplyWithReport(ctx, s3c, sqsc, res)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Actions {
		if !a.Created {
			t.Errorf("%s %s not reported as created", a.Kind, a.Name)
		}
	}
	// Changing the definition and applying again updates the queue in place.
	res.Queues[0].VisibilityTimeout = 90
	res.Queues[0].MaxReceiveCount = 7
	if err := provision.Apply(ctx, s3c, sqsc, res); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	attrs := queueAttrs(t, sqsc, "extra-jobs")
	if attrs["VisibilityTimeout"] != "90" || !strings.Contains(attrs["RedrivePolicy"], "7") {
		t.Fatalf("attributes not converged: %v", attrs)
	}
}

func queueAttrs(t *testing.T, c *sqs.Client, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetQueueUrl(%s): %v", name, err)
	}
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: u.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes(%s): %v", name, err)
	}
	return out.Attributes
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestRoutesGenerated_is_up_to_date(t *testing.T) {
	res, err := provision.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	want := provision.RoutesGo(res)
	got, err := os.ReadFile("../../shared/queue/routes_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("shared/queue/routes_gen.go is stale: run `go generate ./infra/provision`")
	}
	if !reflect.DeepEqual(queue.DefaultRoutes, res.Routes()) {
		t.Fatalf("queue.DefaultRoutes = %v, resources.json routes = %v", queue.DefaultRoutes, res.Routes())
	}
}

func TestParse_rejects_bad_subscriptions(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"unknown_source", `{"queues":[{"name":"c","visibilityTimeout":30,"maxReceiveCount":5,"messageRetentionPeriod":600,"subscribes":["nope"]}]}`, `"nope": no such queue`},
		{"self", `{"queues":[{"name":"c","visibilityTimeout":30,"maxReceiveCount":5,"messageRetentionPeriod":600,"subscribes":["c"]}]}`, "itself"},
		{"two_levels", `{"queues":[{"name":"a","visibilityTimeout":30,"maxReceiveCount":5,"messageRetentionPeriod":600},
			{"name":"b","visibilityTimeout":30,"maxReceiveCount":5,"messageRetentionPeriod":600,"subscribes":["a"]},
			{"name":"c","visibilityTimeout":30,"maxReceiveCount":5,"messageRetentionPeriod":600,"subscribes":["b"]}]}`, "one level deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provision.Parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
