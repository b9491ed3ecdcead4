package sqsserver

// DeleteMessage(Batch) and ChangeMessageVisibility(Batch).

// deleteLocked deletes the message a receipt handle names. A well-formed
// handle of a message already deleted succeeds (as on AWS); so does an older
// handle of a message received again since (AWS standard queues accept it).
// Caller holds q.ops shared and q.mu.
func deleteLocked(q *queue, handle string) (*msgWrite, *apiError) {
	if handle == "" {
		return nil, errMissing("ReceiptHandle")
	}
	uid, seq, _, ok := parseReceipt(handle)
	if !ok || uid != q.uid {
		return nil, errReceipt(handle)
	}
	m := q.msgs[seq]
	if m == nil {
		return nil, nil
	}
	m.deleted = true
	delete(q.msgs, seq)
	return &msgWrite{seq: seq, del: true}, nil
}

// changeLocked changes the visibility timeout of an in-flight message.
// Caller holds q.ops shared and q.mu.
func changeLocked(q *queue, handle string, timeout optInt, now int64) (*msgWrite, *apiError) {
	if handle == "" {
		return nil, errMissing("ReceiptHandle")
	}
	if !timeout.set {
		return nil, errMissing("VisibilityTimeout")
	}
	if timeout.v < 0 || timeout.v > maxVisibility {
		return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", timeout.v)
	}
	uid, seq, token, ok := parseReceipt(handle)
	if !ok || uid != q.uid {
		return nil, errReceipt(handle)
	}
	m := q.msgs[seq]
	if m == nil || m.rec.Token != token {
		// Deleted, or received again since: this handle is no longer valid.
		return nil, errReceipt(handle)
	}
	if m.rec.VisibleAt <= now {
		return nil, errNotInflight()
	}
	m.ver++
	m.rec.VisibleAt = now + timeout.v*1000
	q.pushLocked(m)
	if timeout.v == 0 {
		q.wakeLocked()
	}
	w, err := updateWrite(seq, m.ver, &m.rec)
	if err != nil {
		return nil, errInternal()
	}
	return &w, nil
}

// ackEntry is an entry of DeleteMessageBatch / ChangeMessageVisibilityBatch.
type ackEntry struct {
	ID                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout optInt `json:"VisibilityTimeout"`
}

type batchIDOut struct {
	ID string `json:"Id"`
}

type ackBatchOut struct {
	Successful []batchIDOut   `json:"Successful"`
	Failed     []batchFailure `json:"Failed"`
}

// ack applies fn to each entry under the queue locks, then persists all
// resulting writes in one transaction.
func (s *Server) ack(q *queue, entries []ackEntry, fn func(q *queue, e ackEntry, now int64) (*msgWrite, *apiError)) ([]*apiError, *apiError) {
	q.ops.RLock()
	defer q.ops.RUnlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	now := s.nowMS()
	errs := make([]*apiError, len(entries))
	var ws []msgWrite
	for i, e := range entries {
		w, err := fn(q, e, now)
		errs[i] = err
		if w != nil {
			ws = append(ws, *w)
		}
	}
	q.compactLocked()
	q.mu.Unlock()
	return errs, s.writeMsgs(q.uid, ws)
}

func doDelete(q *queue, e ackEntry, _ int64) (*msgWrite, *apiError) {
	return deleteLocked(q, e.ReceiptHandle)
}

func doChange(q *queue, e ackEntry, now int64) (*msgWrite, *apiError) {
	return changeLocked(q, e.ReceiptHandle, e.VisibilityTimeout, now)
}

func (s *Server) single(r *request, fn func(q *queue, e ackEntry, now int64) (*msgWrite, *apiError)) (any, *apiError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		ackEntry
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	q, e := s.lookup(in.QueueURL)
	if e != nil {
		return nil, e
	}
	errs, e := s.ack(q, []ackEntry{in.ackEntry}, fn)
	if e != nil {
		return nil, e
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return struct{}{}, nil
}

func (s *Server) batch(r *request, fn func(q *queue, e ackEntry, now int64) (*msgWrite, *apiError)) (any, *apiError) {
	q, entries, e := decodeBatch(s, r, func(en ackEntry) string { return en.ID })
	if e != nil {
		return nil, e
	}
	errs, e := s.ack(q, entries, fn)
	if e != nil {
		return nil, e
	}
	out := ackBatchOut{Successful: []batchIDOut{}, Failed: []batchFailure{}}
	for i, en := range entries {
		if errs[i] != nil {
			out.Failed = append(out.Failed, failure(en.ID, errs[i]))
			continue
		}
		out.Successful = append(out.Successful, batchIDOut{en.ID})
	}
	return out, nil
}

func (s *Server) deleteMessage(r *request) (any, *apiError) { return s.single(r, doDelete) }

func (s *Server) deleteMessageBatch(r *request) (any, *apiError) { return s.batch(r, doDelete) }

func (s *Server) changeMessageVisibility(r *request) (any, *apiError) {
	return s.single(r, doChange)
}

func (s *Server) changeMessageVisibilityBatch(r *request) (any, *apiError) {
	return s.batch(r, doChange)
}
