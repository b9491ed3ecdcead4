package sqsserver

import (
	"container/heap"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// msgOut is a message in a ReceiveMessage response.
type msgOut struct {
	MessageID              string             `json:"MessageId"`
	ReceiptHandle          string             `json:"ReceiptHandle"`
	MD5OfBody              string             `json:"MD5OfBody"`
	Body                   string             `json:"Body"`
	Attributes             map[string]string  `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string             `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]msgAttr `json:"MessageAttributes,omitempty"`
}

// delivered is a snapshot of a message taken when it was received, with its
// content once read from the database.
type delivered struct {
	seq     uint64
	ver     uint64
	rec     msgState
	content msgContent
}

type receiveIn struct {
	QueueURL                    string   `json:"QueueUrl"`
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         optInt   `json:"MaxNumberOfMessages"`
	VisibilityTimeout           optInt   `json:"VisibilityTimeout"`
	WaitTimeSeconds             optInt   `json:"WaitTimeSeconds"`
}

func (s *Server) receiveMessage(r *request) (any, *apiError) {
	var in receiveIn
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, e
	}
	max := int64(1)
	if in.MaxNumberOfMessages.set {
		max = in.MaxNumberOfMessages.v
		if max < 1 || max > 10 {
			return nil, errInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max)
		}
	}
	if in.VisibilityTimeout.set && (in.VisibilityTimeout.v < 0 || in.VisibilityTimeout.v > maxVisibility) {
		return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", in.VisibilityTimeout.v)
	}
	cfg, e := s.queueConfig(q)
	if e != nil {
		return nil, e
	}
	wait := cfg.wait
	if in.WaitTimeSeconds.set {
		wait = in.WaitTimeSeconds.v
		if wait < 0 || wait > maxWait {
			return nil, errInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait)
		}
	}
	deadline := s.nowMS() + wait*1000
	for {
		got, next, notify, gone, e := s.tryReceive(q, int(max), in.VisibilityTimeout)
		if e != nil {
			return nil, e
		}
		if len(got) > 0 {
			return s.receiveOut(q, &in, got), nil
		}
		now := s.nowMS()
		if now >= deadline {
			return struct{}{}, nil
		}
		sleep := deadline - now
		if next > 0 && next-now < sleep {
			sleep = max64(next-now, 1)
		}
		t := time.NewTimer(time.Duration(sleep) * time.Millisecond)
		select {
		case <-notify:
		case <-t.C:
		case <-gone:
			t.Stop()
			return nil, errNoQueue()
		case <-r.ctx.Done():
			t.Stop()
			return struct{}{}, nil
		case <-s.done:
			t.Stop()
			return struct{}{}, nil
		}
		t.Stop()
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// tryReceive takes up to max visible messages without waiting. It returns
// the delivered snapshots, or, when none, the time the next message becomes
// visible (0 = none pending) and the channels to wait on.
func (s *Server) tryReceive(q *queue, max int, vtOverride optInt) ([]delivered, int64, chan struct{}, chan struct{}, *apiError) {
	q.mu.Lock()
	dlqName := q.cfg.dlqName
	q.mu.Unlock()
	var dlq *queue
	if dlqName != "" && dlqName != q.name {
		dlq = s.queueByName(dlqName) // s.mu is never taken under q.mu
	}

	q.ops.RLock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		q.ops.RUnlock()
		return nil, 0, nil, nil, errNoQueue()
	}
	cfg := q.cfg
	vt := cfg.visibility
	if vtOverride.set {
		vt = vtOverride.v
	}
	now := s.nowMS()
	var got []delivered
	var moves []delivered
	var expired []uint64
	for len(got) < max {
		e, ok := q.peekLocked()
		if !ok || e.at > now {
			break
		}
		heap.Pop(&q.ready)
		m := e.m
		switch {
		case m.rec.SentAt+cfg.retention*1000 <= now:
			m.deleted = true
			delete(q.msgs, m.seq)
			expired = append(expired, m.seq)
		case dlq != nil && cfg.dlqName == dlq.name && m.rec.Receives >= cfg.maxReceives:
			m.deleted = true
			delete(q.msgs, m.seq)
			moves = append(moves, delivered{seq: m.seq, ver: m.ver, rec: m.rec})
		default:
			m.ver++
			m.rec.Receives++
			if m.rec.FirstRecv == 0 {
				m.rec.FirstRecv = now
			}
			m.rec.Token = newToken()
			m.rec.VisibleAt = now + vt*1000
			got = append(got, delivered{seq: m.seq, ver: m.ver, rec: m.rec})
		}
	}
	// Reschedule the received messages only now: with a visibility timeout
	// of 0 a message would otherwise be taken again by this same receive.
	for _, d := range got {
		q.pushLocked(q.msgs[d.seq])
	}
	var next int64
	if len(got) == 0 {
		if e, ok := q.peekLocked(); ok {
			next = e.at
		}
	}
	notify, gone := q.notify, q.gone
	q.mu.Unlock()

	ws := make([]msgWrite, 0, len(got)+len(expired))
	for _, d := range got {
		w, err := updateWrite(d.seq, d.ver, &d.rec)
		if err != nil {
			q.ops.RUnlock()
			s.log.Error("encode message", "error", err)
			return nil, 0, nil, nil, errInternal()
		}
		ws = append(ws, w)
	}
	for _, seq := range expired {
		ws = append(ws, msgWrite{seq: seq, del: true})
	}
	// The state changes and the reading of the received messages' contents
	// are one transaction: a message deleted concurrently (by an older
	// receipt handle) is either read whole or gone.
	var found []bool
	var e *apiError
	if len(ws) > 0 {
		e = s.persist(func(tx *bolt.Tx) error {
			if err := applyWrites(tx, q.uid, ws); err != nil {
				return err
			}
			found = make([]bool, len(got)) // the committer may run fn twice
			cb := tx.Bucket(bodyBucketName(q.uid))
			for i := range got {
				var v []byte
				if cb != nil {
					v = cb.Get(seqKey(got[i].seq))
				}
				if v == nil {
					continue
				}
				c, err := decodeContent(v)
				if err != nil {
					return fmt.Errorf("queue %s message %d: %w", q.name, got[i].seq, err)
				}
				got[i].content, found[i] = c, true
			}
			return nil
		})
	}
	q.ops.RUnlock()
	if len(moves) > 0 {
		s.moveToDLQ(q, dlq, moves)
	}
	if e != nil {
		return nil, 0, nil, nil, e
	}
	kept := got[:0]
	var lost []delivered
	for i, d := range got {
		if found[i] {
			kept = append(kept, d)
		} else {
			lost = append(lost, d)
		}
	}
	if len(lost) > 0 {
		// Deleted (or purged) on disk while this receive ran: forget them
		// here too, unless memory already moved on.
		q.mu.Lock()
		for _, d := range lost {
			if m := q.msgs[d.seq]; m != nil && m.ver == d.ver {
				m.deleted = true
				delete(q.msgs, d.seq)
				s.log.Warn("message without content in the database dropped", "queue", q.name, "message_id", d.rec.ID)
			}
		}
		q.mu.Unlock()
	}
	return kept, next, notify, gone, nil
}

// moveToDLQ moves messages that exceeded maxReceiveCount from src to dlq:
// one transaction inserts them into the DLQ and deletes them from src, so a
// crash leaves each message in exactly one of the two queues.
func (s *Server) moveToDLQ(src, dlq *queue, moves []delivered) {
	// Put messages back in the source only after releasing the DLQ's lock,
	// so no goroutine ever holds two queues' structural locks.
	if !s.tryMoveToDLQ(src, dlq, moves) {
		s.restoreToSource(src, moves)
	}
}

func (s *Server) tryMoveToDLQ(src, dlq *queue, moves []delivered) bool {
	dlq.ops.RLock()
	defer dlq.ops.RUnlock()
	dlq.mu.Lock()
	if dlq.deleted {
		dlq.mu.Unlock()
		return false
	}
	first := dlq.nextSeq
	dlq.nextSeq += uint64(len(moves))
	dlq.mu.Unlock()
	now := s.nowMS()
	recs := make([]msgState, len(moves))
	vals := make([][]byte, len(moves))
	for i, mv := range moves {
		rec := mv.rec
		rec.Token = ""
		rec.VisibleAt = now
		rec.DLQSource = src.arn
		recs[i] = rec
		val, err := encodeMsg(1, &rec)
		if err != nil {
			s.log.Error("encode message", "error", err)
			return false
		}
		vals[i] = val
	}
	var moved []bool
	e := s.persist(func(tx *bolt.Tx) error {
		moved = make([]bool, len(moves)) // the committer may run fn twice
		db := tx.Bucket(msgBucketName(dlq.uid))
		if db == nil {
			return fmt.Errorf("message bucket of queue %s is missing", dlq.name)
		}
		dcb := tx.Bucket(bodyBucketName(dlq.uid))
		if dcb == nil {
			return fmt.Errorf("content bucket of queue %s is missing", dlq.name)
		}
		sb := tx.Bucket(msgBucketName(src.uid))
		scb := tx.Bucket(bodyBucketName(src.uid))
		if sb == nil || scb == nil {
			return nil // the source was deleted meanwhile: nothing to move
		}
		for i, mv := range moves {
			ok, err := moveContent(scb, dcb, mv.seq, first+uint64(i))
			if err != nil {
				return fmt.Errorf("dead letter from %s: %w", src.name, err)
			}
			if !ok {
				continue // deleted or purged meanwhile
			}
			moved[i] = true
			if err := db.Put(seqKey(first+uint64(i)), vals[i]); err != nil {
				return fmt.Errorf("put dead letter: %w", err)
			}
			if err := sb.Delete(seqKey(mv.seq)); err != nil {
				return fmt.Errorf("delete redriven message: %w", err)
			}
		}
		return nil
	})
	if e != nil {
		return false
	}
	dlq.mu.Lock()
	for i := range recs {
		if !moved[i] {
			continue
		}
		m := &message{seq: first + uint64(i), ver: 1, rec: recs[i]}
		dlq.msgs[m.seq] = m
		dlq.pushLocked(m)
	}
	dlq.wakeLocked()
	dlq.mu.Unlock()
	for i, mv := range moves {
		if !moved[i] {
			continue
		}
		s.log.Info("message moved to dead-letter queue", "queue", src.name, "dlq", dlq.name, "message_id", mv.rec.ID, "receives", mv.rec.Receives)
	}
	return true
}

// restoreToSource puts messages whose move failed back into src's memory
// (they were never deleted from its database).
func (s *Server) restoreToSource(src *queue, moves []delivered) {
	src.ops.RLock()
	defer src.ops.RUnlock()
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.deleted {
		return
	}
	for _, mv := range moves {
		m := &message{seq: mv.seq, ver: mv.ver, rec: mv.rec}
		src.msgs[m.seq] = m
		src.pushLocked(m)
	}
	s.log.Warn("dead-letter move failed; messages stay in source", "queue", src.name, "count", len(moves))
}

// receiveOut builds the ReceiveMessage response.
func (s *Server) receiveOut(q *queue, in *receiveIn, got []delivered) any {
	sysNames := append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...)
	wantSys := func(n string) bool {
		for _, x := range sysNames {
			if x == "All" || x == n {
				return true
			}
		}
		return false
	}
	wantAttr := func(n string) bool {
		for _, x := range in.MessageAttributeNames {
			if x == "All" || x == ".*" || x == n {
				return true
			}
			if p, ok := strings.CutSuffix(x, ".*"); ok && strings.HasPrefix(n, p+".") {
				return true
			}
		}
		return false
	}
	out := make([]msgOut, 0, len(got))
	for _, d := range got {
		rec := d.rec
		mo := msgOut{
			MessageID:     rec.ID.String(),
			ReceiptHandle: makeReceipt(q.uid, d.seq, rec.Token),
			MD5OfBody:     rec.MD5Body.String(),
			Body:          d.content.Body,
		}
		attrs := map[string]string{}
		if wantSys("SenderId") {
			attrs["SenderId"] = rec.SenderID
		}
		if wantSys("SentTimestamp") {
			attrs["SentTimestamp"] = strconv.FormatInt(rec.SentAt, 10)
		}
		if wantSys("ApproximateReceiveCount") {
			attrs["ApproximateReceiveCount"] = strconv.FormatInt(rec.Receives, 10)
		}
		if wantSys("ApproximateFirstReceiveTimestamp") {
			attrs["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(rec.FirstRecv, 10)
		}
		if a, ok := d.content.SysAttrs["AWSTraceHeader"]; ok && wantSys("AWSTraceHeader") {
			attrs["AWSTraceHeader"] = a.StringValue
		}
		if rec.DLQSource != "" && wantSys("DeadLetterQueueSourceArn") {
			attrs["DeadLetterQueueSourceArn"] = rec.DLQSource
		}
		if len(attrs) > 0 {
			mo.Attributes = attrs
		}
		if len(d.content.Attrs) > 0 && len(in.MessageAttributeNames) > 0 {
			sel := map[string]msgAttr{}
			for n, a := range d.content.Attrs {
				if wantAttr(n) {
					sel[n] = a
				}
			}
			if len(sel) > 0 {
				mo.MessageAttributes = sel
				mo.MD5OfMessageAttributes = md5OfAttributes(sel)
			}
		}
		out = append(out, mo)
	}
	return struct {
		Messages []msgOut `json:"Messages"`
	}{out}
}
