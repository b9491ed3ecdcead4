package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"motcua/shared/docstore"
)

// UploadsResult is the answer to complete-uploads.
type UploadsResult struct {
	// Code is the application code.
	Code string `json:"code"`
	// Status is the application's status.
	Status Status `json:"status"`
	// Documents lists every declared document and whether it arrived.
	Documents []Document `json:"documents"`
	// Complete is true when every declared document has been uploaded.
	Complete bool `json:"complete"`
	// Uploads are fresh presigned URLs for the documents still missing.
	Uploads []Upload `json:"uploads"`
}

// RefreshUploads checks the uploads bucket for every declared document not
// yet recorded and records those that arrived (Head on the upload key; a
// file larger than the document's maximum is not recorded). It returns the
// application as stored afterwards. Status readers can call it to show
// up-to-date documents; it writes only when something changed, and
// publishes application.documents_uploaded when the last one arrives.
func (s *Service) RefreshUploads(ctx context.Context, code Code, correlationID string) (Application, error) {
	a, _, err := s.repo.Get(ctx, code)
	if err != nil {
		return Application{}, err
	}
	return s.refresh(ctx, a, correlationID)
}

func (s *Service) refresh(ctx context.Context, a Application, correlationID string) (Application, error) {
	now := s.d.Now().UTC()
	found := map[string]int64{}
	rejected := map[string]UploadRejection{}
	for _, d := range a.Documents {
		if d.Uploaded {
			continue
		}
		e, err := s.d.Uploads.Head(ctx, d.UploadKey)
		if errors.Is(err, docstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return Application{}, fmt.Errorf("refresh uploads %s: %w", a.Code, err)
		}
		if r := checkUpload(d, e, now); r != nil {
			// Delete only the file judged (If-Match): a corrected upload that
			// replaced it meanwhile is left for the next check.
			err := s.d.Uploads.Delete(ctx, d.UploadKey, e.ETag)
			if err != nil && !errors.Is(err, docstore.ErrNotFound) && !errors.Is(err, docstore.ErrPrecondition) {
				return Application{}, fmt.Errorf("refresh uploads %s: delete refused file: %w", a.Code, err)
			}
			s.d.Log.InfoContext(ctx, "upload refused and deleted", "code", a.Code, "document", d.Code, "reason", r.Code,
				"declared_size", d.Size, "size", e.Size)
			rejected[d.Code] = *r
			continue
		}
		found[d.Code] = e.Size
	}
	if len(found) == 0 && len(rejected) == 0 {
		return a, nil
	}
	completed := false
	updated, err := s.repo.Update(ctx, a.ID(), func(cur *Application) error {
		changed := false
		completed = false
		for i := range cur.Documents {
			d := &cur.Documents[i]
			if d.Uploaded {
				continue
			}
			if size, ok := found[d.Code]; ok {
				d.Uploaded, d.Size, d.Rejection = true, size, nil
				at := now
				d.UploadedAt = &at
				changed = true
			} else if r, ok := rejected[d.Code]; ok {
				d.Rejection = &r
				changed = true
			}
		}
		if !changed {
			return docstore.ErrUnchanged
		}
		completed = len(cur.MissingUploads()) == 0
		return nil
	})
	if err != nil {
		return Application{}, err
	}
	if completed {
		// The write is durable; this event is informative, so it goes
		// through the plain outbox (stage after the fact).
		ev, err := NewEvent(EventDocumentsUploaded, correlationID, updated, now)
		if err == nil {
			err = PublishWithOutbox(context.WithoutCancel(ctx), s.d.Store, s.d.Publisher, s.d.EventsQueue, ev)
		}
		if err != nil {
			s.d.Log.WarnContext(ctx, "documents_uploaded event not published", "code", a.Code, "error", err.Error())
		}
	}
	return updated, nil
}

// CompleteUploads is the applicant's "I have uploaded my files" call: with
// the right code and PIN it records every upload that landed and returns
// the documents, whether all are in, and fresh URLs for those missing.
func (s *Service) CompleteUploads(ctx context.Context, code Code, pin, client, correlationID string) (UploadsResult, error) {
	a, err := s.access.Authorize(ctx, code, pin, client)
	if err != nil {
		return UploadsResult{}, err
	}
	a, err = s.refresh(ctx, a, correlationID)
	if err != nil {
		return UploadsResult{}, err
	}
	res := UploadsResult{Code: a.Code, Status: a.Status, Documents: documentsInAPIZone(a.Documents), Complete: len(a.MissingUploads()) == 0}
	if res.Documents == nil {
		res.Documents = []Document{}
	}
	uploadable := a.Status == StatusSubmitted || a.Status == StatusSupplementRequested
	res.Uploads = []Upload{}
	if uploadable {
		if res.Uploads, err = s.presign(ctx, a, s.d.Now().UTC()); err != nil {
			return UploadsResult{}, err
		}
	}
	return res, nil
}

// CancelResult is the answer to cancel.
type CancelResult struct {
	// Code is the application code.
	Code string `json:"code"`
	// Status is cancelled.
	Status Status `json:"status"`
	// CancelledAt is when it was cancelled.
	CancelledAt time.Time `json:"cancelledAt"`
}

// Cancel withdraws an application on the applicant's request (code and
// PIN), only while it is still submitted (not yet received by staff).
// Cancelling an already cancelled application answers as if it had just
// been done (safe to retry). The application.cancelled event goes through
// the outbox, staged before the write.
func (s *Service) Cancel(ctx context.Context, code Code, pin, client, reason, correlationID string) (CancelResult, error) {
	a, err := s.access.Authorize(ctx, code, pin, client)
	if err != nil {
		return CancelResult{}, err
	}
	if a.Status == StatusCancelled {
		return CancelResult{Code: a.Code, Status: a.Status, CancelledAt: APITime(lastAt(a))}, nil
	}
	if a.Status != StatusSubmitted {
		return CancelResult{}, withStatus(ErrInvalidState, a.Status)
	}
	now := s.d.Now().UTC()
	reason = strings.TrimSpace(reason)
	if r := []rune(reason); len(r) > 500 {
		reason = string(r[:500])
	}
	probe := a
	probe.Status = StatusCancelled
	env, err := NewEvent(EventCancelled, correlationID, probe, now)
	if err != nil {
		return CancelResult{}, fmt.Errorf("cancel %s: %w", a.Code, err)
	}
	if err := StageOutbox(ctx, s.d.Store, s.d.EventsQueue, env, a.Code); err != nil {
		return CancelResult{}, fmt.Errorf("cancel %s: %w", a.Code, err)
	}
	already := false
	updated, err := s.repo.Update(ctx, a.ID(), func(cur *Application) error {
		already = false
		switch cur.Status {
		case StatusCancelled:
			already = true
			return docstore.ErrUnchanged
		case StatusSubmitted:
		default:
			return withStatus(ErrInvalidState, cur.Status)
		}
		cur.Status = StatusCancelled
		cur.Timeline = append(cur.Timeline, Event{At: now, Status: StatusCancelled, Actor: ActorCitizen, Note: reason, EventID: env.ID})
		return nil
	})
	if err != nil || already {
		if derr := DiscardOutbox(context.WithoutCancel(ctx), s.d.Store, env.ID); derr != nil {
			s.d.Log.WarnContext(ctx, "cancel: discard outbox marker", "event_id", env.ID, "error", derr.Error())
		}
		if err != nil {
			return CancelResult{}, err
		}
		return CancelResult{Code: updated.Code, Status: updated.Status, CancelledAt: APITime(lastAt(updated))}, nil
	}
	if err := FlushOutbox(context.WithoutCancel(ctx), s.d.Store, s.d.Publisher, s.d.EventsQueue, env); err != nil {
		s.d.Log.WarnContext(ctx, "cancel: event left in outbox for repair", "code", a.Code, "event_id", env.ID, "error", err.Error())
	}
	s.d.Log.InfoContext(ctx, "application cancelled by applicant", "code", a.Code)
	return CancelResult{Code: updated.Code, Status: updated.Status, CancelledAt: APITime(now)}, nil
}

func lastAt(a Application) time.Time {
	if n := len(a.Timeline); n > 0 {
		return a.Timeline[n-1].At
	}
	return a.SubmittedAt
}

// checkUpload judges a file found for d: it must have exactly the declared
// size (the presigned URL signs it, so only a URL from before that rule, or
// a store that does not check signatures, lets another through), no more
// than the catalog's maximum, and the declared media type.
func checkUpload(d Document, e docstore.Entry, now time.Time) *UploadRejection {
	r := &UploadRejection{DeclaredSize: d.Size, ActualSize: e.Size, DeclaredType: d.ContentType, ActualType: mediaType(e.ContentType), At: now}
	switch {
	case d.MaxSize > 0 && e.Size > d.MaxSize:
		r.Code = "file_too_large"
		r.Reason = fmt.Sprintf("The file has %d bytes, more than the %d allowed; it was deleted. Upload a smaller file.", e.Size, d.MaxSize)
		r.ReasonVi = fmt.Sprintf("Tệp có %d byte, vượt quá %d byte cho phép nên đã bị xóa. Vui lòng tải lên tệp nhỏ hơn.", e.Size, d.MaxSize)
	case e.Size != d.Size:
		r.Code = "size_mismatch"
		r.Reason = fmt.Sprintf("The file has %d bytes but %d were declared; it was deleted. Upload the declared file.", e.Size, d.Size)
		r.ReasonVi = fmt.Sprintf("Tệp có %d byte nhưng đã khai báo %d byte nên đã bị xóa. Vui lòng tải lên đúng tệp đã khai báo.", e.Size, d.Size)
	case r.ActualType != "" && !strings.EqualFold(r.ActualType, d.ContentType):
		r.Code = "content_type_mismatch"
		r.Reason = fmt.Sprintf("The file was sent as %s but declared as %s; it was deleted. Send it with Content-Type %s.", r.ActualType, d.ContentType, d.ContentType)
		r.ReasonVi = fmt.Sprintf("Tệp được gửi với kiểu %s nhưng đã khai báo %s nên đã bị xóa. Vui lòng gửi với Content-Type %s.", r.ActualType, d.ContentType, d.ContentType)
	default:
		return nil
	}
	return r
}
