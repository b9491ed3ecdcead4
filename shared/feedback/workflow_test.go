package feedback

import (
	"errors"
	"slices"
	"testing"
	"time"

	"motcua/shared/workdays"
)

func TestComputeDue(t *testing.T) {
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		at                   time.Time
		refuse, info, answer time.Time
	}{
		// Thursday morning counts as day 1.
		{"thursday_morning", ict(2026, 12, 3, 9, 0), ict(2026, 12, 4, 17, 0), ict(2026, 12, 9, 17, 0), ict(2026, 12, 23, 17, 0)},
		// Afternoon receipt counts from the next working day (Friday).
		{"thursday_afternoon", ict(2026, 12, 3, 14, 0), ict(2026, 12, 7, 17, 0), ict(2026, 12, 10, 17, 0), ict(2026, 12, 24, 17, 0)},
		// Saturday counts from Monday.
		{"saturday", ict(2026, 12, 5, 10, 0), ict(2026, 12, 8, 17, 0), ict(2026, 12, 11, 17, 0), ict(2026, 12, 25, 17, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ComputeDue(cal, tc.at)
			if !d.RefuseBy.Equal(tc.refuse) || !d.RequestInfoBy.Equal(tc.info) || !d.AnswerBy.Equal(tc.answer) {
				t.Fatalf("due = %v / %v / %v, want %v / %v / %v", d.RefuseBy, d.RequestInfoBy, d.AnswerBy, tc.refuse, tc.info, tc.answer)
			}
		})
	}
	// Over Tết 2027 (5-11 Feb holidays in the embedded calendar, if any):
	// the answer due date must skip every non-working day.
	at := ict(2027, 2, 1, 9, 0)
	d := ComputeDue(cal, at)
	if got := cal.WorkingDaysBetween(at, d.AnswerBy); got != AnswerWithinDays-1 {
		t.Fatalf("answer due %v is %d working days after receipt, want %d", d.AnswerBy, got, AnswerWithinDays-1)
	}
}

func TestOverdue(t *testing.T) {
	cal, _ := workdays.Default()
	at := ict(2026, 12, 3, 9, 0)
	it := Item{Status: StatusInProgress, Due: ComputeDue(cal, at)}
	if o := it.Overdue(ict(2026, 12, 23, 16, 59)); o != nil {
		t.Fatalf("overdue %v before the answer deadline", o)
	}
	if o := it.Overdue(ict(2026, 12, 23, 17, 1)); !slices.Equal(o, []string{"answer"}) {
		t.Fatalf("overdue = %v, want [answer]", o)
	}
	pub := ict(2026, 12, 8, 17, 0)
	it = Item{Status: StatusAnswered, Answer: &Answer{Text: "x"}, Due: Due{AnswerBy: ict(2026, 12, 23, 17, 0), PublishBy: &pub}}
	if o := it.Overdue(ict(2026, 12, 9, 8, 0)); !slices.Equal(o, []string{"publish"}) {
		t.Fatalf("overdue = %v, want [publish]", o)
	}
	it.Published = true
	if o := it.Overdue(ict(2026, 12, 9, 8, 0)); o != nil {
		t.Fatalf("published item overdue %v", o)
	}
}

// inputFor returns a valid input of each action.
func inputFor(action string) Input {
	switch action {
	case ActionReassign:
		return Input{Action: action, Agency: Agency{Code: "STP", Name: "Sở Tư pháp"}, Text: "Thuộc thẩm quyền Sở Tư pháp"}
	case ActionRefuse:
		return Input{Action: action, Reason: RefuseOutOfScope, Text: "Không thuộc phạm vi"}
	case ActionRate:
		return Input{Action: action, Score: 4}
	}
	return Input{Action: action, Text: "nội dung"}
}

// TestApply_every_transition tries every action in every status and checks
// the legal ones succeed with the right next status and the others are 409.
func TestApply_every_transition(t *testing.T) {
	cal, _ := workdays.Default()
	now := ict(2026, 12, 4, 10, 0)
	want := map[string]map[Status]Status{
		ActionAssign:      {StatusReceived: StatusInProgress, StatusInProgress: StatusInProgress, StatusReopened: StatusInProgress},
		ActionReassign:    {StatusReceived: StatusReceived, StatusInProgress: StatusReceived, StatusInfoRequested: StatusReceived, StatusReopened: StatusReceived},
		ActionRequestInfo: {StatusReceived: StatusInfoRequested, StatusInProgress: StatusInfoRequested, StatusReopened: StatusInfoRequested},
		ActionAnswer:      {StatusReceived: StatusAnswered, StatusInProgress: StatusAnswered, StatusReopened: StatusAnswered},
		ActionRefuse:      {StatusReceived: StatusRefused, StatusInProgress: StatusRefused},
		ActionClose:       {StatusAnswered: StatusClosed, StatusRefused: StatusClosed},
		ActionPublish:     {StatusAnswered: StatusAnswered, StatusClosed: StatusClosed},
		ActionProvideInfo: {StatusInfoRequested: StatusReceived},
		ActionRate:        {StatusAnswered: StatusAnswered, StatusClosed: StatusClosed},
		ActionReopen:      {StatusAnswered: StatusReopened, StatusClosed: StatusReopened},
	}
	all := []Status{StatusReceived, StatusInProgress, StatusInfoRequested, StatusAnswered, StatusRefused, StatusClosed, StatusReopened}
	for action, legalFrom := range want {
		for _, from := range all {
			t.Run(action+"_from_"+string(from), func(t *testing.T) {
				answeredAt := now.Add(-time.Hour)
				it := Item{ID: "PAKN-261203-AAAAAAAA", Version: 3, Status: from, Agency: Agency{Code: "UBND-X-VIETHUNG"},
					Due: ComputeDue(cal, now.Add(-24*time.Hour)), Timeline: []Step{{Action: ActionReceive}}}
				if from == StatusAnswered || from == StatusClosed {
					it.Answer, it.AnsweredAt = &Answer{Text: "trả lời"}, &answeredAt
				}
				before := it
				actor := Actor{Officer: "o1", Agency: "UBND-X-VIETHUNG"}
				if slices.Contains(SenderActions, action) {
					actor = Actor{Sender: true}
				}
				step, err := Apply(&it, actor, inputFor(action), now, cal)
				next, ok := legalFrom[from]
				if !ok {
					if !errors.Is(err, ErrIllegalTransition) {
						t.Fatalf("err = %v, want illegal_transition", err)
					}
					if it.Version != before.Version || it.Status != before.Status || len(it.Timeline) != 1 {
						t.Fatal("a refused action changed the item")
					}
					return
				}
				if err != nil {
					t.Fatalf("legal action failed: %v", err)
				}
				if it.Status != next || step.Status != next || it.Version != 4 || len(it.Timeline) != 2 {
					t.Fatalf("status %s v%d, %d steps; want %s v4, 2 steps", it.Status, it.Version, len(it.Timeline), next)
				}
			})
		}
	}
}

func TestApply_rules(t *testing.T) {
	cal, _ := workdays.Default()
	now := ict(2026, 12, 4, 10, 0)
	answered := func() Item {
		at := now
		return Item{ID: "PAKN-261203-AAAAAAAA", Status: StatusAnswered, Answer: &Answer{Text: "x"}, AnsweredAt: &at,
			Due: ComputeDue(cal, now)}
	}
	sender := Actor{Sender: true}
	staff := Actor{Officer: "o1", Agency: "A"}
	tests := []struct {
		name  string
		item  func() Item
		actor Actor
		in    Input
		when  time.Time
		want  error
	}{
		{"rate_twice_is_409", func() Item { it := answered(); it.Rating = &Rating{Score: 3}; return it }, sender, Input{Action: ActionRate, Score: 5}, now, ErrAlreadyRated},
		{"rate_zero_is_422", answered, sender, Input{Action: ActionRate, Score: 0}, now, ErrMissingParam},
		{"rate_six_is_422", answered, sender, Input{Action: ActionRate, Score: 6}, now, ErrMissingParam},
		{"reopen_on_day_10_is_allowed", answered, sender, Input{Action: ActionReopen, Text: "chưa thỏa đáng"}, now.Add(10*24*time.Hour - time.Minute), nil},
		{"reopen_after_10_days_is_409", answered, sender, Input{Action: ActionReopen, Text: "chưa thỏa đáng"}, now.Add(10*24*time.Hour + time.Minute), ErrReopenWindow},
		{"reopen_too_often_is_409", func() Item { it := answered(); it.ReopenCount = MaxReopens; return it }, sender, Input{Action: ActionReopen, Text: "x"}, now, ErrReopenWindow},
		{"reopen_needs_a_reason", answered, sender, Input{Action: ActionReopen}, now, ErrMissingParam},
		{"request_info_of_anonymous_is_409", func() Item { return Item{Status: StatusReceived, Anonymous: true} }, staff, Input{Action: ActionRequestInfo, Text: "?"}, now, ErrAnonymous},
		{"refuse_duplicate_needs_the_original", func() Item { return Item{Status: StatusReceived} }, staff, Input{Action: ActionRefuse, Reason: RefuseDuplicate, Text: "trùng"}, now, ErrMissingParam},
		{"refuse_needs_a_known_reason", func() Item { return Item{Status: StatusReceived} }, staff, Input{Action: ActionRefuse, Reason: "spam", Text: "x"}, now, ErrMissingParam},
		{"publish_twice_is_409", func() Item { it := answered(); it.Published = true; return it }, staff, Input{Action: ActionPublish}, now, ErrAlreadyPublished},
		{"reassign_to_the_same_agency_is_422", func() Item { return Item{Status: StatusReceived, Agency: Agency{Code: "A"}} }, staff, Input{Action: ActionReassign, Agency: Agency{Code: "A"}, Text: "x"}, now, ErrSameAgency},
		{"staff_cannot_rate", answered, staff, Input{Action: ActionRate, Score: 5}, now, ErrUnknownAction},
		{"sender_cannot_answer", func() Item { return Item{Status: StatusReceived} }, sender, Input{Action: ActionAnswer, Text: "x"}, now, ErrUnknownAction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := tc.item()
			_, err := Apply(&it, tc.actor, tc.in, tc.when, cal)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestApply_answer_sets_deadlines_and_in_time(t *testing.T) {
	cal, _ := workdays.Default()
	at := ict(2026, 12, 3, 9, 0)
	it := Item{Status: StatusInProgress, Due: ComputeDue(cal, at)}
	late := ict(2026, 12, 24, 9, 0)
	if _, err := Apply(&it, Actor{Officer: "o", Agency: "A"}, Input{Action: ActionAnswer, Text: "trả lời"}, late, cal); err != nil {
		t.Fatal(err)
	}
	if it.AnsweredInTime == nil || *it.AnsweredInTime {
		t.Fatal("an answer after the due day is not flagged late")
	}
	if want := ict(2026, 12, 25, 17, 0); it.Due.PublishBy == nil || !it.Due.PublishBy.Equal(want) {
		t.Fatalf("publishBy = %v, want %v", it.Due.PublishBy, want)
	}
}
