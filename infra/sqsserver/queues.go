package sqsserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// Queue management actions. Queue metadata writes (create, set attributes,
// delete) are serialised by s.mu; lock order is s.mu before q.mu, and no
// code takes s.mu while holding q.mu.

type createQueueIn struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

type queueURLOut struct {
	QueueURL string `json:"QueueUrl"`
}

// canonicalAttrs validates attributes for CreateQueue/SetQueueAttributes.
// Caller holds s.mu (the dead-letter target must exist).
func (s *Server) canonicalAttrs(in map[string]string) (map[string]string, *apiError) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if !settableAttrs[k] {
			return nil, errInvalidAttrName(k)
		}
		cv, err := canonicalAttr(k, v)
		if err != nil {
			return nil, errInvalidAttrValue(err.Error())
		}
		if k == "RedrivePolicy" && cv != "" {
			cfg := parseConfig(map[string]string{k: cv})
			if s.queues[cfg.dlqName] == nil {
				return nil, errInvalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", v)
			}
		}
		out[k] = cv
	}
	return out, nil
}

func putQueueRecord(tx *bolt.Tx, rec queueRecord) error {
	js, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode queue %s: %w", rec.Name, err)
	}
	if err := tx.Bucket(queuesBucket).Put([]byte(rec.Name), js); err != nil {
		return fmt.Errorf("put queue %s: %w", rec.Name, err)
	}
	return nil
}

func (s *Server) createQueue(r *request) (any, *apiError) {
	var in createQueueIn
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	if strings.HasSuffix(in.QueueName, ".fifo") {
		return nil, errInvalidParam("FIFO queues are not supported by this server.")
	}
	if !validQueueName(in.QueueName) {
		return nil, errInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	attrs, e := s.canonicalAttrs(in.Attributes)
	if e != nil {
		return nil, e
	}
	if attrs["RedrivePolicy"] == "" {
		delete(attrs, "RedrivePolicy")
	}
	if q := s.queues[in.QueueName]; q != nil {
		q.mu.Lock()
		defer q.mu.Unlock()
		for k, v := range attrs {
			cur, ok := q.attrs[k]
			if !ok {
				cur = attrDefaults[k]
			}
			if cur != v {
				return nil, errQueueExists(in.QueueName)
			}
		}
		return queueURLOut{s.queueURL(r.host, in.QueueName)}, nil
	}
	now := time.Now().Unix()
	rec := queueRecord{UID: uuid.NewString(), Name: in.QueueName, Attrs: attrs, Created: now, Modified: now}
	e = s.persist(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(msgBucketName(rec.UID)); err != nil {
			return fmt.Errorf("create message bucket of %s: %w", rec.Name, err)
		}
		return putQueueRecord(tx, rec)
	})
	if e != nil {
		return nil, e
	}
	s.queues[rec.Name] = newQueue(rec, s.arn(rec.Name), parseConfig(attrs))
	s.log.Info("queue created", "queue", rec.Name)
	return queueURLOut{s.queueURL(r.host, in.QueueName)}, nil
}

func (s *Server) getQueueURL(r *request) (any, *apiError) {
	var in struct {
		QueueName string `json:"QueueName"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	if s.queueByName(in.QueueName) == nil {
		return nil, errNoQueue()
	}
	return queueURLOut{s.queueURL(r.host, in.QueueName)}, nil
}

func (s *Server) listQueues(r *request) (any, *apiError) {
	var in struct {
		QueueNamePrefix string `json:"QueueNamePrefix"`
		MaxResults      optInt `json:"MaxResults"`
		NextToken       string `json:"NextToken"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	limit := 1000
	if in.MaxResults.set {
		if in.MaxResults.v < 1 || in.MaxResults.v > 1000 {
			return nil, errInvalidParam("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", in.MaxResults.v)
		}
		limit = int(in.MaxResults.v)
	}
	after := ""
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errInvalidParam("Invalid NextToken value.")
		}
		after = string(raw)
	}
	var out struct {
		QueueUrls []string `json:"QueueUrls"`
		NextToken string   `json:"NextToken,omitempty"`
	}
	out.QueueUrls = []string{}
	names := s.sortedNames(in.QueueNamePrefix)
	for i, n := range names {
		if after != "" && n <= after {
			continue
		}
		if len(out.QueueUrls) == limit {
			if in.MaxResults.set {
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, s.queueURL(r.host, n))
	}
	return out, nil
}

func (s *Server) getQueueAttributes(r *request) (any, *apiError) {
	var in struct {
		QueueURL       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, e
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			for _, a := range readableAttrs {
				want[a] = true
			}
			continue
		}
		known := false
		for _, a := range readableAttrs {
			if a == n {
				known = true
				break
			}
		}
		if !known {
			return nil, errInvalidAttrName(n)
		}
		want[n] = true
	}
	out := map[string]string{}
	now := s.nowMS()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	var visible, inflight, delayed int
	if want["ApproximateNumberOfMessages"] || want["ApproximateNumberOfMessagesNotVisible"] || want["ApproximateNumberOfMessagesDelayed"] {
		for _, m := range q.msgs {
			switch {
			case m.rec.VisibleAt <= now:
				visible++
			case m.rec.Receives == 0:
				delayed++
			default:
				inflight++
			}
		}
	}
	for n := range want {
		switch n {
		case "ApproximateNumberOfMessages":
			out[n] = strconv.Itoa(visible)
		case "ApproximateNumberOfMessagesNotVisible":
			out[n] = strconv.Itoa(inflight)
		case "ApproximateNumberOfMessagesDelayed":
			out[n] = strconv.Itoa(delayed)
		case "CreatedTimestamp":
			out[n] = strconv.FormatInt(q.created, 10)
		case "LastModifiedTimestamp":
			out[n] = strconv.FormatInt(q.modified, 10)
		case "QueueArn":
			out[n] = q.arn
		default:
			if v, ok := q.attrs[n]; ok {
				out[n] = v
			} else if v, ok := attrDefaults[n]; ok {
				out[n] = v
			}
		}
	}
	q.mu.Unlock()
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return struct {
		Attributes map[string]string `json:"Attributes"`
	}{out}, nil
}

func (s *Server) setQueueAttributes(r *request) (any, *apiError) {
	var in struct {
		QueueURL   string            `json:"QueueUrl"`
		Attributes map[string]string `json:"Attributes"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.Attributes == nil {
		return nil, errMissing("Attributes")
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	attrs, e := s.canonicalAttrs(in.Attributes)
	if e != nil {
		return nil, e
	}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	rec := q.record()
	q.mu.Unlock()
	for k, v := range attrs {
		if k == "RedrivePolicy" && v == "" {
			delete(rec.Attrs, k)
			continue
		}
		rec.Attrs[k] = v
	}
	rec.Modified = time.Now().Unix()
	if e := s.persist(func(tx *bolt.Tx) error { return putQueueRecord(tx, rec) }); e != nil {
		return nil, e
	}
	q.mu.Lock()
	q.attrs, q.modified, q.cfg = rec.Attrs, rec.Modified, parseConfig(rec.Attrs)
	q.wakeLocked() // a waiting long poll re-evaluates with the new settings
	q.mu.Unlock()
	return struct{}{}, nil
}

// queueOf reads a request whose one parameter is QueueUrl (DeleteQueue,
// PurgeQueue) and resolves the queue.
func (s *Server) queueOf(r *request) (*queue, *apiError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	return s.lookup(in.QueueURL)
}

func (s *Server) deleteQueue(r *request) (any, *apiError) {
	q, e := s.queueOf(r)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	if s.queues[q.name] != q {
		s.mu.Unlock()
		return nil, errNoQueue()
	}
	delete(s.queues, q.name)
	s.mu.Unlock()

	q.ops.Lock()
	defer q.ops.Unlock()
	q.mu.Lock()
	q.deleted = true
	q.msgs = map[uint64]*message{}
	q.ready = nil
	close(q.gone)
	q.wakeLocked()
	q.mu.Unlock()
	e = s.persist(func(tx *bolt.Tx) error {
		qb := tx.Bucket(queuesBucket)
		if v := qb.Get([]byte(q.name)); v != nil {
			var rec queueRecord
			// A queue re-created under the same name meanwhile keeps its record.
			if json.Unmarshal(v, &rec) == nil && rec.UID == q.uid {
				if err := qb.Delete([]byte(q.name)); err != nil {
					return fmt.Errorf("delete queue %s: %w", q.name, err)
				}
			}
		}
		if tx.Bucket(msgBucketName(q.uid)) != nil {
			if err := tx.DeleteBucket(msgBucketName(q.uid)); err != nil {
				return fmt.Errorf("delete messages of %s: %w", q.name, err)
			}
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	s.log.Info("queue deleted", "queue", q.name)
	return struct{}{}, nil
}

func (s *Server) purgeQueue(r *request) (any, *apiError) {
	q, e := s.queueOf(r)
	if e != nil {
		return nil, e
	}
	q.ops.Lock()
	defer q.ops.Unlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	for _, m := range q.msgs {
		m.deleted = true
	}
	q.msgs = map[uint64]*message{}
	q.ready = nil
	q.mu.Unlock()
	return struct{}{}, s.persist(func(tx *bolt.Tx) error {
		name := msgBucketName(q.uid)
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("purge %s: %w", q.name, err)
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("purge %s: %w", q.name, err)
		}
		return nil
	})
}
