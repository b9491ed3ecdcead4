// Package feedback is motcua's feedback (phản ánh, kiến nghị — PAKN)
// domain: intake from citizens and businesses without login, automatic
// routing to the responsible agency by field and location, deadlines in
// working days, the staff workflow, the sender's follow-up, rating and
// reopening, publication of answers with personal data removed, and the
// Open311 GeoReport v2 face of the same data.
//
// Storage (bucket MOTCUA_BUCKET), all JSON:
//
//	feedback/items/<id>.json                     one Item (the source of truth)
//	feedback/agency/<AGENCY>/<yyyy-mm>/<ts>_<id> per-agency queue index (empty body)
//	feedback/public/<id>.json                    published, redacted PublicItem
//	feedback/dedup/<sha256>.json                 same-sender same-content marker
//	feedback/fields/...  feedback/routing/...    versioned tables (see tables.go)
//
// Every step changes the item with ETag compare-and-swap, adds an entry to
// its timeline and publishes a feedback.* event to the events queue
// through an outbox marker (events.go).
package feedback

import (
	"time"
)

// Status is where an item stands in the workflow.
type Status string

// Statuses of an item.
const (
	// StatusReceived: filed and routed; nobody works on it yet.
	StatusReceived Status = "received"
	// StatusInProgress: an officer is assigned.
	StatusInProgress Status = "in_progress"
	// StatusInfoRequested: the agency asked the sender for more information.
	StatusInfoRequested Status = "info_requested"
	// StatusAnswered: the agency answered.
	StatusAnswered Status = "answered"
	// StatusRefused: refused as a duplicate or out of scope.
	StatusRefused Status = "refused"
	// StatusClosed: finished (after an answer or a refusal).
	StatusClosed Status = "closed"
	// StatusReopened: the sender reopened an answer within the window.
	StatusReopened Status = "reopened"
)

// Open reports whether the agency still owes an answer.
func (s Status) Open() bool {
	switch s {
	case StatusReceived, StatusInProgress, StatusInfoRequested, StatusReopened:
		return true
	}
	return false
}

// statusLabels are the Vietnamese labels of the statuses.
var statusLabels = map[Status]string{
	StatusReceived:      "Đã tiếp nhận",
	StatusInProgress:    "Đang xử lý",
	StatusInfoRequested: "Đề nghị bổ sung thông tin",
	StatusAnswered:      "Đã trả lời",
	StatusRefused:       "Từ chối xử lý",
	StatusClosed:        "Đã kết thúc",
	StatusReopened:      "Mở lại theo đề nghị của người gửi",
}

// StatusLabelVi returns the Vietnamese label of s.
func StatusLabelVi(s Status) string { return statusLabels[s] }

// Kinds of feedback.
const (
	// KindRegulation is feedback about a regulation or a procedure.
	KindRegulation = "regulation"
	// KindConduct is feedback about an official's conduct.
	KindConduct = "conduct"
)

// Refusal reasons.
const (
	// RefuseDuplicate: the same matter is already handled (duplicateOf).
	RefuseDuplicate = "duplicate"
	// RefuseOutOfScope: not a matter for the province's agencies.
	RefuseOutOfScope = "out_of_scope"
)

// Agency names an agency.
type Agency struct {
	// Code identifies it (as in staff tokens and the catalog).
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
}

// Location is where the matter is.
type Location struct {
	// Address is the address as written by the sender.
	Address string `json:"address,omitempty"`
	// Lat and Long are WGS84 degrees (both or neither).
	Lat  *float64 `json:"lat,omitempty"`
	Long *float64 `json:"long,omitempty"`
	// AreaCode is the administrative area the routing resolved (given by
	// the sender or found from the coordinates); "" when unknown.
	AreaCode string `json:"areaCode,omitempty"`
}

// Contact is the sender; nil on an anonymous item.
type Contact struct {
	// Name is the sender's name.
	Name string `json:"name,omitempty"`
	// Phone is the mobile number in E.164 (+84…).
	Phone string `json:"phone,omitempty"`
	// Email is the e-mail address.
	Email string `json:"email,omitempty"`
}

// Attachment is one photo or document declared with the item.
type Attachment struct {
	// FileName is the sanitised file name.
	FileName string `json:"fileName"`
	// ContentType is the declared media type.
	ContentType string `json:"contentType"`
	// Size is the declared size in bytes.
	Size int64 `json:"size"`
	// UploadKey is the object key in the uploads bucket ("" for a link).
	UploadKey string `json:"uploadKey,omitempty"`
	// URL is an external media link (Open311 media_url); "" for uploads.
	URL string `json:"url,omitempty"`
}

// Due holds the item's deadlines (17:00 Asia/Ho_Chi_Minh of a working day).
type Due struct {
	// RefuseBy: a refusal must come within 2 working days of receipt.
	RefuseBy time.Time `json:"refuseBy"`
	// RequestInfoBy: asking for more must come within 5 working days.
	RequestInfoBy time.Time `json:"requestInfoBy"`
	// AnswerBy: the answer is due within 15 working days (from the reopen
	// after a reopen).
	AnswerBy time.Time `json:"answerBy"`
	// PublishBy: publication within 2 working days of the answer; nil
	// before an answer.
	PublishBy *time.Time `json:"publishBy,omitempty"`
}

// Refusal says why an item was refused.
type Refusal struct {
	// Reason is duplicate or out_of_scope.
	Reason string `json:"reason"`
	// Note explains it to the sender.
	Note string `json:"note"`
	// DuplicateOf is the id of the item already handling the matter.
	DuplicateOf string `json:"duplicateOf,omitempty"`
}

// Answer is the agency's answer.
type Answer struct {
	// Text is the answer.
	Text string `json:"text"`
	// Agency answered.
	Agency Agency `json:"agency"`
	// At is when.
	At time.Time `json:"at"`
}

// Rating is the sender's rating of the latest answer.
type Rating struct {
	// Score is 1 (very unsatisfied) … 5 (very satisfied).
	Score int `json:"score"`
	// Comment is optional.
	Comment string `json:"comment,omitempty"`
	// At is when.
	At time.Time `json:"at"`
}

// Step is one timeline entry.
type Step struct {
	// At is when it happened (UTC).
	At time.Time `json:"at"`
	// Action is the step (received, assign, reassign, request_info, …).
	Action string `json:"action"`
	// Status is the status after the step.
	Status Status `json:"status"`
	// By is the agency code, "sender" or "system"; officers only in Officer.
	By string `json:"by"`
	// Officer is the officer's id (staff view only).
	Officer string `json:"officer,omitempty"`
	// Note is the public explanation, if any.
	Note string `json:"note,omitempty"`
	// EventID is the id of the event published for the step.
	EventID string `json:"eventId"`
}

// Item is one feedback item, the document at ItemKey(id).
type Item struct {
	// ID is the public identifier, e.g. PAKN-261203-7K3QX9MA.
	ID string `json:"id"`
	// Version counts the steps (1 after intake).
	Version int `json:"version"`
	// Kind is regulation or conduct.
	Kind string `json:"kind"`
	// FieldCode and FieldName are the field (lĩnh vực) chosen.
	FieldCode string `json:"fieldCode"`
	FieldName string `json:"fieldName"`
	// Title and Content are the sender's text (NFC).
	Title   string `json:"title"`
	Content string `json:"content"`
	// Location is where the matter is.
	Location Location `json:"location"`
	// Attachments are the declared files and links.
	Attachments []Attachment `json:"attachments"`
	// Anonymous is true when the sender gave no contact.
	Anonymous bool `json:"anonymous"`
	// Contact is the sender (nil when anonymous).
	Contact *Contact `json:"contact,omitempty"`
	// ApplicationCode is the application the feedback concerns, if any.
	ApplicationCode string `json:"applicationCode,omitempty"`
	// Channel is how it came: web (the JSON API) or open311.
	Channel string `json:"channel"`
	// Agency is the agency currently responsible.
	Agency Agency `json:"agency"`
	// Routing says how the agency was chosen (table version and rule).
	Routing string `json:"routing"`
	// Assignee is the officer working on it.
	Assignee string `json:"assignee,omitempty"`
	// Status is the current status.
	Status Status `json:"status"`
	// ReceivedAt is the intake time (UTC).
	ReceivedAt time.Time `json:"receivedAt"`
	// UpdatedAt is the time of the latest step.
	UpdatedAt time.Time `json:"updatedAt"`
	// Due holds the deadlines.
	Due Due `json:"due"`
	// InfoRequest is the agency's latest question to the sender.
	InfoRequest string `json:"infoRequest,omitempty"`
	// Answer is the latest answer.
	Answer *Answer `json:"answer,omitempty"`
	// FirstAnsweredAt and AnsweredAt are the first and latest answer times.
	FirstAnsweredAt *time.Time `json:"firstAnsweredAt,omitempty"`
	AnsweredAt      *time.Time `json:"answeredAt,omitempty"`
	// AnsweredInTime is set on each answer: AnsweredAt <= Due.AnswerBy.
	AnsweredInTime *bool `json:"answeredInTime,omitempty"`
	// Refusal and RefusedAt are set on a refusal.
	Refusal   *Refusal   `json:"refusal,omitempty"`
	RefusedAt *time.Time `json:"refusedAt,omitempty"`
	// ClosedAt is when it was closed.
	ClosedAt *time.Time `json:"closedAt,omitempty"`
	// Published is true once the answer is public; PublishedAt when.
	Published   bool       `json:"published"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
	// Rating is the sender's rating of the latest answer.
	Rating *Rating `json:"rating,omitempty"`
	// ReopenCount counts the sender's reopens.
	ReopenCount int `json:"reopenCount"`
	// Timeline lists every step, oldest first.
	Timeline []Step `json:"timeline"`
	// SecretHash and SecretSalt guard the follow-up secret (never shown).
	SecretHash string `json:"secretHash,omitempty"`
	SecretSalt string `json:"secretSalt,omitempty"`
}

// Overdue lists the deadlines an item has missed at now (nil when none):
// "answer" (still open after Due.AnswerBy) and "publish" (answered, not
// published after Due.PublishBy).
func (it Item) Overdue(now time.Time) []string {
	var out []string
	if it.Status.Open() && now.After(it.Due.AnswerBy) {
		out = append(out, "answer")
	}
	if it.Answer != nil && !it.Published && it.Due.PublishBy != nil && now.After(*it.Due.PublishBy) &&
		(it.Status == StatusAnswered || it.Status == StatusClosed) {
		out = append(out, "publish")
	}
	return out
}
