package feedback

import (
	"time"

	"motcua/shared/workdays"
)

// PublicStep is a timeline entry as the sender sees it: the agency, never
// an officer.
type PublicStep struct {
	// At is when.
	At time.Time `json:"at"`
	// Action is the step.
	Action string `json:"action"`
	// Status is the status after it and StatusLabel its Vietnamese label.
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// By is an agency code, "sender" or "system".
	By string `json:"by"`
	// Note is the public explanation, if any.
	Note string `json:"note,omitempty"`
}

// SenderView is what the sender sees with the secret.
type SenderView struct {
	// ID is the item id.
	ID string `json:"id"`
	// Kind, Field, FieldName, Title and Content are as sent.
	Kind      string `json:"kind"`
	Field     string `json:"field"`
	FieldName string `json:"fieldName"`
	Title     string `json:"title"`
	Content   string `json:"content"`
	// Status and StatusLabel are the current status.
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// Agency is the agency responsible.
	Agency Agency `json:"agency"`
	// ReceivedAt is the intake time.
	ReceivedAt time.Time `json:"receivedAt"`
	// Due holds the deadlines; Overdue the missed ones.
	Due     Due      `json:"due"`
	Overdue []string `json:"overdue"`
	// InfoRequest is the agency's question while info_requested.
	InfoRequest string `json:"infoRequest,omitempty"`
	// Answer is the latest answer.
	Answer *Answer `json:"answer"`
	// Refusal says why it was refused.
	Refusal *Refusal `json:"refusal"`
	// Rating is the sender's rating of the answer.
	Rating *Rating `json:"rating"`
	// CanRate and ReopenUntil say what the sender may still do.
	CanRate     bool       `json:"canRate"`
	ReopenUntil *time.Time `json:"reopenUntil"`
	// ReopenCount counts reopens.
	ReopenCount int `json:"reopenCount"`
	// Published is true once the answer is public.
	Published bool `json:"published"`
	// Timeline lists every step, oldest first.
	Timeline []PublicStep `json:"timeline"`
}

func publicSteps(steps []Step) []PublicStep {
	out := make([]PublicStep, 0, len(steps))
	for _, s := range steps {
		out = append(out, PublicStep{At: s.At, Action: s.Action, Status: s.Status, StatusLabel: StatusLabelVi(s.Status), By: s.By, Note: s.Note})
	}
	return out
}

func overdue(it Item, now time.Time) []string {
	o := it.Overdue(now)
	if o == nil {
		o = []string{}
	}
	return o
}

func senderView(it Item, now time.Time) SenderView {
	od := overdue(it, now)
	it = localize(it)
	v := SenderView{
		ID: it.ID, Kind: it.Kind, Field: it.FieldCode, FieldName: it.FieldName, Title: it.Title, Content: it.Content,
		Status: it.Status, StatusLabel: StatusLabelVi(it.Status), Agency: it.Agency, ReceivedAt: it.ReceivedAt,
		Due: it.Due, Overdue: od, Answer: it.Answer, Refusal: it.Refusal, Rating: it.Rating,
		ReopenCount: it.ReopenCount, Published: it.Published, Timeline: publicSteps(it.Timeline),
	}
	if it.Status == StatusInfoRequested {
		v.InfoRequest = it.InfoRequest
	}
	answered := it.Answer != nil && (it.Status == StatusAnswered || it.Status == StatusClosed)
	v.CanRate = answered && it.Rating == nil
	if answered && it.AnsweredAt != nil && it.ReopenCount < MaxReopens {
		until := vn(it.AnsweredAt.Add(ReopenWindow))
		if now.Before(until) {
			v.ReopenUntil = &until
		}
	}
	return v
}

// StaffView is the officer's view: the whole item (without the secret's
// hash), the missed deadlines and the actions allowed now.
type StaffView struct {
	// Item is the item; its Version is what a staff action must send.
	Item Item `json:"item"`
	// Overdue lists the missed deadlines (answer, publish).
	Overdue []string `json:"overdue"`
	// AllowedActions are the staff actions legal now.
	AllowedActions []string `json:"allowedActions"`
	// Files says, per uploaded attachment, whether it arrived and gives a
	// short-lived link to view it (GET ?action=item only).
	Files []FileState `json:"files,omitempty"`
}

// FileState is an attachment as found in the uploads bucket.
type FileState struct {
	// FileName is the stored file name.
	FileName string `json:"fileName"`
	// Uploaded is true once the object exists.
	Uploaded bool `json:"uploaded"`
	// Size is the uploaded size (0 before the upload).
	Size int64 `json:"size"`
	// TooLarge is true when the object exceeds the declared size; it is
	// not offered for viewing.
	TooLarge bool `json:"tooLarge"`
	// ViewURL is a presigned GET valid for 15 minutes (uploaded files only).
	ViewURL string `json:"viewUrl,omitempty"`
}

func staffView(it Item, now time.Time) StaffView {
	od := overdue(it, now)
	it = localize(it)
	it.SecretHash, it.SecretSalt = "", ""
	acts := AllowedActions(it)
	if acts == nil {
		acts = []string{}
	}
	return StaffView{Item: it, Overdue: od, AllowedActions: acts}
}

// PublicItem is a published item with personal data removed: no contact,
// the sender's name, phone numbers, e-mail addresses and ID numbers
// replaced in every text, coordinates rounded to about 100 m.
type PublicItem struct {
	// ID is the item id.
	ID string `json:"id"`
	// Kind, Field and FieldName classify it.
	Kind      string `json:"kind"`
	Field     string `json:"field"`
	FieldName string `json:"fieldName"`
	// Title and Content are the redacted text.
	Title   string `json:"title"`
	Content string `json:"content"`
	// Address is the redacted address; Lat/Long the rounded coordinates.
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Long    *float64 `json:"long,omitempty"`
	// Agency answered.
	Agency Agency `json:"agency"`
	// Status is the status at publication.
	Status Status `json:"status"`
	// ReceivedAt, AnsweredAt and PublishedAt are the key dates.
	ReceivedAt  time.Time  `json:"receivedAt"`
	AnsweredAt  *time.Time `json:"answeredAt"`
	PublishedAt *time.Time `json:"publishedAt"`
	// ExpectedAt is the answer deadline.
	ExpectedAt time.Time `json:"expectedAt"`
	// Answer is the redacted answer.
	Answer string `json:"answer"`
	// MediaURL is an external media link sent through Open311, if any.
	MediaURL string `json:"mediaUrl,omitempty"`
}

// PublicView returns the published form of it.
func PublicView(it Item) PublicItem {
	it = localize(it)
	var names []string
	if it.Contact != nil && it.Contact.Name != "" {
		names = append(names, it.Contact.Name)
	}
	p := PublicItem{
		ID: it.ID, Kind: it.Kind, Field: it.FieldCode, FieldName: it.FieldName,
		Title: RedactText(it.Title, names...), Content: RedactText(it.Content, names...),
		Address: RedactText(it.Location.Address, names...), Lat: roundCoord(it.Location.Lat), Long: roundCoord(it.Location.Long),
		Agency: it.Agency, Status: it.Status, ReceivedAt: it.ReceivedAt, AnsweredAt: it.AnsweredAt,
		PublishedAt: it.PublishedAt, ExpectedAt: it.Due.AnswerBy,
	}
	if it.Answer != nil {
		p.Answer = RedactText(it.Answer.Text, names...)
	}
	for _, a := range it.Attachments {
		if a.URL != "" {
			p.MediaURL = a.URL
			break
		}
	}
	return p
}

// vn returns t in Asia/Ho_Chi_Minh: the API shows every time as RFC 3339
// with +07:00 (stored documents keep UTC).
func vn(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(workdays.Location)
}

func vnp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := vn(*t)
	return &v
}

func vnDue(d Due) Due {
	return Due{RefuseBy: vn(d.RefuseBy), RequestInfoBy: vn(d.RequestInfoBy), AnswerBy: vn(d.AnswerBy), PublishBy: vnp(d.PublishBy)}
}

// localize returns a copy of it with every time in Asia/Ho_Chi_Minh.
func localize(it Item) Item {
	it.ReceivedAt, it.UpdatedAt, it.Due = vn(it.ReceivedAt), vn(it.UpdatedAt), vnDue(it.Due)
	it.FirstAnsweredAt, it.AnsweredAt = vnp(it.FirstAnsweredAt), vnp(it.AnsweredAt)
	it.RefusedAt, it.ClosedAt, it.PublishedAt = vnp(it.RefusedAt), vnp(it.ClosedAt), vnp(it.PublishedAt)
	if it.Answer != nil {
		a := *it.Answer
		a.At = vn(a.At)
		it.Answer = &a
	}
	if it.Rating != nil {
		r := *it.Rating
		r.At = vn(r.At)
		it.Rating = &r
	}
	steps := make([]Step, len(it.Timeline))
	for i, s := range it.Timeline {
		s.At = vn(s.At)
		steps[i] = s
	}
	it.Timeline = steps
	return it
}
