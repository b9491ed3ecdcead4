package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// dispatchWindow is how much work (in time, at the job's rate) one dispatch
// message publishes before handing over to the next one.
const dispatchWindow = time.Second

// ErrBadMessage means a queue message is not a jobs message; it is
// acknowledged (retrying cannot help) and logged.
var ErrBadMessage = errors.New("jobs: bad message")

// Handle processes one message of the jobs queue, delivered for the
// receiveCount-th time (1 = first). A nil error means the message may be
// deleted; an error means it must be redelivered later.
func (s *Service) Handle(ctx context.Context, body []byte, receiveCount int) error {
	var env queue.Envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Validate() != nil {
		s.opts.Log.ErrorContext(ctx, "jobs message dropped: not an envelope", "size", len(body))
		return nil
	}
	var m message
	if err := json.Unmarshal(env.Payload, &m); err != nil || !ValidID(m.Job) {
		s.opts.Log.ErrorContext(ctx, "jobs message dropped: bad payload", "event_id", env.ID, "type", env.Type)
		return nil
	}
	switch env.Type {
	case TypeDispatch:
		return s.dispatch(ctx, m, receiveCount)
	case TypeChunk:
		return s.chunk(ctx, m, receiveCount)
	}
	s.opts.Log.ErrorContext(ctx, "jobs message dropped: unknown type", "event_id", env.ID, "type", env.Type)
	return nil
}

// paced reports whether the framework paces job j's items.
func (s *Service) paced(j Job) bool {
	if j.Rate <= 0 || j.Status == StatusCancelling {
		return false
	}
	if k, ok := s.kinds.Get(j.Kind); ok {
		if sp, ok := k.(SelfPaced); ok && sp.SelfPaced() {
			return false
		}
	}
	return true
}

// dispatch publishes the chunks of one window and then the next dispatch.
func (s *Service) dispatch(ctx context.Context, m message, receiveCount int) error {
	started := s.opts.Now()
	j, err := s.Get(ctx, m.Job)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	total := j.Progress.Total
	if j.Status.Terminal() || j.Status == StatusPlanned || j.Generation != m.Generation {
		return nil
	}
	if j.Dispatched != m.Cursor {
		// A redelivered dispatch whose CAS landed but whose successor may
		// not have been published: publish it again (duplicates of a
		// dispatch are harmless: only one wins the cursor).
		if receiveCount > 1 && j.Dispatched == m.Cursor+j.LastWindow && j.Dispatched < total {
			return s.publish(ctx, TypeDispatch, message{Type: "dispatch", Job: j.ID, Generation: j.Generation, Cursor: j.Dispatched})
		}
		return nil
	}
	n, window := total-m.Cursor, time.Duration(0)
	if s.paced(j) {
		n = max(1, int(math.Round(j.Rate*dispatchWindow.Seconds())))
		window = dispatchWindow
		if j.Rate < 1 {
			n, window = 1, time.Duration(float64(time.Second)/j.Rate)
		}
		n = min(n, total-m.Cursor)
	}
	chunk := max(1, j.ChunkSize)
	if s.paced(j) {
		chunk = min(chunk, n)
	}
	var envs []queue.Envelope
	for from := m.Cursor; from < m.Cursor+n; from += chunk {
		env, err := queue.NewEnvelope(TypeChunk, j.ID, message{Type: "chunk", Job: j.ID, Generation: j.Generation,
			From: from, To: min(from+chunk, m.Cursor+n)})
		if err != nil {
			return err
		}
		envs = append(envs, env)
	}
	if err := s.pub.PublishBatch(ctx, s.opts.Queue, envs); err != nil {
		return fmt.Errorf("dispatch %s [%d,%d): %w", j.ID, m.Cursor, m.Cursor+n, err)
	}
	won := false
	_, err = s.update(ctx, j.ID, func(cur *Job) error {
		won = false
		if cur.Generation != m.Generation || cur.Dispatched != m.Cursor {
			return docstore.ErrUnchanged
		}
		cur.Dispatched, cur.LastWindow, won = m.Cursor+n, n, true
		return nil
	})
	if err != nil || !won {
		return err
	}
	if m.Cursor+n >= total {
		return nil
	}
	if window > 0 {
		if err := s.opts.Sleep(ctx, window-s.opts.Now().Sub(started)); err != nil {
			return err
		}
	}
	return s.publish(ctx, TypeDispatch, message{Type: "dispatch", Job: j.ID, Generation: j.Generation, Cursor: m.Cursor + n})
}

// chunk applies items [m.From, m.To) of a job.
func (s *Service) chunk(ctx context.Context, m message, receiveCount int) error {
	j, err := s.Get(ctx, m.Job)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if j.Status == StatusPlanned || m.From < 0 || m.To > j.Progress.Total || m.From >= m.To {
		s.opts.Log.WarnContext(ctx, "chunk ignored", "job", j.ID, "status", string(j.Status), "from", m.From, "to", m.To)
		return nil
	}
	if j.Status.Terminal() {
		return nil
	}
	k, ok := s.kinds.Get(j.Kind)
	if !ok {
		return fmt.Errorf("job %s: kind %q not registered in this worker", j.ID, j.Kind)
	}
	finished, err := s.finishedIn(ctx, j.ID, m.From, m.To)
	if err != nil {
		return err
	}
	var add Progress
	dup := false
	for idx := m.From; idx < m.To; idx++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if finished[idx] {
			dup = true
			continue
		}
		it, err := s.item(ctx, j.ID, idx)
		if err != nil {
			return err
		}
		var res Result
		if j.Status == StatusCancelling {
			res = Result{Outcome: OutcomeSkipped, Detail: "cancelled before it ran"}
		} else {
			res, err = k.Apply(withRate(ctx, j.Rate), j.Scope, it)
			if err != nil {
				if receiveCount < s.opts.MaxAttempts {
					s.opts.Log.WarnContext(ctx, "item failed; chunk will be retried", "job", j.ID, "index", idx,
						"attempt", receiveCount, "error", err.Error())
					s.addProgress(ctx, j.ID, add)
					return fmt.Errorf("job %s item %d: %w", j.ID, idx, err)
				}
				res = Result{Outcome: OutcomeFailed, Detail: err.Error()}
			}
			if s.opts.AfterApply != nil {
				s.opts.AfterApply(j.ID, idx)
			}
		}
		if res.Outcome != OutcomeChanged && res.Outcome != OutcomeSkipped {
			res.Outcome = OutcomeFailed
		}
		first, err := s.record(ctx, j.ID, idx, it, res, receiveCount)
		if err != nil {
			s.addProgress(ctx, j.ID, add)
			return err
		}
		if !first {
			dup = true
			continue
		}
		switch res.Outcome {
		case OutcomeChanged:
			add.Done++
		case OutcomeSkipped:
			add.Skipped++
		default:
			add.Failed++
			s.opts.Log.WarnContext(ctx, "item failed", "job", j.ID, "kind", j.Kind, "index", idx, "key", it.Key, "detail", res.Detail)
		}
	}
	after := s.addProgress(ctx, j.ID, add)
	if dup || after.Progress.Finished() >= after.Progress.Total {
		_, err := s.settle(ctx, j.ID)
		return err
	}
	return nil
}

// finishedIn returns the items of [from, to) that already have a
// done-marker, with one listing of their common key prefix (one request
// per chunk instead of one per item). A marker written after the listing
// shows up as a create-once conflict in record.
func (s *Service) finishedIn(ctx context.Context, id string, from, to int) (map[int]bool, error) {
	first, last := itemKey(id, from), itemKey(id, to-1)
	n := 0
	for n < len(first) && first[n] == last[n] {
		n++
	}
	out := map[int]bool{}
	err := s.listKeys(ctx, first[:n], func(key string) error {
		idx, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, itemsPrefix(id)), ".json"))
		if err == nil && idx >= from && idx < to {
			out[idx] = true
		}
		return nil
	})
	return out, err
}

// record writes an item's outcome index then its done-marker (create
// once); first is false when another delivery recorded it first.
func (s *Service) record(ctx context.Context, id string, idx int, it Item, res Result, attempt int) (bool, error) {
	if res.Outcome != OutcomeChanged {
		if _, err := s.store.Put(ctx, outcomeKey(id, res.Outcome, idx), []byte("{}"), docstore.PutOptions{}); err != nil {
			return false, fmt.Errorf("record item %d of %s: %w", idx, id, err)
		}
	}
	rec := itemRecord{Index: idx, Item: it, Outcome: res.Outcome, Detail: res.Detail, At: s.opts.Now().UTC(), Attempt: attempt}
	_, err := docstore.PutJSON(ctx, s.store, itemKey(id, idx), rec, docstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, docstore.ErrConflict) {
		// Another delivery won: keep its outcome, drop our index entry if
		// it disagrees.
		var won itemRecord
		if _, gerr := docstore.GetJSON(ctx, s.store, itemKey(id, idx), &won); gerr == nil && won.Outcome != res.Outcome && res.Outcome != OutcomeChanged {
			_ = s.store.Delete(ctx, outcomeKey(id, res.Outcome, idx), "")
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record item %d of %s: %w", idx, id, err)
	}
	return true, nil
}

// addProgress adds counts to the job document (CAS). A lost update is
// repaired by settle's recount; errors are logged.
func (s *Service) addProgress(ctx context.Context, id string, add Progress) Job {
	if add.Finished() == 0 {
		j, _ := s.Get(ctx, id)
		return j
	}
	j, err := s.update(ctx, id, func(j *Job) error {
		if j.Status.Terminal() {
			return docstore.ErrUnchanged // final counts come from the recount
		}
		j.Progress.Done += add.Done
		j.Progress.Failed += add.Failed
		j.Progress.Skipped += add.Skipped
		return nil
	})
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "progress not updated (the markers still hold it)", "job", id, "error", err.Error())
	}
	return j
}

// recount counts the done-markers: the truth about a job's progress.
func (s *Service) recount(ctx context.Context, id string, total int) (Progress, error) {
	all, err := s.count(ctx, itemsPrefix(id))
	if err != nil {
		return Progress{}, err
	}
	failed, err := s.count(ctx, outcomePrefix(id, OutcomeFailed))
	if err != nil {
		return Progress{}, err
	}
	skipped, err := s.count(ctx, outcomePrefix(id, OutcomeSkipped))
	if err != nil {
		return Progress{}, err
	}
	return Progress{Total: total, Done: max(0, all-failed-skipped), Failed: failed, Skipped: skipped}, nil
}

// settle recounts the done-markers. When every item is accounted for it
// sets the exact counts and finishes the job (completed or cancelled) and
// audits it; otherwise it only raises counters a lost update left behind.
func (s *Service) settle(ctx context.Context, id string) (Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil || j.Status.Terminal() {
		return j, err
	}
	p, err := s.recount(ctx, id, j.Progress.Total)
	if err != nil {
		return j, err
	}
	now := s.opts.Now().UTC()
	finished := false
	j, err = s.update(ctx, id, func(j *Job) error {
		finished = false
		if j.Status.Terminal() {
			return docstore.ErrUnchanged
		}
		if p.Finished() < p.Total {
			// Never lower a counter: increments may have landed since the
			// recount (an over-count is corrected by the final recount).
			j.Progress.Done = max(j.Progress.Done, p.Done)
			j.Progress.Failed = max(j.Progress.Failed, p.Failed)
			j.Progress.Skipped = max(j.Progress.Skipped, p.Skipped)
			return nil
		}
		j.Progress = p
		if j.Status != StatusPlanned {
			finished = true
			j.FinishedAt = &now
			j.Status = StatusCompleted
			if j.Cancelled != nil {
				j.Status = StatusCancelled
			}
		}
		return nil
	})
	if err != nil {
		return j, err
	}
	if finished {
		s.audit(ctx, j, "finished", Actor{Subject: "system"}, now)
		s.opts.Log.InfoContext(ctx, "job finished", "job", id, "kind", j.Kind, "status", string(j.Status),
			"done", p.Done, "failed", p.Failed, "skipped", p.Skipped, "total", p.Total)
	}
	return j, nil
}
