package application

import (
	"time"

	"motcua/shared/workdays"
)

// APITime is how every time leaves the API: RFC 3339 in Asia/Ho_Chi_Minh
// (+07:00), whatever zone it was stored in.
func APITime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(workdays.Location)
}

// InAPIZone returns a copy of a with every time in Asia/Ho_Chi_Minh, for
// answers (the stored document keeps whatever zone it was written in).
func (a Application) InAPIZone() Application {
	a.SubmittedAt, a.DueAt = APITime(a.SubmittedAt), APITime(a.DueAt)
	a.ReceivedAt, a.SettledAt = apiTimePtr(a.ReceivedAt), apiTimePtr(a.SettledAt)
	a.ExpectedDueAt = apiTimePtr(a.ExpectedDueAt)
	a.Fee.PaidAt = apiTimePtr(a.Fee.PaidAt)
	a.Timeline = eventsInAPIZone(a.Timeline)
	a.Documents = documentsInAPIZone(a.Documents)
	a.PINChangedAt = apiTimePtr(a.PINChangedAt)
	if a.Result != nil {
		r := *a.Result
		r.RecordedAt = APITime(r.RecordedAt)
		a.Result = &r
	}
	if a.Delivery != nil {
		d := *a.Delivery
		d.ReturnedAt = APITime(d.ReturnedAt)
		d.ElectronicDeliveredAt, d.LastDownloadAt = apiTimePtr(d.ElectronicDeliveredAt), apiTimePtr(d.LastDownloadAt)
		a.Delivery = &d
	}
	return a
}

func eventsInAPIZone(in []Event) []Event {
	if in == nil {
		return nil
	}
	out := make([]Event, len(in))
	for i, e := range in {
		e.At = APITime(e.At)
		out[i] = e
	}
	return out
}

func documentsInAPIZone(in []Document) []Document {
	if in == nil {
		return nil
	}
	out := make([]Document, len(in))
	for i, d := range in {
		d.UploadedAt = apiTimePtr(d.UploadedAt)
		if d.Rejection != nil {
			r := *d.Rejection
			r.At = APITime(r.At)
			d.Rejection = &r
		}
		out[i] = d
	}
	return out
}

func apiTimePtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := APITime(*t)
	return &v
}
