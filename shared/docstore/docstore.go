// Package docstore is motcua's document store port: JSON documents in an
// S3-compatible bucket, updated with ETag compare-and-swap.
//
// Every Store is safe for concurrent use. A nil error from a write means the
// object is durable in the bucket. Context cancellation aborts the call; a
// cancelled write may or may not have happened, so callers retry writes only
// through the conditional forms (IfMatch / IfNoneMatch), which are safe to
// repeat.
package docstore

import (
	"context"
	"time"
)

// ErrNotFound means the key does not exist.
var ErrNotFound error = &storeError{text: "docstore: not found", code: "not_found", status: 404,
	en: "The requested resource does not exist.", vi: "Không tìm thấy dữ liệu được yêu cầu."}

// ErrConflict means a create-once write (IfNoneMatch) found the key present.
var ErrConflict error = &storeError{text: "docstore: already exists", code: "conflict", status: 409,
	en: conflictEn, vi: conflictVi}

// ErrPrecondition means an IfMatch write or delete found another ETag (the
// document changed since it was read, or is gone).
var ErrPrecondition error = &storeError{text: "docstore: precondition failed", code: "conflict", status: 409,
	en: conflictEn, vi: conflictVi}

const (
	conflictEn = "The resource was changed or created by another request; reload it and try again."
	conflictVi = "Dữ liệu vừa được thay đổi bởi một yêu cầu khác; vui lòng tải lại và thử lại."
)

// storeError is a docstore sentinel (compared by identity with errors.Is).
// Like fault.Error it carries what a client may see — a stable code, an
// HTTP status, messages in both languages — through the methods httpx
// looks for (ProblemCode, StatusCode, MessageVi, MessageEn), so a storage
// error that reaches the HTTP layer unmapped still answers 404/409 and
// httpx needs no knowledge of docstore.
type storeError struct {
	text, code string
	status     int
	en, vi     string
}

func (e *storeError) Error() string       { return e.text }
func (e *storeError) ProblemCode() string { return e.code }
func (e *storeError) StatusCode() int     { return e.status }
func (e *storeError) MessageVi() string   { return e.vi }
func (e *storeError) MessageEn() string   { return e.en }

// Infrastructure tells httpx to log the wrapped context of a storage error
// that reached the HTTP layer (a domain should have mapped it).
func (e *storeError) Infrastructure() bool { return true }

// Object is one stored document as read.
type Object struct {
	Key          string
	ETag         string
	Body         []byte
	ContentType  string
	LastModified time.Time
}

// Entry is one key from a listing or a Head, without its body.
type Entry struct {
	Key          string
	ETag         string
	Size         int64
	LastModified time.Time
	// ContentType is the stored media type; filled by Head only.
	ContentType string
}

// PutOptions makes a write conditional.
type PutOptions struct {
	// IfMatch, when set, writes only if the current ETag equals it.
	IfMatch string
	// IfNoneMatch, when true, writes only if the key does not exist yet.
	IfNoneMatch bool
	// ContentType of the body; "application/json" when empty.
	ContentType string
}

// ListPage is one page of a prefix listing, keys in lexical order.
type ListPage struct {
	Entries []Entry
	// Next is the token for the following page; empty on the last page.
	Next string
}

// Store is the document store port.
type Store interface {
	// Get reads a document; ErrNotFound when absent.
	Get(ctx context.Context, key string) (Object, error)
	// Head reads a document's metadata; ErrNotFound when absent.
	Head(ctx context.Context, key string) (Entry, error)
	// Put writes a document and returns its new ETag; ErrConflict or
	// ErrPrecondition when a condition fails.
	Put(ctx context.Context, key string, body []byte, opts PutOptions) (etag string, err error)
	// Delete removes a document (IfMatch optional, "" = unconditional);
	// deleting an absent key is not an error.
	Delete(ctx context.Context, key string, ifMatch string) error
	// List returns up to limit keys under prefix, starting after the page
	// token next ("" for the first page).
	List(ctx context.Context, prefix, next string, limit int) (ListPage, error)
	// PresignPut returns a URL a client can PUT the object to directly,
	// valid for ttl.
	PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error)
	// PresignPutSized is PresignPut binding the length too: the URL admits
	// exactly size bytes of contentType (both signed headers).
	PresignPutSized(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (string, error)
	// PresignGet returns a URL a client can GET the object from, valid for ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// PrefixReader is implemented by stores that read the start of a document
// and its size in one round trip (S3 GetObject with a Range). It is
// optional, like BatchDeleter: callers type-assert a Store and fall back
// to Head and Get.
type PrefixReader interface {
	// GetPrefix returns the first n bytes of key (all of it when it is
	// shorter) and the document's whole size; ErrNotFound when absent.
	GetPrefix(ctx context.Context, key string, n int64) (head []byte, size int64, err error)
}

// MaxDeleteMany is the most keys one S3 DeleteObjects request carries;
// BatchDeleter implementations split longer lists at it.
const MaxDeleteMany = 1000

// BatchDeleter is implemented by stores that delete many documents in one
// round trip (S3 DeleteObjects). It is optional: callers type-assert a
// Store and fall back to Delete when it is absent.
type BatchDeleter interface {
	// DeleteMany removes keys unconditionally, like Delete(ctx, key, "")
	// for each; absent keys are not an error, and the order of deletion is
	// unspecified. failed maps every key not known to be deleted to its
	// error (nil or empty when all were). err is non-nil when a whole
	// request failed; the keys it carried are in failed too, with that
	// error, so a caller that only needs what is left reads failed.
	DeleteMany(ctx context.Context, keys []string) (failed map[string]error, err error)
}
