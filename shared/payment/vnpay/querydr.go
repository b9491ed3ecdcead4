package vnpay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Query asks VNPAY for the status of one payment (querydr).
type Query struct {
	// TxnRef is the merchant reference of the payment.
	TxnRef string
	// TransactionDate is the payment's vnp_CreateDate (when it was created).
	TransactionDate time.Time
	// TransactionNo is VNPAY's transaction number, if known (optional).
	TransactionNo string
	// OrderInfo describes the query; default "Truy van GD <TxnRef>".
	OrderInfo string
	// IPAddr is the IP address of the server asking.
	IPAddr string
}

// QueryRequest is the JSON body POSTed to the querydr API; each field is
// the vnp_* parameter named in its JSON tag.
type QueryRequest struct {
	RequestID       string `json:"vnp_RequestId"`
	Version         string `json:"vnp_Version"`
	Command         string `json:"vnp_Command"`
	TmnCode         string `json:"vnp_TmnCode"`
	TxnRef          string `json:"vnp_TxnRef"`
	OrderInfo       string `json:"vnp_OrderInfo"`
	TransactionNo   string `json:"vnp_TransactionNo,omitempty"`
	TransactionDate string `json:"vnp_TransactionDate"`
	CreateDate      string `json:"vnp_CreateDate"`
	IPAddr          string `json:"vnp_IpAddr"`
	SecureHash      string `json:"vnp_SecureHash"`
}

// HashData returns the string querydr signs for a request: vnp_RequestId,
// vnp_Version, vnp_Command, vnp_TmnCode, vnp_TxnRef, vnp_TransactionDate,
// vnp_CreateDate, vnp_IpAddr, vnp_OrderInfo joined by '|' (raw values).
func (r QueryRequest) HashData() string {
	return strings.Join([]string{r.RequestID, r.Version, r.Command, r.TmnCode, r.TxnRef,
		r.TransactionDate, r.CreateDate, r.IPAddr, r.OrderInfo}, "|")
}

// Verify checks the request's vnp_SecureHash (what VNPAY, or a simulator,
// does on receipt).
func (r QueryRequest) Verify(secret string) error {
	return checkSignature(secret, r.HashData(), r.SecureHash)
}

// NewQueryRequest builds and signs the querydr request for q under cfg;
// requestID must be unique per day (1-32 alphanumerics) and now is the
// request's vnp_CreateDate.
func NewQueryRequest(cfg Config, q Query, requestID string, now time.Time) (QueryRequest, error) {
	var errs []error
	if cfg.TmnCode == "" || len(cfg.TmnCode) > 8 || !isAlnum(cfg.TmnCode) {
		errs = append(errs, fieldErr("TmnCode", "must be 1-8 ASCII letters or digits"))
	}
	if cfg.HashSecret == "" {
		errs = append(errs, fieldErr("HashSecret", "is required"))
	}
	if requestID == "" || len(requestID) > 32 || !isAlnum(requestID) {
		errs = append(errs, fieldErr("RequestID", "must be 1-32 ASCII letters or digits"))
	}
	if q.TxnRef == "" || len(q.TxnRef) > 100 || !isRef(q.TxnRef) {
		errs = append(errs, fieldErr("TxnRef", "must be 1-100 of [A-Za-z0-9_-]"))
	}
	if q.TransactionDate.IsZero() {
		errs = append(errs, fieldErr("TransactionDate", "is required"))
	}
	if _, err := netip.ParseAddr(q.IPAddr); err != nil {
		errs = append(errs, fieldErr("IPAddr", "is not an IP address"))
	}
	if err := errors.Join(errs...); err != nil {
		return QueryRequest{}, fmt.Errorf("build vnpay querydr: %w", err)
	}
	info := FoldOrderInfo(q.OrderInfo)
	if info == "" {
		info = "Truy van GD " + q.TxnRef
	}
	r := QueryRequest{
		RequestID:       requestID,
		Version:         Version,
		Command:         "querydr",
		TmnCode:         cfg.TmnCode,
		TxnRef:          q.TxnRef,
		OrderInfo:       info,
		TransactionNo:   q.TransactionNo,
		TransactionDate: FormatDate(q.TransactionDate),
		CreateDate:      FormatDate(now),
		IPAddr:          q.IPAddr,
	}
	r.SecureHash = Sign(cfg.HashSecret, r.HashData())
	return r, nil
}

// Text is a JSON string that also accepts a JSON number (VNPAY sends
// amounts as strings, some simulators as numbers).
type Text string

// UnmarshalJSON accepts a string, a number or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("expected string or number: %w", err)
		}
		*t = Text(n.String())
	}
	return nil
}

// QueryResponse is the JSON body of a querydr answer; each field is the
// vnp_* parameter named in its JSON tag.
type QueryResponse struct {
	ResponseID        Text `json:"vnp_ResponseId"`
	Command           Text `json:"vnp_Command"`
	ResponseCode      Text `json:"vnp_ResponseCode"`
	Message           Text `json:"vnp_Message"`
	TmnCode           Text `json:"vnp_TmnCode"`
	TxnRef            Text `json:"vnp_TxnRef"`
	Amount            Text `json:"vnp_Amount"`
	OrderInfo         Text `json:"vnp_OrderInfo"`
	BankCode          Text `json:"vnp_BankCode"`
	PayDate           Text `json:"vnp_PayDate"`
	TransactionNo     Text `json:"vnp_TransactionNo"`
	TransactionType   Text `json:"vnp_TransactionType"`
	TransactionStatus Text `json:"vnp_TransactionStatus"`
	PromotionCode     Text `json:"vnp_PromotionCode"`
	PromotionAmount   Text `json:"vnp_PromotionAmount"`
	SecureHash        Text `json:"vnp_SecureHash"`
}

// HashData returns the string querydr signs for a response: vnp_ResponseId,
// vnp_Command, vnp_ResponseCode, vnp_Message, vnp_TmnCode, vnp_TxnRef,
// vnp_Amount, vnp_BankCode, vnp_PayDate, vnp_TransactionNo,
// vnp_TransactionType, vnp_TransactionStatus, vnp_OrderInfo,
// vnp_PromotionCode, vnp_PromotionAmount joined by '|' (raw values).
func (r QueryResponse) HashData() string {
	f := []Text{r.ResponseID, r.Command, r.ResponseCode, r.Message, r.TmnCode, r.TxnRef,
		r.Amount, r.BankCode, r.PayDate, r.TransactionNo, r.TransactionType,
		r.TransactionStatus, r.OrderInfo, r.PromotionCode, r.PromotionAmount}
	s := make([]string, len(f))
	for i, v := range f {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}

// Sign sets r.SecureHash (what VNPAY, or a simulator, does before answering).
func (r *QueryResponse) Sign(secret string) { r.SecureHash = Text(Sign(secret, r.HashData())) }

// Verify checks the response's vnp_SecureHash against secret.
func (r QueryResponse) Verify(secret string) error {
	return checkSignature(secret, r.HashData(), string(r.SecureHash))
}

// QueryResult is the verified status of one payment at VNPAY.
type QueryResult struct {
	// TxnRef is the merchant reference.
	TxnRef string
	// AmountVND is the amount in đồng.
	AmountVND int64
	// TransactionStatus is "00" success, "01" not completed, "02" error,
	// "04" reversed, "05" being refunded, "06" refund sent to bank, "07"
	// suspected fraud, "09" refund rejected.
	TransactionStatus string
	// TransactionNo is VNPAY's transaction number.
	TransactionNo string
	// TransactionType is "01" payment, "02" full refund, "03" partial refund.
	TransactionType string
	// BankCode is the paying bank.
	BankCode string
	// PayDate is when the payment happened (zero if VNPAY gave none).
	PayDate time.Time
}

// Paid reports whether VNPAY holds the payment as successful.
func (r QueryResult) Paid() bool { return r.TransactionStatus == CodeSuccess }

// ErrTransactionNotFound means querydr answered 91: VNPAY has no such
// transaction (the citizen never reached the payment page, or it expired).
var ErrTransactionNotFound = errors.New("vnpay: transaction not found")

// ErrUpstream means the querydr API could not be reached or answered with a
// non-2xx status or an unreadable body; retry later.
var ErrUpstream = errors.New("vnpay: querydr api unavailable")

// QueryError is a querydr answer whose vnp_ResponseCode is neither "00" nor
// "91" (e.g. 02 invalid merchant, 03 bad format, 94 duplicate request, 97
// bad checksum, 99 other).
type QueryError struct {
	// Code is vnp_ResponseCode.
	Code string
	// Message is vnp_Message.
	Message string
}

// Error implements error.
func (e *QueryError) Error() string {
	return "vnpay: querydr response code " + e.Code + ": " + e.Message
}

// Result checks a querydr response against the request it answers (after
// Verify): response code 00 gives the QueryResult; 91 gives
// ErrTransactionNotFound; another code a *QueryError; a response about
// another TxnRef or terminal, or with a bad amount or date, ErrMalformed.
func (r QueryResponse) Result(req QueryRequest) (QueryResult, error) {
	switch string(r.ResponseCode) {
	case CodeSuccess:
	case "91":
		return QueryResult{}, fmt.Errorf("querydr %s: %w", req.TxnRef, ErrTransactionNotFound)
	default:
		return QueryResult{}, &QueryError{Code: string(r.ResponseCode), Message: string(r.Message)}
	}
	if string(r.TxnRef) != req.TxnRef || string(r.TmnCode) != req.TmnCode {
		return QueryResult{}, fmt.Errorf("%w: querydr answer for %s/%s, asked %s/%s",
			ErrMalformed, r.TmnCode, r.TxnRef, req.TmnCode, req.TxnRef)
	}
	amount, err := parseAmount(string(r.Amount))
	if err != nil {
		return QueryResult{}, fmt.Errorf("querydr %s: %w", req.TxnRef, err)
	}
	res := QueryResult{
		TxnRef:            string(r.TxnRef),
		AmountVND:         amount,
		TransactionStatus: string(r.TransactionStatus),
		TransactionNo:     string(r.TransactionNo),
		TransactionType:   string(r.TransactionType),
		BankCode:          string(r.BankCode),
	}
	if r.PayDate != "" {
		if res.PayDate, err = ParseDate(string(r.PayDate)); err != nil {
			return QueryResult{}, fmt.Errorf("querydr %s vnp_PayDate: %w", req.TxnRef, err)
		}
	}
	return res, nil
}

// StatusQuerier asks the gateway for the status of a payment; reconciliation
// depends on this interface, QueryClient implements it. Implementations are
// safe for concurrent use; a cancelled ctx aborts the call.
type StatusQuerier interface {
	// QueryStatus returns the verified status of q's payment, or
	// ErrTransactionNotFound, a *QueryError, ErrUpstream, ErrBadSignature.
	QueryStatus(ctx context.Context, q Query) (QueryResult, error)
}

var _ StatusQuerier = (*QueryClient)(nil)

// QueryClient calls VNPAY's querydr API over HTTP. Safe for concurrent use.
type QueryClient struct {
	cfg  Config
	http *http.Client
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// NewRequestID returns a fresh vnp_RequestId; tests may replace it.
	NewRequestID func() string
}

// maxResponseBytes bounds the querydr answer read into memory.
const maxResponseBytes = 1 << 20

// NewQueryClient returns a client for cfg.APIURL (default the sandbox)
// using hc, or a client with a 30-second timeout when hc is nil.
func NewQueryClient(cfg Config, hc *http.Client) (*QueryClient, error) {
	cfg = cfg.withDefaults()
	var errs []error
	if cfg.TmnCode == "" {
		errs = append(errs, fieldErr("TmnCode", "is required"))
	}
	if cfg.HashSecret == "" {
		errs = append(errs, fieldErr("HashSecret", "is required"))
	}
	if err := checkAbsURL(cfg.APIURL, false); err != nil {
		errs = append(errs, fieldErr("APIURL", "%v", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new vnpay query client: %w", err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &QueryClient{cfg: cfg, http: hc, Now: time.Now, NewRequestID: randomRequestID}, nil
}

// randomRequestID returns 32 random hex characters.
func randomRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// QueryStatus implements StatusQuerier: it signs and POSTs the querydr
// request, verifies the answer's signature (for response code 00) and
// checks it answers this TxnRef.
func (c *QueryClient) QueryStatus(ctx context.Context, q Query) (QueryResult, error) {
	req, err := NewQueryRequest(c.cfg, q, c.NewRequestID(), c.Now())
	if err != nil {
		return QueryResult{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return QueryResult{}, fmt.Errorf("encode querydr %s: %w", q.TxnRef, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIURL, bytes.NewReader(body))
	if err != nil {
		return QueryResult{}, fmt.Errorf("querydr %s: %w", q.TxnRef, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return QueryResult{}, fmt.Errorf("querydr %s: %w", q.TxnRef, ctx.Err())
		}
		return QueryResult{}, fmt.Errorf("querydr %s: %w: %v", q.TxnRef, ErrUpstream, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return QueryResult{}, fmt.Errorf("querydr %s: %w: read body: %v", q.TxnRef, ErrUpstream, err)
	}
	if resp.StatusCode/100 != 2 {
		return QueryResult{}, fmt.Errorf("querydr %s: %w: HTTP %s", q.TxnRef, ErrUpstream, strconv.Itoa(resp.StatusCode))
	}
	var out QueryResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return QueryResult{}, fmt.Errorf("querydr %s: %w: decode body: %v", q.TxnRef, ErrUpstream, err)
	}
	if string(out.ResponseCode) == CodeSuccess {
		if err := out.Verify(c.cfg.HashSecret); err != nil {
			return QueryResult{}, fmt.Errorf("querydr %s: %w", q.TxnRef, err)
		}
	}
	return out.Result(req)
}
