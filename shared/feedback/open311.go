package feedback

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/httpx"
	"motcua/shared/workdays"
)

// Open311Root is the path of the Open311 GeoReport v2 API within the
// function: /function/feedback/open311/v2/…
const Open311Root = "/open311/v2"

// Open311 limits.
const (
	// open311MaxRequests is the most requests one GET requests.json returns (spec: 1000).
	open311MaxRequests = 1000
	// open311DefaultSpan is the default and largest start/end range (spec: 90 days).
	open311DefaultSpan = 90 * 24 * time.Hour
)

// Open311Error is one entry of the spec's error list.
type Open311Error struct {
	// Code is the HTTP status code.
	Code int `json:"code"`
	// Description explains the error.
	Description string `json:"description"`
}

// Open311Service is one entry of services.json.
type Open311Service struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

// Open311Value is one value of a list attribute.
type Open311Value struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Open311Attribute is one attribute of a service definition.
type Open311Attribute struct {
	Variable            bool           `json:"variable"`
	Code                string         `json:"code"`
	Datatype            string         `json:"datatype"`
	Required            bool           `json:"required"`
	DatatypeDescription string         `json:"datatype_description"`
	Order               int            `json:"order"`
	Description         string         `json:"description"`
	Values              []Open311Value `json:"values,omitempty"`
}

// Open311Definition is services/{service_code}.json.
type Open311Definition struct {
	ServiceCode string             `json:"service_code"`
	Attributes  []Open311Attribute `json:"attributes"`
}

// Open311Request is one service request as GET requests.json shows it.
// Items not yet published show only their status fields (the others are
// null): the text is public only once an officer published the answer with
// personal data removed.
type Open311Request struct {
	ServiceRequestID  string   `json:"service_request_id"`
	Status            string   `json:"status"`
	StatusNotes       *string  `json:"status_notes"`
	ServiceName       string   `json:"service_name"`
	ServiceCode       string   `json:"service_code"`
	Description       *string  `json:"description"`
	AgencyResponsible string   `json:"agency_responsible"`
	ServiceNotice     *string  `json:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime"`
	Address           *string  `json:"address"`
	AddressID         *string  `json:"address_id"`
	Zipcode           *string  `json:"zipcode"`
	Lat               *float64 `json:"lat"`
	Long              *float64 `json:"long"`
	MediaURL          *string  `json:"media_url"`
}

// Open311Created is the answer to POST requests.json.
type Open311Created struct {
	ServiceRequestID string  `json:"service_request_id"`
	ServiceNotice    string  `json:"service_notice"`
	AccountID        *string `json:"account_id"`
	// FollowUpSecret is motcua's extension: the secret for the private
	// follow-up (?action=status); absent for anonymous requests.
	FollowUpSecret string `json:"motcua_follow_up_secret,omitempty"`
}

func w3c(t time.Time) string { return t.In(workdays.Location).Format(time.RFC3339) }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// open311Errors answers the spec's error list with status.
func open311Errors(status int, descriptions ...string) handler.Response {
	list := make([]Open311Error, 0, len(descriptions))
	for _, d := range descriptions {
		list = append(list, Open311Error{Code: status, Description: d})
	}
	r := httpx.JSON(status, list, http.Header{"Cache-Control": {"no-store"}})
	return r
}

// open311FromError turns an error into the spec's error list, through
// httpx.FromError (the one mapping of errors to statuses): the problem's
// English and Vietnamese details and each bad field become descriptions.
func (h *HTTP) open311FromError(ctx context.Context, err error) handler.Response {
	resp := httpx.FromError(ctx, h.log, err)
	var p httpx.Problem
	if json.Unmarshal(resp.Body, &p) != nil {
		return open311Errors(resp.StatusCode, "internal error")
	}
	desc := []string{strings.TrimSpace(p.Detail + " / " + p.DetailVi)}
	for _, f := range p.Errors {
		desc = append(desc, fmt.Sprintf("%s: %s / %s", open311Param(f.Field), f.Message, f.MessageVi))
	}
	out := open311Errors(resp.StatusCode, desc...)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		out.Header.Set("Retry-After", ra)
	}
	return out
}

// open311Param names our input fields as the Open311 parameters.
func open311Param(field string) string {
	switch field {
	case "field":
		return "service_code"
	case "content":
		return "description"
	case "location.lat":
		return "lat"
	case "location.long":
		return "long"
	case "location.address":
		return "address_string"
	case "contact.phone":
		return "phone"
	case "contact.email":
		return "email"
	case "contact.name":
		return "first_name"
	case "title":
		return "attribute[title]"
	case "kind":
		return "attribute[kind]"
	case "applicationCode":
		return "attribute[application_code]"
	}
	return field
}

// open311 serves the GeoReport v2 paths (rest is the path after Open311Root).
func (h *HTTP) open311(ctx context.Context, req handler.Request, rest string) handler.Response {
	base, format, ok := strings.Cut(strings.TrimPrefix(rest, "/"), ".")
	if !ok || base == "" {
		return open311Errors(http.StatusNotFound, "Unknown resource; see services.json and requests.json.")
	}
	if format != "json" {
		return open311Errors(http.StatusBadRequest, "Only the json format is served; use ."+"json.")
	}
	get := strings.EqualFold(req.Method, http.MethodGet)
	q := httpx.Query(req)
	switch {
	case base == "services" && get:
		return h.open311Services(ctx)
	case strings.HasPrefix(base, "services/") && get:
		return h.open311Definition(ctx, strings.TrimPrefix(base, "services/"))
	case base == "requests" && get:
		return h.open311List(ctx, q)
	case base == "requests" && strings.EqualFold(req.Method, http.MethodPost):
		return h.open311Post(ctx, req, q)
	case strings.HasPrefix(base, "requests/") && get:
		return h.open311One(ctx, strings.TrimPrefix(base, "requests/"))
	case base == "services" || strings.HasPrefix(base, "services/") || base == "requests" || strings.HasPrefix(base, "requests/"):
		r := open311Errors(http.StatusMethodNotAllowed, "Method not allowed here.")
		allow := "GET"
		if base == "requests" {
			allow = "GET, POST"
		}
		r.Header.Set("Allow", allow)
		return r
	}
	return open311Errors(http.StatusNotFound, "Unknown resource; see services.json and requests.json.")
}

func (h *HTTP) open311Services(ctx context.Context) handler.Response {
	f, err := h.svc.Fields(ctx)
	if err != nil {
		return h.open311FromError(ctx, err)
	}
	out := make([]Open311Service, 0, len(f.Fields))
	for _, x := range f.Fields {
		out = append(out, Open311Service{ServiceCode: x.Code, ServiceName: x.Name, Description: x.Description,
			Metadata: true, Type: "batch", Keywords: x.NameEn, Group: "PAKN"})
	}
	return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"public, max-age=60"}})
}

// open311Attributes are the attributes every service takes.
func open311Attributes() []Open311Attribute {
	return []Open311Attribute{
		{Variable: true, Code: "kind", Datatype: "singlevaluelist", Required: false, Order: 1,
			DatatypeDescription: "regulation (default) or conduct",
			Description:         "Phản ánh về quy định, thủ tục hay về hành vi của cán bộ / about a regulation or procedure, or about an official's conduct",
			Values:              []Open311Value{{Key: KindRegulation, Name: "Quy định, thủ tục hành chính"}, {Key: KindConduct, Name: "Hành vi, thái độ của cán bộ, công chức"}}},
		{Variable: true, Code: "title", Datatype: "string", Required: false, Order: 2,
			DatatypeDescription: "5-200 characters; default: the start of the description",
			Description:         "Tiêu đề phản ánh / title"},
		{Variable: true, Code: "application_code", Datatype: "string", Required: false, Order: 3,
			DatatypeDescription: "an application code, e.g. STP-260302-0001",
			Description:         "Mã hồ sơ liên quan (nếu có) / the application it concerns"},
	}
}

func (h *HTTP) open311Definition(ctx context.Context, code string) handler.Response {
	f, err := h.svc.Fields(ctx)
	if err != nil {
		return h.open311FromError(ctx, err)
	}
	x, ok := f.Find(code)
	if !ok {
		return open311Errors(http.StatusNotFound, fmt.Sprintf("No service %q; see services.json.", code))
	}
	return httpx.JSON(http.StatusOK, Open311Definition{ServiceCode: x.Code, Attributes: open311Attributes()},
		http.Header{"Cache-Control": {"public, max-age=60"}})
}

func open311Status(s Status) string {
	if s.Open() {
		return "open"
	}
	return "closed"
}

// open311FromItem is the minimal (unpublished) form of an item.
func open311FromItem(it Item) Open311Request {
	notes := StatusLabelVi(it.Status)
	return Open311Request{
		ServiceRequestID: it.ID, Status: open311Status(it.Status), StatusNotes: &notes,
		ServiceName: it.FieldName, ServiceCode: it.FieldCode, AgencyResponsible: it.Agency.Name,
		RequestedDatetime: w3c(it.ReceivedAt), UpdatedDatetime: w3c(it.UpdatedAt), ExpectedDatetime: w3c(it.Due.AnswerBy),
	}
}

// open311FromPublic is the full form of a published item.
func open311FromPublic(p PublicItem, updated time.Time) Open311Request {
	desc := p.Title + "\n\n" + p.Content
	notes := p.Answer
	r := Open311Request{
		ServiceRequestID: p.ID, Status: open311Status(p.Status), StatusNotes: &notes, ServiceName: p.FieldName,
		ServiceCode: p.Field, Description: &desc, AgencyResponsible: p.Agency.Name,
		RequestedDatetime: w3c(p.ReceivedAt), UpdatedDatetime: w3c(updated), ExpectedDatetime: w3c(p.ExpectedAt),
		Address: strp(p.Address), Lat: p.Lat, Long: p.Long, MediaURL: strp(p.MediaURL),
	}
	return r
}

// open311Lookup returns the Open311 form of item id: full when published,
// minimal otherwise.
func (h *HTTP) open311Lookup(ctx context.Context, raw string) (Open311Request, error) {
	id, err := ParseID(raw)
	if err != nil {
		return Open311Request{}, ErrNotFound
	}
	it, _, err := h.svc.repo.get(ctx, id)
	if err != nil {
		return Open311Request{}, err
	}
	if it.Published {
		if p, err := h.svc.GetPublic(ctx, id); err == nil {
			r := open311FromPublic(p, it.UpdatedAt)
			r.Status = open311Status(it.Status)
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Open311Request{}, err
		}
	}
	return open311FromItem(it), nil
}

func (h *HTTP) open311One(ctx context.Context, id string) handler.Response {
	r, err := h.open311Lookup(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return open311Errors(http.StatusNotFound, fmt.Sprintf("No service request %q.", id))
	}
	if err != nil {
		return h.open311FromError(ctx, err)
	}
	return httpx.JSON(http.StatusOK, []Open311Request{r}, http.Header{"Cache-Control": {"no-cache"}})
}

// open311List answers GET requests.json: service_request_id (comma list;
// overrides the other filters) looks items up directly; otherwise the
// published items of the range are listed, filtered by service_code and
// status (comma lists).
func (h *HTTP) open311List(ctx context.Context, q url.Values) handler.Response {
	out := []Open311Request{}
	if ids := q.Get("service_request_id"); ids != "" {
		list := strings.Split(ids, ",")
		if len(list) > 100 {
			return open311Errors(http.StatusBadRequest, "service_request_id: at most 100 ids.")
		}
		for _, id := range list {
			r, err := h.open311Lookup(ctx, strings.TrimSpace(id))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return h.open311FromError(ctx, err)
			}
			out = append(out, r)
		}
		return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"no-cache"}})
	}
	var errs []string
	parse := func(name string) time.Time {
		s := q.Get(name)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			errs = append(errs, name+": use a W3C date-time with offset, e.g. 2026-12-01T00:00:00+07:00.")
		}
		return t
	}
	start, end := parse("start_date"), parse("end_date")
	codes := splitList(q.Get("service_code"))
	statuses := splitList(q.Get("status"))
	for _, s := range statuses {
		if s != "open" && s != "closed" {
			errs = append(errs, "status: open or closed.")
		}
	}
	now := h.now()
	switch {
	case start.IsZero() && end.IsZero():
		start, end = now.Add(-open311DefaultSpan), now
	case start.IsZero():
		start = end.Add(-open311DefaultSpan)
	case end.IsZero():
		end = start.Add(open311DefaultSpan)
	}
	if end.Before(start) {
		errs = append(errs, "end_date is before start_date.")
	} else if end.Sub(start) > open311DefaultSpan {
		errs = append(errs, "start_date to end_date spans more than 90 days.")
	}
	if len(errs) > 0 {
		return open311Errors(http.StatusBadRequest, errs...)
	}
	cursor := ""
	for range 20 {
		page, err := h.svc.Public(ctx, PublicQuery{From: start, To: end, Cursor: cursor, Limit: MaxPageSize})
		if err != nil {
			return h.open311FromError(ctx, err)
		}
		for _, p := range page.Items {
			if len(codes) > 0 && !containsFold(codes, p.Field) {
				continue
			}
			if len(statuses) > 0 && !containsFold(statuses, open311Status(p.Status)) {
				continue
			}
			updated := p.ReceivedAt
			if p.PublishedAt != nil {
				updated = *p.PublishedAt
			}
			out = append(out, open311FromPublic(p, updated))
			if len(out) >= open311MaxRequests {
				return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"no-cache"}})
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	return httpx.JSON(http.StatusOK, out, http.Header{"Cache-Control": {"no-cache"}})
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// APIKeys checks Open311 api_key values: nil accepts any well-formed key;
// otherwise only the listed ones (compared in constant time).
type APIKeys func() ([]string, error)

// SetOpen311Keys installs the api_key check of POST requests.json.
func (h *HTTP) SetOpen311Keys(k APIKeys) { h.keys = k }

// checkKey enforces the api_key rules (see README): required, 8-128
// printable ASCII; when a key list is configured, one of its keys.
func (h *HTTP) checkKey(key string) (int, string) {
	if key == "" {
		return http.StatusBadRequest, "api_key is required to create service requests."
	}
	if len(key) < 8 || len(key) > 128 {
		return http.StatusBadRequest, "api_key must be 8 to 128 characters."
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return http.StatusBadRequest, "api_key must be printable ASCII."
		}
	}
	if h.keys == nil {
		return 0, ""
	}
	list, err := h.keys()
	var keys []string
	for _, k := range list {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if err != nil || len(keys) == 0 {
		return 0, "" // no list configured: any well-formed key
	}
	ok := 0
	for _, k := range keys {
		ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	if ok != 1 {
		return http.StatusForbidden, "api_key is not valid."
	}
	return 0, ""
}

// open311Post creates a service request from the spec's form-encoded
// parameters (body; query parameters are read too, the body winning).
func (h *HTTP) open311Post(ctx context.Context, req handler.Request, query url.Values) handler.Response {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && !(mt == "" && len(req.Body) == 0) {
		return open311Errors(http.StatusUnsupportedMediaType, "Send the parameters form-encoded (application/x-www-form-urlencoded).")
	}
	if len(req.Body) > 64<<10 {
		return open311Errors(http.StatusRequestEntityTooLarge, "The request is larger than 64 KiB.")
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return open311Errors(http.StatusBadRequest, "The form body is malformed.")
	}
	for k, vs := range query {
		if !form.Has(k) {
			form[k] = vs
		}
	}
	key := form.Get("api_key")
	if st, msg := h.checkKey(key); st != 0 {
		return open311Errors(st, msg)
	}
	in, errs := open311Input(form)
	if len(errs) > 0 {
		return open311Errors(http.StatusBadRequest, errs...)
	}
	media := strings.TrimSpace(form.Get("media_url"))
	sum := sha256.Sum256([]byte("open311-api-key\x00" + key))
	client := h.client(req)
	if client == "" {
		client = "key:" + hex.EncodeToString(sum[:8])
	}
	resp, err := h.keeper.Do(ctx, "feedback-open311", req, func() (handler.Response, error) {
		out, err := h.svc.Submit(ctx, in, Origin{Client: client, Channel: "open311", CallID: httpx.CallID(req), MediaURL: media})
		if err != nil {
			return h.open311FromError(ctx, err), nil
		}
		notice := out.Notice
		created := Open311Created{ServiceRequestID: out.ID, ServiceNotice: notice, FollowUpSecret: out.Secret}
		status := http.StatusCreated
		if out.Duplicate {
			status = http.StatusOK
		}
		return httpx.JSON(status, []Open311Created{created}, http.Header{"Cache-Control": {"no-store"}}), nil
	})
	if err != nil {
		return h.open311FromError(ctx, err)
	}
	return resp
}

// open311Input maps the spec's parameters onto SubmitInput; errs lists
// the parameters that cannot be mapped.
func open311Input(f url.Values) (SubmitInput, []string) {
	var errs []string
	desc := strings.TrimSpace(f.Get("description"))
	title := strings.TrimSpace(f.Get("attribute[title]"))
	if title == "" {
		r := []rune(strings.Join(strings.Fields(desc), " "))
		if len(r) > 80 {
			r = append(r[:79], '…')
		}
		title = string(r)
	}
	kind := f.Get("attribute[kind]")
	if kind == "" {
		kind = KindRegulation
	}
	in := SubmitInput{Kind: kind, Field: f.Get("service_code"), Title: title, Content: desc,
		ApplicationCode: f.Get("attribute[application_code]")}
	loc := &LocationInput{Address: strings.TrimSpace(f.Get("address_string"))}
	if la, lo := f.Get("lat"), f.Get("long"); la != "" || lo != "" {
		lat, err1 := strconv.ParseFloat(la, 64)
		long, err2 := strconv.ParseFloat(lo, 64)
		if err1 != nil || err2 != nil {
			errs = append(errs, "lat and long must both be decimal degrees.")
		} else {
			loc.Lat, loc.Long = &lat, &long
		}
	}
	if loc.Address == "" && loc.Lat == nil && f.Get("address_id") == "" {
		errs = append(errs, "A location is required: lat and long, or address_string.")
	}
	in.Location = loc
	// Vietnamese order: family name (last_name) first.
	name := strings.TrimSpace(strings.TrimSpace(f.Get("last_name")) + " " + strings.TrimSpace(f.Get("first_name")))
	if name != "" || f.Get("phone") != "" || f.Get("email") != "" {
		in.Contact = &ContactInput{Name: name, Phone: strings.TrimSpace(f.Get("phone")), Email: strings.TrimSpace(f.Get("email"))}
	}
	if m := strings.TrimSpace(f.Get("media_url")); m != "" {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(m) > 1000 {
			errs = append(errs, "media_url must be an http(s) URL.")
		}
	}
	return in, errs
}

// Open311KeysSecret is the optional OpenFaaS secret listing the accepted
// Open311 api_key values, one per line.
const Open311KeysSecret = "open311-api-keys"
