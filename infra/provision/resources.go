// Package provision defines motcua's buckets and queues (resources.json in
// this directory, the single source) and creates them idempotently through
// the AWS SDK, against AWS, LocalStack or the embedded stack alike.
package provision

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

//go:generate go run ./gen -o ../../shared/queue/routes_gen.go

//go:embed resources.json
var defaultJSON []byte

// DLQSuffix is appended to a queue's name to name its dead-letter queue.
const DLQSuffix = "-dlq"

// DLQRetentionSeconds is the retention of every dead-letter queue: the SQS
// maximum (14 days), so a dead letter never expires before its source
// message would have.
const DLQRetentionSeconds = 1209600

// Bucket is one S3 bucket.
type Bucket struct {
	// Name is the bucket name.
	Name string `json:"name"`
	// Purpose says what the bucket holds (documentation only).
	Purpose string `json:"purpose,omitempty"`
}

// Queue is one SQS queue; each gets a dead-letter queue DLQName(Name).
type Queue struct {
	// Name is the queue name.
	Name string `json:"name"`
	// VisibilityTimeout in seconds (0..43200).
	VisibilityTimeout int `json:"visibilityTimeout"`
	// MaxReceiveCount is how many receives move a message to the DLQ (1..1000).
	MaxReceiveCount int `json:"maxReceiveCount"`
	// MessageRetentionPeriod in seconds (60..1209600).
	MessageRetentionPeriod int `json:"messageRetentionPeriod"`
	// Subscribes lists the event queues this queue receives a copy of: a
	// consumer's own queue (SNS-style fan-out done by the publisher, see
	// Routes). Each must be a defined queue without subscriptions itself.
	Subscribes []string `json:"subscribes,omitempty"`
	// Purpose says what the queue is for (documentation only).
	Purpose string `json:"purpose,omitempty"`
}

// Resources is the whole resource definition.
type Resources struct {
	// Comment documents the file.
	Comment string `json:"comment,omitempty"`
	// Buckets to create.
	Buckets []Bucket `json:"buckets"`
	// Queues to create, each with its dead-letter queue.
	Queues []Queue `json:"queues"`
}

// DLQName returns the dead-letter queue name of queue.
func DLQName(queue string) string { return queue + DLQSuffix }

// Bucket returns the bucket called name and whether it is defined.
func (r Resources) Bucket(name string) (Bucket, bool) {
	for _, b := range r.Buckets {
		if b.Name == name {
			return b, true
		}
	}
	return Bucket{}, false
}

// Queue returns the queue called name and whether it is defined.
func (r Resources) Queue(name string) (Queue, bool) {
	for _, q := range r.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// Validate reports every problem in r, each naming the bad entry.
func (r Resources) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, b := range r.Buckets {
		if n := len(b.Name); n < 3 || n > 63 || strings.ToLower(b.Name) != b.Name || strings.ContainsAny(b.Name, "_ /") {
			errs = append(errs, fmt.Errorf("buckets[%d].name %q: not a valid S3 bucket name", i, b.Name))
		}
		if seen["b/"+b.Name] {
			errs = append(errs, fmt.Errorf("buckets[%d].name %q: duplicate", i, b.Name))
		}
		seen["b/"+b.Name] = true
	}
	for i, q := range r.Queues {
		field := fmt.Sprintf("queues[%d]", i)
		if q.Name == "" || len(q.Name)+len(DLQSuffix) > 80 || strings.HasSuffix(q.Name, ".fifo") {
			errs = append(errs, fmt.Errorf("%s.name %q: must be 1..%d characters, standard (not FIFO) queue", field, q.Name, 80-len(DLQSuffix)))
		}
		if seen["q/"+q.Name] || seen["q/"+DLQName(q.Name)] {
			errs = append(errs, fmt.Errorf("%s.name %q: duplicate (or clashes with a dead-letter queue)", field, q.Name))
		}
		seen["q/"+q.Name] = true
		seen["q/"+DLQName(q.Name)] = true
		if q.VisibilityTimeout < 0 || q.VisibilityTimeout > 43200 {
			errs = append(errs, fmt.Errorf("%s.visibilityTimeout %d: must be 0..43200", field, q.VisibilityTimeout))
		}
		if q.MaxReceiveCount < 1 || q.MaxReceiveCount > 1000 {
			errs = append(errs, fmt.Errorf("%s.maxReceiveCount %d: must be 1..1000", field, q.MaxReceiveCount))
		}
		if q.MessageRetentionPeriod < 60 || q.MessageRetentionPeriod > 1209600 {
			errs = append(errs, fmt.Errorf("%s.messageRetentionPeriod %d: must be 60..1209600", field, q.MessageRetentionPeriod))
		}
	}
	for i, q := range r.Queues {
		for _, src := range q.Subscribes {
			s, ok := r.Queue(src)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("queues[%d].subscribes %q: no such queue", i, src))
			case src == q.Name:
				errs = append(errs, fmt.Errorf("queues[%d].subscribes %q: a queue cannot subscribe to itself", i, src))
			case len(s.Subscribes) > 0:
				errs = append(errs, fmt.Errorf("queues[%d].subscribes %q: subscribes itself; fan-out is one level deep", i, src))
			}
		}
	}
	return errors.Join(errs...)
}

// Routes returns the fan-out: for each queue some other queue subscribes to,
// the subscribers, sorted. A publisher sending to a key also sends to each
// of its subscribers (shared/queue.Fanout with the generated
// queue.DefaultRoutes).
func (r Resources) Routes() map[string][]string {
	routes := map[string][]string{}
	for _, q := range r.Queues {
		for _, src := range q.Subscribes {
			if !slices.Contains(routes[src], q.Name) {
				routes[src] = append(routes[src], q.Name)
			}
		}
	}
	for k := range routes {
		slices.Sort(routes[k])
	}
	return routes
}

// Parse decodes and validates a resource definition.
func Parse(data []byte) (Resources, error) {
	var r Resources
	if err := json.Unmarshal(data, &r); err != nil {
		return Resources{}, fmt.Errorf("provision: decode resources: %w", err)
	}
	if err := r.Validate(); err != nil {
		return Resources{}, fmt.Errorf("provision: invalid resources: %w", err)
	}
	return r, nil
}

// Load reads and validates the resource definition at path.
func Load(path string) (Resources, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Resources{}, fmt.Errorf("provision: read %s: %w", path, err)
	}
	r, err := Parse(data)
	if err != nil {
		return Resources{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// LoadDefault returns motcua's resource definition (resources.json in this
// package, embedded at build time).
func LoadDefault() (Resources, error) {
	return Parse(defaultJSON)
}

// DefaultJSON returns a copy of the embedded resources.json, for tools that
// write it out (e.g. for a LocalStack init hook).
func DefaultJSON() []byte {
	return append([]byte(nil), defaultJSON...)
}
