package sqsserver

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unique"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// Database layout (bbolt):
//
//	"queues"          queue name -> JSON queueRecord
//	"msgs-<uid>"      8-byte big-endian seq -> 8-byte version + JSON msgState
//	"bodies-<uid>"    8-byte big-endian seq -> encoded msgContent
//
// The message buckets are named by the queue's unique id, so a queue deleted
// and re-created under the same name never sees the old queue's messages.
//
// A message is split in two: its small, mutable state (visibility, receive
// count, receipt token, ...) lives in memory and in msgs-<uid>, and is
// re-encoded on every state change; its immutable content (body and
// attributes, up to 256 KiB) is written once, in the same transaction as the
// first state record, to bodies-<uid> and is read back only when a receive
// returns the message. Memory therefore grows with the number of messages,
// not with their size. Databases written before the split (msgs-<uid>
// records holding the body) are converted when New opens them.
var queuesBucket = []byte("queues")

// queueRecord is the persisted form of a queue.
type queueRecord struct {
	UID      string            `json:"uid"`
	Name     string            `json:"name"`
	Attrs    map[string]string `json:"attrs"`
	Created  int64             `json:"created"`  // unix seconds
	Modified int64             `json:"modified"` // unix seconds
}

// msgState is the small, mutable part of a message: held in memory and
// persisted in msgs-<uid>.
type msgState struct {
	ID        uuid.UUID `json:"id"`            // as text in JSON, 16 bytes in memory
	MD5Body   md5Sum    `json:"md5b"`          // as hex in JSON, 16 bytes in memory
	SentAt    int64     `json:"sent"`          // unix ms
	VisibleAt int64     `json:"vis"`           // unix ms
	Receives  int64     `json:"rc"`            // ApproximateReceiveCount
	FirstRecv int64     `json:"frt,omitempty"` // unix ms
	Token     string    `json:"tok,omitempty"` // current receipt token
	SenderID  string    `json:"snd"`
	DLQSource string    `json:"dlqsrc,omitempty"`
}

// md5Sum is an MD5 digest, hex in JSON (as MD5OfMessageBody).
type md5Sum [md5.Size]byte

// String returns the digest in hex.
func (m md5Sum) String() string { return hex.EncodeToString(m[:]) }

// MarshalText implements encoding.TextMarshaler.
func (m md5Sum) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *md5Sum) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != md5.Size {
		return fmt.Errorf("md5 %q: want %d hex digits", b, 2*md5.Size)
	}
	_, err := hex.Decode(m[:], b)
	return err
}

// msgContent is the immutable part of a message, persisted only in
// bodies-<uid>.
type msgContent struct {
	Body     string
	Attrs    map[string]msgAttr
	SysAttrs map[string]msgAttr
}

// legacyRecord is a msgs-<uid> record as written before bodies moved to their
// own bucket: the state with the content inline.
type legacyRecord struct {
	msgState
	Body     string             `json:"body"`
	Attrs    map[string]msgAttr `json:"attrs,omitempty"`
	SysAttrs map[string]msgAttr `json:"sys,omitempty"`
}

// intern returns the canonical copy of s: the few distinct sender ids and
// dead-letter source ARNs are then stored once, not once per message.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func msgBucketName(uid string) []byte  { return []byte("msgs-" + uid) }
func bodyBucketName(uid string) []byte { return []byte("bodies-" + uid) }

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// encodeMsg encodes a message state with its version prefix.
func encodeMsg(ver uint64, r *msgState) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", r.ID, err)
	}
	out := make([]byte, 8+len(js))
	binary.BigEndian.PutUint64(out, ver)
	copy(out[8:], js)
	return out, nil
}

// decodeMsg decodes a value written by encodeMsg, or by the format before
// the split; then content is the inline content (legacy is true).
func decodeMsg(v []byte) (ver uint64, st msgState, content *msgContent, err error) {
	if len(v) < 8 {
		return 0, msgState{}, nil, errors.New("message record too short")
	}
	var r legacyRecord
	if err := json.Unmarshal(v[8:], &r); err != nil {
		return 0, msgState{}, nil, fmt.Errorf("decode message record: %w", err)
	}
	ver = binary.BigEndian.Uint64(v[:8])
	r.SenderID, r.DLQSource = intern(r.SenderID), intern(r.DLQSource)
	if r.Body != "" { // bodies are never empty: a legacy record
		return ver, r.msgState, &msgContent{Body: r.Body, Attrs: r.Attrs, SysAttrs: r.SysAttrs}, nil
	}
	return ver, r.msgState, nil, nil
}

// Content encodings (first byte of a bodies-<uid> value).
const (
	contentPlain = 1 // the body's bytes follow
	contentAttrs = 2 // uvarint length, JSON {attrs, sys}, then the body's bytes
)

// contentAttrsJSON is the attribute part of a contentAttrs value.
type contentAttrsJSON struct {
	Attrs    map[string]msgAttr `json:"attrs,omitempty"`
	SysAttrs map[string]msgAttr `json:"sys,omitempty"`
}

// encodeContent encodes a message's content for bodies-<uid>. The body is
// stored raw (no JSON escaping to pay on every send and receive).
func encodeContent(c *msgContent) ([]byte, error) {
	if len(c.Attrs) == 0 && len(c.SysAttrs) == 0 {
		out := make([]byte, 1+len(c.Body))
		out[0] = contentPlain
		copy(out[1:], c.Body)
		return out, nil
	}
	js, err := json.Marshal(contentAttrsJSON{Attrs: c.Attrs, SysAttrs: c.SysAttrs})
	if err != nil {
		return nil, fmt.Errorf("encode message attributes: %w", err)
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(js)+len(c.Body))
	out = append(out, contentAttrs)
	out = binary.AppendUvarint(out, uint64(len(js)))
	out = append(out, js...)
	return append(out, c.Body...), nil
}

// decodeContent decodes a value written by encodeContent (copying it: bbolt
// values are only valid during their transaction).
func decodeContent(v []byte) (msgContent, error) {
	if len(v) == 0 {
		return msgContent{}, errors.New("message content empty")
	}
	switch v[0] {
	case contentPlain:
		return msgContent{Body: string(v[1:])}, nil
	case contentAttrs:
		n, k := binary.Uvarint(v[1:])
		if k <= 0 || uint64(len(v)-1-k) < n {
			return msgContent{}, errors.New("message content truncated")
		}
		var a contentAttrsJSON
		if err := json.Unmarshal(v[1+k:1+k+int(n)], &a); err != nil {
			return msgContent{}, fmt.Errorf("decode message attributes: %w", err)
		}
		return msgContent{Body: string(v[1+k+int(n):]), Attrs: a.Attrs, SysAttrs: a.SysAttrs}, nil
	default:
		return msgContent{}, fmt.Errorf("message content: unknown encoding %d", v[0])
	}
}

// moveContent copies the content of message seq from bucket src to key
// dstSeq of bucket dst and deletes it from src. It returns false, changing
// nothing, if the content is not there (the message was deleted or purged
// meanwhile).
func moveContent(src, dst *bolt.Bucket, seq, dstSeq uint64) (bool, error) {
	v := src.Get(seqKey(seq))
	if v == nil {
		return false, nil
	}
	// Copy: the value points into pages this transaction may free.
	if err := dst.Put(seqKey(dstSeq), append([]byte(nil), v...)); err != nil {
		return false, fmt.Errorf("put message content: %w", err)
	}
	if err := src.Delete(seqKey(seq)); err != nil {
		return false, fmt.Errorf("delete message content %d: %w", seq, err)
	}
	return true, nil
}

// putMsgIfNewer writes a message update unless the message was deleted in the
// meantime (key gone) or a newer version is already stored. Updates computed
// concurrently may reach the committer out of order; the version makes the
// last state win and keeps deleted messages deleted.
func putMsgIfNewer(b *bolt.Bucket, seq uint64, ver uint64, val []byte) error {
	if b == nil {
		return nil
	}
	k := seqKey(seq)
	old := b.Get(k)
	if old == nil {
		return nil
	}
	if len(old) >= 8 && binary.BigEndian.Uint64(old[:8]) >= ver {
		return nil
	}
	if err := b.Put(k, val); err != nil {
		return fmt.Errorf("put message %d: %w", seq, err)
	}
	return nil
}
