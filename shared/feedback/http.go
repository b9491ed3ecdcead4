package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

// HeaderPath is the header in which the project's template (template/
// motcua-go/main.go) hands the request path to the function; the template
// overwrites any value a client sent.
const HeaderPath = "X-Motcua-Path"

// Operations of the feedback function, chosen with ?action=.
const (
	// OpSubmit (POST, default) files an item.
	OpSubmit = "submit"
	// OpStatus (GET/POST) is the sender's follow-up with id and secret.
	OpStatus = "status"
	// OpProvideInfo, OpRate and OpReopen (POST) are the sender's actions.
	OpProvideInfo = "provide-info"
	OpRate        = "rate"
	OpReopen      = "reopen"
	// OpFields (GET) lists the fields.
	OpFields = "fields"
	// OpPublic (GET) lists, searches or shows published answers.
	OpPublic = "public"
	// OpQueue (GET, staff) lists the officer's agency's items.
	OpQueue = "queue"
	// OpItem (GET, staff) shows one item with its version (ETag).
	OpItem = "item"
	// OpStaff (POST, staff) applies a staff action.
	OpStaff = "staff"
)

// actionMethods are the JSON API's operations and the methods each takes.
// The sub-path /function/feedback/<op> selects an operation as ?action=<op>
// does (one documented path per operation), with a 405 naming its methods.
var actionMethods = map[string][]string{
	OpSubmit: {http.MethodPost}, OpStatus: {http.MethodGet, http.MethodPost}, OpProvideInfo: {http.MethodPost},
	OpRate: {http.MethodPost}, OpReopen: {http.MethodPost}, OpStaff: {http.MethodPost},
	OpFields: {http.MethodGet}, OpPublic: {http.MethodGet}, OpQueue: {http.MethodGet}, OpItem: {http.MethodGet},
}

// StaffVerifier authenticates an officer from the Authorization header.
type StaffVerifier func(authorization string, now time.Time) (Officer, error)

// StaffVerifierFromSecrets is the one place feedback checks staff tokens:
// staffauth.NewVerifier over the staff key set (staffauth.PublicKeysSecret,
// re-read on every call, so a rotation needs no restart). The verifier is
// made on the first staff call and retried until the key set is readable,
// so the citizens' side of the function works even while staff keys are
// missing (staff calls then fail closed with 500).
func StaffVerifierFromSecrets(secrets staffauth.SecretSource) StaffVerifier {
	var mu sync.Mutex
	var v *staffauth.Verifier
	return func(authorization string, now time.Time) (Officer, error) {
		mu.Lock()
		if v == nil {
			nv, err := staffauth.NewVerifier(secrets)
			if err != nil {
				mu.Unlock()
				return Officer{}, fmt.Errorf("staff key set: %w", err)
			}
			v = nv
		}
		cur := v
		mu.Unlock()
		c, err := cur.Verify(authorization, now)
		if err != nil {
			return Officer{}, err
		}
		return Officer{Subject: c.Subject, Agency: c.Agency}, nil
	}
}

// HTTP serves the feedback function on top of a Service.
type HTTP struct {
	svc    *Service
	keeper *idempotency.Keeper
	staff  StaffVerifier
	log    *slog.Logger
	now    func() time.Time
	keys   APIKeys
}

// NewHTTP returns the HTTP layer. staff may be nil (staff calls then get
// 401); keeper makes writes safe to retry.
func NewHTTP(svc *Service, keeper *idempotency.Keeper, staff StaffVerifier, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, keeper: keeper, staff: staff, log: log, now: time.Now}
}

// SecretRequest is the body of the sender's calls.
type SecretRequest struct {
	// ID is the item id.
	ID string `json:"id" validate:"required,max=40"`
	// Secret is the follow-up secret.
	Secret string `json:"secret" validate:"required,max=32"`
	// Text is the reply (provide-info) or the reason (reopen).
	Text string `json:"text" validate:"max=4000"`
	// Score is the rating (rate), 1..5.
	Score int `json:"score" validate:"omitempty,min=1,max=5"`
	// Comment goes with the rating.
	Comment string `json:"comment" validate:"max=1000"`
}

// StaffRequest is the body of a staff action.
type StaffRequest struct {
	// ID is the item id.
	ID string `json:"id" validate:"required,max=40"`
	// Version is the item version the officer saw (or send If-Match).
	Version int `json:"version" validate:"omitempty,min=1"`
	// Action is assign, reassign, request_info, answer, refuse, close or publish.
	Action string `json:"action" validate:"required,oneof=assign reassign request_info answer refuse close publish"`
	// Assignee is the officer for assign (default: the caller).
	Assignee string `json:"assignee" validate:"max=100"`
	// Agency is the target agency code for reassign.
	Agency string `json:"agency" validate:"max=40"`
	// Text is the question, answer or note.
	Text string `json:"text" validate:"max=8000"`
	// Reason is duplicate or out_of_scope (refuse).
	Reason string `json:"reason" validate:"omitempty,oneof=duplicate out_of_scope"`
	// DuplicateOf is the item a duplicate repeats.
	DuplicateOf string `json:"duplicateOf" validate:"max=40"`
}

// Serve answers one request; failures become problem responses.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	q := httpx.Query(req)
	action := q.Get("action")
	if p := strings.TrimRight(req.Header.Get(HeaderPath), "/"); p != "" {
		if rest, ok := strings.CutPrefix(p, Open311Root); ok {
			return h.open311(ctx, req, rest)
		}
		op := strings.TrimPrefix(p, "/")
		methods, known := actionMethods[op]
		if !known {
			return httpx.ProblemResponse(httpx.NotFound(fmt.Sprintf("No route %s; use /function/feedback/<action> or the Open311 API under %s.", p, Open311Root),
				fmt.Sprintf("Không có đường dẫn %s; dùng /function/feedback/<thao tác> hoặc API Open311 ở %s.", p, Open311Root)))
		}
		if pr := httpx.AllowMethods(req, methods...); pr != nil {
			return httpx.ProblemResponse(pr)
		}
		if action != "" && action != op {
			return httpx.ProblemResponse(httpx.BadRequest("conflicting_action",
				fmt.Sprintf("The path selects %s but action is %q; send one of them.", op, action),
				fmt.Sprintf("Đường dẫn chọn %s nhưng action là %q; chỉ gửi một trong hai.", op, action)).WithExtra("action", action))
		}
		action = op
	}
	// The function accepts any method (functions/feedback) so that the
	// Open311 paths answer their own 405 (the spec's error list, Allow of
	// that path); the JSON API takes GET and POST.
	if p := httpx.AllowMethods(req, http.MethodGet, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	get := strings.EqualFold(req.Method, http.MethodGet)
	switch {
	case action == OpFields && get:
		f, err := h.svc.Fields(ctx)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, f, http.Header{"Cache-Control": {"public, max-age=60"}})
	case action == OpPublic && get:
		return h.public(ctx, q)
	case action == OpStatus && get:
		return h.sender(ctx, req, OpStatus, SecretRequest{ID: q.Get("id"), Secret: q.Get("secret")})
	case action == OpQueue && get:
		return h.queue(ctx, req, q)
	case action == OpItem && get:
		o, err := h.officer(req)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		id, err := ParseID(q.Get("id"))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		v, err := h.svc.StaffGet(ctx, o, id)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, v, http.Header{"Cache-Control": {"no-store"}, "Etag": {etagOf(v.Item.Version)}})
	case get:
		return httpx.ProblemResponse(httpx.BadRequest("unknown_action",
			"Unknown GET action; use fields, public, status, queue or item.",
			"Thao tác GET không hợp lệ; dùng fields, public, status, queue hoặc item.").WithExtra("action", action))
	}
	if p := httpx.AllowMethods(req, http.MethodPost, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p)
	}
	switch action {
	case "", OpSubmit:
		return h.submit(ctx, req)
	case OpStatus, OpProvideInfo, OpRate, OpReopen:
		var in SecretRequest
		if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(32<<10)); err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return h.sender(ctx, req, action, in)
	case OpStaff:
		return h.staffAction(ctx, req)
	}
	return httpx.ProblemResponse(httpx.BadRequest("unknown_action",
		"Unknown action; use submit, status, provide-info, rate, reopen or staff.",
		"Thao tác không hợp lệ; dùng submit, status, provide-info, rate, reopen hoặc staff.").WithExtra("action", action))
}

func etagOf(version int) string { return `"v` + strconv.Itoa(version) + `"` }

// versionFrom reads an If-Match header made by etagOf (0 when absent).
func versionFrom(ifMatch string) (int, bool) {
	s := strings.TrimSpace(ifMatch)
	if s == "" {
		return 0, true
	}
	s = strings.TrimPrefix(strings.Trim(strings.TrimPrefix(s, "W/"), `"`), "v")
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// submit files an item under the keeper; the secret is sealed with the
// Idempotency-Key inside the stored record, as submit-application does
// with the PIN.
func (h *HTTP) submit(ctx context.Context, req handler.Request) handler.Response {
	var in SubmitInput
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(64<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	key := req.Header.Get(idempotency.HeaderKey)
	resp, err := h.keeper.Do(ctx, "feedback-submit", req, func() (handler.Response, error) {
		out, err := h.svc.Submit(ctx, in, Origin{Client: h.client(req), Channel: "web", CallID: httpx.CallID(req)})
		if err != nil {
			return httpx.FromError(ctx, h.log, err), nil
		}
		status := http.StatusCreated
		if out.Duplicate {
			status = http.StatusOK
		}
		if key != "" && out.Secret != "" {
			sealed, err := application.SealPIN(key, out.ID, out.Secret)
			if err != nil {
				return handler.Response{}, err
			}
			out.Secret, out.SecretSealed = "", sealed
		}
		return httpx.JSON(status, out, http.Header{"Cache-Control": {"no-store"}}), nil
	})
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if key == "" || resp.StatusCode != http.StatusCreated {
		return resp
	}
	var out SubmitResult
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if out.SecretSealed != "" {
		secret, err := application.UnsealPIN(key, out.ID, out.SecretSealed)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		out.Secret, out.SecretSealed = secret, ""
	}
	fresh := httpx.JSON(resp.StatusCode, out, http.Header{"Cache-Control": {"no-store"}})
	for k, v := range resp.Header {
		if fresh.Header.Get(k) == "" {
			fresh.Header[k] = v
		}
	}
	return fresh
}

// sender runs the sender's follow-up or action.
func (h *HTTP) sender(ctx context.Context, req handler.Request, op string, in SecretRequest) handler.Response {
	in.ID, in.Secret = strings.TrimSpace(in.ID), strings.TrimSpace(in.Secret)
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	id, err := ParseID(in.ID)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	client := h.client(req)
	if op == OpStatus {
		v, err := h.svc.FollowUp(ctx, id, in.Secret, client)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, v, http.Header{"Cache-Control": {"no-store"}})
	}
	act := Input{Text: in.Text, Score: in.Score, Comment: in.Comment}
	switch op {
	case OpProvideInfo:
		act.Action = ActionProvideInfo
	case OpRate:
		act.Action = ActionRate
	case OpReopen:
		act.Action = ActionReopen
	}
	resp, err := h.keeper.Do(ctx, "feedback-sender:"+id.String(), req, func() (handler.Response, error) {
		v, err := h.svc.SenderAct(ctx, id, in.Secret, client, act, httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err), nil
		}
		return httpx.JSON(http.StatusOK, v, http.Header{"Cache-Control": {"no-store"}}), nil
	})
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return resp
}

// client is the caller's address under the trusted proxies.
func (h *HTTP) client(req handler.Request) string {
	return h.svc.d.Guard.Client(http.Header(req.Header))
}

// officer authenticates the staff caller.
func (h *HTTP) officer(req handler.Request) (Officer, error) {
	if h.staff == nil {
		return Officer{}, &staffauth.Error{Kind: staffauth.KindInvalid, Reason: "staff tokens are not configured"}
	}
	return h.staff(req.Header.Get("Authorization"), h.now())
}

func (h *HTTP) staffAction(ctx context.Context, req handler.Request) handler.Response {
	o, err := h.officer(req)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	var in StaffRequest
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(64<<10)); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if err := httpx.Validate(&in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	id, err := ParseID(in.ID)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	version := in.Version
	if v, ok := versionFrom(req.Header.Get("If-Match")); !ok {
		return httpx.ProblemResponse(httpx.BadRequest("invalid_if_match", `If-Match must be an ETag of this API, e.g. "v3".`,
			`If-Match phải là ETag do API này trả về, ví dụ "v3".`))
	} else if v > 0 {
		if version > 0 && version != v {
			return httpx.ProblemResponse(httpx.BadRequest("version_mismatch", "version and If-Match disagree.", "version và If-Match không khớp nhau."))
		}
		version = v
	}
	if version == 0 {
		return httpx.ProblemResponse(httpx.ValidationProblem(fieldErr("version", "required",
			"Send the item version you saw (version or If-Match), so a concurrent change is not overwritten.",
			"Cần gửi phiên bản phản ánh đã xem (version hoặc If-Match) để không ghi đè thay đổi của người khác.")))
	}
	act := Input{Action: in.Action, Assignee: in.Assignee, Agency: Agency{Code: strings.ToUpper(strings.TrimSpace(in.Agency))},
		Text: in.Text, Reason: in.Reason, DuplicateOf: in.DuplicateOf}
	resp, err := h.keeper.Do(ctx, "feedback-staff:"+o.Subject, req, func() (handler.Response, error) {
		v, err := h.svc.StaffAct(ctx, o, id, version, act, httpx.CallID(req))
		if err != nil {
			return httpx.FromError(ctx, h.log, err), nil
		}
		return httpx.JSON(http.StatusOK, v, http.Header{"Cache-Control": {"no-store"}, "Etag": {etagOf(v.Item.Version)}}), nil
	})
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return resp
}

// badParam is a 400 naming a query parameter.
func badParam(name, en, vi string) handler.Response {
	p := httpx.BadRequest("invalid_parameter", en, vi)
	p.Errors = []httpx.FieldError{fieldErr(name, "invalid", en, vi)}
	return httpx.ProblemResponse(p)
}

// parseDate accepts YYYY-MM-DD (a whole day in Vietnam) or RFC 3339;
// end selects the end of a whole day.
func parseDate(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, workdays.Location)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return d, nil
}

func (h *HTTP) queue(ctx context.Context, req handler.Request, v url.Values) handler.Response {
	o, err := h.officer(req)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	q := QueueQuery{Status: Status(v.Get("status")), Field: strings.ToUpper(v.Get("field")), Cursor: v.Get("cursor")}
	if (v.Has("status") || q.Status != "") && StatusLabelVi(q.Status) == "" {
		return badParam("status", "Unknown status.", "Trạng thái không hợp lệ.")
	}
	if v.Has("overdue") {
		s := v.Get("overdue")
		b, err := strconv.ParseBool(s)
		if err != nil {
			return badParam("overdue", "overdue is true or false.", "overdue phải là true hoặc false.")
		}
		q.Overdue = &b
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"from", &q.From, false}, {"to", &q.To, true}} {
		if s := v.Get(p.name); s != "" {
			t, err := parseDate(s, p.end)
			if err != nil {
				return badParam(p.name, "Use a date YYYY-MM-DD or an RFC 3339 time.", "Dùng ngày dạng YYYY-MM-DD hoặc thời điểm RFC 3339.")
			}
			*p.dst = t
		}
	}
	// The queue reads one index folder per month of the range: bound it,
	// so that from=0119-06-22 is a clear 400, not a scan of 19 centuries.
	if !q.From.IsZero() {
		to := q.To
		if to.IsZero() {
			to = h.now()
		}
		if to.After(q.From.AddDate(0, maxQueueMonths, 0)) {
			return badParam("to", fmt.Sprintf("from..to spans at most %d months.", maxQueueMonths),
				fmt.Sprintf("Khoảng from..to tối đa %d tháng.", maxQueueMonths))
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return badParam("limit", fmt.Sprintf("limit is 1 to %d.", MaxPageSize), fmt.Sprintf("limit từ 1 đến %d.", MaxPageSize))
		}
		q.Limit = n
	}
	page, err := h.svc.Queue(ctx, o, q)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, page, http.Header{"Cache-Control": {"no-store"}})
}

func (h *HTTP) public(ctx context.Context, v url.Values) handler.Response {
	hdr := http.Header{"Cache-Control": {"public, max-age=60"}}
	if v.Has("id") {
		id, err := ParseID(v.Get("id"))
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		p, err := h.svc.GetPublic(ctx, id)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, p, hdr)
	}
	q := PublicQuery{Q: v.Get("q"), Field: v.Get("field"), Cursor: v.Get("cursor")}
	if len([]rune(q.Q)) > 200 {
		return badParam("q", "q is at most 200 characters.", "q tối đa 200 ký tự.")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return badParam("limit", fmt.Sprintf("limit is 1 to %d.", MaxPageSize), fmt.Sprintf("limit từ 1 đến %d.", MaxPageSize))
		}
		q.Limit = n
	}
	page, err := h.svc.Public(ctx, q)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, page, hdr)
}
