// Package vnpaytest is an in-memory VNPAY simulator for tests: it answers
// querydr like VNPAY's API (checking the request signature, signing the
// answer) and builds signed IPN queries, so payment code can be tested end
// to end over httptest with no network.
package vnpaytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"motcua/shared/payment/vnpay"
)

// Txn is one transaction the simulated gateway knows.
type Txn struct {
	// TxnRef is the merchant reference.
	TxnRef string
	// AmountVND is the amount in đồng.
	AmountVND int64
	// OrderInfo is the order description.
	OrderInfo string
	// ResponseCode is vnp_ResponseCode ("00" success).
	ResponseCode string
	// TransactionStatus is vnp_TransactionStatus ("00" success).
	TransactionStatus string
	// TransactionNo is the gateway's transaction number.
	TransactionNo string
	// BankCode is the paying bank, default "NCB".
	BankCode string
	// PayDate is when it was paid.
	PayDate time.Time
}

// Bank simulates VNPAY for one terminal. Safe for concurrent use.
type Bank struct {
	secret  string
	tmnCode string

	mu       sync.Mutex
	txns     map[string]Txn
	requests map[string]bool
	queries  []vnpay.QueryRequest
}

// NewBank returns a simulator for the terminal tmnCode signing with secret.
func NewBank(secret, tmnCode string) *Bank {
	return &Bank{secret: secret, tmnCode: tmnCode, txns: map[string]Txn{}, requests: map[string]bool{}}
}

// Record stores (or replaces) a transaction.
func (b *Bank) Record(t Txn) {
	if t.BankCode == "" {
		t.BankCode = "NCB"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txns[t.TxnRef] = t
}

// Queries returns the querydr requests received so far, in order.
func (b *Bank) Queries() []vnpay.QueryRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]vnpay.QueryRequest(nil), b.queries...)
}

// IPN returns the signed IPN query VNPAY would send for t.
func (b *Bank) IPN(t Txn) url.Values {
	if t.BankCode == "" {
		t.BankCode = "NCB"
	}
	q := url.Values{}
	q.Set("vnp_TmnCode", b.tmnCode)
	q.Set("vnp_TxnRef", t.TxnRef)
	q.Set("vnp_Amount", strconv.FormatInt(t.AmountVND*100, 10))
	q.Set("vnp_OrderInfo", t.OrderInfo)
	q.Set("vnp_ResponseCode", t.ResponseCode)
	q.Set("vnp_TransactionStatus", t.TransactionStatus)
	q.Set("vnp_TransactionNo", t.TransactionNo)
	q.Set("vnp_BankCode", t.BankCode)
	q.Set("vnp_CardType", "ATM")
	if !t.PayDate.IsZero() {
		q.Set("vnp_PayDate", vnpay.FormatDate(t.PayDate))
	}
	q.Set(vnpay.ParamSecureHash, vnpay.Sign(b.secret, vnpay.HashData(q)))
	return q
}

// ServeHTTP answers querydr POSTs as VNPAY does: 97 for a bad signature,
// 02 for another terminal, 94 for a repeated vnp_RequestId, 91 for an
// unknown TxnRef, otherwise 00 with the transaction, signed.
func (b *Bank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var req vnpay.QueryRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.queries = append(b.queries, req)
	resp := vnpay.QueryResponse{
		ResponseID: vnpay.Text(strconv.Itoa(len(b.queries))),
		Command:    "querydr",
		TmnCode:    vnpay.Text(req.TmnCode),
		TxnRef:     vnpay.Text(req.TxnRef),
	}
	t, known := b.txns[req.TxnRef]
	switch {
	case req.Verify(b.secret) != nil:
		resp.ResponseCode, resp.Message = "97", "Invalid Checksum"
	case req.TmnCode != b.tmnCode:
		resp.ResponseCode, resp.Message = "02", "Merchant is not active"
	case b.requests[req.RequestID]:
		resp.ResponseCode, resp.Message = "94", "Duplicate request"
	case !known:
		resp.ResponseCode, resp.Message = "91", "Transaction not found"
	default:
		resp.ResponseCode, resp.Message = "00", "QueryDR Success"
		resp.Amount = vnpay.Text(strconv.FormatInt(t.AmountVND*100, 10))
		resp.OrderInfo = vnpay.Text(t.OrderInfo)
		resp.BankCode = vnpay.Text(t.BankCode)
		if !t.PayDate.IsZero() {
			resp.PayDate = vnpay.Text(vnpay.FormatDate(t.PayDate))
		}
		resp.TransactionNo = vnpay.Text(t.TransactionNo)
		resp.TransactionType = "01"
		resp.TransactionStatus = vnpay.Text(t.TransactionStatus)
	}
	b.requests[req.RequestID] = true
	b.mu.Unlock()
	resp.Sign(b.secret)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
