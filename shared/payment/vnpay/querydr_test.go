package vnpay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/vnpay/vnpaytest"
)

func TestHashData_ipn_written_by_hand(t *testing.T) {
	q := signedIPN(nil)
	q.Del("vnp_SecureHash")
	want := "vnp_Amount=15000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14226112&vnp_CardType=ATM" +
		"&vnp_OrderInfo=L%E1%BB%87+ph%C3%AD+HS-2026-000123&vnp_PayDate=20261125153512" +
		"&vnp_ResponseCode=00&vnp_TmnCode=DEMOV210&vnp_TransactionNo=14226112" +
		"&vnp_TransactionStatus=00&vnp_TxnRef=HS-2026-000123"
	if got := vnpay.HashData(q); got != want {
		t.Errorf("HashData\n got %s\nwant %s", got, want)
	}
}

func TestNewQueryRequest_golden_vector(t *testing.T) {
	q := vnpay.Query{
		TxnRef:          "HS-2026-000123",
		TransactionDate: time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC),
		IPAddr:          "10.0.0.5",
	}
	r, err := vnpay.NewQueryRequest(testConfig(), q, "REQ0001", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data := "REQ0001|2.1.0|querydr|DEMOV210|HS-2026-000123|20261125153000|20261125170000|10.0.0.5|Truy van GD HS-2026-000123"
	if r.HashData() != data {
		t.Fatalf("HashData\n got %s\nwant %s", r.HashData(), data)
	}
	// printf '%s' "$data" | openssl dgst -sha512 -hmac "$testSecret"
	const golden = "cc04037113463da31d67159ba7f6d7b3baa08573741d175c6769b96bc5c986f6" +
		"12ced1d0128bd2dcf29845387ebc9cd0e2a3b7630ce49d2f4b3685067ebf9b19"
	if r.SecureHash != golden || hmacHex(testSecret, data) != golden {
		t.Fatalf("SecureHash %s, want %s", r.SecureHash, golden)
	}
	b, _ := json.Marshal(r)
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
		"vnp_OrderInfo", "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_SecureHash"} {
		if m[k] == "" {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	if err := r.Verify(testSecret); err != nil {
		t.Error(err)
	}
	r.TxnRef = "HS-2026-000124"
	if err := r.Verify(testSecret); !errors.Is(err, vnpay.ErrBadSignature) {
		t.Errorf("tampered request verified: %v", err)
	}
}

func TestNewQueryRequest_invalid(t *testing.T) {
	_, err := vnpay.NewQueryRequest(vnpay.Config{}, vnpay.Query{}, "bad id!", time.Now())
	for _, f := range []string{"TmnCode", "HashSecret", "RequestID", "TxnRef", "TransactionDate", "IPAddr"} {
		var fe *vnpay.FieldError
		if !errors.Is(err, vnpay.ErrInvalid) || !errors.As(err, &fe) {
			t.Fatalf("err %v", err)
		}
		if !containsField(err, f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

func containsField(err error, field string) bool {
	var joined interface{ Unwrap() []error }
	for e := err; e != nil; {
		if fe, ok := e.(*vnpay.FieldError); ok && fe.Field == field {
			return true
		}
		if errors.As(e, &joined) {
			for _, x := range joined.Unwrap() {
				if containsField(x, field) {
					return true
				}
			}
			return false
		}
		e = errors.Unwrap(e)
	}
	return false
}

func TestQueryResponse_hash_order(t *testing.T) {
	r := vnpay.QueryResponse{
		ResponseID: "1", Command: "querydr", ResponseCode: "00", Message: "QueryDR Success",
		TmnCode: "DEMOV210", TxnRef: "T1", Amount: "15000000", OrderInfo: "Le phi",
		BankCode: "NCB", PayDate: "20261125153512", TransactionNo: "14226112",
		TransactionType: "01", TransactionStatus: "00", PromotionCode: "P", PromotionAmount: "0",
	}
	want := "1|querydr|00|QueryDR Success|DEMOV210|T1|15000000|NCB|20261125153512|14226112|01|00|Le phi|P|0"
	if r.HashData() != want {
		t.Fatalf("HashData\n got %s\nwant %s", r.HashData(), want)
	}
	r.Sign(testSecret)
	if string(r.SecureHash) != hmacHex(testSecret, want) {
		t.Fatal("Sign disagrees with HMAC-SHA512 of the '|' data")
	}
	if err := r.Verify(testSecret); err != nil {
		t.Fatal(err)
	}
	r.TransactionStatus = "02"
	if err := r.Verify(testSecret); !errors.Is(err, vnpay.ErrBadSignature) {
		t.Fatalf("tampered response verified: %v", err)
	}
}

func TestQueryResponse_accepts_numeric_amount(t *testing.T) {
	var r vnpay.QueryResponse
	if err := json.Unmarshal([]byte(`{"vnp_Amount":15000000,"vnp_ResponseCode":"00","vnp_PromotionAmount":null}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Amount != "15000000" || r.PromotionAmount != "" {
		t.Fatalf("%+v", r)
	}
	if err := json.Unmarshal([]byte(`{"vnp_Amount":{}}`), &r); err == nil {
		t.Fatal("object accepted as amount")
	}
}

func newClient(t *testing.T, apiURL, secret string) *vnpay.QueryClient {
	t.Helper()
	cfg := testConfig()
	cfg.APIURL = apiURL
	cfg.HashSecret = secret
	c, err := vnpay.NewQueryClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQueryClient_against_bank_simulator(t *testing.T) {
	bank := vnpaytest.NewBank(testSecret, "DEMOV210")
	paidAt := time.Date(2026, 11, 25, 8, 35, 12, 0, time.UTC)
	bank.Record(vnpaytest.Txn{TxnRef: "PAID-1", AmountVND: 150_000, ResponseCode: "00", TransactionStatus: "00", TransactionNo: "111", PayDate: paidAt})
	bank.Record(vnpaytest.Txn{TxnRef: "PENDING-1", AmountVND: 50_000, ResponseCode: "00", TransactionStatus: "01"})
	srv := httptest.NewServer(bank)
	defer srv.Close()

	ctx := context.Background()
	c := newClient(t, srv.URL, testSecret)
	q := vnpay.Query{TxnRef: "PAID-1", TransactionDate: paidAt, IPAddr: "127.0.0.1"}

	res, err := c.QueryStatus(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Paid() || res.AmountVND != 150_000 || res.TransactionNo != "111" || !res.PayDate.Equal(paidAt) || res.BankCode != "NCB" {
		t.Errorf("result %+v", res)
	}

	q.TxnRef = "PENDING-1"
	if res, err := c.QueryStatus(ctx, q); err != nil || res.Paid() || res.TransactionStatus != "01" {
		t.Errorf("pending: %+v, %v", res, err)
	}

	q.TxnRef = "NEVER-SEEN"
	if _, err := c.QueryStatus(ctx, q); !errors.Is(err, vnpay.ErrTransactionNotFound) {
		t.Errorf("unknown txn: %v", err)
	}

	// A client with the wrong secret: the bank refuses its checksum (97).
	var qe *vnpay.QueryError
	_, err = newClient(t, srv.URL, "wrong-secret").QueryStatus(ctx, vnpay.Query{TxnRef: "PAID-1", TransactionDate: paidAt, IPAddr: "127.0.0.1"})
	if !errors.As(err, &qe) || qe.Code != "97" {
		t.Errorf("wrong client secret: %v", err)
	}

	// A repeated request ID is refused (94).
	fixed := newClient(t, srv.URL, testSecret)
	fixed.NewRequestID = func() string { return "SAMEID" }
	q.TxnRef = "PAID-1"
	if _, err := fixed.QueryStatus(ctx, q); err != nil {
		t.Fatal(err)
	}
	if _, err := fixed.QueryStatus(ctx, q); !errors.As(err, &qe) || qe.Code != "94" {
		t.Errorf("duplicate request id: %v", err)
	}

	for _, r := range bank.Queries() {
		if len(r.SecureHash) != 128 {
			t.Errorf("unsigned query reached the bank: %+v", r)
		}
		if len(r.RequestID) == 0 || len(r.RequestID) > 32 {
			t.Errorf("request id %q", r.RequestID)
		}
	}
}

func TestQueryClient_refuses_forged_answers(t *testing.T) {
	// A server that does not know our secret answers "paid", signed with its own key.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req vnpay.QueryRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		resp := vnpay.QueryResponse{ResponseID: "1", Command: "querydr", ResponseCode: "00", Message: "ok",
			TmnCode: vnpay.Text(req.TmnCode), TxnRef: vnpay.Text(req.TxnRef), Amount: "15000000",
			TransactionType: "01", TransactionStatus: "00"}
		resp.Sign("not-the-secret")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	_, err := newClient(t, srv.URL, testSecret).QueryStatus(context.Background(),
		vnpay.Query{TxnRef: "PAID-1", TransactionDate: time.Now(), IPAddr: "127.0.0.1"})
	if !errors.Is(err, vnpay.ErrBadSignature) {
		t.Fatalf("forged answer: %v", err)
	}
}

func TestQueryClient_failures(t *testing.T) {
	answer := func(status int, body string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
	}
	signedFor := func(txnRef string) string {
		r := vnpay.QueryResponse{ResponseCode: "00", TmnCode: "DEMOV210", TxnRef: vnpay.Text(txnRef), Amount: "100", TransactionStatus: "00"}
		r.Sign(testSecret)
		b, _ := json.Marshal(r)
		return string(b)
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"http_500", 500, "oops", vnpay.ErrUpstream},
		{"not_json", 200, "<html>", vnpay.ErrUpstream},
		{"answer_for_other_txn", 200, signedFor("OTHER"), vnpay.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answer(tt.status, tt.body)
			defer srv.Close()
			_, err := newClient(t, srv.URL, testSecret).QueryStatus(context.Background(),
				vnpay.Query{TxnRef: "MINE", TransactionDate: time.Now(), IPAddr: "127.0.0.1"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("cancelled_context", func(t *testing.T) {
		srv := answer(200, "{}")
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newClient(t, srv.URL, testSecret).QueryStatus(ctx,
			vnpay.Query{TxnRef: "MINE", TransactionDate: time.Now(), IPAddr: "127.0.0.1"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := answer(200, "{}")
		u := srv.URL
		srv.Close()
		_, err := newClient(t, u, testSecret).QueryStatus(context.Background(),
			vnpay.Query{TxnRef: "MINE", TransactionDate: time.Now(), IPAddr: "127.0.0.1"})
		if !errors.Is(err, vnpay.ErrUpstream) {
			t.Fatalf("err %v", err)
		}
	})
	if _, err := vnpay.NewQueryClient(vnpay.Config{}, nil); !errors.Is(err, vnpay.ErrInvalid) {
		t.Errorf("NewQueryClient with empty config: %v", err)
	}
}

func TestBankSimulator_ipn_verifies(t *testing.T) {
	bank := vnpaytest.NewBank(testSecret, "DEMOV210")
	q := bank.IPN(vnpaytest.Txn{TxnRef: "T1", AmountVND: 20_000, OrderInfo: "Phí thẩm định", ResponseCode: "00", TransactionStatus: "00", TransactionNo: "9", PayDate: time.Now()})
	n, err := vnpay.VerifyIPN(testSecret, q)
	if err != nil || !n.Success() || n.AmountVND != 20_000 {
		t.Fatalf("%+v %v", n, err)
	}
	// Round trip through a real query string, as the IPN arrives over HTTP.
	back, _ := url.ParseQuery(q.Encode())
	if err := vnpay.Verify(testSecret, back); err != nil {
		t.Fatal(err)
	}
}
