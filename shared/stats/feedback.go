package stats

import (
	"strings"
	"time"

	"motcua/shared/workdays"
)

// FeedbackPrefix is where the feedback function keeps one document per
// item (feedback/items/<id>.json, shared/feedback's ItemKey).
const FeedbackPrefix = "feedback/items/"

// FeedbackKey returns the document key of feedback item id.
func FeedbackKey(id string) string { return FeedbackPrefix + id + ".json" }

// AnswerDays is the national PAKN rule's answer deadline in working days.
const AnswerDays = 15

// FeedbackItem is the part of a feedback item document (shared/feedback's
// Item, same JSON names) the indicators read. Decoding into this narrow
// view instead of importing the feedback package keeps the two packages
// independent: the indicators need only these fields to stay put.
type FeedbackItem struct {
	// ID is the item's public identifier.
	ID string `json:"id"`
	// Version grows with every change of the item.
	Version int `json:"version"`
	// FieldCode and FieldName are its field (lĩnh vực); the name is the
	// scope cell, the code when there is no name.
	FieldCode string `json:"fieldCode"`
	FieldName string `json:"fieldName"`
	// ApplicationCode is the application it is about, if any (a complaint).
	ApplicationCode string `json:"applicationCode,omitempty"`
	// Agency is the agency currently responsible.
	Agency struct {
		Code string `json:"code"`
	} `json:"agency"`
	// Status is the workflow status (informational here).
	Status string `json:"status"`
	// ReceivedAt, FirstAnsweredAt and RefusedAt date the steps counted.
	ReceivedAt      time.Time  `json:"receivedAt"`
	FirstAnsweredAt *time.Time `json:"firstAnsweredAt,omitempty"`
	RefusedAt       *time.Time `json:"refusedAt,omitempty"`
	// Rating is the sender's rating of the answer, if given.
	Rating *struct {
		Score int       `json:"score"`
		At    time.Time `json:"at"`
	} `json:"rating,omitempty"`
}

// FeedbackContribution computes a feedback item's contribution, in the
// cell of its field (no procedure level) of the agency currently
// responsible (a reassignment moves the whole contribution).
//
// Months: received and complaints in the month of receipt; answered and
// answered in time in the month of the first answer (in time: on or
// before the 15th working day after receipt, counted with cal as
// application due dates are); refused in the month of refusal; the
// sender's rating in the month it was given.
func FeedbackContribution(it FeedbackItem, cal *workdays.Calendar) Contribution {
	agency := agencyKey(it.Agency.Code)
	field := it.FieldName
	if field == "" {
		field = it.FieldCode
	}
	c := Contribution{Doc: FeedbackDoc(it.ID), Version: int64(it.Version), Cell: CellKey(field, ""), Places: map[Place]Counters{}}
	add := func(t time.Time, f func(*Counters)) {
		p := Place{Month: MonthOf(t), Agency: agency}
		k := c.Places[p]
		f(&k)
		c.Places[p] = k
	}
	add(it.ReceivedAt, func(k *Counters) {
		k.FbReceived = 1
		if strings.TrimSpace(it.ApplicationCode) != "" {
			k.Complaints = 1
		}
	})
	if it.FirstAnsweredAt != nil {
		due := cal.AddWorkingDays(it.ReceivedAt, AnswerDays)
		add(*it.FirstAnsweredAt, func(k *Counters) {
			k.FbAnswered = 1
			if !it.FirstAnsweredAt.After(due) {
				k.FbInTime = 1
			}
		})
	}
	if it.RefusedAt != nil {
		add(*it.RefusedAt, func(k *Counters) { k.FbRefused = 1 })
	}
	if it.Rating != nil && it.Rating.Score >= 1 && it.Rating.Score <= 5 {
		add(it.Rating.At, func(k *Counters) { k.FbRatings, k.FbRatingSum = 1, int64(it.Rating.Score) })
	}
	return c
}
