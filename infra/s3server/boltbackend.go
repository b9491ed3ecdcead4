package s3server

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/johannesboyne/gofakes3"
	bolt "go.etcd.io/bbolt"

	"motcua/infra/boltcommit"
)

// boltBackend is a gofakes3.Backend on bbolt. gofakes3's own backend/s3bolt
// needs gopkg.in/mgo.v2 (bson), which this module does not carry, so this is
// a small replacement with the same durability: every write runs inside a
// bolt write transaction that is committed (fsynced unless NoSync) before the
// write returns, and conditional puts are checked inside that transaction
// (bolt runs one writer at a time, so check and write are atomic). Concurrent
// writes share one transaction through the group committer (package
// motcua/infra/boltcommit).
//
// Layout: one bolt bucket per S3 bucket (S3 bucket names cannot start with
// '_'), plus "_meta" holding bucket creation times. An object value is a
// 4-byte big-endian header length, a JSON header, then the raw contents.
type boltBackend struct {
	db     *bolt.DB
	commit *boltcommit.Committer
	now    func() time.Time
}

var _ gofakes3.Backend = (*boltBackend)(nil)

var metaBucketName = []byte("_meta")

// objectHeader is the JSON header stored before an object's contents.
type objectHeader struct {
	Metadata     map[string]string `json:"m,omitempty"`
	LastModified time.Time         `json:"t"`
	Size         int64             `json:"s"`
	Hash         []byte            `json:"h"`
}

func encodeObject(h objectHeader, contents []byte) ([]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode object header: %w", err)
	}
	out := make([]byte, 4+len(hb)+len(contents))
	binary.BigEndian.PutUint32(out, uint32(len(hb)))
	copy(out[4:], hb)
	copy(out[4+len(hb):], contents)
	return out, nil
}

// decodeObject parses a stored value. The returned contents alias v, which
// is only valid inside the bolt transaction; copy before leaving it.
func decodeObject(v []byte) (objectHeader, []byte, error) {
	var h objectHeader
	if len(v) < 4 {
		return h, nil, errors.New("corrupt object: short value")
	}
	n := binary.BigEndian.Uint32(v)
	if int(n) > len(v)-4 {
		return h, nil, errors.New("corrupt object: bad header length")
	}
	if err := json.Unmarshal(v[4:4+n], &h); err != nil {
		return h, nil, fmt.Errorf("corrupt object header: %w", err)
	}
	return h, v[4+n:], nil
}

func (b *boltBackend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	var out []gofakes3.BucketInfo
	err := b.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucketName)
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if bytes.Equal(name, metaBucketName) {
				return nil
			}
			info := gofakes3.BucketInfo{Name: string(name)}
			if meta != nil {
				var t time.Time
				if raw := meta.Get(name); raw != nil && t.UnmarshalBinary(raw) == nil {
					info.CreationDate = gofakes3.NewContentTime(t)
				}
			}
			if info.CreationDate.IsZero() {
				info.CreationDate = gofakes3.NewContentTime(b.now())
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}

func (b *boltBackend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	objects := gofakes3.NewObjectList()
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(name))
		if bk == nil || name == string(metaBucketName) {
			return gofakes3.BucketNotFound(name)
		}
		c := bk.Cursor()
		var k, v []byte
		switch {
		case page.HasMarker && (!prefix.HasPrefix || page.Marker >= prefix.Prefix):
			k, v = c.Seek([]byte(page.Marker))
			if string(k) == page.Marker {
				k, v = c.Next()
			}
		case prefix.HasPrefix:
			k, v = c.Seek([]byte(prefix.Prefix))
		default:
			k, v = c.First()
		}
		var (
			count      int64
			lastPrefix string
			lastKey    string
			match      gofakes3.PrefixMatch
		)
		for ; k != nil; k, v = c.Next() {
			key := string(k)
			if prefix.HasPrefix && !bytes.HasPrefix(k, []byte(prefix.Prefix)) {
				break // keys are sorted: nothing further can match
			}
			if !prefix.Match(key, &match) {
				continue
			}
			if match.CommonPrefix {
				if match.MatchedPart == lastPrefix {
					lastKey = key
					continue
				}
				if page.MaxKeys > 0 && count >= page.MaxKeys {
					objects.IsTruncated = true
					objects.NextMarker = lastKey
					break
				}
				objects.AddPrefix(match.MatchedPart)
				lastPrefix = match.MatchedPart
			} else {
				if page.MaxKeys > 0 && count >= page.MaxKeys {
					objects.IsTruncated = true
					objects.NextMarker = lastKey
					break
				}
				h, _, err := decodeObject(v)
				if err != nil {
					return fmt.Errorf("list %s: key %q: %w", name, key, err)
				}
				objects.Add(&gofakes3.Content{
					Key:          key,
					ETag:         gofakes3.FormatETag(h.Hash),
					Size:         h.Size,
					LastModified: gofakes3.NewContentTime(h.LastModified.UTC()),
				})
			}
			lastKey = key
			count++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objects, nil
}

func (b *boltBackend) CreateBucket(name string) error {
	if name == string(metaBucketName) {
		return gofakes3.ResourceError(gofakes3.ErrInvalidBucketName, name)
	}
	t, err := b.now().UTC().MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode creation time: %w", err)
	}
	var refused error
	err = b.commit.Do(0, func(tx *bolt.Tx) error {
		refused = nil
		if tx.Bucket([]byte(name)) != nil {
			refused = gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
			return nil
		}
		if _, err := tx.CreateBucket([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucketName)
		if err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		return meta.Put([]byte(name), t)
	})
	if err != nil {
		return err
	}
	return refused
}

func (b *boltBackend) BucketExists(name string) (bool, error) {
	if name == string(metaBucketName) {
		return false, nil
	}
	var exists bool
	err := b.db.View(func(tx *bolt.Tx) error {
		exists = tx.Bucket([]byte(name)) != nil
		return nil
	})
	return exists, err
}

func (b *boltBackend) deleteBucket(name string, force bool) error {
	if name == string(metaBucketName) {
		return gofakes3.ResourceError(gofakes3.ErrInvalidBucketName, name)
	}
	var refused error
	err := b.commit.Do(0, func(tx *bolt.Tx) error {
		refused = nil
		bk := tx.Bucket([]byte(name))
		if bk == nil {
			refused = gofakes3.BucketNotFound(name)
			return nil
		}
		if !force {
			if k, _ := bk.Cursor().First(); k != nil {
				refused = gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
				return nil
			}
		}
		if meta := tx.Bucket(metaBucketName); meta != nil {
			if err := meta.Delete([]byte(name)); err != nil {
				return fmt.Errorf("delete bucket meta %s: %w", name, err)
			}
		}
		if err := tx.DeleteBucket([]byte(name)); err != nil {
			return fmt.Errorf("delete bucket %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refused
}

func (b *boltBackend) DeleteBucket(name string) error { return b.deleteBucket(name, false) }

func (b *boltBackend) ForceDeleteBucket(name string) error { return b.deleteBucket(name, true) }

func (b *boltBackend) GetObject(bucketName, objectName string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	return b.getObject(bucketName, objectName, rangeRequest, true)
}

// getObject reads an object; withContents false skips copying the body
// (HEAD, condition checks).
func (b *boltBackend) getObject(bucketName, objectName string, rangeRequest *gofakes3.ObjectRangeRequest, withContents bool) (*gofakes3.Object, error) {
	var (
		h    objectHeader
		data []byte
	)
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucketName))
		if bk == nil || bucketName == string(metaBucketName) {
			return gofakes3.BucketNotFound(bucketName)
		}
		v := bk.Get([]byte(objectName))
		if v == nil {
			return gofakes3.KeyNotFound(objectName)
		}
		var contents []byte
		var err error
		h, contents, err = decodeObject(v)
		if err != nil {
			return fmt.Errorf("get %s/%s: %w", bucketName, objectName, err)
		}
		if withContents {
			data = bytes.Clone(contents)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(h.Size)
	if err != nil {
		return nil, err
	}
	if rng != nil && withContents {
		data = data[rng.Start : rng.Start+rng.Length]
	}
	return &gofakes3.Object{
		Name:     objectName,
		Metadata: h.Metadata,
		Size:     h.Size,
		Contents: io.NopCloser(bytes.NewReader(data)),
		Range:    rng,
		Hash:     h.Hash,
	}, nil
}

func (b *boltBackend) HeadObject(bucketName, objectName string) (*gofakes3.Object, error) {
	return b.getObject(bucketName, objectName, nil, false)
}

func (b *boltBackend) DeleteObject(bucketName, objectName string) (gofakes3.ObjectDeleteResult, error) {
	var (
		res     gofakes3.ObjectDeleteResult
		refused error
	)
	err := b.commit.Do(0, func(tx *bolt.Tx) error {
		refused = nil
		bk := tx.Bucket([]byte(bucketName))
		if bk == nil || bucketName == string(metaBucketName) {
			refused = gofakes3.BucketNotFound(bucketName)
			return nil
		}
		if err := bk.Delete([]byte(objectName)); err != nil {
			return fmt.Errorf("delete %s/%s: %w", bucketName, objectName, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, refused
}

func (b *boltBackend) PutObject(bucketName, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	var res gofakes3.PutObjectResult
	contents, err := gofakes3.ReadAll(input, size)
	if err != nil {
		return res, err
	}
	sum := md5.Sum(contents)
	value, err := encodeObject(objectHeader{
		Metadata:     meta,
		LastModified: b.now().UTC(),
		Size:         int64(len(contents)),
		Hash:         sum[:],
	}, contents)
	if err != nil {
		return res, err
	}
	// The condition is checked in the same transaction as the write, and
	// the server's per-key lock keeps other writers of this key out of the
	// group in between: check and write are one atomic step.
	var refused error
	err = b.commit.Do(len(value), func(tx *bolt.Tx) error {
		refused = nil
		bk := tx.Bucket([]byte(bucketName))
		if bk == nil || bucketName == string(metaBucketName) {
			refused = gofakes3.BucketNotFound(bucketName)
			return nil
		}
		if conditions != nil {
			info := &gofakes3.ConditionalObjectInfo{}
			if v := bk.Get([]byte(key)); v != nil {
				h, _, err := decodeObject(v)
				if err != nil {
					refused = fmt.Errorf("put %s/%s: %w", bucketName, key, err)
					return nil
				}
				info.Exists, info.Hash = true, h.Hash
			}
			if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
				refused = err
				return nil
			}
		}
		if err := bk.Put([]byte(key), value); err != nil {
			return fmt.Errorf("put %s/%s: %w", bucketName, key, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, refused
}

func (b *boltBackend) DeleteMulti(bucketName string, objects ...string) (gofakes3.MultiDeleteResult, error) {
	var (
		res     gofakes3.MultiDeleteResult
		refused error
	)
	err := b.commit.Do(0, func(tx *bolt.Tx) error {
		res, refused = gofakes3.MultiDeleteResult{}, nil
		bk := tx.Bucket([]byte(bucketName))
		if bk == nil || bucketName == string(metaBucketName) {
			refused = gofakes3.BucketNotFound(bucketName)
			return nil
		}
		for _, o := range objects {
			if err := bk.Delete([]byte(o)); err != nil {
				res.Error = append(res.Error, gofakes3.ErrorResult{
					Code: gofakes3.ErrInternal, Message: gofakes3.ErrInternal.Message(), Key: o,
				})
				continue
			}
			res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: o})
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, refused
}

func (b *boltBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(b, srcBucket, srcKey, dstBucket, dstKey, meta)
}
