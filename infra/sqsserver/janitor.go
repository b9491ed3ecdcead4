package sqsserver

import "time"

// sweepInterval is how often expired messages are removed in the background.
const sweepInterval = time.Minute

// janitor removes messages past their queue's retention period, in flight or
// not (as AWS does), until Close. Receives also drop expired messages they
// meet, so the janitor only keeps counts and the database tidy.
func (s *Server) janitor() {
	defer s.background.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.RLock()
			qs := make([]*queue, 0, len(s.queues))
			for _, q := range s.queues {
				qs = append(qs, q)
			}
			s.mu.RUnlock()
			for _, q := range qs {
				if n, e := s.sweep(q); e != nil {
					s.log.Error("retention sweep failed", "queue", q.name, "error", e.message)
				} else if n > 0 {
					s.log.Info("expired messages removed", "queue", q.name, "count", n)
				}
			}
		}
	}
}

// sweep deletes q's expired messages and returns how many it removed.
func (s *Server) sweep(q *queue) (int, *apiError) {
	q.ops.RLock()
	defer q.ops.RUnlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0, nil
	}
	cutoff := s.nowMS() - q.cfg.retention*1000
	var ws []msgWrite
	for seq, m := range q.msgs {
		if m.rec.SentAt <= cutoff {
			m.deleted = true
			delete(q.msgs, seq)
			ws = append(ws, msgWrite{seq: seq, del: true})
		}
	}
	q.compactLocked()
	q.mu.Unlock()
	return len(ws), s.writeMsgs(q.uid, ws)
}
