package book

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/delivery"
	"motcua/shared/httpx"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/staffauth"
	"motcua/shared/vnwords"
)

// maxXMLBytes bounds a receipt XML posted for verification.
const maxXMLBytes = 256 << 10

// ---------------------------------------------------------------- issuing

// IssueHTTP is the HTTP adapter of the issue-receipt function: the queue
// connector delivers payment-events messages (an Envelope as the body)
// signed with the delivery secret (shared/delivery).
type IssueHTTP struct {
	book    *Book
	secrets func() ([][]byte, error)
	now     func() time.Time
	log     *slog.Logger
}

// NewIssueHTTP returns the adapter; secrets returns the delivery secrets
// (re-read on each call, so a rotation needs no restart).
func NewIssueHTTP(b *Book, secrets func() ([][]byte, error), log *slog.Logger) *IssueHTTP {
	if log == nil {
		log = slog.Default()
	}
	return &IssueHTTP{book: b, secrets: secrets, now: time.Now, log: log}
}

// IssueResult is the answer of issue-receipt.
type IssueResult struct {
	// Outcome is issued, ignored or no_receipt.
	Outcome Outcome `json:"outcome"`
	// Receipt names the receipt (issued).
	Receipt *ID `json:"receipt,omitempty"`
}

var errDeliveryRefused = httpx.NewProblem(http.StatusUnauthorized, "delivery_not_authenticated", "Unauthorized", httpx.StatusTitleVi(http.StatusUnauthorized)).
	WithDetail("Only the queue connector may call this function: the delivery signature is missing or wrong.",
		"Chỉ bộ kết nối hàng đợi được gọi chức năng này: thiếu chữ ký giao nhận hoặc chữ ký sai.")

// Serve handles one delivery: 401 without a valid delivery signature; 200
// for a payment.confirmed whose receipt is issued (now or before) and for
// any other event type (ignored); 4xx for an event that cannot get a
// receipt (left to the dead-letter queue); 5xx for a transient failure
// (redelivered).
func (h *IssueHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	if p := httpx.AllowMethods(req, http.MethodPost); p != nil {
		return httpx.ProblemResponse(p)
	}
	secrets, err := h.secrets()
	if err != nil {
		return httpx.FromError(ctx, h.log, fmt.Errorf("delivery secrets: %w", err))
	}
	if err := delivery.Verify(http.Header(req.Header), req.Body, secrets, h.now()); err != nil {
		h.log.WarnContext(ctx, "delivery refused", "reason", err.Error())
		return httpx.ProblemResponse(errDeliveryRefused)
	}
	var env queue.Envelope
	if err := json.Unmarshal(req.Body, &env); err != nil || env.Validate() != nil {
		return httpx.ProblemResponse(httpx.BadRequest("invalid_envelope", "The body is not a queue envelope.", "Nội dung không phải là một thông điệp hàng đợi."))
	}
	outcome, rec, err := h.book.HandleEvent(ctx, env)
	if errors.Is(err, ErrBadEvent) {
		h.log.ErrorContext(ctx, "payment event cannot get a receipt", "event_id", env.ID, "error", err.Error())
		return httpx.ProblemResponse(httpx.NewProblem(http.StatusUnprocessableEntity, "unusable_event", "Unprocessable Entity", httpx.StatusTitleVi(http.StatusUnprocessableEntity)).
			WithDetail("The payment event lacks what a receipt needs.", "Sự kiện thanh toán thiếu thông tin để lập biên lai."))
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	res := IssueResult{Outcome: outcome}
	if outcome == OutcomeIssued {
		id := rec.ID()
		res.Receipt = &id
	}
	return httpx.JSON(http.StatusOK, res)
}

// ---------------------------------------------------------------- look-up

// LookupHTTP is the HTTP adapter of the receipt function.
type LookupHTTP struct {
	book   *Book
	access *application.Access
	staff  func(header string, now time.Time) (staffauth.Claims, error)
	keys   func() (any, error)
	now    func() time.Time
	log    *slog.Logger
	prefix string
}

// LookupDeps are LookupHTTP's collaborators.
type LookupDeps struct {
	// Access checks application PINs through the citizen guard.
	Access *application.Access
	// StaffAuth verifies a staff Authorization header (as
	// process-application does).
	StaffAuth func(header string, now time.Time) (staffauth.Claims, error)
	// Keys returns the offline-QR public key set (JWKS-like); nil answers
	// 404.
	Keys func() (any, error)
	// Log is the logger.
	Log *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// NewLookupHTTP returns the adapter.
func NewLookupHTTP(b *Book, d LookupDeps) *LookupHTTP {
	h := &LookupHTTP{book: b, access: d.Access, staff: d.StaffAuth, keys: d.Keys, now: d.Now, log: d.Log, prefix: "/function/receipt"}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// View is a receipt as answered in JSON.
type View struct {
	ID
	// Kind is original, replacement or adjustment; Status issued,
	// replaced or adjusted.
	Kind   receipt.Kind `json:"kind"`
	Status Status       `json:"status"`
	// ReplacedBy and AdjustedBy name corrections of this receipt.
	ReplacedBy *ID  `json:"replacedBy,omitempty"`
	AdjustedBy []ID `json:"adjustedBy,omitempty"`
	// Original is the receipt this one corrects.
	Original *receipt.Reference `json:"original,omitempty"`
	// Unit is the collecting unit.
	Unit receipt.Party `json:"unit"`
	// Payer is who paid; the ID is masked (the XML and PDF carry it).
	Payer receipt.Payer `json:"payer"`
	// ProcedureCode, ProcedureName, ApplicationCode say what was paid for.
	ProcedureCode   string `json:"procedureCode"`
	ProcedureName   string `json:"procedureName"`
	ApplicationCode string `json:"applicationCode"`
	// Lines and TotalVND are the amounts; TotalInWords spells the total.
	Lines        []receipt.Line `json:"lines"`
	TotalVND     int64          `json:"totalVND"`
	TotalInWords string         `json:"totalInWords"`
	// PaymentMethod and BankTxnRef say how it was paid.
	PaymentMethod string `json:"paymentMethod"`
	BankTxnRef    string `json:"bankTxnRef,omitempty"`
	// IssuedAt is the issue time (RFC 3339, Vietnam time).
	IssuedAt string `json:"issuedAt"`
	// LookupCode opens the receipt.
	LookupCode string `json:"lookupCode"`
	// Format is the XML format version.
	Format string `json:"format"`
	// QR is the offline-verifiable payload printed on the PDF.
	QR string `json:"qr,omitempty"`
	// Links download the signed XML and the PDF.
	Links Links `json:"links"`
}

// Links are URLs of a receipt's documents.
type Links struct {
	// Self is the JSON view.
	Self string `json:"self"`
	// XML is the signed XML.
	XML string `json:"xml"`
	// PDF is the PDF (absent when none is rendered).
	PDF string `json:"pdf,omitempty"`
}

// LinkFor returns the receipt function's URL of a receipt in format
// ("json", "xml" or "pdf").
func LinkFor(prefix string, id ID, lookup, format string) string {
	q := url.Values{"series": {id.Series}, "number": {strconv.FormatUint(uint64(id.Number), 10)}, "lookup": {lookup}}
	if format != "json" {
		q.Set("format", format)
	}
	return prefix + "?" + q.Encode()
}

func (h *LookupHTTP) view(rec Record) View {
	r := rec.Receipt
	id := rec.ID()
	payer := r.Payer
	payer.ID = maskID(payer.ID)
	v := View{ID: id, Kind: r.Kind, Status: rec.Status, ReplacedBy: rec.ReplacedBy, AdjustedBy: rec.AdjustedBy, Original: r.Original,
		Unit: r.Unit, Payer: payer, ProcedureCode: r.ProcedureCode, ProcedureName: r.ProcedureName, ApplicationCode: r.ApplicationCode,
		Lines: r.Lines, TotalVND: r.TotalVND, TotalInWords: vnwords.VND(r.TotalVND), PaymentMethod: r.PaymentMethod, BankTxnRef: r.BankTxnRef,
		IssuedAt: r.IssuedAt.In(receipt.Zone).Format(time.RFC3339), LookupCode: r.LookupCode, Format: rec.Format, QR: rec.QR,
		Links: Links{Self: LinkFor(h.prefix, id, r.LookupCode, "json"), XML: LinkFor(h.prefix, id, r.LookupCode, "xml")}}
	if rec.PDFKey != "" {
		v.Links.PDF = LinkFor(h.prefix, id, r.LookupCode, "pdf")
	}
	return v
}

// maskID keeps the last 4 characters of a citizen ID or tax code.
func maskID(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// Actions of the receipt function. Each is its own operation in the API
// document: the gateway forwards /function/receipt/<action> to the
// function, which reads the action from ?action= (or, without it, from
// that sub-path, which the template hands over in the X-Motcua-Path
// header). No action is the base operation: GET one receipt, POST verify.
const (
	// ActionKeys (GET) publishes the offline-QR public keys.
	ActionKeys = "keys"
	// ActionLookup (GET, POST) opens an application's current receipt
	// with its code and PIN.
	ActionLookup = "lookup"
	// ActionSummary (GET, staff) is a series' daily summary.
	ActionSummary = "summary"
	// ActionReplace and ActionAdjust (POST, staff) correct a receipt.
	ActionReplace = "replace"
	ActionAdjust  = "adjust"
)

// actionMethods are the methods of each action ("" = the base operation).
var actionMethods = map[string][]string{
	"":            {http.MethodGet, http.MethodPost},
	ActionKeys:    {http.MethodGet},
	ActionLookup:  {http.MethodGet, http.MethodPost},
	ActionSummary: {http.MethodGet},
	ActionReplace: {http.MethodPost},
	ActionAdjust:  {http.MethodPost},
}

// headerPath carries the request path from the project's template
// (template/motcua-go), which overwrites any value a client sent.
const headerPath = "X-Motcua-Path"

// verifyRequest is the JSON body of POST (verify by identifiers).
type verifyRequest struct {
	Series     string `json:"series" validate:"max=11"`
	Number     uint32 `json:"number" validate:"max=99999999"`
	LookupCode string `json:"lookupCode" validate:"max=40"`
}

// lookupRequest is the JSON body of POST ?action=lookup.
type lookupRequest struct {
	Code string `json:"code" validate:"max=80"`
	PIN  string `json:"pin" validate:"max=32"`
}

// correctRequest is the JSON body of POST ?action=replace|adjust (null
// payer or lines read as absent). The action is never in a body: it is
// the operation's (?action=).
type correctRequest struct {
	Series string         `json:"series" validate:"max=11"`
	Number uint32         `json:"number" validate:"max=99999999"`
	Reason string         `json:"reason" validate:"max=500"`
	Payer  *PayerFix      `json:"payer"`
	Lines  []receipt.Line `json:"lines" validate:"max=50"`
}

// action returns the call's action: ?action=, else the sub-path (then
// unsent is true: the method is checked against that action, but the call
// must still send ?action=); a 400 for an unknown action or when the two
// disagree.
func action(req handler.Request, q url.Values) (act string, unsent bool, p *httpx.Problem) {
	a := q.Get("action")
	sub := strings.Trim(req.Header.Get(headerPath), "/")
	switch {
	case q.Has("action") && a == "":
		return "", false, unknownAction(a)
	case a == "" && sub != "":
		a, unsent = sub, true
	case a != "" && sub != "" && sub != a:
		return "", false, httpx.BadRequest("action_path_mismatch",
			fmt.Sprintf("The path names action %q but ?action= is %q; send the same.", sub, a),
			fmt.Sprintf("Đường dẫn chỉ thao tác %q nhưng ?action= là %q; hãy gửi giống nhau.", sub, a)).WithExtra("action", a)
	}
	if _, ok := actionMethods[a]; !ok {
		return "", false, unknownAction(a)
	}
	return a, unsent, nil
}

func unknownAction(a string) *httpx.Problem {
	return httpx.BadRequest("unknown_action",
		"Unknown action; use keys, lookup, summary, replace or adjust (none: look up or verify one receipt).",
		"Thao tác không hợp lệ; dùng keys, lookup, summary, replace hoặc adjust (không có: tra cứu hoặc xác minh một biên lai).").WithExtra("action", a)
}

// Serve answers one call of the receipt function:
//
//	GET  ?series=&number=&lookup=[&format=]            one receipt: json (default), xml or pdf (or Accept)
//	POST application/xml                               verify a signed receipt
//	POST {"series","number","lookupCode"}              verify by identifiers
//	GET  ?action=keys                                  offline-QR public keys (current + previous)
//	GET  ?action=lookup&code=&pin=[&format=]           the application's current receipt
//	POST ?action=lookup {"code","pin"}                 the same, the PIN out of URLs
//	GET  ?action=summary&series=&day=[&format=]        staff: daily summary of a series (json, xml, csv)
//	POST ?action=replace|adjust {…}                    staff: correct a receipt
//
// Each action is also reachable as /function/receipt/<action>.
func (h *LookupHTTP) Serve(ctx context.Context, req handler.Request) handler.Response {
	q, err := httpx.StrictQuery(req)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	act, unsent, p := action(req, q)
	if p != nil {
		return httpx.ProblemResponse(p)
	}
	if p := httpx.AllowMethods(req, actionMethods[act]...); p != nil {
		return httpx.ProblemResponse(p)
	}
	if unsent {
		return httpx.ProblemResponse(httpx.BadRequest("action_required",
			fmt.Sprintf("Send ?action=%s with /function/receipt/%s.", act, act),
			fmt.Sprintf("Hãy gửi ?action=%s cùng /function/receipt/%s.", act, act)).WithExtra("action", act))
	}
	get := strings.EqualFold(req.Method, http.MethodGet)
	switch act {
	case ActionKeys:
		return h.keySet(ctx)
	case ActionSummary:
		return h.summary(ctx, req, q)
	case ActionLookup:
		if get {
			return h.lookupGet(ctx, req, q)
		}
		var in lookupRequest
		if p := decodeBody(req, &in); p != nil {
			return httpx.FromError(ctx, h.log, p)
		}
		if in.Code == "" || in.PIN == "" {
			return httpx.ProblemResponse(missing("code", "pin"))
		}
		return h.byApplication(ctx, req, in.Code, in.PIN, "json")
	case ActionReplace, ActionAdjust:
		var in correctRequest
		if p := decodeBody(req, &in); p != nil {
			return httpx.FromError(ctx, h.log, p)
		}
		return h.correct(ctx, req, act, in)
	}
	if get {
		return h.get(ctx, req, q)
	}
	return h.verify(ctx, req)
}

// decodeBody decodes and validates a JSON body (64 KiB at most).
func decodeBody(req handler.Request, dst any) error {
	if err := httpx.DecodeJSON(req, dst, httpx.MaxBytes(64<<10)); err != nil {
		return err
	}
	return httpx.Validate(dst)
}

// verify checks a posted signed XML, or a receipt by its identifiers.
func (h *LookupHTTP) verify(ctx context.Context, req handler.Request) handler.Response {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt == "application/xml" || mt == "text/xml" {
		if len(req.Body) > maxXMLBytes {
			return httpx.ProblemResponse(httpx.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Content Too Large", httpx.StatusTitleVi(http.StatusRequestEntityTooLarge)).
				WithDetail(fmt.Sprintf("A receipt XML is at most %d bytes.", maxXMLBytes), fmt.Sprintf("Tệp XML biên lai tối đa %d byte.", maxXMLBytes)))
		}
		if len(req.Body) == 0 {
			return httpx.ProblemResponse(httpx.BadRequest("empty_body", "Post the signed receipt XML.", "Hãy gửi tệp XML biên lai đã ký."))
		}
		v, err := h.book.VerifyXML(ctx, req.Body)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return httpx.JSON(http.StatusOK, v, noStore())
	}
	var in verifyRequest
	if err := decodeBody(req, &in); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	var fe []httpx.FieldError
	if !receipt.ValidSymbol(in.Series) {
		fe = append(fe, badSeries("series"))
	}
	if in.Number == 0 {
		fe = append(fe, httpx.FieldError{Field: "number", Code: "required", Message: "number is required (1 to 99999999)", MessageVi: "Trường number là bắt buộc (1 đến 99999999)"})
	}
	if in.LookupCode == "" {
		fe = append(fe, httpx.FieldError{Field: "lookupCode", Code: "required", Message: "lookupCode is required", MessageVi: "Trường lookupCode là bắt buộc"})
	}
	if len(fe) > 0 {
		return httpx.ProblemResponse(httpx.ValidationProblem(fe...))
	}
	v, err := h.book.VerifyIDs(ctx, in.Series, in.Number, in.LookupCode)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, v, noStore())
}

// badSeries is the field error of a series that is not a symbol.
func badSeries(field string) httpx.FieldError {
	return httpx.FieldError{Field: field, Code: "pattern", Message: field + " must be a series symbol: 1 to 11 upper-case letters, digits, '/' or '-'",
		MessageVi: "Trường " + field + " phải là ký hiệu: 1 đến 11 chữ in hoa, chữ số, '/' hoặc '-'"}
}

// keySet answers the offline-QR public keys.
func (h *LookupHTTP) keySet(ctx context.Context) handler.Response {
	if h.keys == nil {
		return httpx.ProblemResponse(httpx.NotFound("No offline-QR key is configured.", "Chưa cấu hình khóa mã QR."))
	}
	ks, err := h.keys()
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return httpx.JSON(http.StatusOK, ks, http.Header{"Cache-Control": {"public, max-age=3600"}})
}

func noStore() http.Header { return http.Header{"Cache-Control": {"no-store"}} }

// missing is the 422 naming required fields.
func missing(fields ...string) *httpx.Problem {
	var fe []httpx.FieldError
	for _, f := range fields {
		fe = append(fe, httpx.FieldError{Field: f, Code: "required", Message: f + " is required", MessageVi: "Trường " + f + " là bắt buộc"})
	}
	return httpx.ValidationProblem(fe...)
}

// get answers one receipt by series, number and lookup code.
func (h *LookupHTTP) get(ctx context.Context, req handler.Request, q url.Values) handler.Response {
	format, p := negotiate(q, req.Header.Get("Accept"))
	if p != nil {
		return httpx.ProblemResponse(p)
	}
	series, lookup := q.Get("series"), q.Get("lookup")
	if series == "" || q.Get("number") == "" || lookup == "" {
		return httpx.ProblemResponse(missing("series", "number", "lookup"))
	}
	if !receipt.ValidSymbol(series) {
		return httpx.ProblemResponse(httpx.ValidationProblem(badSeries("series")))
	}
	n, err := strconv.ParseUint(q.Get("number"), 10, 32)
	if err != nil || n == 0 || n > uint64(receipt.MaxNumber) {
		return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "number", Code: "range",
			Message: "number must be 1 to 99999999", MessageVi: "Số biên lai phải từ 1 đến 99999999"}))
	}
	rec, err := h.book.Lookup(ctx, series, uint32(n), lookup)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return h.render(ctx, rec, format)
}

// lookupGet answers the application's current receipt (code + PIN).
func (h *LookupHTTP) lookupGet(ctx context.Context, req handler.Request, q url.Values) handler.Response {
	format, p := negotiate(q, req.Header.Get("Accept"))
	if p != nil {
		return httpx.ProblemResponse(p)
	}
	if q.Get("code") == "" || q.Get("pin") == "" {
		return httpx.ProblemResponse(missing("code", "pin"))
	}
	return h.byApplication(ctx, req, q.Get("code"), q.Get("pin"), format)
}

// negotiate picks json, xml or pdf from format= (wins; present means one
// of the three) or Accept.
func negotiate(q url.Values, accept string) (string, *httpx.Problem) {
	switch format := q.Get("format"); {
	case !q.Has("format"):
	case format == "json", format == "xml", format == "pdf":
		return format, nil
	default:
		return "", httpx.ValidationProblem(httpx.FieldError{Field: "format", Code: "oneof",
			Message: "format must be json, xml or pdf", MessageVi: "Định dạng phải là json, xml hoặc pdf"})
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "application/pdf":
			return "pdf", nil
		case "application/xml", "text/xml":
			return "xml", nil
		case "application/json":
			return "json", nil
		}
	}
	return "json", nil
}

func (h *LookupHTTP) byApplication(ctx context.Context, req handler.Request, code, pin, format string) handler.Response {
	if err := checkApplicationPIN(ctx, h.access, http.Header(req.Header), code, pin); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	l, err := h.book.ByApplication(ctx, code)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	rec, _, err := h.book.Get(ctx, l.ID.Series, l.ID.Number)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	return h.render(ctx, rec, format)
}

func (h *LookupHTTP) render(ctx context.Context, rec Record, format string) handler.Response {
	name := fmt.Sprintf("bien-lai-%s-%08d", rec.Receipt.Series, rec.Receipt.Number)
	switch format {
	case "xml", "pdf":
		key, ct := rec.XMLKey, "application/xml; charset=utf-8"
		if format == "pdf" {
			key, ct = rec.PDFKey, "application/pdf"
			if key == "" {
				return httpx.ProblemResponse(httpx.NotFound("This receipt has no PDF.", "Biên lai này không có bản PDF."))
			}
		}
		body, err := h.book.Document(ctx, key)
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return handler.Response{StatusCode: http.StatusOK, Body: body, Header: http.Header{
			"Content-Type": {ct}, "Cache-Control": {"no-store"},
			"Content-Disposition": {`inline; filename="` + name + "." + format + `"`}}}
	}
	return httpx.JSON(http.StatusOK, h.view(rec), noStore())
}

// staffClaims authenticates a staff call and checks it is the collecting
// unit's staff.
func (h *LookupHTTP) staffClaims(req handler.Request) (staffauth.Claims, error) {
	if h.staff == nil {
		return staffauth.Claims{}, errors.New("receipt: no staff authentication configured")
	}
	c, err := h.staff(req.Header.Get("Authorization"), h.now())
	if err != nil {
		return staffauth.Claims{}, err
	}
	if ag := h.book.cfg.AgencyCode; ag != "" {
		if err := staffauth.Authorize(c, ag); err != nil {
			return staffauth.Claims{}, err
		}
	}
	return c, nil
}

func (h *LookupHTTP) correct(ctx context.Context, req handler.Request, act string, in correctRequest) handler.Response {
	c, err := h.staffClaims(req)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	var fe []httpx.FieldError
	if !receipt.ValidSymbol(in.Series) {
		fe = append(fe, badSeries("series"))
	}
	if in.Number == 0 {
		fe = append(fe, httpx.FieldError{Field: "number", Code: "required", Message: "number is required", MessageVi: "Trường number là bắt buộc"})
	}
	if strings.TrimSpace(in.Reason) == "" {
		fe = append(fe, httpx.FieldError{Field: "reason", Code: "required", Message: "reason is required", MessageVi: "Phải nêu lý do"})
	}
	if act == ActionAdjust && len(in.Lines) == 0 {
		fe = append(fe, httpx.FieldError{Field: "lines", Code: "required", Message: "an adjustment needs at least one line", MessageVi: "Điều chỉnh cần ít nhất một dòng"})
	}
	if len(fe) > 0 {
		return httpx.ProblemResponse(httpx.ValidationProblem(fe...))
	}
	corr := Correction{Series: in.Series, Number: in.Number, Reason: in.Reason, Payer: in.Payer, Lines: in.Lines}
	var rec Record
	if act == ActionReplace {
		rec, err = h.book.Replace(ctx, corr, httpx.CallID(req))
	} else {
		rec, err = h.book.Adjust(ctx, corr, httpx.CallID(req))
	}
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	h.log.InfoContext(ctx, "receipt corrected", "action", act, "officer", c.Subject, "original", fmt.Sprintf("%s-%08d", in.Series, in.Number),
		"new", rec.ID().String())
	return httpx.JSON(http.StatusCreated, h.view(rec), noStore())
}

func (h *LookupHTTP) summary(ctx context.Context, req handler.Request, q url.Values) handler.Response {
	if _, err := h.staffClaims(req); err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	series, day := q.Get("series"), q.Get("day")
	if series == "" || day == "" {
		return httpx.ProblemResponse(missing("series", "day"))
	}
	if !receipt.ValidSymbol(series) {
		return httpx.ProblemResponse(httpx.ValidationProblem(badSeries("series")))
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "day", Code: "date",
			Message: "day must be YYYY-MM-DD", MessageVi: "Ngày phải có dạng YYYY-MM-DD"}))
	}
	s, err := h.book.Summarize(ctx, series, day)
	if err != nil {
		return httpx.FromError(ctx, h.log, err)
	}
	switch format := q.Get("format"); {
	case format == "csv":
		return handler.Response{StatusCode: http.StatusOK, Body: s.CSV(), Header: http.Header{"Content-Type": {"text/csv; charset=utf-8"}, "Cache-Control": {"no-store"}}}
	case format == "xml":
		body, err := s.XML()
		if err != nil {
			return httpx.FromError(ctx, h.log, err)
		}
		return handler.Response{StatusCode: http.StatusOK, Body: body, Header: http.Header{"Content-Type": {"application/xml; charset=utf-8"}, "Cache-Control": {"no-store"}}}
	case format == "json", !q.Has("format"):
		return httpx.JSON(http.StatusOK, s, noStore())
	}
	return httpx.ProblemResponse(httpx.ValidationProblem(httpx.FieldError{Field: "format", Code: "oneof",
		Message: "format must be json, xml or csv", MessageVi: "Định dạng phải là json, xml hoặc csv"}))
}
