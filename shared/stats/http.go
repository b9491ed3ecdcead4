package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/delivery"
	"motcua/shared/httpx"
	"motcua/shared/queue"
)

// HTTP serves the stats function:
//
//	GET  ?period=…&agency=&field=&level=[&format=json|csv|html][&table=months]  indicators
//	POST <queue envelope>   one event from the stats-events queue (via the connector, signed)
type HTTP struct {
	svc     *Service
	secrets func() ([][]byte, error)
	now     func() time.Time
	log     *slog.Logger
}

// NewHTTP returns the HTTP adapter of svc. secrets gives the queue
// connector's delivery secrets (shared/delivery): a POST without a valid
// delivery signature is refused with 401, so only the connector can make
// the function re-read documents. nil secrets accepts every POST (tests of
// the adapter alone).
func NewHTTP(svc *Service, secrets func() ([][]byte, error), log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{svc: svc, secrets: secrets, now: time.Now, log: log}
}

// deliveryRefused is the 401 of a POST the connector did not sign.
func deliveryRefused() *httpx.Problem {
	return httpx.NewProblem(http.StatusUnauthorized, "delivery_not_authenticated", "Unauthorized", httpx.StatusTitleVi(http.StatusUnauthorized)).
		WithDetail("Only the queue connector may deliver events: the delivery signature is missing or wrong.",
			"Chỉ bộ kết nối hàng đợi được gửi sự kiện: thiếu chữ ký giao nhận hoặc chữ ký sai.")
}

// Serve answers one request.
func (h *HTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodGet, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	if strings.EqualFold(req.Method, http.MethodPost) {
		return h.event(ctx, req)
	}
	return h.query(ctx, req)
}

// trendMonths is how many months the page's charts show for a short period.
const trendMonths = 12

func (h *HTTP) query(ctx context.Context, req handler.Request) handler.Response {
	v := httpx.Query(req)
	format := strings.ToLower(strings.TrimSpace(v.Get("format")))
	switch format {
	case "", "json", "csv", "html":
	default:
		return httpx.FromError(ctx, h.log, badParam("format", "Định dạng phải là json, csv hoặc html.", "format must be json, csv or html."))
	}
	q, err := ParseQuery(v, h.svc.now())
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	r, err := h.svc.Report(ctx, q)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	hdr := http.Header{"Cache-Control": {"public, max-age=60"}}
	switch format {
	case "csv":
		render, name := CSV, "chi-so"
		if v.Get("table") == "months" {
			render, name = MonthsCSV, "chi-so-theo-thang"
		}
		b, err := render(r)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		hdr.Set("Content-Type", "text/csv; charset=utf-8")
		hdr.Set("Content-Disposition", `attachment; filename="`+name+"-"+q.From+"_"+q.To+`.csv"`)
		return handler.Response{StatusCode: http.StatusOK, Body: b, Header: hdr}
	case "html":
		trend := r.Months
		if len(trend) < trendMonths {
			tq := q
			to, _ := time.Parse("2006-01", q.To)
			tq.From = to.AddDate(0, 1-trendMonths, 0).Format("2006-01")
			_, per, err := h.svc.Totals(ctx, tq)
			if err != nil {
				return httpx.FromError(ctx, h.log, err)
			}
			trend = rows(per)
		}
		b, err := HTML(r, trend)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
		hdr.Set("X-Content-Type-Options", "nosniff")
		return handler.Response{StatusCode: http.StatusOK, Body: b, Header: hdr}
	}
	return httpx.JSON(http.StatusOK, r, hdr)
}

func rows(per []MonthTotals) []MonthRow {
	out := make([]MonthRow, len(per))
	for i, m := range per {
		c := m.C
		out[i] = MonthRow{Month: m.Month, Received: c.Received, Online: c.Online, Direct: c.Direct, Postal: c.Postal,
			Early: c.Early, OnTime: c.OnTime, Late: c.Late, FbReceived: c.FbReceived, FbAnswered: c.FbAnswered, FbInTime: c.FbInTime}
	}
	return out
}

// EventResult is the answer to a delivered event.
type EventResult struct {
	// EventID and Type echo the envelope.
	EventID string `json:"eventId"`
	Type    string `json:"type"`
	// Applied is true once the named document's contribution is current.
	Applied bool `json:"applied"`
}

// event applies one delivered envelope. 200 means applied (or nothing to
// count); 422 an envelope that names no document (the connector retries
// it into the dead-letter queue, where an operator sees it); 5xx a storage
// failure (retried).
func (h *HTTP) event(ctx context.Context, req handler.Request) handler.Response {
	if h.secrets != nil {
		secrets, err := h.secrets()
		if err != nil {
			return httpx.FromError(ctx, h.log, fmt.Errorf("delivery secrets: %w", err))
		}
		if err := delivery.Verify(http.Header(req.Header), req.Body, secrets, h.now()); err != nil {
			h.log.WarnContext(ctx, "stats: delivery refused", "reason", err.Error())
			return httpx.ProblemResponse(deliveryRefused())
		}
	}
	var env queue.Envelope
	if err := httpx.DecodeJSON(req, &env, httpx.MaxBytes(256<<10), httpx.AllowUnknownFields(), httpx.KeepUnnormalized()); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if err := env.Validate(); err != nil {
		return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "id", Code: "required",
			Message: "An event envelope needs id and type.", MessageVi: "Sự kiện phải có id và type."}))
	}
	if err := h.svc.HandleEvent(ctx, env); err != nil {
		if errors.Is(err, ErrUnusableEvent) {
			h.log.WarnContext(ctx, "stats: unusable event", "event_id", env.ID, "type", env.Type, "error", err.Error())
			return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "payload", Code: "invalid",
				Message: "The event's payload names no application or feedback item.", MessageVi: "Sự kiện không nêu hồ sơ hoặc phản ánh nào."}))
		}
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, EventResult{EventID: env.ID, Type: env.Type, Applied: true})
}
