package sqsserver

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// Message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
// CancelMessageMoveTask) redrive a dead-letter queue the way AWS does:
//
//   - the source must be a queue that some queue's RedrivePolicy names as its
//     dead-letter queue; the destination is DestinationArn, or by default each
//     message's original source queue (recorded when it was dead-lettered);
//   - ApproximateNumberOfMessagesToMove is the source's visible messages at
//     the start; the task moves at most that many, visible ones, and
//     completes early if the source runs dry;
//   - MaxNumberOfMessagesPerSecond (1..500) paces the move, the first
//     message at once; without it messages move as fast as the disk allows;
//   - one RUNNING task per source; cancelling makes it CANCELLING, then
//     CANCELLED once the mover stops; a destination that disappears makes it
//     FAILED with FailureReason AWS.SimpleQueueService.NonExistentQueue;
//   - a moved message gets a new MessageId, a fresh receive count and sent
//     time, and is visible at once in its destination.
//
// Each move of a batch of messages is one transaction: the messages are
// inserted into their destinations, deleted from the source and the task's
// progress (ApproximateNumberOfMessagesMoved) is written together, so a
// crash never loses or doubles a message and a task's count is exact. Tasks
// are persisted: after a restart a RUNNING task resumes where it stopped and
// a CANCELLING one becomes CANCELLED. The ten most recent tasks per source
// are kept.

// Move task statuses.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

// maxMoveRate is AWS's MaxNumberOfMessagesPerSecond limit.
const maxMoveRate = 500

// moveBatch bounds the messages moved in one transaction.
const moveBatch = 100

// keptTasks is how many tasks per source queue are remembered.
const keptTasks = 10

var tasksBucket = []byte("movetasks")

// taskRecord is the persisted (and listed) state of a move task.
type taskRecord struct {
	ID            string `json:"id"`
	Source        string `json:"src"`    // source queue name
	SourceUID     string `json:"srcUid"` // its uid: a re-created queue has none of the old tasks
	SourceArn     string `json:"srcArn"`
	DestArn       string `json:"dstArn,omitempty"`
	Rate          int64  `json:"rate,omitempty"`
	Status        string `json:"status"`
	Moved         int64  `json:"moved"`
	ToMove        int64  `json:"toMove"`
	Started       int64  `json:"started"` // unix ms
	FailureReason string `json:"failure,omitempty"`
}

// moveTask is a task in memory. rec is guarded by s.taskMu.
type moveTask struct {
	rec    taskRecord
	cancel chan struct{} // closed by CancelMessageMoveTask
	done   chan struct{} // closed when the mover goroutine ends
}

func putTask(tx *bolt.Tx, rec taskRecord) error {
	b, err := tx.CreateBucketIfNotExists(tasksBucket)
	if err != nil {
		return fmt.Errorf("tasks bucket: %w", err)
	}
	js, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode task %s: %w", rec.ID, err)
	}
	return b.Put([]byte(rec.ID), js)
}

// taskHandle encodes a task's id and source ARN as AWS does (base64 JSON).
func taskHandle(id, sourceArn string) string {
	js, _ := json.Marshal(map[string]string{"taskId": id, "sourceArn": sourceArn})
	return base64.StdEncoding.EncodeToString(js)
}

func parseTaskHandle(h string) (id, sourceArn string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return "", "", false
	}
	var v struct {
		TaskID    string `json:"taskId"`
		SourceArn string `json:"sourceArn"`
	}
	if json.Unmarshal(raw, &v) != nil || v.TaskID == "" || v.SourceArn == "" {
		return "", "", false
	}
	return v.TaskID, v.SourceArn, true
}

func errResourceNotFound(msg string) *apiError {
	e := newErr("ResourceNotFoundException", "ResourceNotFoundException", "%s", msg)
	e.status = http.StatusNotFound
	return e
}

// restoreTasks loads persisted tasks (called from New, before serving):
// RUNNING tasks resume, CANCELLING ones are CANCELLED.
func (s *Server) restoreTasks() error {
	var recs []taskRecord
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(tasksBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var rec taskRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode task %s: %w", k, err)
			}
			if rec.Status == taskCancelling {
				rec.Status = taskCancelled
				if err := putTask(tx, rec); err != nil {
					return err
				}
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Started < recs[j].Started })
	for _, rec := range recs {
		t := &moveTask{rec: rec, cancel: make(chan struct{}), done: make(chan struct{})}
		s.tasks[rec.Source] = append(s.tasks[rec.Source], t)
		if rec.Status == taskRunning {
			s.log.Info("resuming message move task", "source", rec.Source, "task", rec.ID, "moved", rec.Moved, "to_move", rec.ToMove)
			s.background.Add(1)
			go s.runTask(t)
		} else {
			close(t.done)
		}
	}
	return nil
}

type startMoveIn struct {
	SourceArn                    string `json:"SourceArn"`
	DestinationArn               string `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond optInt `json:"MaxNumberOfMessagesPerSecond"`
}

// isDLQ reports whether some queue's redrive policy targets name.
func (s *Server) isDLQ(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, q := range s.queues {
		q.mu.Lock()
		target := q.cfg.dlqName
		q.mu.Unlock()
		if target == name && q.name != name {
			return true
		}
	}
	return false
}

func (s *Server) startMessageMoveTask(r *request) (any, *apiError) {
	var in startMoveIn
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissing("SourceArn")
	}
	if in.MaxNumberOfMessagesPerSecond.set && (in.MaxNumberOfMessagesPerSecond.v < 1 || in.MaxNumberOfMessagesPerSecond.v > maxMoveRate) {
		return nil, errInvalidParam("Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a number that's between 1 and 500.")
	}
	srcName, ok := queueNameFromArn(in.SourceArn)
	if !ok || in.SourceArn != s.arn(srcName) {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	src := s.queueByName(srcName)
	if src == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if in.DestinationArn != "" {
		dstName, ok := queueNameFromArn(in.DestinationArn)
		if !ok || in.DestinationArn != s.arn(dstName) || s.queueByName(dstName) == nil {
			return nil, errResourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
	}
	if !s.isDLQ(srcName) {
		return nil, errInvalidParam("Source queue must be configured as a Dead Letter Queue.")
	}

	s.taskMu.Lock()
	defer s.taskMu.Unlock()
	for _, t := range s.tasks[srcName] {
		if t.rec.SourceUID == src.uid && (t.rec.Status == taskRunning || t.rec.Status == taskCancelling) {
			return nil, errInvalidParam("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	now := s.nowMS()
	src.mu.Lock()
	var visible int64
	for _, m := range src.msgs {
		if m.rec.VisibleAt <= now {
			visible++
		}
	}
	src.mu.Unlock()
	rec := taskRecord{
		ID: uuid.NewString(), Source: srcName, SourceUID: src.uid, SourceArn: in.SourceArn, DestArn: in.DestinationArn,
		Status: taskRunning, ToMove: visible, Started: now,
	}
	if in.MaxNumberOfMessagesPerSecond.set {
		rec.Rate = in.MaxNumberOfMessagesPerSecond.v
	}
	// Forget the oldest finished tasks beyond keptTasks.
	old := s.tasks[srcName]
	var drop []string
	for len(old) >= keptTasks {
		drop = append(drop, old[0].rec.ID)
		old = old[1:]
	}
	if e := s.persist(func(tx *bolt.Tx) error {
		if err := putTask(tx, rec); err != nil {
			return err
		}
		for _, id := range drop {
			if err := tx.Bucket(tasksBucket).Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	}); e != nil {
		return nil, e
	}
	t := &moveTask{rec: rec, cancel: make(chan struct{}), done: make(chan struct{})}
	s.tasks[srcName] = append(old, t)
	s.background.Add(1)
	go s.runTask(t)
	s.log.Info("message move task started", "source", srcName, "destination", in.DestinationArn, "task", rec.ID, "to_move", visible, "rate", rec.Rate)
	return map[string]string{"TaskHandle": taskHandle(rec.ID, rec.SourceArn)}, nil
}

type listMoveIn struct {
	SourceArn  string `json:"SourceArn"`
	MaxResults optInt `json:"MaxResults"`
}

type moveTaskOut struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string `json:"Status"`
	SourceArn                         string `json:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      int64  `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove int64  `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp"`
}

func (s *Server) listMessageMoveTasks(r *request) (any, *apiError) {
	var in listMoveIn
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissing("SourceArn")
	}
	max := int64(1)
	if in.MaxResults.set {
		if in.MaxResults.v < 1 || in.MaxResults.v > keptTasks {
			return nil, errInvalidParam("Value for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.")
		}
		max = in.MaxResults.v
	}
	name, ok := queueNameFromArn(in.SourceArn)
	var src *queue
	if ok && in.SourceArn == s.arn(name) {
		src = s.queueByName(name)
	}
	if src == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	s.taskMu.Lock()
	defer s.taskMu.Unlock()
	ts := s.tasks[name]
	results := []moveTaskOut{}
	for i := len(ts) - 1; i >= 0 && int64(len(results)) < max; i-- {
		rec := ts[i].rec
		if rec.SourceUID != src.uid {
			continue
		}
		out := moveTaskOut{
			Status: rec.Status, SourceArn: rec.SourceArn, DestinationArn: rec.DestArn,
			MaxNumberOfMessagesPerSecond: rec.Rate, ApproximateNumberOfMessagesMoved: rec.Moved,
			ApproximateNumberOfMessagesToMove: rec.ToMove, FailureReason: rec.FailureReason, StartedTimestamp: rec.Started,
		}
		if rec.Status == taskRunning {
			out.TaskHandle = taskHandle(rec.ID, rec.SourceArn)
		}
		results = append(results, out)
	}
	return map[string]any{"Results": results}, nil
}

func (s *Server) cancelMessageMoveTask(r *request) (any, *apiError) {
	var in struct {
		TaskHandle string `json:"TaskHandle"`
	}
	if e := decode(r, &in); e != nil {
		return nil, e
	}
	if in.TaskHandle == "" {
		return nil, errMissing("TaskHandle")
	}
	id, srcArn, ok := parseTaskHandle(in.TaskHandle)
	if !ok {
		return nil, errInvalidParam("Value for parameter TaskHandle is invalid.")
	}
	name, ok := queueNameFromArn(srcArn)
	var src *queue
	if ok && srcArn == s.arn(name) {
		src = s.queueByName(name)
	}
	if src == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	s.taskMu.Lock()
	var t *moveTask
	for _, x := range s.tasks[name] {
		if x.rec.ID == id && x.rec.SourceUID == src.uid {
			t = x
		}
	}
	if t == nil {
		s.taskMu.Unlock()
		return nil, errResourceNotFound("Task does not exist.")
	}
	if t.rec.Status != taskRunning {
		s.taskMu.Unlock()
		return nil, errInvalidParam("Only active tasks can be cancelled.")
	}
	t.rec.Status = taskCancelling
	rec := t.rec
	close(t.cancel)
	s.taskMu.Unlock()
	if e := s.persist(func(tx *bolt.Tx) error { return putTask(tx, rec) }); e != nil {
		return nil, e
	}
	s.log.Info("message move task cancelling", "source", name, "task", id, "moved", rec.Moved)
	return map[string]int64{"ApproximateNumberOfMessagesMoved": rec.Moved}, nil
}

// finishTask records a task's final status.
func (s *Server) finishTask(t *moveTask, status, reason string) {
	s.taskMu.Lock()
	if t.rec.Status == taskCancelling {
		status, reason = taskCancelled, ""
	}
	t.rec.Status, t.rec.FailureReason = status, reason
	rec := t.rec
	s.taskMu.Unlock()
	if e := s.persist(func(tx *bolt.Tx) error { return putTask(tx, rec) }); e != nil {
		// Closing: the task stays RUNNING on disk and resumes (or, if
		// nothing is left, completes) after the restart.
		s.log.Warn("could not record move task status", "task", rec.ID, "status", status, "error", e.message)
		return
	}
	s.log.Info("message move task ended", "source", rec.Source, "task", rec.ID, "status", status, "moved", rec.Moved, "to_move", rec.ToMove, "reason", reason)
}

// runTask is a task's mover goroutine.
func (s *Server) runTask(t *moveTask) {
	defer s.background.Done()
	defer close(t.done)
	s.taskMu.Lock()
	rec := t.rec
	s.taskMu.Unlock()
	start := time.Now()
	movedAtStart := rec.Moved
	for {
		s.taskMu.Lock()
		moved, status := t.rec.Moved, t.rec.Status
		s.taskMu.Unlock()
		if status != taskRunning {
			s.finishTask(t, taskCancelled, "")
			return
		}
		remaining := rec.ToMove - moved
		if remaining <= 0 {
			s.finishTask(t, taskCompleted, "")
			return
		}
		n := min(remaining, moveBatch)
		if rec.Rate > 0 {
			// Token bucket: the first message at once, then Rate per second.
			allowed := int64(time.Since(start).Seconds()*float64(rec.Rate)) + 1 - (moved - movedAtStart)
			if allowed <= 0 {
				select {
				case <-time.After(time.Second / time.Duration(rec.Rate)):
				case <-t.cancel:
				case <-s.done:
					return
				}
				continue
			}
			n = min(n, allowed)
		}
		select {
		case <-s.done:
			return // resumes after a restart
		default:
		}
		got, reason, e := s.moveSome(t, int(n))
		switch {
		case e != nil && e.status == http.StatusServiceUnavailable:
			return // closing
		case e != nil:
			s.finishTask(t, taskFailed, e.queryCode)
			return
		case reason != "":
			s.finishTask(t, taskFailed, reason)
			return
		case got == 0:
			// The source has no visible message left.
			s.finishTask(t, taskCompleted, "")
			return
		}
	}
}

// moveSome moves up to n visible messages of the task's source queue to
// their destinations in one transaction, with the task's new progress. It
// returns how many moved, or a FailureReason.
func (s *Server) moveSome(t *moveTask, n int) (int, string, *apiError) {
	s.taskMu.Lock()
	rec := t.rec
	s.taskMu.Unlock()
	src := s.queueByName(rec.Source)
	if src == nil || src.uid != rec.SourceUID {
		return 0, "AWS.SimpleQueueService.NonExistentQueue", nil
	}
	// Resolve destinations before taking messages.
	var fixed *queue
	if rec.DestArn != "" {
		name, _ := queueNameFromArn(rec.DestArn)
		if fixed = s.queueByName(name); fixed == nil {
			return 0, "AWS.SimpleQueueService.NonExistentQueue", nil
		}
	}

	// Take up to n visible messages out of the source's memory.
	src.ops.RLock()
	src.mu.Lock()
	if src.deleted {
		src.mu.Unlock()
		src.ops.RUnlock()
		return 0, "AWS.SimpleQueueService.NonExistentQueue", nil
	}
	now := s.nowMS()
	var taken []delivered
	var expired []uint64
	for len(taken) < n {
		e, ok := src.peekLocked()
		if !ok || e.at > now {
			break
		}
		heap.Pop(&src.ready)
		m := e.m
		m.deleted = true
		delete(src.msgs, m.seq)
		if m.rec.SentAt+src.cfg.retention*1000 <= now {
			expired = append(expired, m.seq)
			continue
		}
		taken = append(taken, delivered{seq: m.seq, ver: m.ver, rec: m.rec})
	}
	src.mu.Unlock()
	src.ops.RUnlock()
	if len(expired) > 0 {
		ws := make([]msgWrite, len(expired))
		for i, seq := range expired {
			ws[i] = msgWrite{seq: seq, del: true}
		}
		if e := s.writeMsgs(src.uid, ws); e != nil {
			s.restoreToSource(src, taken)
			return 0, "", e
		}
	}
	if len(taken) == 0 {
		return 0, "", nil
	}

	// Group by destination.
	type group struct {
		q     *queue
		first uint64
		recs  []msgState
		from  []uint64 // the source seq of each of recs
		moved []bool   // whether each of recs' content was still there
	}
	groups := map[string]*group{}
	var order []*group
	for _, d := range taken {
		dst := fixed
		if dst == nil {
			name, ok := queueNameFromArn(d.rec.DLQSource)
			if ok {
				dst = s.queueByName(name)
			}
			if dst == nil {
				s.restoreToSource(src, taken)
				return 0, "AWS.SimpleQueueService.NonExistentQueue", nil
			}
		}
		g := groups[dst.name]
		if g == nil {
			g = &group{q: dst}
			groups[dst.name] = g
			order = append(order, g)
		}
		nr := d.rec
		nr.ID = uuid.New()
		nr.SentAt, nr.VisibleAt = now, now
		nr.Receives, nr.FirstRecv, nr.Token, nr.DLQSource = 0, 0, "", ""
		g.recs = append(g.recs, nr)
		g.from = append(g.from, d.seq)
	}
	// Hold every destination's structural lock shared for the transaction
	// (in name order, so two movers cannot deadlock), as enqueue does.
	sort.Slice(order, func(i, j int) bool { return order[i].q.name < order[j].q.name })
	for _, g := range order {
		g.q.ops.RLock()
	}
	release := func() {
		for _, g := range order {
			g.q.ops.RUnlock()
		}
	}
	for _, g := range order {
		g.q.mu.Lock()
		if g.q.deleted {
			g.q.mu.Unlock()
			release()
			s.restoreToSource(src, taken)
			return 0, "AWS.SimpleQueueService.NonExistentQueue", nil
		}
		g.first = g.q.nextSeq
		g.q.nextSeq += uint64(len(g.recs))
		g.q.mu.Unlock()
	}
	s.taskMu.Lock()
	progress := t.rec
	s.taskMu.Unlock()
	base := progress.Moved
	e := s.persist(func(tx *bolt.Tx) error {
		progress.Moved = base // the committer may run fn twice
		for _, g := range order {
			g.moved = make([]bool, len(g.recs))
		}
		sb := tx.Bucket(msgBucketName(src.uid))
		scb := tx.Bucket(bodyBucketName(src.uid))
		if sb == nil || scb == nil {
			return nil // the source was deleted meanwhile: nothing to move
		}
		for _, g := range order {
			b := tx.Bucket(msgBucketName(g.q.uid))
			cb := tx.Bucket(bodyBucketName(g.q.uid))
			if b == nil || cb == nil {
				return fmt.Errorf("message buckets of queue %s are missing", g.q.name)
			}
			for i := range g.recs {
				seq := g.first + uint64(i)
				ok, err := moveContent(scb, cb, g.from[i], seq)
				if err != nil {
					return err
				}
				if !ok {
					continue // deleted or purged meanwhile
				}
				g.moved[i] = true
				progress.Moved++
				val, err := encodeMsg(1, &g.recs[i])
				if err != nil {
					return err
				}
				if err := b.Put(seqKey(seq), val); err != nil {
					return fmt.Errorf("put moved message: %w", err)
				}
			}
		}
		for _, d := range taken {
			if err := sb.Delete(seqKey(d.seq)); err != nil {
				return fmt.Errorf("delete moved message: %w", err)
			}
		}
		return putTask(tx, progress)
	})
	if e != nil {
		release()
		s.restoreToSource(src, taken)
		return 0, "", e
	}
	for _, g := range order {
		g.q.mu.Lock()
		for i := range g.recs {
			if !g.moved[i] {
				continue
			}
			m := &message{seq: g.first + uint64(i), ver: 1, rec: g.recs[i]}
			g.q.msgs[m.seq] = m
			g.q.pushLocked(m)
		}
		g.q.wakeLocked()
		g.q.mu.Unlock()
	}
	release()
	s.taskMu.Lock()
	t.rec.Moved = progress.Moved
	s.taskMu.Unlock()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		ids := make([]string, len(order))
		for i, g := range order {
			ids[i] = g.q.name
		}
		s.log.Debug("messages moved", "source", src.name, "destinations", strings.Join(ids, ","), "count", progress.Moved-base)
	}
	return int(progress.Moved - base), "", nil
}
