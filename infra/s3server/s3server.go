// Package s3server is motcua's embedded S3-compatible server: gofakes3's
// HTTP front end over a bbolt backend, persisting every acknowledged write to
// <DataDir>/s3.db (committed and fsynced before the response), with writes to
// the same key serialised so that conditional writes (If-Match /
// If-None-Match) are atomic under concurrency. Concurrent writes are group
// committed: those arriving while a commit is in progress share the next
// transaction and its fsync; a lone write commits at once.
//
// Requests are path-style (http://host/bucket/key). With Options.Credentials
// set (the embedded stack always sets them), every request must be signed
// with AWS Signature Version 4 as real S3 requires (see package
// motcua/infra/sigv4): anonymous requests get AccessDenied, a presigned URL
// whose key, signed headers (content-type, content-length) or expiry were
// changed gets SignatureDoesNotMatch or "Request has expired", a body that
// does not match its signed x-amz-content-sha256 or flexible checksum is
// refused, and aws-chunked bodies (signed chunks or unsigned with a trailing
// checksum) are decoded and verified. Responses carry what S3 sends:
// user-metadata keys in lower case, flexible checksums only when asked for
// (x-amz-checksum-mode: ENABLED) and never on a ranged GET.
package s3server

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	bolt "go.etcd.io/bbolt"

	"motcua/infra/boltcommit"
	"motcua/infra/sigv4"
)

// DBFile is the name of the bolt database inside Options.DataDir.
const DBFile = "s3.db"

// stripes is the number of key-lock stripes; writes to keys hashing to the
// same stripe are serialised (correct, just slightly less parallel).
const stripes = 256

// Options configures a Server.
type Options struct {
	// DataDir is the directory holding s3.db; created if missing. Required.
	DataDir string
	// Logger receives structured logs; slog.Default() when nil.
	Logger *slog.Logger
	// Credentials maps access key ids to secret keys. When non-empty every
	// request must carry a valid SigV4 signature by one of them; when
	// empty, requests are not authenticated (unit tests of other parts).
	Credentials map[string]string
	// Region is the region signatures must be scoped to; "us-east-1" when
	// empty.
	Region string
	// NoSync skips the fsync of each commit (tests and benchmarks only).
	// Writes still reach the OS before they are acknowledged, so they
	// survive a process crash, but not a power loss. The default, false,
	// makes every acknowledged write durable.
	NoSync bool
}

// Server is an S3-compatible http.Handler backed by a bolt database. It is
// safe for concurrent use.
type Server struct {
	db      *bolt.DB
	commit  *boltcommit.Committer
	backend *boltBackend
	handler http.Handler
	logger  *slog.Logger
	// verifier checks signatures; nil when Options.Credentials is empty.
	verifier *sigv4.Verifier

	// all is read-locked by every key writer (single-key writes and
	// multi-object deletes) and write-locked by Close, and by a
	// multi-object delete whose body cannot be parsed.
	all sync.RWMutex
	// locks are the key-lock stripes. A writer holds its keys' stripes
	// while it checks conditions and commits; a multi-object delete takes
	// its distinct stripes in ascending order, so two of them cannot
	// deadlock and a single-key writer (one stripe) cannot either.
	locks [stripes]sync.Mutex
	// multiDeleteLocked, when set (tests only), runs while a multi-object
	// delete holds its locks, before it commits.
	multiDeleteLocked func()

	closeOnce sync.Once
	closeErr  error
}

// New opens (or creates) <DataDir>/s3.db and returns a Server over it.
func New(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("s3server: DataDir is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("s3server: create data dir %s: %w", opts.DataDir, err)
	}
	path := filepath.Join(opts.DataDir, DBFile)
	// With NoSync false (the default) every bolt commit, hence every
	// acknowledged PUT/DELETE, is fsynced before the response is written.
	// The timeout stops a second process from hanging on the file lock.
	// See boltOptions for the other options and why they keep that promise.
	db, err := bolt.Open(path, 0o600, boltOptions(opts.NoSync))
	if err != nil {
		return nil, fmt.Errorf("s3server: open %s: %w", path, err)
	}
	commit := boltcommit.New(db)
	backend := &boltBackend{db: db, commit: commit, now: time.Now}
	fake := gofakes3.New(backend,
		gofakes3.WithLogger(slogLogger{logger}),
		gofakes3.WithoutVersioning(),
	)
	s := &Server{db: db, commit: commit, backend: backend, handler: fake.Server(), logger: logger}
	if len(opts.Credentials) > 0 {
		region := opts.Region
		if region == "" {
			region = "us-east-1"
		}
		creds := make(map[string]string, len(opts.Credentials))
		for k, v := range opts.Credentials {
			creds[k] = v
		}
		s.verifier = &sigv4.Verifier{Credentials: creds, Region: region, Service: "s3", S3: true}
	}
	logger.Info("s3server opened", "path", path, "nosync", opts.NoSync)
	return s, nil
}

// initialMmapSize is the address space bolt maps at open. bbolt otherwise
// maps 32 KiB and doubles the mapping as the file grows, and every remap
// waits for all read transactions to end while blocking new ones. It
// reserves address space only: memory is used as pages are touched, and the
// file grows in bolt's AllocSize steps as before.
const initialMmapSize = 256 << 20

// boltOptions are the bolt options of s3.db. Durability argument:
//   - NoSync false (the default): every commit writes the dirty pages,
//     fdatasyncs, writes the meta page and fdatasyncs again before Commit
//     returns, i.e. before any write in the group is answered;
//   - NoGrowSync false: growing the file is truncate + fsync (ext4 needs it);
//   - NoFreelistSync true: the free-page list is not written at each commit
//     (one page write less per commit, and no freelist page to allocate and
//     free). It is derived data: the pages in use are exactly those reachable
//     from the committed meta page, and on open bbolt rebuilds the list by
//     walking the tree (open costs a scan of the file; etcd runs with the
//     same setting). No acknowledged object depends on it;
//   - FreelistType hashmap: allocating and freeing pages is O(1) instead of
//     a sorted-array merge that grows with fragmentation.
func boltOptions(noSync bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         5 * time.Second,
		NoSync:          noSync,
		NoGrowSync:      false,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	}
}

// ServeHTTP serves one S3 API request (path-style addressing).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key := splitPath(r.URL.Path)
	q := query(r)
	if key != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// Before authenticate, which strips x-amz-checksum-mode.
		ohw := newObjectHeaderWriter(w, r)
		defer ohw.finish()
		w = ohw
	}
	if s.verifier != nil && r.Method != http.MethodOptions {
		// CORS preflights carry no credentials, on S3 too.
		if !s.authenticate(w, r) {
			return
		}
	} else if expired(q, time.Now()) {
		writeError(w, http.StatusForbidden, "AccessDenied", "Request has expired", r.URL.Path)
		return
	}
	switch {
	case bucket != "" && key == "" && r.Method == http.MethodPost && q.Has("delete"):
		// Multi-object delete touches many keys: it takes the stripe locks
		// of those keys, not every writer's (see lockMultiDelete).
		if !s.readBody(w, r) {
			return
		}
		defer s.lockMultiDelete(r, bucket)()
	case bucket != "" && key != "" && isWrite(r.Method):
		// Read the body before taking the key lock, so a slow client (a
		// phone uploading over 3G) does not hold the lock while it sends.
		// gofakes3 buffers whole objects anyway, so this costs no memory.
		if !s.readBody(w, r) {
			return
		}
		s.all.RLock()
		defer s.all.RUnlock()
		mu := &s.locks[stripe(bucket, key)]
		mu.Lock()
		defer mu.Unlock()
		if !s.checkConditions(w, r, bucket, key) {
			return
		}
	}
	s.handler.ServeHTTP(w, r)
}

// deleteRequest is the body of a multi-object delete, as far as locking
// needs it: the keys. The namespace is not checked (gofakes3 parses the
// body again and answers malformed ones).
type deleteRequest struct {
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

// lockMultiDelete takes the locks of a multi-object delete in bucket whose
// body has been read, and returns the function releasing them. It
// read-locks s.all and locks the distinct stripes of the keys in ascending
// order: writers of other keys go on while the delete commits, and every
// conditional single-key write (check and commit under its stripe) sees
// each key either before or after the delete, never in between. A body
// that does not parse gets the exclusive lock (gofakes3 will refuse it;
// excluding everyone is simply safe).
func (s *Server) lockMultiDelete(r *http.Request, bucket string) (unlock func()) {
	var req deleteRequest
	bb, ok := r.Body.(*bodyBuffer)
	if !ok || xml.Unmarshal(bb.b, &req) != nil || len(req.Objects) == 0 {
		s.all.Lock()
		s.hookMultiDelete()
		return s.all.Unlock
	}
	var held [stripes]bool
	for _, o := range req.Objects {
		held[stripe(bucket, o.Key)] = true
	}
	s.all.RLock()
	for i := range held {
		if held[i] {
			s.locks[i].Lock()
		}
	}
	s.hookMultiDelete()
	return func() {
		for i := stripes - 1; i >= 0; i-- {
			if held[i] {
				s.locks[i].Unlock()
			}
		}
		s.all.RUnlock()
	}
}

func (s *Server) hookMultiDelete() {
	if s.multiDeleteLocked != nil {
		s.multiDeleteLocked()
	}
}

// checkConditions applies If-Match / If-None-Match where gofakes3 ignores
// them: DeleteObject, CopyObject (on the destination) and
// CompleteMultipartUpload. Plain PutObject conditions are checked by the
// backend inside its write transaction. It must run under the key's lock,
// which makes check and write one atomic step. It reports whether to
// proceed; when not, it has written the error response.
func (s *Server) checkConditions(w http.ResponseWriter, r *http.Request, bucket, key string) bool {
	ifMatch := strings.TrimSpace(r.Header.Get("If-Match"))
	ifNoneMatch := strings.TrimSpace(r.Header.Get("If-None-Match"))
	if ifMatch == "" && ifNoneMatch == "" {
		return true
	}
	q := query(r)
	var op string
	switch {
	case r.Method == http.MethodDelete && !q.Has("uploadId") && !q.Has("versionId"):
		op = "delete"
		ifNoneMatch = "" // not defined for DeleteObject
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && !q.Has("uploadId"):
		op = "copy"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		op = "complete"
	default:
		return true
	}
	obj, err := s.backend.HeadObject(bucket, key)
	exists := err == nil
	switch {
	case err == nil, gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey):
	case gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket):
		return true // let gofakes3 answer NoSuchBucket
	default:
		s.logger.Error("s3server: head before conditional write", "op", op, "bucket", bucket, "err", err)
		writeError(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.", key)
		return false
	}
	if ifMatch != "" {
		if !exists {
			if op == "delete" {
				writeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
			} else {
				writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
			}
			return false
		}
		want := strings.Trim(ifMatch, `"`)
		if want != "*" && want != strings.Trim(gofakes3.FormatETag(obj.Hash), `"`) {
			writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
			return false
		}
	}
	if ifNoneMatch == "*" && exists {
		writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
		return false
	}
	return true
}

// Close closes the database. Requests must have stopped; Close is
// idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// Wait for in-flight writers before closing the file.
		s.all.Lock()
		defer s.all.Unlock()
		s.commit.Close()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("s3server: close db: %w", err)
		}
	})
	return s.closeErr
}

// expired reports whether q is a presigned URL (X-Amz-Date + X-Amz-Expires)
// past its expiry, as S3 would refuse it. Signatures are not verified.
func expired(q url.Values, now time.Time) bool {
	date, secs := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires")
	if date == "" || secs == "" {
		return false
	}
	signed, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(secs)
	if err != nil {
		return false
	}
	return now.After(signed.Add(time.Duration(n) * time.Second))
}

// noQuery is the parsed query of a URL without one. It is never modified.
var noQuery = url.Values{}

// query returns r's parsed query; most requests have none, and then no map
// is allocated. The result must not be modified.
func query(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return noQuery
	}
	return r.URL.Query()
}

// isWrite reports whether method changes an object (PUT incl. copy and
// upload part, DELETE, POST for multipart initiate/complete).
func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodDelete || method == http.MethodPost
}

// splitPath splits a path-style URL path into bucket and key.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// stripe maps bucket+key to one of the lock stripes.
func stripe(bucket, key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(bucket))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % stripes)
}

// writeError writes an S3-style XML error.
func writeError(w http.ResponseWriter, status int, code, msg, resource string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource></Error>",
		code, xmlEscape(msg), xmlEscape(resource))
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// slogLogger adapts gofakes3's logger to slog; gofakes3's info logs are
// per-request chatter and go to Debug.
type slogLogger struct{ l *slog.Logger }

// Print implements gofakes3.Logger.
// gofakes3 logs every request at info level; the message is formatted only
// when the logger would write it.
func (s slogLogger) Print(level gofakes3.LogLevel, v ...interface{}) {
	lvl := slog.LevelDebug
	switch level {
	case gofakes3.LogErr:
		lvl = slog.LevelError
	case gofakes3.LogWarn:
		lvl = slog.LevelWarn
	}
	if !s.l.Enabled(context.Background(), lvl) {
		return
	}
	s.l.Log(context.Background(), lvl, "gofakes3", "msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
