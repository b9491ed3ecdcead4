package platform

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/citizenguard"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

func TestNew_against_embedded_stack(t *testing.T) {
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "bank-hmac-key"), []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, config.MapSource{
		"MOTCUA_BUCKET":         "motcua-data",
		"MOTCUA_UPLOADS_BUCKET": "motcua-uploads",
		"MOTCUA_EVENTS_QUEUE":   "application-events",
		"MOTCUA_SECRETS_DIR":    secrets,
	}, awsCfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Config.EventsQueue != "application-events" || p.Config.LogLevel != "info" || p.Log == nil {
		t.Errorf("Config = %+v", p.Config)
	}
	if v, err := p.Secrets.Get("bank-hmac-key"); err != nil || v != "k3y" {
		t.Errorf("secret = %q, %v", v, err)
	}
	for name, st := range map[string]docstore.Store{"store": p.Store, "uploads": p.Uploads} {
		etag, err := st.Put(ctx, "platform-test/"+name, []byte(`{}`), docstore.PutOptions{IfNoneMatch: true})
		if err != nil || etag == "" {
			t.Fatalf("%s Put: %q, %v", name, etag, err)
		}
	}
	env, err := queue.NewEnvelope("application.submitted", "call-1", map[string]string{"soHoSo": "H01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Queue.Publish(ctx, p.Config.EventsQueue, env); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	c := queue.NewConsumer(awsx.SQS(awsCfg))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := c.Receive(ctx, "application-events", 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Attributes[queue.AttrEventID] == env.ID {
				return
			}
		}
	}
	t.Fatal("published envelope never arrived")
}

func TestNew_uploads_unset_is_nil(t *testing.T) {
	p, err := New(context.Background(), config.MapSource{"MOTCUA_BUCKET": "motcua-data"}, unusedAWSConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p.Uploads != nil {
		t.Fatalf("Uploads = %v, want nil interface", p.Uploads)
	}
}

func TestNew_names_every_bad_key(t *testing.T) {
	_, err := New(context.Background(), config.MapSource{"MOTCUA_LOG_LEVEL": "loud", "MOTCUA_S3_PATH_STYLE": "maybe"}, unusedAWSConfig())
	if err == nil {
		t.Fatal("New with bad config succeeded")
	}
	for _, k := range []string{"MOTCUA_BUCKET", "MOTCUA_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
}

func TestGet_retries_after_failure_then_caches(t *testing.T) {
	stack := embedded.StartForTest(t)
	for _, kv := range stack.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("MOTCUA_BUCKET", "")
	reset := func() { mu.Lock(); cached = nil; mu.Unlock() }
	reset()
	t.Cleanup(reset)

	_, err := Get()
	var ke *config.KeyError
	if !errors.As(err, &ke) || ke.Key != "MOTCUA_BUCKET" {
		t.Fatalf("Get without MOTCUA_BUCKET: %v, want a KeyError naming it", err)
	}
	t.Setenv("MOTCUA_BUCKET", "motcua-data")
	p1, err := Get()
	if err != nil {
		t.Fatalf("Get after fixing the config: %v", err)
	}
	p2, err := Get()
	if err != nil || p1 != p2 {
		t.Fatalf("second Get = %p, %v; want the cached %p", p2, err, p1)
	}
	if _, err := p1.Store.Put(context.Background(), "platform-get-test", []byte(`{}`), docstore.PutOptions{}); err != nil {
		t.Fatalf("Put through Get's store: %v", err)
	}
}

// targetCounter counts the SQS actions sent through it.
type targetCounter struct {
	next aws.HTTPClient
	mu   sync.Mutex
	n    map[string]int
}

func (c *targetCounter) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")]++
	c.mu.Unlock()
	return c.next.Do(r)
}

func TestNew_bad_sqs_batch_switch_is_named(t *testing.T) {
	_, err := New(context.Background(), config.MapSource{"MOTCUA_BUCKET": "motcua-data", SQSBatchKey: "sometimes"}, unusedAWSConfig())
	if err == nil || !strings.Contains(err.Error(), SQSBatchKey) {
		t.Fatalf("New with %s=sometimes: %v, want an error naming it", SQSBatchKey, err)
	}
}

func TestNew_bad_pin_guard_rate_is_named(t *testing.T) {
	for _, key := range []string{citizenguard.EnvGlobalRate, citizenguard.EnvGlobalBurst} {
		_, err := New(context.Background(), config.MapSource{"MOTCUA_BUCKET": "motcua-data", key: "0"}, unusedAWSConfig())
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("New with %s=0: %v, want an error naming it", key, err)
		}
	}
}

func TestNew_sqs_batch_switch(t *testing.T) {
	stack := embedded.StartForTest(t)
	ctx := context.Background()
	cases := []struct {
		name, value string // value "" = unset
		wantAction  string
	}{
		{"default_batches", "", "SendMessageBatch"},
		{"true_batches", "true", "SendMessageBatch"},
		{"false_sends_one_by_one", "false", "SendMessage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			awsCfg, err := stack.AWSConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			counter := &targetCounter{next: awsCfg.HTTPClient, n: map[string]int{}}
			awsCfg.HTTPClient = counter
			src := config.MapSource{"MOTCUA_BUCKET": "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}
			if c.value != "" {
				src[SQSBatchKey] = c.value
			}
			p, err := New(ctx, src, awsCfg)
			if err != nil {
				t.Fatal(err)
			}
			env, err := queue.NewEnvelope("application.submitted", "call-1", map[string]string{"soHoSo": "H01"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Queue.Publish(ctx, "application-events", env); err != nil {
				t.Fatal(err)
			}
			// application-events and its 4 subscribers.
			want := 1 + len(queue.DefaultRoutes["application-events"])
			counter.mu.Lock()
			defer counter.mu.Unlock()
			if counter.n[c.wantAction] != want || counter.n["SendMessage"]+counter.n["SendMessageBatch"] != want {
				t.Errorf("actions %v, want %d %s", counter.n, want, c.wantAction)
			}
		})
	}
}

// unusedAWSConfig is a configuration that is never used to make a call.
func unusedAWSConfig() aws.Config { return aws.Config{Region: "us-east-1"} }

func TestCitizenGuard_needs_a_well_formed_pepper(t *testing.T) {
	cases := []struct {
		name    string
		value   string // "" = no secret file
		wantErr string
	}{
		{"missing_secret", "", "citizen-secret-pepper"},
		{"malformed_secret", "k1:c2hvcnQ=\n", "citizen-secret-pepper"},
		{"dev_hex_value_of_the_wrong_shape", strings.Repeat("ab", 32), "citizen-secret-pepper"},
		{"good_secret", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			value := c.value
			if c.name == "good_secret" {
				v, err := citizenguard.GeneratePepper("p1")
				if err != nil {
					t.Fatal(err)
				}
				value = string(v)
			}
			if value != "" {
				if err := os.WriteFile(filepath.Join(dir, citizenguard.PepperSecret), []byte(value), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p, err := New(context.Background(), config.MapSource{"MOTCUA_BUCKET": "motcua-data", config.SecretsDirKey: dir}, unusedAWSConfig())
			if err != nil {
				t.Fatal(err)
			}
			g, err := p.CitizenGuard()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Pepper() == nil || g.Pepper().Current() != "p1" {
				t.Fatalf("guard pepper = %v, want current p1", g.Pepper())
			}
			if _, err := g.Hash("12345678"); err != nil {
				t.Fatal(err)
			}
			if p.Guard.Pepper() != nil {
				t.Fatal("p.Guard must stay without a pepper (least privilege: only CitizenGuard callers hold it)")
			}
		})
	}
}
