package docstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DefaultContentType is the content type of documents written without one.
const DefaultContentType = "application/json"

// maxListLimit is S3's largest ListObjectsV2 page.
const maxListLimit = 1000

// S3Store is the Store adapter for an S3-compatible bucket (AWS S3,
// LocalStack, the embedded stack) on aws-sdk-go-v2. Safe for concurrent use.
type S3Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

var (
	_ Store        = (*S3Store)(nil)
	_ BatchDeleter = (*S3Store)(nil)
)

// NewS3Store returns a Store over bucket. presign may be nil, in which case
// one is derived from client.
func NewS3Store(client *s3.Client, presign *s3.PresignClient, bucket string) *S3Store {
	if presign == nil {
		presign = s3.NewPresignClient(client)
	}
	return &S3Store{client: client, presign: presign, bucket: bucket}
}

// Bucket returns the bucket the store reads and writes.
func (s *S3Store) Bucket() string { return s.bucket }

// Get reads a document; ErrNotFound when absent.
func (s *S3Store) Get(ctx context.Context, key string) (Object, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Object{}, fmt.Errorf("docstore get %s/%s: %w", s.bucket, key, mapErr(err, ErrPrecondition))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return Object{}, fmt.Errorf("docstore get %s/%s: read body: %w", s.bucket, key, err)
	}
	return Object{
		Key:          key,
		ETag:         aws.ToString(out.ETag),
		Body:         body,
		ContentType:  aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// GetPrefix returns the first n bytes of key and its whole size in one
// GetObject with Range bytes=0-(n-1) (PrefixReader): the size comes from
// Content-Range on a 206; a server that ignores the range answers 200 with
// the whole document, of which n bytes are read and the rest discarded
// unread; an empty document answers 416 (no byte in range), size 0.
func (s *S3Store) GetPrefix(ctx context.Context, key string, n int64) ([]byte, int64, error) {
	if n < 1 {
		e, err := s.Head(ctx, key)
		return nil, e.Size, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
	if err != nil {
		if isRangeNotSatisfiable(err) {
			e, herr := s.Head(ctx, key) // empty (or vanished): confirm
			if herr != nil {
				return nil, 0, herr
			}
			return nil, e.Size, nil
		}
		return nil, 0, fmt.Errorf("docstore get %s/%s: %w", s.bucket, key, mapErr(err, ErrPrecondition))
	}
	defer out.Body.Close()
	head, err := io.ReadAll(io.LimitReader(out.Body, n))
	if err != nil {
		return nil, 0, fmt.Errorf("docstore get %s/%s: read body: %w", s.bucket, key, err)
	}
	size := aws.ToInt64(out.ContentLength)
	if cr := aws.ToString(out.ContentRange); cr != "" {
		// "bytes 0-4/12345"
		i := strings.LastIndexByte(cr, '/')
		total, perr := strconv.ParseInt(cr[i+1:], 10, 64)
		if i < 0 || perr != nil {
			return nil, 0, fmt.Errorf("docstore get %s/%s: Content-Range %q", s.bucket, key, cr)
		}
		size = total
	}
	return head, size, nil
}

// isRangeNotSatisfiable reports a 416 (InvalidRange) answer.
func isRangeNotSatisfiable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestedRangeNotSatisfiable
}

// Head reads a document's metadata; ErrNotFound when absent.
func (s *S3Store) Head(ctx context.Context, key string) (Entry, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Entry{}, fmt.Errorf("docstore head %s/%s: %w", s.bucket, key, mapErr(err, ErrPrecondition))
	}
	return Entry{
		Key:          key,
		ETag:         aws.ToString(out.ETag),
		Size:         aws.ToInt64(out.ContentLength),
		LastModified: aws.ToTime(out.LastModified),
		ContentType:  aws.ToString(out.ContentType),
	}, nil
}

// Put writes a document with PutObject, conditional on opts.IfMatch
// (If-Match) or opts.IfNoneMatch (If-None-Match: *), and returns the ETag the
// server gave (quoted).
func (s *S3Store) Put(ctx context.Context, key string, body []byte, opts PutOptions) (string, error) {
	if opts.IfMatch != "" && opts.IfNoneMatch {
		return "", fmt.Errorf("docstore put %s/%s: IfMatch and IfNoneMatch together: %w", s.bucket, key, ErrPrecondition)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = DefaultContentType
	}
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   &ct,
	}
	failed := ErrPrecondition
	if opts.IfMatch != "" {
		in.IfMatch = aws.String(opts.IfMatch)
	}
	if opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
		failed = ErrConflict
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		mapped := mapErr(err, failed)
		if opts.IfMatch != "" && errors.Is(mapped, ErrNotFound) {
			// S3 answers If-Match on a missing key with 404 NoSuchKey; for
			// the port that is a failed precondition (the document is gone),
			// and only that: the error must not also match ErrNotFound.
			mapped = &kindError{kind: ErrPrecondition, cause: err}
		}
		return "", fmt.Errorf("docstore put %s/%s: %w", s.bucket, key, mapped)
	}
	return aws.ToString(out.ETag), nil
}

// Delete removes a document. With ifMatch it is conditional: DeleteObject
// is sent with If-Match, which S3 (general-purpose buckets, since
// 2025-09-16) and the embedded server check atomically: 412 when the ETag
// changed, 404 when the key is gone, both ErrPrecondition. A server that
// answers 501 to a conditional DELETE (LocalStack 4.x) gets the check from
// a Head first and then a plain delete; the window between the two is not
// protected there (callers use conditional deletes only for clean-up of
// their own records). Servers that silently ignore If-Match on DeleteObject
// are not supported for conditional deletes. An unconditional delete of an
// absent key succeeds.
func (s *S3Store) Delete(ctx context.Context, key string, ifMatch string) error {
	in := &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	_, err := s.client.DeleteObject(ctx, in)
	if err != nil && in.IfMatch != nil && isNotImplemented(err) {
		// No conditional DELETE on this server: compare the ETag with a
		// Head, then delete plainly.
		e, herr := s.Head(ctx, key)
		if errors.Is(herr, ErrNotFound) {
			return fmt.Errorf("docstore delete %s/%s: gone: %w", s.bucket, key, ErrPrecondition)
		}
		if herr != nil {
			return fmt.Errorf("docstore delete %s/%s: %w", s.bucket, key, herr)
		}
		if e.ETag != ifMatch {
			return fmt.Errorf("docstore delete %s/%s: etag changed: %w", s.bucket, key, ErrPrecondition)
		}
		in.IfMatch = nil
		_, err = s.client.DeleteObject(ctx, in)
	}
	if err != nil {
		err = mapErr(err, ErrPrecondition)
		if errors.Is(err, ErrNotFound) {
			if ifMatch != "" {
				return fmt.Errorf("docstore delete %s/%s: gone: %w", s.bucket, key, ErrPrecondition)
			}
			return nil
		}
		return fmt.Errorf("docstore delete %s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// DeleteMany removes keys unconditionally with DeleteObjects in Quiet mode,
// MaxDeleteMany keys per request (the SDK adds the checksum S3 requires).
// Duplicate keys are sent once. A per-key error in the answer is mapped to
// its key in failed; a request that fails as a whole puts every key it
// carried in failed and is returned as err (the other requests still go).
func (s *S3Store) DeleteMany(ctx context.Context, keys []string) (map[string]error, error) {
	keys = uniqueKeys(keys)
	var (
		failed map[string]error
		errs   []error
	)
	fail := func(key string, err error) {
		if failed == nil {
			failed = map[string]error{}
		}
		failed[key] = err
	}
	for chunk := range slices.Chunk(keys, MaxDeleteMany) {
		objs := make([]types.ObjectIdentifier, len(chunk))
		for i := range chunk {
			objs[i] = types.ObjectIdentifier{Key: &chunk[i]}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.bucket,
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			err = fmt.Errorf("docstore delete %d keys in %s: %w", len(chunk), s.bucket, mapErr(err, ErrPrecondition))
			errs = append(errs, err)
			for _, k := range chunk {
				fail(k, err)
			}
			continue
		}
		for _, e := range out.Errors {
			k := aws.ToString(e.Key)
			if aws.ToString(e.Code) == "NoSuchKey" {
				continue // S3 does not report absent keys; some servers do
			}
			fail(k, fmt.Errorf("docstore delete %s/%s: %s: %s", s.bucket, k, aws.ToString(e.Code), aws.ToString(e.Message)))
		}
	}
	return failed, errors.Join(errs...)
}

// uniqueKeys returns keys without repeats, in first-occurrence order.
func uniqueKeys(keys []string) []string {
	seen := make(map[string]struct{}, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}

// List returns up to limit keys under prefix (limit <= 0 or > 1000 means
// 1000), starting at the continuation token next.
func (s *S3Store) List(ctx context.Context, prefix, next string, limit int) (ListPage, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix, MaxKeys: aws.Int32(int32(limit))}
	if next != "" {
		in.ContinuationToken = &next
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return ListPage{}, fmt.Errorf("docstore list %s/%s: %w", s.bucket, prefix, mapErr(err, ErrPrecondition))
	}
	page := ListPage{Entries: make([]Entry, 0, len(out.Contents))}
	for _, o := range out.Contents {
		page.Entries = append(page.Entries, Entry{
			Key:          aws.ToString(o.Key),
			ETag:         aws.ToString(o.ETag),
			Size:         aws.ToInt64(o.Size),
			LastModified: aws.ToTime(o.LastModified),
		})
	}
	if aws.ToBool(out.IsTruncated) {
		page.Next = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}

// PresignPutSized returns a URL a client can PUT exactly size bytes of
// contentType to, valid for ttl: Content-Length and Content-Type are among
// the signed headers, so S3 refuses any other length or type (403
// SignatureDoesNotMatch) before storing anything. The client must send
// both headers with the signed values.
func (s *S3Store) PresignPutSized(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (string, error) {
	if size <= 0 {
		return "", fmt.Errorf("docstore presign put %s/%s: size %d must be positive", s.bucket, key, size)
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, ContentLength: aws.Int64(size)}
	if contentType != "" {
		in.ContentType = &contentType
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("docstore presign put %s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}

// PresignPut returns a URL a client can PUT the object to, valid for ttl.
// The client must send the same Content-Type header when contentType is set.
func (s *S3Store) PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error) {
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}
	if contentType != "" {
		in.ContentType = &contentType
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("docstore presign put %s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}

// PresignGet returns a URL a client can GET the object from, valid for ttl.
func (s *S3Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("docstore presign get %s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}

// mapErr turns S3 error kinds into the port's sentinels, keeping the SDK
// error in the chain. failed is the sentinel for a failed write condition.
func mapErr(err error, failed error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return &kindError{kind: ErrNotFound, cause: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return &kindError{kind: ErrNotFound, cause: err}
		case "PreconditionFailed", "ConditionalRequestConflict":
			return &kindError{kind: failed, cause: err}
		case "NoSuchBucket":
			// A missing bucket is a deployment fault, not a missing document.
			return err
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			// HeadObject answers without a body, so only the status tells.
			return &kindError{kind: ErrNotFound, cause: err}
		case http.StatusPreconditionFailed:
			return &kindError{kind: failed, cause: err}
		}
	}
	return err
}

// kindError pairs a port sentinel with the adapter error that caused it;
// errors.Is matches both.
type kindError struct {
	kind  error
	cause error
}

// Error names the port's error kind, then the adapter's.
func (e *kindError) Error() string { return e.kind.Error() + ": " + e.cause.Error() }

// Unwrap lets errors.Is match the sentinel and the SDK error.
func (e *kindError) Unwrap() []error { return []error{e.kind, e.cause} }

// isNotImplemented reports whether err is the S3 NotImplemented (501) error.
func isNotImplemented(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NotImplemented" {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotImplemented
}
