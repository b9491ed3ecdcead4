package feedback

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"motcua/shared/fault"
	"motcua/shared/workdays"
)

// Actions. Staff actions need an officer of the item's agency; sender
// actions need the follow-up secret.
const (
	// ActionReceive is the intake (system).
	ActionReceive = "receive"
	// ActionAssign gives the item to an officer (staff).
	ActionAssign = "assign"
	// ActionReassign moves the item to another agency (staff).
	ActionReassign = "reassign"
	// ActionRequestInfo asks the sender for more information (staff).
	ActionRequestInfo = "request_info"
	// ActionAnswer answers (staff).
	ActionAnswer = "answer"
	// ActionRefuse refuses as duplicate or out of scope (staff).
	ActionRefuse = "refuse"
	// ActionClose closes an answered or refused item (staff).
	ActionClose = "close"
	// ActionPublish publishes the answer with personal data removed (staff).
	ActionPublish = "publish"
	// ActionProvideInfo is the sender's reply to request_info.
	ActionProvideInfo = "provide_info"
	// ActionRate is the sender's rating of the answer.
	ActionRate = "rate"
	// ActionReopen is the sender's reopening of the answer.
	ActionReopen = "reopen"
)

// StaffActions are the actions an officer may send.
var StaffActions = []string{ActionAssign, ActionReassign, ActionRequestInfo, ActionAnswer, ActionRefuse, ActionClose, ActionPublish}

// SenderActions are the actions the sender may send with the secret.
var SenderActions = []string{ActionProvideInfo, ActionRate, ActionReopen}

// Deadlines in working days (national PAKN rules) and the reopen window.
const (
	// RefuseWithinDays: refuse within 2 working days of receipt.
	RefuseWithinDays = 2
	// RequestInfoWithinDays: ask for more within 5 working days.
	RequestInfoWithinDays = 5
	// AnswerWithinDays: answer within 15 working days.
	AnswerWithinDays = 15
	// PublishWithinDays: publish within 2 working days of the answer.
	PublishWithinDays = 2
	// ReopenWindow: the sender may reopen within 10 days of the answer.
	ReopenWindow = 10 * 24 * time.Hour
	// MaxReopens bounds the reopens of one item.
	MaxReopens = 3
)

// legal lists the statuses each action may start from.
var legal = map[string][]Status{
	ActionAssign:      {StatusReceived, StatusInProgress, StatusReopened},
	ActionReassign:    {StatusReceived, StatusInProgress, StatusInfoRequested, StatusReopened},
	ActionRequestInfo: {StatusReceived, StatusInProgress, StatusReopened},
	ActionAnswer:      {StatusReceived, StatusInProgress, StatusReopened},
	ActionRefuse:      {StatusReceived, StatusInProgress},
	ActionClose:       {StatusAnswered, StatusRefused},
	ActionPublish:     {StatusAnswered, StatusClosed},
	ActionProvideInfo: {StatusInfoRequested},
	ActionRate:        {StatusAnswered, StatusClosed},
	ActionReopen:      {StatusAnswered, StatusClosed},
}

// Errors of the workflow.
var (
	// ErrUnknownAction: the action is not one of the known actions.
	ErrUnknownAction = fault.New("feedback", "unknown_action", 422, "Thao tác không hợp lệ.", "Unknown action.")
	// ErrIllegalTransition: the action is not allowed in the current status.
	ErrIllegalTransition = fault.New("feedback", "illegal_transition", 409,
		"Thao tác không được phép ở trạng thái hiện tại của phản ánh.", "The action is not allowed in the item's current status.")
	// ErrAlreadyRated: the answer was rated already.
	ErrAlreadyRated = fault.New("feedback", "already_rated", 409, "Câu trả lời này đã được đánh giá.", "This answer was already rated.")
	// ErrReopenWindow: the reopen window is over, or too many reopens.
	ErrReopenWindow = fault.New("feedback", "reopen_window_closed", 409,
		"Đã quá thời hạn 10 ngày kể từ khi trả lời, hoặc đã mở lại quá số lần cho phép.",
		"The 10-day reopen window after the answer is over, or the item was reopened too often.")
	// ErrAnonymous: the sender is anonymous, so no private follow-up.
	ErrAnonymous = fault.New("feedback", "anonymous_sender", 409,
		"Phản ánh ẩn danh: không thể đề nghị người gửi bổ sung thông tin.",
		"The sender is anonymous: no private follow-up is possible.")
	// ErrAlreadyPublished: the answer is public already.
	ErrAlreadyPublished = fault.New("feedback", "already_published", 409, "Câu trả lời đã được công khai.", "The answer is already published.")
	// ErrSameAgency: reassigning to the agency already responsible.
	ErrSameAgency = fault.New("feedback", "same_agency", 422, "Phản ánh đã thuộc cơ quan này.", "The item already belongs to that agency.")
	// ErrUnknownAgency: the target agency is not in the routing table.
	ErrUnknownAgency = fault.New("feedback", "unknown_agency", 422, "Cơ quan không có trong danh sách.", "The agency is not in the routing table.")
	// ErrMissingParam: a parameter the action needs is missing.
	ErrMissingParam = fault.New("feedback", "validation_failed", 422, "Thiếu thông tin bắt buộc cho thao tác này.", "A parameter this action needs is missing.")
)

// Input carries the parameters of one action (only those it needs).
type Input struct {
	// Action is one of the actions.
	Action string
	// Assignee is the officer for assign ("" = the acting officer).
	Assignee string
	// Agency is the target agency for reassign.
	Agency Agency
	// Text is the question (request_info), answer (answer), note
	// (refuse, close, reassign, reopen) or the sender's reply (provide_info).
	Text string
	// Reason is the refusal reason (duplicate, out_of_scope).
	Reason string
	// DuplicateOf is the item a duplicate refers to.
	DuplicateOf string
	// Score and Comment are the rating.
	Score   int
	Comment string
}

// Actor is who acts: an officer of Agency, the sender or the system.
type Actor struct {
	// Officer is the officer's id ("" for the sender and the system).
	Officer string
	// Agency is the officer's agency code.
	Agency string
	// Sender is true for the sender's actions.
	Sender bool
}

func (a Actor) by() string {
	switch {
	case a.Sender:
		return "sender"
	case a.Officer != "":
		return a.Agency
	}
	return "system"
}

// ComputeDue returns the intake deadlines for an item received at.
func ComputeDue(cal *workdays.Calendar, at time.Time) Due {
	return Due{
		RefuseBy:      cal.AddWorkingDays(at, RefuseWithinDays).UTC(),
		RequestInfoBy: cal.AddWorkingDays(at, RequestInfoWithinDays).UTC(),
		AnswerBy:      cal.AddWorkingDays(at, AnswerWithinDays).UTC(),
	}
}

func illegal(it *Item, action string) error {
	return ErrIllegalTransition.WithExtra(map[string]any{"current_status": string(it.Status), "action": action})
}

func missing(field, en, vi string) error {
	return ErrMissingParam.WithParam(field).WithMessages(vi, en)
}

// Apply applies in by actor at now to it: it checks the action is legal in
// the current status and has its parameters, changes it (status, dates,
// answer, rating …), appends the step to the timeline (EventID is left for
// the caller) and bumps Version. On error it is unchanged. Sender actions
// must come from a Sender actor, staff actions from an officer: the caller
// checks the secret or the officer's agency before.
func Apply(it *Item, actor Actor, in Input, now time.Time, cal *workdays.Calendar) (Step, error) {
	from, ok := legal[in.Action]
	if !ok {
		return Step{}, ErrUnknownAction.With("action", in.Action)
	}
	if actor.Sender != slices.Contains(SenderActions, in.Action) {
		return Step{}, ErrUnknownAction.With("action", in.Action)
	}
	if !slices.Contains(from, it.Status) {
		return Step{}, illegal(it, in.Action)
	}
	now = now.UTC()
	next := *it
	next.Timeline = slices.Clone(it.Timeline)
	note := strings.TrimSpace(in.Text)
	switch in.Action {
	case ActionAssign:
		assignee := strings.TrimSpace(in.Assignee)
		if assignee == "" {
			assignee = actor.Officer
		}
		next.Assignee, next.Status = assignee, StatusInProgress
		note = ""
	case ActionReassign:
		if in.Agency.Code == "" {
			return Step{}, missing("agency", "The target agency is required.", "Cần chọn cơ quan chuyển đến.")
		}
		if strings.EqualFold(in.Agency.Code, it.Agency.Code) {
			return Step{}, ErrSameAgency
		}
		if note == "" {
			return Step{}, missing("text", "Say why the item is moved.", "Cần nêu lý do chuyển.")
		}
		next.Agency, next.Assignee, next.Status = in.Agency, "", StatusReceived
		note = "Chuyển đến " + in.Agency.Name + ": " + note
	case ActionRequestInfo:
		if it.Anonymous {
			return Step{}, ErrAnonymous
		}
		if note == "" {
			return Step{}, missing("text", "Say what information is needed.", "Cần nêu thông tin cần bổ sung.")
		}
		next.InfoRequest, next.Status = note, StatusInfoRequested
	case ActionProvideInfo:
		if note == "" {
			return Step{}, missing("text", "The additional information is required.", "Cần nhập thông tin bổ sung.")
		}
		next.Status = StatusReceived
		if it.Assignee != "" {
			next.Status = StatusInProgress
		}
	case ActionAnswer:
		if note == "" {
			return Step{}, missing("text", "The answer is required.", "Cần nhập nội dung trả lời.")
		}
		at := now
		next.Answer = &Answer{Text: note, Agency: it.Agency, At: at}
		next.AnsweredAt = &at
		if next.FirstAnsweredAt == nil {
			next.FirstAnsweredAt = &at
		}
		inTime := !at.After(it.Due.AnswerBy)
		next.AnsweredInTime = &inTime
		pub := cal.AddWorkingDays(at, PublishWithinDays).UTC()
		next.Due.PublishBy = &pub
		next.Rating, next.Published, next.PublishedAt = nil, false, nil
		next.Status = StatusAnswered
		note = ""
	case ActionRefuse:
		switch in.Reason {
		case RefuseDuplicate:
			if strings.TrimSpace(in.DuplicateOf) == "" {
				return Step{}, missing("duplicateOf", "A duplicate names the item it duplicates.", "Cần nêu mã phản ánh bị trùng.")
			}
			if strings.EqualFold(strings.TrimSpace(in.DuplicateOf), it.ID) {
				return Step{}, missing("duplicateOf", "An item cannot duplicate itself.", "Phản ánh không thể trùng với chính nó.")
			}
		case RefuseOutOfScope:
		default:
			return Step{}, missing("reason", "The reason is duplicate or out_of_scope.", "Lý do phải là duplicate (trùng) hoặc out_of_scope (không thuộc phạm vi).")
		}
		if note == "" {
			return Step{}, missing("text", "Explain the refusal to the sender.", "Cần giải thích lý do từ chối cho người gửi.")
		}
		at := now
		next.Refusal = &Refusal{Reason: in.Reason, Note: note, DuplicateOf: strings.ToUpper(strings.TrimSpace(in.DuplicateOf))}
		next.RefusedAt, next.Status = &at, StatusRefused
	case ActionClose:
		at := now
		next.ClosedAt, next.Status = &at, StatusClosed
	case ActionPublish:
		if it.Answer == nil {
			return Step{}, illegal(it, in.Action)
		}
		if it.Published {
			return Step{}, ErrAlreadyPublished
		}
		at := now
		next.Published, next.PublishedAt = true, &at
		note = ""
	case ActionRate:
		if it.Answer == nil || it.Anonymous {
			return Step{}, illegal(it, in.Action)
		}
		if it.Rating != nil {
			return Step{}, ErrAlreadyRated
		}
		if in.Score < 1 || in.Score > 5 {
			return Step{}, missing("score", "The score is 1 to 5.", "Điểm đánh giá từ 1 đến 5.")
		}
		next.Rating = &Rating{Score: in.Score, Comment: strings.TrimSpace(in.Comment), At: now}
		note = fmt.Sprintf("%d/5", in.Score)
	case ActionReopen:
		if it.Answer == nil || it.Anonymous || it.AnsweredAt == nil {
			return Step{}, illegal(it, in.Action)
		}
		if now.Sub(*it.AnsweredAt) > ReopenWindow || it.ReopenCount >= MaxReopens {
			return Step{}, ErrReopenWindow.With("answered_at", it.AnsweredAt.Format(time.RFC3339))
		}
		if note == "" {
			return Step{}, missing("text", "Say why the answer does not settle the matter.", "Cần nêu lý do đề nghị xem xét lại.")
		}
		next.ReopenCount++
		next.Status = StatusReopened
		next.Due.AnswerBy = cal.AddWorkingDays(now, AnswerWithinDays).UTC()
		next.Due.PublishBy = nil
		next.ClosedAt = nil
	}
	next.Version++
	next.UpdatedAt = now
	step := Step{At: now, Action: in.Action, Status: next.Status, By: actor.by(), Officer: actor.Officer, Note: note}
	next.Timeline = append(next.Timeline, step)
	*it = next
	return step, nil
}

// AllowedActions lists the staff actions legal in it's status.
func AllowedActions(it Item) []string {
	var out []string
	for _, a := range StaffActions {
		if !slices.Contains(legal[a], it.Status) {
			continue
		}
		switch {
		case a == ActionRequestInfo && it.Anonymous,
			a == ActionPublish && (it.Answer == nil || it.Published):
			continue
		}
		out = append(out, a)
	}
	return out
}
