package connector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.yaml.in/yaml/v3"
)

func TestOptions_Validate(t *testing.T) {
	client := sqs.New(sqs.Options{Region: "us-east-1"})
	tests := []struct {
		name     string
		opts     Options
		wantKeys []string
	}{
		{"minimal_is_valid", Options{GatewayURL: "http://gateway:8080", SQS: client}, nil},
		{"missing_gateway_and_sqs", Options{}, []string{"GatewayURL", "SQS"}},
		{"gateway_not_http", Options{GatewayURL: "gateway:8080", SQS: client}, []string{"GatewayURL"}},
		{"negative_and_too_long_values", Options{GatewayURL: "http://g", SQS: client, DefaultConcurrency: -1, WaitTime: 21 * time.Second, ShutdownGrace: -time.Second},
			[]string{"DefaultConcurrency", "WaitTime", "ShutdownGrace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if len(tt.wantKeys) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				if _, err := New(tt.opts); err != nil {
					t.Fatalf("New = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Validate = %v, want ErrInvalidOptions", err)
			}
			for _, k := range tt.wantKeys {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
			if _, err := New(tt.opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("New = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestSpecFor(t *testing.T) {
	c := &Connector{opts: Options{DefaultConcurrency: 4}, log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	tests := []struct {
		name   string
		fn     functionStatus
		wantOK bool
		want   subscriptionSpec
	}{
		{"no_topic", functionStatus{Name: "f"}, false, subscriptionSpec{}},
		{"blank_topic", functionStatus{Name: "f", Annotations: map[string]string{"topic": " , "}}, false, subscriptionSpec{}},
		{"one_topic_default_concurrency", functionStatus{Name: "f", Annotations: map[string]string{"topic": "q1"}}, true, subscriptionSpec{[]string{"q1"}, 4}},
		{"several_topics_sorted_deduplicated", functionStatus{Name: "f", Annotations: map[string]string{"topic": "q2, q1,q2"}}, true, subscriptionSpec{[]string{"q1", "q2"}, 4}},
		{"concurrency_annotation", functionStatus{Name: "f", Annotations: map[string]string{"topic": "q1", ConcurrencyAnnotation: "9"}}, true, subscriptionSpec{[]string{"q1"}, 9}},
		{"zero_concurrency_uses_default", functionStatus{Name: "f", Annotations: map[string]string{"topic": "q1", ConcurrencyAnnotation: "0"}}, true, subscriptionSpec{[]string{"q1"}, 4}},
		{"topic_from_labels", functionStatus{Name: "f", Labels: map[string]string{"topic": "q3"}}, true, subscriptionSpec{[]string{"q3"}, 4}},
		{"async_queue_is_not_a_topic", functionStatus{Name: "f", Annotations: map[string]string{"topic": "faas-async-calls,q1"}}, true, subscriptionSpec{[]string{"q1"}, 4}},
		{"nameless_function_ignored", functionStatus{Annotations: map[string]string{"topic": "q1"}}, false, subscriptionSpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.specFor(tt.fn)
			if ok != tt.wantOK || (ok && !got.equal(tt.want)) {
				t.Errorf("specFor = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		name     string
		receives int
		limit    time.Duration
		want     time.Duration
	}{
		{"first_receive", 1, 30 * time.Second, time.Second},
		{"third_receive", 3, 30 * time.Second, 4 * time.Second},
		{"capped_at_visibility", 10, 30 * time.Second, 30 * time.Second},
		{"unknown_receive_count", 0, 30 * time.Second, time.Second},
		{"unknown_visibility_capped_at_12h", 40, 0, 12 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryDelay(time.Second, tt.receives, tt.limit); got != tt.want {
				t.Errorf("retryDelay = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCallTimeout(t *testing.T) {
	c := &Connector{}
	for vis, want := range map[time.Duration]time.Duration{
		30 * time.Second: 25 * time.Second,
		2 * time.Second:  time.Second,
		0:                defaultCallTimeout,
	} {
		if got := c.callTimeout(vis); got != want {
			t.Errorf("callTimeout(%s) = %s, want %s", vis, got, want)
		}
	}
	c.opts.CallTimeout = 7 * time.Second
	if got := c.callTimeout(30 * time.Second); got != 7*time.Second {
		t.Errorf("explicit CallTimeout ignored: %s", got)
	}
}

// TestDeployment_grace_period_exceeds_drain checks deploy/connector.yaml.
func TestDeployment_grace_period_exceeds_drain(t *testing.T) {
	raw, err := os.ReadFile("deploy/connector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Metadata struct{ Namespace string }
		Spec     struct {
			Template struct {
				Spec struct {
					TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
					Containers                    []struct {
						Env []struct {
							Name, Value string
						}
						Resources struct{ Limits map[string]string }
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(raw, &d); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if d.Metadata.Namespace != "openfaas" {
		t.Errorf("namespace = %q", d.Metadata.Namespace)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d", len(pod.Containers))
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	grace, err := time.ParseDuration(env["CONNECTOR_SHUTDOWN_GRACE"])
	if err != nil {
		t.Fatalf("CONNECTOR_SHUTDOWN_GRACE: %v", err)
	}
	if time.Duration(pod.TerminationGracePeriodSeconds)*time.Second <= grace+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %d not above drain grace %s", pod.TerminationGracePeriodSeconds, grace)
	}
	if env["GATEWAY_URL"] != "http://gateway.openfaas:8080" || env["AWS_REGION"] == "" {
		t.Errorf("env = %v", env)
	}
	if pod.Containers[0].Resources.Limits["memory"] == "" || pod.Containers[0].Resources.Limits["cpu"] == "" {
		t.Errorf("missing resource limits")
	}
}

func TestRun_twice_is_refused(t *testing.T) {
	c, err := New(Options{GatewayURL: "http://127.0.0.1:1", SQS: sqs.New(sqs.Options{Region: "us-east-1"}), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("first Run = %v", err)
	}
	if err := c.Run(ctx); !errors.Is(err, ErrAlreadyRun) {
		t.Fatalf("second Run = %v, want ErrAlreadyRun", err)
	}
}
