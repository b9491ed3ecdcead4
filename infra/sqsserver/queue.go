package sqsserver

import (
	"container/heap"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Queue attribute limits and defaults (as AWS documents them).
const (
	defaultVisibility = 30
	defaultRetention  = 345600
	defaultMaxSize    = 262144
	maxVisibility     = 43200
	maxDelay          = 900
	maxWait           = 20
	minRetention      = 60
	maxRetention      = 1209600
	minMaxSize        = 1024
	maxMaxSize        = 262144
	maxReceiveLimit   = 1000
)

// queueConfig is the parsed, typed view of a queue's attributes.
type queueConfig struct {
	visibility  int64
	delay       int64
	retention   int64
	maxSize     int64
	wait        int64
	dlqName     string // from RedrivePolicy; "" = no redrive
	maxReceives int64
}

// message is a message held in memory; rec mirrors its state record in the
// database. Its content (body, attributes) is only in the database.
type message struct {
	seq     uint64
	ver     uint64 // bumped on every state change; heap entries carry it
	deleted bool
	rec     msgState
}

// queue is one queue's in-memory state. ops is the structural lock: every
// operation that persists message state holds it shared for its whole
// duration (memory change + commit), PurgeQueue and DeleteQueue hold it
// exclusively, so a purge never interleaves with a half-done send. mu guards
// the fields below it and is held only briefly, never across I/O.
type queue struct {
	name    string
	uid     string
	arn     string
	created int64

	ops sync.RWMutex

	mu       sync.Mutex
	attrs    map[string]string
	cfg      queueConfig
	modified int64
	msgs     map[uint64]*message
	ready    msgHeap
	nextSeq  uint64
	notify   chan struct{} // closed and replaced when messages may be ready
	deleted  bool
	gone     chan struct{} // closed when the queue is deleted
}

func newQueue(rec queueRecord, arn string, cfg queueConfig) *queue {
	return &queue{
		name: rec.Name, uid: rec.UID, arn: arn, created: rec.Created,
		attrs: rec.Attrs, cfg: cfg, modified: rec.Modified,
		msgs: map[uint64]*message{}, nextSeq: 1,
		notify: make(chan struct{}), gone: make(chan struct{}),
	}
}

// record returns the persisted form of the queue. Caller holds q.mu.
func (q *queue) record() queueRecord {
	attrs := make(map[string]string, len(q.attrs))
	for k, v := range q.attrs {
		attrs[k] = v
	}
	return queueRecord{UID: q.uid, Name: q.name, Attrs: attrs, Created: q.created, Modified: q.modified}
}

// wakeLocked wakes every long poll waiting on the queue. Caller holds q.mu.
func (q *queue) wakeLocked() {
	close(q.notify)
	q.notify = make(chan struct{})
}

// pushLocked (re)schedules m in the ready heap at its VisibleAt.
func (q *queue) pushLocked(m *message) {
	heap.Push(&q.ready, heapEntry{at: m.rec.VisibleAt, seq: m.seq, ver: m.ver, m: m})
}

// compactLocked rebuilds the ready heap when stale entries (left behind by
// deletes and visibility changes) outnumber live messages, bounding memory.
func (q *queue) compactLocked() {
	if len(q.ready) <= 2*len(q.msgs)+64 {
		return
	}
	h := make(msgHeap, 0, len(q.msgs))
	for _, m := range q.msgs {
		h = append(h, heapEntry{at: m.rec.VisibleAt, seq: m.seq, ver: m.ver, m: m})
	}
	heap.Init(&h)
	q.ready = h
}

// heapEntry schedules a message version; stale entries are skipped lazily.
type heapEntry struct {
	at  int64
	seq uint64
	ver uint64
	m   *message
}

func (e heapEntry) stale() bool { return e.m.deleted || e.m.ver != e.ver }

// msgHeap orders messages by visibility time, then by send order.
type msgHeap []heapEntry

func (h msgHeap) Len() int { return len(h) }
func (h msgHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h msgHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

// Push implements heap.Interface.
func (h *msgHeap) Push(x any) { *h = append(*h, x.(heapEntry)) }

// Pop implements heap.Interface.
func (h *msgHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = heapEntry{}
	*h = old[:n-1]
	return e
}

// peekLocked drops stale entries and returns the earliest live entry.
func (q *queue) peekLocked() (heapEntry, bool) {
	for len(q.ready) > 0 {
		e := q.ready[0]
		if !e.stale() {
			return e, true
		}
		heap.Pop(&q.ready)
	}
	return heapEntry{}, false
}

// receipt handles: base64url("<queue uid>:<seq>:<token>").
func makeReceipt(uid string, seq uint64, token string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(uid + ":" + strconv.FormatUint(seq, 10) + ":" + token))
}

// parseReceipt decodes a receipt handle; ok is false if it is malformed.
func parseReceipt(h string) (uid string, seq uint64, token string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", 0, "", false
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return "", 0, "", false
	}
	seq, err = strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return "", 0, "", false
	}
	return parts[0], seq, parts[2], true
}

// settableAttrs are the queue attributes CreateQueue/SetQueueAttributes take.
var settableAttrs = map[string]bool{
	"DelaySeconds": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"Policy": true, "ReceiveMessageWaitTimeSeconds": true, "VisibilityTimeout": true,
	"RedrivePolicy": true, "RedriveAllowPolicy": true, "KmsMasterKeyId": true,
	"KmsDataKeyReusePeriodSeconds": true, "SqsManagedSseEnabled": true, "FifoQueue": true,
}

// readableAttrs are the names GetQueueAttributes knows.
var readableAttrs = []string{
	"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "DelaySeconds",
	"LastModifiedTimestamp", "MaximumMessageSize", "MessageRetentionPeriod",
	"Policy", "QueueArn", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout",
	"RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId",
	"KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
}

// redrivePolicy is the RedrivePolicy attribute; maxReceiveCount arrives as a
// number or a string.
type redrivePolicy struct {
	DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
}

// canonicalAttr validates one settable attribute and returns its canonical
// string form (numbers normalised, RedrivePolicy re-encoded).
func canonicalAttr(name, value string) (string, error) {
	intIn := func(lo, hi int64) (string, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n < lo || n > hi {
			return "", fmt.Errorf("Invalid value for the parameter %s.", name)
		}
		return strconv.FormatInt(n, 10), nil
	}
	switch name {
	case "DelaySeconds":
		return intIn(0, maxDelay)
	case "MaximumMessageSize":
		return intIn(minMaxSize, maxMaxSize)
	case "MessageRetentionPeriod":
		return intIn(minRetention, maxRetention)
	case "ReceiveMessageWaitTimeSeconds":
		return intIn(0, maxWait)
	case "VisibilityTimeout":
		return intIn(0, maxVisibility)
	case "KmsDataKeyReusePeriodSeconds":
		return intIn(60, 86400)
	case "SqsManagedSseEnabled":
		if value != "true" && value != "false" {
			return "", fmt.Errorf("Invalid value for the parameter %s.", name)
		}
		return value, nil
	case "FifoQueue":
		if value == "false" {
			return value, nil
		}
		return "", fmt.Errorf("FIFO queues are not supported by this server.")
	case "RedrivePolicy":
		if value == "" {
			return "", nil
		}
		var rp redrivePolicy
		if err := json.Unmarshal([]byte(value), &rp); err != nil {
			return "", fmt.Errorf("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.", value)
		}
		mrc := strings.Trim(string(rp.MaxReceiveCount), `"`)
		n, err := strconv.ParseInt(mrc, 10, 64)
		if err != nil || n < 1 || n > maxReceiveLimit {
			return "", fmt.Errorf("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %s, valid values are from 1 to 1000 both inclusive.", value, mrc)
		}
		if _, ok := queueNameFromArn(rp.DeadLetterTargetArn); !ok {
			return "", fmt.Errorf("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.", value)
		}
		out, _ := json.Marshal(struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     int64  `json:"maxReceiveCount"`
		}{rp.DeadLetterTargetArn, n})
		return string(out), nil
	default:
		return value, nil
	}
}

// queueNameFromArn extracts the queue name of arn:aws:sqs:region:account:name.
func queueNameFromArn(arn string) (string, bool) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || !validQueueName(parts[5]) {
		return "", false
	}
	return parts[5], true
}

// validQueueName: 1..80 characters of [A-Za-z0-9_-].
func validQueueName(n string) bool {
	if n == "" || len(n) > 80 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseConfig derives the typed configuration from canonical attributes.
func parseConfig(attrs map[string]string) queueConfig {
	get := func(name string, def int64) int64 {
		if v, ok := attrs[name]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
		return def
	}
	cfg := queueConfig{
		visibility: get("VisibilityTimeout", defaultVisibility),
		delay:      get("DelaySeconds", 0),
		retention:  get("MessageRetentionPeriod", defaultRetention),
		maxSize:    get("MaximumMessageSize", defaultMaxSize),
		wait:       get("ReceiveMessageWaitTimeSeconds", 0),
	}
	if v := attrs["RedrivePolicy"]; v != "" {
		var rp redrivePolicy
		if json.Unmarshal([]byte(v), &rp) == nil {
			if n, err := strconv.ParseInt(strings.Trim(string(rp.MaxReceiveCount), `"`), 10, 64); err == nil {
				if name, ok := queueNameFromArn(rp.DeadLetterTargetArn); ok {
					cfg.dlqName, cfg.maxReceives = name, n
				}
			}
		}
	}
	return cfg
}

// attrDefaults are reported by GetQueueAttributes when not set explicitly.
var attrDefaults = map[string]string{
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            strconv.Itoa(defaultMaxSize),
	"MessageRetentionPeriod":        strconv.Itoa(defaultRetention),
	"ReceiveMessageWaitTimeSeconds": "0",
	"VisibilityTimeout":             strconv.Itoa(defaultVisibility),
	"SqsManagedSseEnabled":          "false",
}
