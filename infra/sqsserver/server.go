package sqsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"motcua/infra/boltcommit"
	"motcua/infra/sigv4"
)

// Options configures a Server.
type Options struct {
	// DataDir is the directory holding the database file (sqs.db); required.
	DataDir string
	// AccountID appears in queue URLs and ARNs; default "000000000000".
	AccountID string
	// Region appears in queue ARNs; default "us-east-1".
	Region string
	// NoSync skips the fsync of each commit (benchmarks only). The default,
	// false, makes every acknowledged write durable.
	NoSync bool
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Credentials maps access key ids to secret keys. When non-empty every
	// request must be signed (SigV4, service "sqs", Region) by one of them,
	// as AWS requires; when empty, requests are not authenticated.
	Credentials map[string]string
}

// DBFileName is the name of the database file inside Options.DataDir.
const DBFileName = "sqs.db"

// maxRequestBytes bounds a request body (a 10-entry batch of 256 KiB
// messages in JSON with escaping stays well below it).
const maxRequestBytes = 8 << 20

// maxPrealloc bounds the body buffer allocated up front from a declared
// Content-Length; larger bodies grow it as they arrive.
const maxPrealloc = 1 << 20

// Server is an SQS-compatible server speaking the AWS JSON 1.0 protocol,
// persisting queues and messages in a bbolt database. It is an http.Handler;
// all methods are safe for concurrent use.
type Server struct {
	opts   Options
	log    *slog.Logger
	db     *bolt.DB
	commit *boltcommit.Committer

	mu     sync.RWMutex
	queues map[string]*queue
	closed bool
	done   chan struct{} // closed by Close: ends long polls
	active sync.WaitGroup
	// background tracks the janitor goroutine.
	background sync.WaitGroup

	skewMS atomic.Int64

	// verifier checks SigV4 signatures; nil when Options.Credentials is empty.
	verifier *sigv4.Verifier

	// taskMu guards tasks: message move tasks per source queue name,
	// oldest first.
	taskMu sync.Mutex
	tasks  map[string][]*moveTask
}

// New opens (or creates) DataDir/sqs.db and restores every queue and message.
func New(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("sqsserver: Options.DataDir is required")
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("sqsserver: create data dir: %w", err)
	}
	path := filepath.Join(opts.DataDir, DBFileName)
	db, err := bolt.Open(path, 0o600, boltOptions(opts.NoSync))
	if err != nil {
		return nil, fmt.Errorf("sqsserver: open %s: %w", path, err)
	}
	s := &Server{
		opts: opts, log: lg.With("component", "sqsserver"), db: db,
		queues: map[string]*queue{}, done: make(chan struct{}),
		tasks: map[string][]*moveTask{},
	}
	if err := s.restore(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqsserver: restore %s: %w", path, err)
	}
	if len(opts.Credentials) > 0 {
		creds := make(map[string]string, len(opts.Credentials))
		for k, v := range opts.Credentials {
			creds[k] = v
		}
		s.verifier = &sigv4.Verifier{Credentials: creds, Region: opts.Region, Service: "sqs"}
	}
	s.commit = boltcommit.New(db)
	if err := s.restoreTasks(); err != nil {
		s.commit.Close()
		_ = db.Close()
		return nil, fmt.Errorf("sqsserver: restore message move tasks: %w", err)
	}
	s.background.Add(1)
	go s.janitor()
	s.log.Info("sqs server ready", "path", path, "queues", len(s.queues))
	return s, nil
}

// initialMmapSize is the address space bolt maps at open. bbolt otherwise
// maps 32 KiB and doubles the mapping as the file grows, and every remap
// waits for all read transactions to end while blocking new ones. It
// reserves address space only: memory is used as pages are touched.
const initialMmapSize = 256 << 20

// boltOptions are the bolt options of sqs.db. Durability argument:
//   - NoSync false (the default): every commit writes the dirty pages,
//     fdatasyncs, writes the meta page and fdatasyncs again before Commit
//     returns, i.e. before any request of the group is answered;
//   - NoFreelistSync true: the free-page list is not written at each commit
//     (one page write less per commit; a queue that churns frees pages on
//     every delete, so its list is never small). It is derived data: the
//     pages in use are exactly those reachable from the committed meta
//     page, and on open bbolt rebuilds the list by walking the tree (open
//     costs a scan of the file, as New's restore does anyway; etcd runs with
//     the same setting). No acknowledged message depends on it;
//   - FreelistType hashmap: allocating and freeing pages is O(1) instead of
//     a sorted-array merge that grows with fragmentation.
func boltOptions(noSync bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         5 * time.Second,
		NoSync:          noSync,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	}
}

// restore loads all queues and message states from the database, then
// converts messages stored in the format before bodies had their own bucket.
func (s *Server) restore() error {
	legacy := map[string][]uint64{} // queue uid -> seqs of legacy records
	err := s.db.Update(func(tx *bolt.Tx) error {
		qb, err := tx.CreateBucketIfNotExists(queuesBucket)
		if err != nil {
			return fmt.Errorf("create queues bucket: %w", err)
		}
		return qb.ForEach(func(k, v []byte) error {
			var rec queueRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode queue %s: %w", k, err)
			}
			if rec.Attrs == nil {
				rec.Attrs = map[string]string{}
			}
			q := newQueue(rec, s.arn(rec.Name), parseConfig(rec.Attrs))
			mb, err := tx.CreateBucketIfNotExists(msgBucketName(rec.UID))
			if err != nil {
				return fmt.Errorf("message bucket of %s: %w", rec.Name, err)
			}
			if _, err := tx.CreateBucketIfNotExists(bodyBucketName(rec.UID)); err != nil {
				return fmt.Errorf("content bucket of %s: %w", rec.Name, err)
			}
			err = mb.ForEach(func(mk, mv []byte) error {
				ver, st, content, err := decodeMsg(mv)
				if err != nil {
					return fmt.Errorf("queue %s: %w", rec.Name, err)
				}
				m := &message{seq: bytesToSeq(mk), ver: ver, rec: st}
				if content != nil {
					legacy[rec.UID] = append(legacy[rec.UID], m.seq)
				}
				q.msgs[m.seq] = m
				q.pushLocked(m)
				if m.seq >= q.nextSeq {
					q.nextSeq = m.seq + 1
				}
				return nil
			})
			if err != nil {
				return err
			}
			s.queues[rec.Name] = q
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, q := range s.queues {
		if seqs := legacy[q.uid]; len(seqs) > 0 {
			if err := s.convertLegacy(q, seqs); err != nil {
				return err
			}
			s.log.Info("messages converted to the separate-body format", "queue", q.name, "count", len(seqs))
		}
	}
	return nil
}

// convertBatch bounds the messages converted per transaction, so converting
// a large old database never holds all of it in one transaction's memory.
const convertBatch = 1000

// convertLegacy moves the inline content of q's legacy records (seqs) to
// the content bucket, rewriting each state record without it (same
// version). Each message converts in one transaction with its content, so a
// crash mid-way leaves every message whole, in either format.
func (s *Server) convertLegacy(q *queue, seqs []uint64) error {
	for len(seqs) > 0 {
		n := min(len(seqs), convertBatch)
		chunk := seqs[:n]
		seqs = seqs[n:]
		err := s.db.Update(func(tx *bolt.Tx) error {
			mb := tx.Bucket(msgBucketName(q.uid))
			cb := tx.Bucket(bodyBucketName(q.uid))
			for _, seq := range chunk {
				v := mb.Get(seqKey(seq))
				if v == nil {
					continue
				}
				ver, st, content, err := decodeMsg(v)
				if err != nil {
					return fmt.Errorf("queue %s: %w", q.name, err)
				}
				if content == nil {
					continue
				}
				cv, err := encodeContent(content)
				if err != nil {
					return err
				}
				sv, err := encodeMsg(ver, &st)
				if err != nil {
					return err
				}
				if err := cb.Put(seqKey(seq), cv); err != nil {
					return fmt.Errorf("queue %s: put content %d: %w", q.name, seq, err)
				}
				if err := mb.Put(seqKey(seq), sv); err != nil {
					return fmt.Errorf("queue %s: put message %d: %w", q.name, seq, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("convert messages of %s: %w", q.name, err)
		}
	}
	return nil
}

func bytesToSeq(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

// Close ends long polls, waits for requests in progress and closes the
// database. Requests arriving afterwards get 503 ServiceUnavailable.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.active.Wait()
	s.background.Wait()
	s.commit.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqsserver: close database: %w", err)
	}
	return nil
}

func (s *Server) arn(name string) string {
	return "arn:aws:sqs:" + s.opts.Region + ":" + s.opts.AccountID + ":" + name
}

// request is one decoded API call.
type request struct {
	ctx      context.Context
	action   string
	body     []byte
	host     string
	senderID string
}

type actionFunc func(s *Server, r *request) (any, *apiError)

var actions = map[string]actionFunc{
	"CreateQueue":                  (*Server).createQueue,
	"GetQueueUrl":                  (*Server).getQueueURL,
	"ListQueues":                   (*Server).listQueues,
	"GetQueueAttributes":           (*Server).getQueueAttributes,
	"SetQueueAttributes":           (*Server).setQueueAttributes,
	"DeleteQueue":                  (*Server).deleteQueue,
	"PurgeQueue":                   (*Server).purgeQueue,
	"SendMessage":                  (*Server).sendMessage,
	"SendMessageBatch":             (*Server).sendMessageBatch,
	"ReceiveMessage":               (*Server).receiveMessage,
	"DeleteMessage":                (*Server).deleteMessage,
	"DeleteMessageBatch":           (*Server).deleteMessageBatch,
	"ChangeMessageVisibility":      (*Server).changeMessageVisibility,
	"ChangeMessageVisibilityBatch": (*Server).changeMessageVisibilityBatch,
	"StartMessageMoveTask":         (*Server).startMessageMoveTask,
	"ListMessageMoveTasks":         (*Server).listMessageMoveTasks,
	"CancelMessageMoveTask":        (*Server).cancelMessageMoveTask,
}

// ServeHTTP speaks the SQS JSON 1.0 protocol (POST with X-Amz-Target:
// AmazonSQS.<Action>) and the Query protocol (form-encoded Action=<Action>,
// XML responses) on any path. With Options.Credentials set, every request
// must carry a valid SigV4 signature for service "sqs".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	query := isQueryRequest(r)
	fail := func(e *apiError) {
		if query {
			e.writeXML(w, reqID)
		} else {
			e.write(w, reqID)
		}
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		fail(errUnavailable())
		return
	}
	s.active.Add(1)
	s.mu.RUnlock()
	defer s.active.Done()

	if r.Method != http.MethodPost && !(query && r.Method == http.MethodGet) {
		fail(errInvalidAction(r.Method + " " + r.URL.Path))
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		// Sized from Content-Length: one allocation instead of
		// io.ReadAll's growing copies. Bounded, so a client declaring a
		// large body and sending little cannot make the server allocate it.
		buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), maxPrealloc)+bytes.MinRead))
		_, err = buf.ReadFrom(io.LimitReader(r.Body, maxRequestBytes+1))
		body = buf.Bytes()
		if err != nil {
			fail(errMalformed("could not read request body"))
			return
		}
	}
	if len(body) > maxRequestBytes {
		fail(errInvalidParam("Request body is too large."))
		return
	}
	if s.verifier != nil {
		if e := s.authenticate(r, body); e != nil {
			fail(e)
			return
		}
	}
	var action string
	if query {
		var e *apiError
		if action, body, e = queryInput(r, body); e != nil {
			fail(e)
			return
		}
	} else {
		target := r.Header.Get("X-Amz-Target")
		var ok bool
		action, ok = strings.CutPrefix(target, "AmazonSQS.")
		if !ok {
			if target == "" {
				fail(errMissing("X-Amz-Target header (or a form-encoded Action parameter)"))
			} else {
				fail(errInvalidAction(target))
			}
			return
		}
	}
	fn, ok := actions[action]
	if !ok {
		fail(errInvalidAction(action))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		fail(errMalformed("The request body is not valid JSON."))
		return
	}
	req := &request{ctx: r.Context(), action: action, body: body, host: r.Host, senderID: senderID(r, s.opts.AccountID)}
	start := time.Now()
	out, aerr := fn(s, req)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		code := ""
		if aerr != nil {
			code = aerr.queryCode
		}
		s.log.Debug("sqs request", "action", action, "protocol", protocolName(query), "request_id", reqID, "error_code", code, "duration_ms", time.Since(start).Milliseconds())
	}
	if aerr != nil {
		if aerr.receiver {
			s.log.Error("sqs request failed", "action", action, "request_id", reqID, "error", aerr.message)
		}
		fail(aerr)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	if query {
		if err := writeQueryResult(w, action, out, reqID); err != nil {
			s.log.Error("encode query response", "action", action, "error", err)
		}
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-RequestId", reqID)
	payload, err := json.Marshal(out)
	if err != nil {
		s.log.Error("encode response", "action", action, "error", err)
		errInternal().write(w, reqID)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

func protocolName(query bool) string {
	if query {
		return "query"
	}
	return "json"
}

// authenticate verifies the request's SigV4 signature over body and maps a
// refusal to the error AWS's SQS endpoint answers.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	if sigv4.Anonymous(r) {
		return authErr(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	payload := sigv4.HashHex(body)
	if sigv4.IsPresigned(r) {
		payload = sigv4.EmptySHA256
		if r.Method == http.MethodPost {
			payload = sigv4.HashHex(body)
		}
	}
	if _, e := s.verifier.Verify(r, payload); e != nil {
		s.log.Info("sqs request refused", "code", e.Code, "path", r.URL.Path)
		switch e.Code {
		case "InvalidAccessKeyId":
			return authErr(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		case "AccessDenied":
			if e.Message == "Access Denied" {
				return authErr(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
			}
			return authErr(http.StatusForbidden, "AccessDenied", e.Message)
		case "RequestTimeTooSkewed":
			return authErr(http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired: the request time is more than 15 minutes away from the server's time.")
		case "SignatureDoesNotMatch":
			return authErr(http.StatusForbidden, "SignatureDoesNotMatch", e.Message)
		default:
			return authErr(http.StatusBadRequest, "IncompleteSignature", e.Message)
		}
	}
	return nil
}

func authErr(status int, code, msg string) *apiError {
	return &apiError{status: status, shape: code, queryCode: code, message: msg}
}

// senderID returns the access key id of a SigV4 Authorization header, or the
// account id, as the SenderId message attribute.
func senderID(r *http.Request, account string) string {
	auth := r.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred := auth[i+len("Credential="):]
		if j := strings.IndexByte(cred, '/'); j > 0 {
			return cred[:j]
		}
	}
	return account
}

// decode unmarshals the request body into v.
func decode(r *request, v any) *apiError {
	if err := json.Unmarshal(r.body, v); err != nil {
		// The body is valid JSON (checked in ServeHTTP): this is a type error.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errInvalidParam("Value for parameter %s has the wrong type.", te.Field)
		}
		return errInvalidParam("One or more parameters have the wrong type.")
	}
	return nil
}

// queueURL builds the URL of a queue as seen through host.
func (s *Server) queueURL(host, name string) string {
	if host == "" {
		host = "localhost"
	}
	return "http://" + host + "/" + s.opts.AccountID + "/" + name
}

// lookup resolves a QueueUrl (any host; the last path segment is the name;
// a bare name is accepted too).
func (s *Server) lookup(queueURL string) (*queue, *apiError) {
	if queueURL == "" {
		return nil, errMissing("QueueUrl")
	}
	name := strings.TrimRight(queueURL, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

// queueByName returns a live queue or nil.
func (s *Server) queueByName(name string) *queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queues[name]
}

// sortedNames lists queue names with a prefix, sorted.
func (s *Server) sortedNames(prefix string) []string {
	s.mu.RLock()
	names := make([]string, 0, len(s.queues))
	for n := range s.queues {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()
	sort.Strings(names)
	return names
}

// persist runs fn in a (group-committed) write transaction.
func (s *Server) persist(fn func(tx *bolt.Tx) error) *apiError {
	if err := s.commit.Do(0, fn); err != nil {
		if errors.Is(err, boltcommit.ErrClosed) {
			return errUnavailable()
		}
		s.log.Error("sqs commit failed", "error", err)
		return errInternal()
	}
	return nil
}

// nowMS is the server's current time in unix milliseconds. skewMS moves the
// server's clock forward; only tests set it (to age messages past their
// retention period without waiting).
func (s *Server) nowMS() int64 { return time.Now().UnixMilli() + s.skewMS.Load() }

// optInt is an optional integer parameter that accepts a JSON number or a
// numeric string (some clients send either).
type optInt struct {
	set bool
	v   int64
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *optInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("value %s is not an integer", b)
	}
	o.set, o.v = true, n
	return nil
}
