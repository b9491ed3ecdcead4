package docstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemStore is an in-memory Store with the same semantics as S3Store (quoted
// MD5 ETags, conditional writes, lexical listing), for unit tests of other
// packages. Its presigned URLs use the mem:// scheme and cannot be fetched.
// Safe for concurrent use; the zero value is not usable, call NewMemStore.
type MemStore struct {
	bucket string
	now    func() time.Time

	mu   sync.Mutex
	docs map[string]memDoc
}

type memDoc struct {
	body        []byte
	etag        string
	contentType string
	modified    time.Time
}

var (
	_ Store        = (*MemStore)(nil)
	_ BatchDeleter = (*MemStore)(nil)
)

// NewMemStore returns an empty MemStore named bucket (used in presigned
// URLs).
func NewMemStore(bucket string) *MemStore {
	return &MemStore{bucket: bucket, now: time.Now, docs: map[string]memDoc{}}
}

// Keys returns every stored key in lexical order, for assertions in tests.
func (m *MemStore) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.docs))
	for k := range m.docs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Get reads a document; ErrNotFound when absent.
func (m *MemStore) Get(ctx context.Context, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("docstore get %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[key]
	if !ok {
		return Object{}, fmt.Errorf("docstore get %s: %w", key, ErrNotFound)
	}
	return Object{Key: key, ETag: d.etag, Body: slices.Clone(d.body), ContentType: d.contentType, LastModified: d.modified}, nil
}

// GetPrefix returns the first n bytes of key and its size (PrefixReader).
func (m *MemStore) GetPrefix(ctx context.Context, key string, n int64) ([]byte, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("docstore get %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[key]
	if !ok {
		return nil, 0, fmt.Errorf("docstore get %s: %w", key, ErrNotFound)
	}
	return slices.Clone(d.body[:min(int64(len(d.body)), max(n, 0))]), int64(len(d.body)), nil
}

// Head reads a document's metadata; ErrNotFound when absent.
func (m *MemStore) Head(ctx context.Context, key string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, fmt.Errorf("docstore head %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[key]
	if !ok {
		return Entry{}, fmt.Errorf("docstore head %s: %w", key, ErrNotFound)
	}
	return Entry{Key: key, ETag: d.etag, Size: int64(len(d.body)), LastModified: d.modified, ContentType: d.contentType}, nil
}

// Put writes a document, honouring opts' conditions atomically.
func (m *MemStore) Put(ctx context.Context, key string, body []byte, opts PutOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("docstore put %s: %w", key, err)
	}
	if opts.IfMatch != "" && opts.IfNoneMatch {
		return "", fmt.Errorf("docstore put %s: IfMatch and IfNoneMatch together: %w", key, ErrPrecondition)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, exists := m.docs[key]
	if opts.IfNoneMatch && exists {
		return "", fmt.Errorf("docstore put %s: %w", key, ErrConflict)
	}
	if opts.IfMatch != "" && (!exists || !sameETag(cur.etag, opts.IfMatch)) {
		return "", fmt.Errorf("docstore put %s: %w", key, ErrPrecondition)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = DefaultContentType
	}
	sum := md5.Sum(body)
	d := memDoc{body: slices.Clone(body), etag: `"` + hex.EncodeToString(sum[:]) + `"`, contentType: ct, modified: m.now().UTC()}
	m.docs[key] = d
	return d.etag, nil
}

// Delete removes a document; with ifMatch, only if its ETag matches (an
// absent key is then ErrPrecondition).
func (m *MemStore) Delete(ctx context.Context, key string, ifMatch string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("docstore delete %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, exists := m.docs[key]
	if ifMatch != "" && (!exists || !sameETag(cur.etag, ifMatch)) {
		return fmt.Errorf("docstore delete %s: %w", key, ErrPrecondition)
	}
	delete(m.docs, key)
	return nil
}

// DeleteMany removes keys unconditionally in one atomic step; absent keys
// are not an error. It fails as a whole only when ctx has ended.
func (m *MemStore) DeleteMany(ctx context.Context, keys []string) (map[string]error, error) {
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("docstore delete %d keys: %w", len(keys), err)
		failed := make(map[string]error, len(keys))
		for _, k := range keys {
			failed[k] = err
		}
		return failed, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.docs, k)
	}
	return nil, nil
}

// List returns up to limit keys under prefix (limit <= 0 or > 1000 means
// 1000); the page token is the last key of the previous page.
func (m *MemStore) List(ctx context.Context, prefix, next string, limit int) (ListPage, error) {
	if err := ctx.Err(); err != nil {
		return ListPage{}, fmt.Errorf("docstore list %s: %w", prefix, err)
	}
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.docs {
		if strings.HasPrefix(k, prefix) && k > next {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var page ListPage
	for i, k := range keys {
		if i == limit {
			page.Next = keys[i-1]
			break
		}
		d := m.docs[k]
		page.Entries = append(page.Entries, Entry{Key: k, ETag: d.etag, Size: int64(len(d.body)), LastModified: d.modified})
	}
	return page, nil
}

// PresignPutSized returns mem://bucket/key?method=PUT&content-length=…
// (not fetchable).
func (m *MemStore) PresignPutSized(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (string, error) {
	if size <= 0 {
		return "", fmt.Errorf("docstore presign put %s: size %d must be positive", key, size)
	}
	q := url.Values{"method": {"PUT"}, "expires": {m.now().Add(ttl).UTC().Format(time.RFC3339)}, "content-length": {strconv.FormatInt(size, 10)}}
	if contentType != "" {
		q.Set("content-type", contentType)
	}
	return m.presigned(key, q), nil
}

// PresignPut returns mem://bucket/key?method=PUT&... (not fetchable).
func (m *MemStore) PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error) {
	q := url.Values{"method": {"PUT"}, "expires": {m.now().Add(ttl).UTC().Format(time.RFC3339)}}
	if contentType != "" {
		q.Set("content-type", contentType)
	}
	return m.presigned(key, q), nil
}

// PresignGet returns mem://bucket/key?method=GET&... (not fetchable).
func (m *MemStore) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	q := url.Values{"method": {"GET"}, "expires": {m.now().Add(ttl).UTC().Format(time.RFC3339)}}
	return m.presigned(key, q), nil
}

func (m *MemStore) presigned(key string, q url.Values) string {
	u := url.URL{Scheme: "mem", Host: m.bucket, Path: "/" + key, RawQuery: q.Encode()}
	return u.String()
}

// sameETag compares ETags ignoring the surrounding quotes, as S3 does.
func sameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`)
}
