// Package deploy derives motcua's production deployment from its two sources
// of truth: stack.yml (functions, their environment, secrets, consumed queue
// and declared storage access) and infra/provision/resources.json (buckets
// and queues). From them it generates the CloudFormation template
// (infra/cloudformation/motcua.json: buckets, queues with dead-letter queues,
// the KMS receipt-signing key, one least-privilege IAM role per function and
// one for the queue connector) and the `faas-cli secret create` script
// (infra/secrets.sh). Nothing here is a copy: regenerate with
// `go run ./cmd/motcua-provision -generate` after editing either source; a
// test fails while the committed files differ from the generator's output.
//
// Storage access is declared per function in stack.yml annotations:
//
//	com.motcua.s3: "motcua-data:applications/ motcua-data:outbox/ motcua-uploads:applications/"
//	com.motcua.kms-sign: "receipt-signing"   (kms:Sign and kms:GetPublicKey on the receipt key)
//
// Queues a function publishes to are not declared twice: they are the values
// of its MOTCUA_*_QUEUE environment variables plus their fan-out subscribers
// (resources.json "subscribes"); the queue it consumes is its topic
// annotation.
package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"motcua/infra/provision"
	"motcua/infra/stackfile"
)

// Annotation names of the per-function access declarations in stack.yml.
const (
	// S3Annotation lists "bucket:prefix" grants separated by spaces.
	S3Annotation = "com.motcua.s3"
	// KMSSignAnnotation names the KMS keys the function signs with.
	KMSSignAnnotation = "com.motcua.kms-sign"
	// SQSSendAnnotation lists queues the function sends to beyond its
	// MOTCUA_*_QUEUE variables (e.g. outbox republishing, whose target
	// queue is in the stored marker), separated by spaces.
	SQSSendAnnotation = "com.motcua.sqs-send"
)

// CronTopic is the topic of OpenFaaS's cron-connector: a schedule, not an
// SQS queue.
const CronTopic = "cron-function"

// ReceiptSigningKey is the only KMS key name KMSSignAnnotation accepts: the
// RSA_2048 SIGN_VERIFY key of the receipt signatures.
const ReceiptSigningKey = "receipt-signing"

// AsyncQueue is the queue the gateway's async calls go through; the
// connector consumes it and sends to it.
const AsyncQueue = "faas-async-calls"

// Grant is read/write access to the objects under Prefix in Bucket.
type Grant struct {
	// Bucket is the bucket name from resources.json.
	Bucket string
	// Prefix is the key prefix, ending in "/".
	Prefix string
}

// String returns "bucket:prefix", the annotation form.
func (g Grant) String() string { return g.Bucket + ":" + g.Prefix }

// Function is one function's deployment facts.
type Function struct {
	// Name is the function name.
	Name string
	// Grants are its S3 prefixes, sorted.
	Grants []Grant
	// Publishes lists the queues it sends to (environment plus fan-out), sorted.
	Publishes []string
	// Consumes is its topic queue, or "".
	Consumes string
	// KMSSign is set when it signs with the receipt-signing key.
	KMSSign bool
	// Scheduled is set for cron-connector functions (topic cron-function).
	Scheduled bool
	// Secrets are its mounted secrets.
	Secrets []string
	// ExecTimeout is its watchdog exec_timeout.
	ExecTimeout time.Duration
}

// Model is the deployment derived from stack.yml and resources.json.
type Model struct {
	// Stack is the parsed stack file (environment substituted with defaults).
	Stack *stackfile.Stack
	// Resources is the buckets and queues definition.
	Resources provision.Resources
	// Functions in name order.
	Functions []Function
}

// Load reads stack.yml under root and the embedded resources.json. The stack
// is substituted with every variable unset, so the defaults are what the
// generated files are built from (deterministic, whoever runs it).
func Load(root string) (*Model, error) {
	b, err := readFile(filepath.Join(root, "stack.yml"))
	if err != nil {
		return nil, err
	}
	st, err := stackfile.ParseEnv(b, root, func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	res, err := provision.LoadDefault()
	if err != nil {
		return nil, err
	}
	return Build(st, res)
}

// Build derives the model, reporting every inconsistency between the two
// sources (unknown buckets or queues, a consumed queue whose visibility
// timeout does not exceed the consumer's exec_timeout, bad annotations).
func Build(st *stackfile.Stack, res provision.Resources) (*Model, error) {
	m := &Model{Stack: st, Resources: res}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	routes := res.Routes()
	for _, name := range st.FunctionNames() {
		fn := st.Functions[name]
		env, err := st.Env(fn)
		if err != nil {
			bad("%s: %v", name, err)
			continue
		}
		f := Function{Name: name, Consumes: fn.Topic(), Secrets: slices.Sorted(slices.Values(fn.Secrets))}
		if f.Consumes == CronTopic {
			f.Consumes, f.Scheduled = "", true
		}
		f.ExecTimeout, err = stackfile.Timeout(env, "exec_timeout", 0)
		if err != nil || f.ExecTimeout <= 0 {
			bad("%s: environment.exec_timeout must be set (e.g. 30s): %v", name, err)
		}
		for _, entry := range strings.Fields(fn.Annotations[S3Annotation]) {
			bucket, prefix, ok := strings.Cut(entry, ":")
			switch {
			case !ok || prefix == "" || !strings.HasSuffix(prefix, "/") || strings.Contains(prefix, "*"):
				bad("%s: annotation %s: %q must be bucket:prefix/ (a key prefix ending in /, no wildcard)", name, S3Annotation, entry)
				continue
			}
			if _, ok := res.Bucket(bucket); !ok {
				bad("%s: annotation %s: bucket %q is not in resources.json", name, S3Annotation, bucket)
				continue
			}
			f.Grants = append(f.Grants, Grant{Bucket: bucket, Prefix: prefix})
		}
		sort.Slice(f.Grants, func(i, j int) bool { return f.Grants[i].String() < f.Grants[j].String() })
		type send struct{ field, queue string }
		var sends []send
		for _, k := range slices.Sorted(mapKeys(env)) {
			if strings.HasPrefix(k, "MOTCUA_") && strings.HasSuffix(k, "_QUEUE") {
				sends = append(sends, send{"environment." + k, env[k]})
			}
		}
		for _, q := range strings.Fields(fn.Annotations[SQSSendAnnotation]) {
			sends = append(sends, send{"annotation " + SQSSendAnnotation, q})
		}
		for _, sd := range sends {
			q := sd.queue
			if _, ok := res.Queue(q); !ok {
				bad("%s: %s: queue %q is not in resources.json", name, sd.field, q)
				continue
			}
			f.Publishes = appendUnique(f.Publishes, q)
			for _, sub := range routes[q] {
				f.Publishes = appendUnique(f.Publishes, sub)
			}
		}
		for _, k := range []string{"MOTCUA_BUCKET", "MOTCUA_UPLOADS_BUCKET"} {
			if b, ok := env[k]; ok {
				if _, ok := res.Bucket(b); !ok {
					bad("%s: environment.%s: bucket %q is not in resources.json", name, k, b)
				} else if !slices.ContainsFunc(f.Grants, func(g Grant) bool { return g.Bucket == b }) {
					bad("%s: environment.%s names %q but annotation %s grants nothing in it", name, k, b, S3Annotation)
				}
			}
		}
		slices.Sort(f.Publishes)
		if f.Consumes != "" {
			q, ok := res.Queue(f.Consumes)
			switch {
			case !ok:
				bad("%s: annotation topic: queue %q is not in resources.json", name, f.Consumes)
			case time.Duration(q.VisibilityTimeout)*time.Second <= f.ExecTimeout:
				bad("%s: consumes %s whose visibilityTimeout %ds does not exceed its exec_timeout %s: a slow delivery would be handed to a second consumer", name, q.Name, q.VisibilityTimeout, f.ExecTimeout)
			}
		}
		for _, k := range strings.Fields(fn.Annotations[KMSSignAnnotation]) {
			if k != ReceiptSigningKey {
				bad("%s: annotation %s: unknown key %q (only %q)", name, KMSSignAnnotation, k, ReceiptSigningKey)
				continue
			}
			f.KMSSign = true
		}
		m.Functions = append(m.Functions, f)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("deploy: stack.yml and resources.json disagree: %w", errors.Join(errs...))
	}
	return m, nil
}

// Function returns the named function's facts.
func (m *Model) Function(name string) (Function, bool) {
	for _, f := range m.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// ConsumedQueues returns the queues the connector receives from: every topic
// annotation plus the async-call queue, sorted.
func (m *Model) ConsumedQueues() []string {
	var qs []string
	if _, ok := m.Resources.Queue(AsyncQueue); ok {
		qs = append(qs, AsyncQueue)
	}
	for _, f := range m.Functions {
		if f.Consumes != "" {
			qs = appendUnique(qs, f.Consumes)
		}
	}
	slices.Sort(qs)
	return qs
}

// Secrets returns every secret some function mounts, sorted, with the
// functions mounting it.
func (m *Model) Secrets() map[string][]string {
	out := map[string][]string{}
	for _, f := range m.Functions {
		for _, s := range f.Secrets {
			out[s] = append(out[s], f.Name)
		}
	}
	return out
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func readFile(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	return b, nil
}

// File is one generated file: its path from the repository root, content
// and mode.
type File struct {
	// Path is slash-separated, relative to the repository root.
	Path string
	// Data is the full content.
	Data []byte
	// Mode is the file mode to write.
	Mode os.FileMode
}

// Generated returns every file derived from stack.yml and resources.json.
func (m *Model) Generated() ([]File, error) {
	cfn, err := m.CloudFormation()
	if err != nil {
		return nil, err
	}
	sec, err := m.SecretsScript()
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: "infra/cloudformation/motcua.json", Data: cfn, Mode: 0o644},
		{Path: "infra/secrets.sh", Data: sec, Mode: 0o755},
	}, nil
}
