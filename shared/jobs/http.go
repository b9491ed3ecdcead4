package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/httpx"
	"motcua/shared/staffauth"
)

// RoleAdmin is the staff role that may run reprocessing jobs.
const RoleAdmin = staffauth.RoleAdmin

// Authenticator turns a request's Authorization header into the acting
// administrator, or fails with a coded error (401 bad token, 403 not an
// admin). It is the one place the reprocess function checks tokens.
type Authenticator func(authorization string) (Actor, error)

// VerifyFunc verifies a staff token (staffauth.Verifier.Verify).
type VerifyFunc func(authorizationHeader string, now time.Time) (staffauth.Claims, error)

// StaffAdmin verifies staff tokens with verify and requires RoleAdmin
// (403 "role_required" without it).
func StaffAdmin(verify VerifyFunc, now func() time.Time) Authenticator {
	if now == nil {
		now = time.Now
	}
	return func(authorization string) (Actor, error) {
		c, err := verify(authorization, now())
		if err != nil {
			return Actor{}, err
		}
		if err := c.Require(RoleAdmin); err != nil {
			return Actor{}, err
		}
		return Actor{Subject: c.Subject, Agency: c.Agency}, nil
	}
}

// maxStartBody bounds a start request.
const maxStartBody = 16 << 10

// HTTP is the reprocess function's API:
//
//	POST                        {kind, scope, rate?, reason?}  → 201 dry run
//	POST                        {confirm: ID, kind?}           → 202 running
//	POST ?job=ID&action=confirm|cancel|resume                  → 202 / 200
//	GET  ?job=ID                                               → 200 progress
//	GET  ?job=ID&format=csv                                    → 200 report (text/csv)
//	GET  [?limit=20&next=TOKEN]                                → 200 recent jobs
type HTTP struct {
	svc  *Service
	auth Authenticator
	log  *slog.Logger
	now  func() time.Time
}

// NewHTTP returns the API over svc; every call is authenticated by auth.
func NewHTTP(svc *Service, auth Authenticator, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, auth: auth, log: log, now: time.Now}
}

// Serve answers one call.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodGet, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	by, err := h.auth(req.Header.Get("Authorization"))
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	q := httpx.Query(req)
	id := strings.TrimSpace(q.Get("job"))
	var resp handler.Response
	switch {
	case req.Method == http.MethodGet && id == "":
		resp, err = h.list(ctx, q.Get("limit"), q.Get("next"))
	case req.Method == http.MethodGet:
		resp, err = h.get(ctx, id, q.Get("format"))
	case id == "":
		resp, err = h.start(ctx, by, req)
	default:
		resp, err = h.act(ctx, by, id, q.Get("action"))
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return resp
}

func (h *HTTP) view(j Job) View {
	v := ViewOf(j, h.now())
	v.Links = map[string]string{
		"self":   "/function/reprocess?job=" + j.ID,
		"report": "/function/reprocess?job=" + j.ID + "&format=csv",
	}
	if j.Status == StatusPlanned {
		v.Links["confirm"] = "/function/reprocess?job=" + j.ID + "&action=confirm"
	}
	if !j.Status.Terminal() {
		v.Links["cancel"] = "/function/reprocess?job=" + j.ID + "&action=cancel"
	}
	return v
}

func (h *HTTP) start(ctx context.Context, by Actor, req handler.Request) (handler.Response, error) {
	var in StartRequest
	if err := httpx.DecodeJSON(req, &in, httpx.MaxBytes(maxStartBody)); err != nil {
		return handler.Response{}, err
	}
	if in.Confirm == "" && strings.TrimSpace(in.Kind) == "" {
		return handler.Response{}, ErrUnknownKind.WithMessages("Cần chọn loại tác vụ (kind).", "kind is required.").
			WithParam("kind").With("kinds", h.svc.Kinds().Names())
	}
	j, err := h.svc.Start(ctx, by, in)
	if err != nil {
		return handler.Response{}, err
	}
	status := http.StatusCreated
	if in.Confirm != "" {
		status = http.StatusAccepted
	}
	return httpx.JSON(status, h.view(j)), nil
}

func (h *HTTP) act(ctx context.Context, by Actor, id, action string) (handler.Response, error) {
	var (
		j   Job
		err error
	)
	switch action {
	case "confirm":
		j, err = h.svc.Confirm(ctx, by, id, "")
	case "cancel":
		j, err = h.svc.Cancel(ctx, by, id)
	case "resume":
		j, err = h.svc.Resume(ctx, by, id)
	default:
		return handler.Response{}, badParam("invalid_action", "action",
			"action must be confirm, cancel or resume.", "Tham số action phải là confirm, cancel hoặc resume.")
	}
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusAccepted, h.view(j)), nil
}

func (h *HTTP) get(ctx context.Context, id, format string) (handler.Response, error) {
	switch format {
	case "", "json":
		j, err := h.svc.Get(ctx, id)
		if err != nil {
			return handler.Response{}, err
		}
		return httpx.JSON(http.StatusOK, h.view(j)), nil
	case "csv":
		var buf bytes.Buffer
		if err := h.svc.WriteReport(ctx, id, &buf); err != nil {
			return handler.Response{}, err
		}
		hdr := http.Header{}
		hdr.Set("Content-Type", "text/csv; charset=utf-8")
		hdr.Set("Content-Disposition", `attachment; filename="job-`+id+`.csv"`)
		hdr.Set("Cache-Control", "no-store")
		return handler.Response{StatusCode: http.StatusOK, Body: buf.Bytes(), Header: hdr}, nil
	}
	return handler.Response{}, badParam("invalid_format", "format", "format must be json or csv.",
		"Tham số format phải là json hoặc csv.")
}

// badParam is a 400 naming one bad query parameter.
func badParam(code, field, en, vi string) *httpx.Problem {
	p := httpx.BadRequest(code, en, vi)
	p.Errors = append(p.Errors, httpx.FieldError{Field: field, Code: "invalid", Message: en, MessageVi: vi})
	return p
}

// JobList is the answer of GET without a job.
type JobList struct {
	// Jobs are the most recent jobs first.
	Jobs []View `json:"jobs"`
	// Next is the token of the following page ("" at the end).
	Next string `json:"next,omitempty"`
	// Kinds are the kinds this deployment runs.
	Kinds []string `json:"kinds"`
}

func (h *HTTP) list(ctx context.Context, limitRaw, next string) (handler.Response, error) {
	limit := 20
	if limitRaw != "" {
		n, err := strconv.Atoi(limitRaw)
		if err != nil || n < 1 || n > 100 {
			return handler.Response{}, badParam("invalid_limit", "limit", "limit must be a number from 1 to 100.",
				"Tham số limit phải là số từ 1 đến 100.")
		}
		limit = n
	}
	jobs, tok, err := h.svc.List(ctx, limit, next)
	if err != nil {
		return handler.Response{}, err
	}
	out := JobList{Jobs: make([]View, 0, len(jobs)), Next: tok, Kinds: h.svc.Kinds().Names()}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, h.view(j))
	}
	return httpx.JSON(http.StatusOK, out), nil
}

// Headers the queue connector sets on each delivery.
const (
	// HeaderReceiveCount is the message's receive count.
	HeaderReceiveCount = "X-Receive-Count"
	// HeaderMessageID is the queue's message id.
	HeaderMessageID = "X-Message-Id"
)

// WorkerHTTP is the reprocess-worker function: the queue connector posts
// each reprocess-jobs message to it. 200 acknowledges the message; 500
// leaves it for redelivery. With delivery secrets, a call without the
// connector's valid signature (shared/delivery) is refused with 401.
type WorkerHTTP struct {
	svc     *Service
	log     *slog.Logger
	secrets func() ([][]byte, error)
	now     func() time.Time
}

// NewWorkerHTTP returns the worker adapter over svc. secrets, when not nil,
// returns the queue-delivery-secret values every delivery must be signed
// with.
func NewWorkerHTTP(svc *Service, secrets func() ([][]byte, error), log *slog.Logger) *WorkerHTTP {
	if log == nil {
		log = slog.Default()
	}
	return &WorkerHTTP{svc: svc, log: log, secrets: secrets, now: time.Now}
}

var errDeliveryRefused = httpx.NewProblem(http.StatusUnauthorized, "delivery_not_authenticated", "Unauthorized", httpx.StatusTitleVi(http.StatusUnauthorized)).
	WithDetail("Only the queue connector may call this function: the delivery signature is missing or wrong.",
		"Chỉ bộ kết nối hàng đợi được gọi chức năng này: thiếu chữ ký giao nhận hoặc chữ ký sai.")

// Serve handles one delivery.
func (w *WorkerHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	if w.secrets != nil {
		secrets, err := w.secrets()
		if err != nil {
			return httpx.FromError(ctx, w.log, fmt.Errorf("delivery secrets: %w", err))
		}
		if err := delivery.Verify(http.Header(req.Header), req.Body, secrets, w.now()); err != nil {
			w.log.WarnContext(ctx, "delivery refused", "reason", err.Error())
			return httpx.ProblemResponse(errDeliveryRefused)
		}
	}
	rc, _ := strconv.Atoi(req.Header.Get(HeaderReceiveCount))
	if err := w.svc.Handle(ctx, req.Body, max(rc, 1)); err != nil {
		w.log.WarnContext(ctx, "jobs message not done; it will be redelivered", "message_id", req.Header.Get(HeaderMessageID),
			"receive_count", rc, "error", err.Error())
		return httpx.FromError(ctx, w.log, err)
	}
	return handler.Response{StatusCode: http.StatusOK, Body: []byte(`{"ok":true}`), Header: http.Header{"Content-Type": {"application/json"}}}
}
