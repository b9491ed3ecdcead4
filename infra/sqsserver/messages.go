package sqsserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// msgWrite is one change to a queue's message bucket.
type msgWrite struct {
	seq    uint64
	ver    uint64
	val    []byte // encoded record (nil for deletes)
	insert bool   // new message: put unconditionally
	del    bool
}

// writeMsgs persists changes to the message bucket of queue uid in one
// (group-committed) transaction.
func (s *Server) writeMsgs(uid string, ws []msgWrite) *apiError {
	if len(ws) == 0 {
		return nil
	}
	return s.persist(func(tx *bolt.Tx) error {
		b := tx.Bucket(msgBucketName(uid))
		for _, w := range ws {
			switch {
			case w.del:
				if b != nil {
					if err := b.Delete(seqKey(w.seq)); err != nil {
						return fmt.Errorf("delete message %d: %w", w.seq, err)
					}
				}
			case w.insert:
				if b == nil {
					return fmt.Errorf("message bucket of queue %s is missing", uid)
				}
				if err := b.Put(seqKey(w.seq), w.val); err != nil {
					return fmt.Errorf("put message %d: %w", w.seq, err)
				}
			default:
				if err := putMsgIfNewer(b, w.seq, w.ver, w.val); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// update builds the write for a message record snapshot.
func updateWrite(seq, ver uint64, rec *msgRecord) (msgWrite, error) {
	val, err := encodeMsg(ver, rec)
	return msgWrite{seq: seq, ver: ver, val: val}, err
}

// ---- message validation ----

// validText reports whether s only holds characters SQS allows.
func validText(s string) bool {
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
		if r == utf8.RuneError {
			return false
		}
	}
	return true
}

func validAttrName(n string) bool {
	if n == "" || len(n) > 256 || n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return false
	}
	l := strings.ToLower(n)
	if strings.HasPrefix(l, "aws.") || strings.HasPrefix(l, "amazon.") {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validNumber(v string) bool {
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil || strings.Contains(err.Error(), "out of range")
}

// validateAttrs checks message attributes and returns their size in bytes.
func validateAttrs(attrs map[string]msgAttr) (int, *apiError) {
	if len(attrs) > 10 {
		return 0, errInvalidParam("Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	size := 0
	for n, a := range attrs {
		if !validAttrName(n) {
			return 0, errInvalidParam("Message (user) attribute name '%s' is invalid.", n)
		}
		bt := baseType(a.DataType)
		if a.DataType == "" {
			return 0, errInvalidParam("The message attribute '%s' must contain non-empty message attribute type.", n)
		}
		if len(a.DataType) > 256 || (bt != "String" && bt != "Number" && bt != "Binary") || !validText(a.DataType) {
			return 0, errInvalidParam("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", n)
		}
		switch bt {
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, errInvalidParam("The message attribute '%s' with type 'Binary' must use field 'Binary'.", n)
			}
			a.StringValue = ""
			size += len(a.BinaryValue)
		default:
			if a.StringValue == "" {
				return 0, errInvalidParam("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", n, bt)
			}
			if !validText(a.StringValue) {
				return 0, errInvalidContents()
			}
			if bt == "Number" && !validNumber(a.StringValue) {
				return 0, errInvalidParam("Can't cast the value of message (user) attribute '%s' to a number.", n)
			}
			size += len(a.StringValue)
		}
		size += len(n) + len(a.DataType)
		attrs[n] = a
	}
	return size, nil
}

// sendEntry is the common part of SendMessage and a SendMessageBatch entry.
type sendEntry struct {
	ID                      string             `json:"Id"`
	MessageBody             *string            `json:"MessageBody"`
	DelaySeconds            optInt             `json:"DelaySeconds"`
	MessageAttributes       map[string]msgAttr `json:"MessageAttributes"`
	MessageSystemAttributes map[string]msgAttr `json:"MessageSystemAttributes"`
	MessageGroupID          string             `json:"MessageGroupId"`
	MessageDeduplicationID  string             `json:"MessageDeduplicationId"`
}

// buildMessage validates an entry against the queue configuration and
// returns the new message record.
func buildMessage(cfg queueConfig, in *sendEntry, sender string, now int64) (*msgRecord, *apiError) {
	if in.MessageBody == nil {
		return nil, errMissing("MessageBody")
	}
	body := *in.MessageBody
	if body == "" {
		return nil, errInvalidParam("The request must contain a non-empty message body.")
	}
	if !validText(body) {
		return nil, errInvalidContents()
	}
	if in.MessageGroupID != "" || in.MessageDeduplicationID != "" {
		return nil, errInvalidParam("The request include parameter that is not valid for this queue type.")
	}
	delay := cfg.delay
	if in.DelaySeconds.set {
		if in.DelaySeconds.v < 0 || in.DelaySeconds.v > maxDelay {
			return nil, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", in.DelaySeconds.v)
		}
		delay = in.DelaySeconds.v
	}
	attrSize, e := validateAttrs(in.MessageAttributes)
	if e != nil {
		return nil, e
	}
	for n, a := range in.MessageSystemAttributes {
		if n != "AWSTraceHeader" || a.DataType != "String" || a.StringValue == "" {
			return nil, errInvalidParam("Message system attribute '%s' is invalid.", n)
		}
	}
	if int64(len(body)+attrSize) > cfg.maxSize {
		return nil, errInvalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", cfg.maxSize)
	}
	rec := &msgRecord{
		ID:        uuid.NewString(),
		Body:      body,
		MD5Body:   md5Hex(body),
		SentAt:    now,
		VisibleAt: now + delay*1000,
		SenderID:  sender,
	}
	if len(in.MessageAttributes) > 0 {
		rec.Attrs = in.MessageAttributes
	}
	if len(in.MessageSystemAttributes) > 0 {
		rec.SysAttrs = in.MessageSystemAttributes
	}
	return rec, nil
}

// enqueue persists new messages and then makes them receivable.
func (s *Server) enqueue(q *queue, recs []*msgRecord) *apiError {
	q.ops.RLock()
	defer q.ops.RUnlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return errNoQueue()
	}
	first := q.nextSeq
	q.nextSeq += uint64(len(recs))
	q.mu.Unlock()

	ws := make([]msgWrite, len(recs))
	for i, rec := range recs {
		val, err := encodeMsg(1, rec)
		if err != nil {
			s.log.Error("encode message", "error", err)
			return errInternal()
		}
		ws[i] = msgWrite{seq: first + uint64(i), ver: 1, val: val, insert: true}
	}
	if e := s.writeMsgs(q.uid, ws); e != nil {
		return e
	}
	q.mu.Lock()
	for i, rec := range recs {
		m := &message{seq: first + uint64(i), ver: 1, rec: *rec}
		q.msgs[m.seq] = m
		q.pushLocked(m)
	}
	// Wake long polls: they take visible messages or, for delayed ones,
	// re-arm their timer for the new earliest visibility time.
	q.wakeLocked()
	q.mu.Unlock()
	return nil
}

type sendOut struct {
	MessageID                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
}

func outFor(rec *msgRecord) sendOut {
	return sendOut{
		MessageID:                    rec.ID,
		MD5OfMessageBody:             rec.MD5Body,
		MD5OfMessageAttributes:       md5OfAttributes(rec.Attrs),
		MD5OfMessageSystemAttributes: md5OfAttributes(rec.SysAttrs),
	}
}

func (s *Server) queueConfig(q *queue) (queueConfig, *apiError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return queueConfig{}, errNoQueue()
	}
	return q.cfg, nil
}

func (s *Server) sendMessage(r *request) (any, *apiError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		sendEntry
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, e
	}
	cfg, e := s.queueConfig(q)
	if e != nil {
		return nil, e
	}
	rec, e := buildMessage(cfg, &in.sendEntry, r.senderID, s.nowMS())
	if e != nil {
		return nil, e
	}
	if e := s.enqueue(q, []*msgRecord{rec}); e != nil {
		return nil, e
	}
	return outFor(rec), nil
}

// batchFailure is a Failed entry of a batch response.
type batchFailure struct {
	ID          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

func failure(id string, e *apiError) batchFailure {
	return batchFailure{ID: id, Code: e.queryCode, Message: e.message, SenderFault: !e.receiver}
}

// checkBatchIDs validates the entry ids of a batch request.
func checkBatchIDs(ids []string) *apiError {
	if len(ids) == 0 {
		return errEmptyBatch()
	}
	if len(ids) > 10 {
		return errTooManyEntries(len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || len(id) > 80 || strings.IndexFunc(id, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
		}) >= 0 {
			return errInvalidBatchID(id)
		}
		if seen[id] {
			return errIDsNotDistinct(id)
		}
		seen[id] = true
	}
	return nil
}

// decodeBatch reads a batch request (QueueUrl and Entries of type E),
// resolves the queue and checks the entries' ids (count, form, distinct),
// for SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch.
func decodeBatch[E any](s *Server, r *request, id func(E) string) (*queue, []E, *apiError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		Entries  []E    `json:"Entries"`
	}
	if e := decode(r, &in); e != nil {
		return nil, nil, e
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = id(en)
	}
	if e := checkBatchIDs(ids); e != nil {
		return nil, nil, e
	}
	return q, in.Entries, nil
}

func (s *Server) sendMessageBatch(r *request) (any, *apiError) {
	q, entries, e := decodeBatch(s, r, func(en sendEntry) string { return en.ID })
	if e != nil {
		return nil, e
	}
	total := 0
	for _, en := range entries {
		if en.MessageBody != nil {
			total += len(*en.MessageBody)
		}
		for n, a := range en.MessageAttributes {
			total += len(n) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
		}
	}
	if total > maxMaxSize {
		return nil, errBatchTooLong(total)
	}
	cfg, e := s.queueConfig(q)
	if e != nil {
		return nil, e
	}
	out := struct {
		Successful []struct {
			ID string `json:"Id"`
			sendOut
		} `json:"Successful"`
		Failed []batchFailure `json:"Failed"`
	}{Failed: []batchFailure{}}
	var recs []*msgRecord
	var recIDs []string
	now := s.nowMS()
	for i := range entries {
		rec, e := buildMessage(cfg, &entries[i], r.senderID, now)
		if e != nil {
			out.Failed = append(out.Failed, failure(entries[i].ID, e))
			continue
		}
		recs = append(recs, rec)
		recIDs = append(recIDs, entries[i].ID)
	}
	if len(recs) > 0 {
		if e := s.enqueue(q, recs); e != nil {
			return nil, e
		}
	}
	for i, rec := range recs {
		out.Successful = append(out.Successful, struct {
			ID string `json:"Id"`
			sendOut
		}{recIDs[i], outFor(rec)})
	}
	if out.Successful == nil {
		out.Successful = make([]struct {
			ID string `json:"Id"`
			sendOut
		}, 0)
	}
	return out, nil
}

// newToken returns a fresh random receipt token.
func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
