package payment

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/httpx"
	"motcua/shared/idempotency"
)

// IdempotencyScope is the idempotency scope of pay-fee.
const IdempotencyScope = "pay-fee"

// stateLabels are the Vietnamese names of the payment states.
var stateLabels = map[State]string{
	StatePending:   "Chờ thanh toán",
	StatePaid:      "Đã thanh toán",
	StateFailed:    "Thanh toán không thành công",
	StateExpired:   "Hết hạn thanh toán",
	StateCancelled: "Đã hủy",
}

// QRView is the VietQR transfer as shown to the citizen.
type QRView struct {
	QR
	// PNGBase64 is the QR code image (PNG, base64).
	PNGBase64 string `json:"pngBase64,omitempty"`
}

// View is a payment as answered to the citizen.
type View struct {
	// Ref is the payment reference.
	Ref string `json:"ref"`
	// ApplicationCode is the application paid for.
	ApplicationCode string `json:"applicationCode"`
	// AmountVND is the amount due.
	AmountVND int64 `json:"amountVND"`
	// Method is vnpay or vietqr.
	Method Method `json:"method"`
	// State is pending, paid, failed, expired or cancelled.
	State State `json:"state"`
	// StateLabel is the state in Vietnamese.
	StateLabel string `json:"stateLabel"`
	// CreatedAt is when the payment was created.
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when a pending payment stops being offered.
	ExpiresAt time.Time `json:"expiresAt"`
	// PaidAt is when the money arrived.
	PaidAt *time.Time `json:"paidAt,omitempty"`
	// PayURL is the VNPAY page to redirect to (pending vnpay payments).
	PayURL string `json:"payUrl,omitempty"`
	// QR is the transfer to make (pending vietqr payments).
	QR *QRView `json:"qr,omitempty"`
}

// NewView returns the citizen's view of p; withPNG adds the QR image.
func NewView(p Payment, withPNG bool) View {
	v := View{
		Ref: p.Ref, ApplicationCode: p.ApplicationCode, AmountVND: p.AmountVND, Method: p.Method,
		State: p.State, StateLabel: stateLabels[p.State], CreatedAt: application.APITime(p.CreatedAt), ExpiresAt: application.APITime(p.ExpiresAt), PaidAt: apiTimePtr(p.PaidAt),
	}
	if p.State == StatePending {
		v.PayURL = p.PayURL
		if p.QR != nil {
			v.QR = &QRView{QR: *p.QR}
			if withPNG {
				if png, err := QRPNG(p, 0); err == nil {
					v.QR.PNGBase64 = base64.StdEncoding.EncodeToString(png)
				}
			}
		}
	}
	return v
}

// PayRequest is the body of a pay-fee POST: {code, pin, method} to pay, or
// {action:"status", ref, pin} to look a payment up.
type PayRequest struct {
	// Action is "pay" (default) or "status".
	Action string `json:"action,omitempty"`
	// Code is the application code (pay).
	Code string `json:"code,omitempty"`
	// PIN is the application's look-up PIN.
	PIN string `json:"pin"`
	// Method is vnpay or vietqr (pay).
	Method Method `json:"method,omitempty"`
	// Ref is the payment reference (status).
	Ref string `json:"ref,omitempty"`
}

// check reports every missing or bad field of r.
func (r PayRequest) check() error {
	var fs []httpx.FieldError
	bad := func(field, code, en, vi string) {
		fs = append(fs, httpx.FieldError{Field: field, Code: code, Message: en, MessageVi: vi})
	}
	if r.PIN == "" || len(r.PIN) > 32 {
		bad("pin", "required", "The look-up PIN is required.", "Phải nhập mã tra cứu (PIN).")
	}
	switch r.Action {
	case "", "pay":
		if r.Code == "" || len(r.Code) > 80 {
			bad("code", "required", "The application code is required.", "Phải nhập mã hồ sơ.")
		}
		if !r.Method.Valid() {
			bad("method", "oneof", "Must be vnpay or vietqr.", "Phải là vnpay hoặc vietqr.")
		}
	case "status":
		if r.Ref == "" || len(r.Ref) > 40 {
			bad("ref", "required", "The payment reference is required.", "Phải nhập mã thanh toán.")
		}
	default:
		bad("action", "oneof", "Must be pay or status.", "Phải là pay hoặc status.")
	}
	if len(fs) > 0 {
		return httpx.ValidationProblem(fs...)
	}
	return nil
}

// PayHTTP is the HTTP face of the pay-fee function.
type PayHTTP struct {
	svc    *Service
	keeper *idempotency.Keeper
	log    *slog.Logger
}

// NewPayHTTP returns the pay-fee API over svc; keeper (may be nil) honours
// Idempotency-Key on payment creation.
func NewPayHTTP(svc *Service, keeper *idempotency.Keeper, log *slog.Logger) *PayHTTP {
	if log == nil {
		log = slog.Default()
	}
	return &PayHTTP{svc: svc, keeper: keeper, log: log}
}

// Serve answers one pay-fee call:
//
//	POST {code, pin, method}          201 new payment / 200 the pending one
//	POST {action:"status", ref, pin}  200 the payment
//	GET  ?ref=&pin=[&format=png]      200 the payment (or its QR image)
func (h *PayHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost, http.MethodGet); p != nil {
		return httpx.ProblemResponse(p)
	}
	client := h.svc.guard.Client(req.Header)
	if req.Method == http.MethodGet {
		q := httpx.Query(req)
		in := PayRequest{Action: "status", Ref: q.Get("ref"), PIN: q.Get("pin")}
		if err := in.check(); err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return h.status(ctx, in, client, q.Get("format"))
	}
	var in PayRequest
	if err := httpx.DecodeJSON(req, &in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	in.Code, in.Ref = strings.TrimSpace(in.Code), strings.TrimSpace(in.Ref)
	if err := in.check(); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	if in.Action == "status" {
		return h.status(ctx, in, client, "")
	}
	run := func() (handler.Response, error) {
		p, created, err := h.svc.Pay(ctx, PayInput{Code: in.Code, PIN: in.PIN, Method: in.Method, ClientIP: h.svc.guard.ClientIP(req.Header), Client: client})
		if err != nil {
			return httpx.FromError(ctx, h.log, err), nil
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return httpx.JSON(status, NewView(p, true), http.Header{"Cache-Control": {"no-store"}}), nil
	}
	var resp handler.Response
	var err error
	if h.keeper != nil {
		resp, err = h.keeper.Do(ctx, IdempotencyScope, req, run)
	} else {
		resp, err = run()
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return resp
}

func (h *PayHTTP) status(ctx context.Context, in PayRequest, client, format string) handler.Response {
	p, err := h.svc.Lookup(ctx, in.Ref, in.PIN, client)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	switch format {
	case "", "json":
		return httpx.JSON(http.StatusOK, NewView(p, format == "" && p.QR != nil), http.Header{"Cache-Control": {"no-store"}})
	case "png":
		if p.QR == nil || p.State != StatePending {
			return httpx.FromError(ctx, h.log, httpx.NewProblem(http.StatusNotFound, "no_qr_code", "No QR code", "Không có mã QR").
				WithDetail("Only a pending VietQR payment has a QR code.", "Chỉ giao dịch VietQR đang chờ thanh toán mới có mã QR."))
		}
		png, err := QRPNG(p, 0)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return handler.Response{StatusCode: http.StatusOK, Body: png, Header: http.Header{
			"Content-Type": {"image/png"}, "Cache-Control": {"no-store"},
		}}
	default:
		return httpx.FromError(ctx, h.log, httpx.BadRequest("bad_format", "format must be json or png.", "format phải là json hoặc png."))
	}
}

// CallbackHTTP is the HTTP face of the payment-callback function.
type CallbackHTTP struct {
	svc *Service
	log *slog.Logger
}

// NewCallbackHTTP returns the payment-callback API over svc.
func NewCallbackHTTP(svc *Service, log *slog.Logger) *CallbackHTTP {
	if log == nil {
		log = slog.Default()
	}
	return &CallbackHTTP{svc: svc, log: log}
}

// Serve answers one provider callback:
//
//	GET|POST ?provider=vnpay&vnp_...  200 {"RspCode":..,"Message":..} (VNPAY's IPN contract)
//	POST     ?provider=bank           200 BankResult; 401 bad signature; 409/422 bad event
func (h *CallbackHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	q := httpx.Query(req)
	raw := RawCallback{Method: req.Method, Query: q, Header: http.Header(req.Header), Body: req.Body, CorrelationID: httpx.CallID(req)}
	switch q.Get("provider") {
	case ProviderVNPay:
		if p := httpx.AllowMethods(req, http.MethodGet, http.MethodPost); p != nil {
			return httpx.ProblemResponse(p)
		}
		if req.Method == http.MethodPost && len(req.Body) > 0 && len(q) <= 1 {
			// Some integrations post the IPN form-encoded.
			if form, err := parseForm(req.Body); err == nil {
				for k, v := range form {
					q[k] = v
				}
			}
		}
		reply := h.svc.VNPayIPN(ctx, raw)
		return handler.Response{StatusCode: http.StatusOK, Body: reply.Body(), Header: http.Header{"Content-Type": {"application/json"}}}
	case ProviderBank:
		if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
			return httpx.ProblemResponse(p)
		}
		res, err := h.svc.BankWebhook(ctx, raw)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, res)
	default:
		return httpx.FromError(ctx, h.log, httpx.BadRequest("unknown_provider",
			"Query parameter provider must be vnpay or bank.", "Tham số provider phải là vnpay hoặc bank."))
	}
}

// parseForm decodes a form-encoded IPN body.
func parseForm(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }

func apiTimePtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := application.APITime(*t)
	return &v
}
