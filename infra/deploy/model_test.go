package deploy_test

import (
	"strings"
	"testing"

	"motcua/infra/deploy"
	"motcua/infra/provision"
	"motcua/infra/stackfile"
)

func stackWith(fn stackfile.Function) *stackfile.Stack {
	fn.Name = "f"
	return &stackfile.Stack{Functions: map[string]stackfile.Function{"f": fn}}
}

var testResources = provision.Resources{
	Buckets: []provision.Bucket{{Name: "motcua-data"}},
	Queues: []provision.Queue{
		{Name: "jobs", VisibilityTimeout: 30, MaxReceiveCount: 5, MessageRetentionPeriod: 60},
		{Name: "copy", VisibilityTimeout: 30, MaxReceiveCount: 5, MessageRetentionPeriod: 60, Subscribes: []string{"jobs"}},
	},
}

func TestBuild_refuses_inconsistent_declarations(t *testing.T) {
	base := func() stackfile.Function {
		return stackfile.Function{
			Environment: map[string]string{"exec_timeout": "20s", "MOTCUA_BUCKET": "motcua-data"},
			Annotations: map[string]string{deploy.S3Annotation: "motcua-data:things/"},
		}
	}
	cases := []struct {
		name string
		edit func(*stackfile.Function)
		want string
	}{
		{name: "visibility_equal_to_exec_timeout", edit: func(f *stackfile.Function) {
			f.Environment["exec_timeout"] = "30s"
			f.Annotations["topic"] = "jobs"
		}, want: "does not exceed its exec_timeout"},
		{name: "consumed_queue_unknown", edit: func(f *stackfile.Function) { f.Annotations["topic"] = "nope" }, want: `queue "nope" is not in resources.json`},
		{name: "published_queue_unknown", edit: func(f *stackfile.Function) { f.Environment["MOTCUA_EVENTS_QUEUE"] = "nope" }, want: "environment.MOTCUA_EVENTS_QUEUE"},
		{name: "bucket_unknown", edit: func(f *stackfile.Function) { f.Annotations[deploy.S3Annotation] = "other:things/" }, want: `bucket "other"`},
		{name: "prefix_without_slash", edit: func(f *stackfile.Function) { f.Annotations[deploy.S3Annotation] = "motcua-data:things" }, want: "bucket:prefix/"},
		{name: "prefix_wildcard", edit: func(f *stackfile.Function) { f.Annotations[deploy.S3Annotation] = "motcua-data:*/" }, want: "no wildcard"},
		{name: "bucket_env_without_grant", edit: func(f *stackfile.Function) { delete(f.Annotations, deploy.S3Annotation) }, want: "grants nothing in it"},
		{name: "exec_timeout_missing", edit: func(f *stackfile.Function) { delete(f.Environment, "exec_timeout") }, want: "exec_timeout must be set"},
		{name: "unknown_kms_key", edit: func(f *stackfile.Function) { f.Annotations[deploy.KMSSignAnnotation] = "other" }, want: "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := base()
			tc.edit(&fn)
			_, err := deploy.Build(stackWith(fn), testResources)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestBuild_publishing_includes_fan_out_subscribers(t *testing.T) {
	fn := stackfile.Function{
		Environment: map[string]string{"exec_timeout": "20s", "MOTCUA_EVENTS_QUEUE": "jobs"},
	}
	m, err := deploy.Build(stackWith(fn), testResources)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := m.Function("f")
	if strings.Join(f.Publishes, ",") != "copy,jobs" {
		t.Fatalf("publishes %v, want [copy jobs]", f.Publishes)
	}
}

func TestBuild_visibility_above_exec_timeout_is_accepted(t *testing.T) {
	fn := stackfile.Function{
		Environment: map[string]string{"exec_timeout": "29s"},
		Annotations: map[string]string{"topic": "jobs"},
	}
	m, err := deploy.Build(stackWith(fn), testResources)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ConsumedQueues(); len(got) != 1 || got[0] != "jobs" {
		t.Fatalf("consumed %v", got)
	}
}
