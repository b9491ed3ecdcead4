package vnpay_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"motcua/shared/payment/vnpay"
)

const testSecret = "TESTSECRET0123456789ABCDEFGHIJKL"

func testConfig() vnpay.Config {
	return vnpay.Config{
		TmnCode:    "DEMOV210",
		HashSecret: testSecret,
		ReturnURL:  "https://dvc.example.vn/pay/return?src=app",
	}
}

func testPayment() vnpay.Payment {
	return vnpay.Payment{
		TxnRef:    "HS-2026-000123",
		AmountVND: 150_000,
		OrderInfo: "Lệ phí cấp Giấy phép xây dựng: HS-2026-000123",
		IPAddr:    "203.113.1.2",
		CreatedAt: time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC),
	}
}

// goldenData is the signed data for testConfig/testPayment written out by
// hand from VNPAY's rule: keys sorted, form-url-encoded, joined by '&'; the
// amount is 150,000 đ × 100 and 08:30 UTC is 15:30 GMT+7.
const goldenData = "vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20261125153000" +
	"&vnp_CurrCode=VND&vnp_ExpireDate=20261125154500&vnp_IpAddr=203.113.1.2&vnp_Locale=vn" +
	"&vnp_OrderInfo=Le+phi+cap+Giay+phep+xay+dung%3A+HS-2026-000123&vnp_OrderType=other" +
	"&vnp_ReturnUrl=https%3A%2F%2Fdvc.example.vn%2Fpay%2Freturn%3Fsrc%3Dapp&vnp_TmnCode=DEMOV210" +
	"&vnp_TxnRef=HS-2026-000123&vnp_Version=2.1.0"

// goldenHash was computed outside Go:
// printf '%s' "$goldenData" | openssl dgst -sha512 -hmac "$testSecret"
const goldenHash = "fcf0a92ba81cad4dbb7978cc036f69144eb100cfecd9e63189ebb6817a7b7d85" +
	"7734effa7f8e2d51c699937ed92bbaf5985c95e1a920fd12b70212527f8f59af"

func hmacHex(secret, data string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}

func TestBuildPaymentURL_golden_vector(t *testing.T) {
	got, err := vnpay.BuildPaymentURL(testConfig(), testPayment())
	if err != nil {
		t.Fatalf("BuildPaymentURL: %v", err)
	}
	if h := hmacHex(testSecret, goldenData); h != goldenHash {
		t.Fatalf("first-principles HMAC %s != golden %s", h, goldenHash)
	}
	want := vnpay.SandboxPayURL + "?" + goldenData + "&vnp_SecureHash=" + goldenHash
	if got != want {
		t.Fatalf("url\n got %s\nwant %s", got, want)
	}
}

func TestBuildPaymentURL_round_trips_through_verify(t *testing.T) {
	u, err := vnpay.BuildPaymentURL(testConfig(), testPayment())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if err := vnpay.Verify(testSecret, q); err != nil {
		t.Fatalf("Verify own URL: %v", err)
	}
	for k, want := range map[string]string{
		"vnp_Amount":     "15000000",
		"vnp_Version":    "2.1.0",
		"vnp_Command":    "pay",
		"vnp_CurrCode":   "VND",
		"vnp_OrderInfo":  "Le phi cap Giay phep xay dung: HS-2026-000123",
		"vnp_ReturnUrl":  "https://dvc.example.vn/pay/return?src=app",
		"vnp_CreateDate": "20261125153000",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestBuildPaymentURL_gmt7_whatever_the_zone(t *testing.T) {
	saved := time.Local
	time.Local = time.FixedZone("HST", -10*3600)
	defer func() { time.Local = saved }()

	p := testPayment()
	ny := time.FixedZone("EST", -5*3600)
	p.CreatedAt = time.Date(2026, 12, 31, 12, 0, 0, 0, ny) // 2027-01-01 00:00 GMT+7
	p.ExpireAt = p.CreatedAt.Add(30 * time.Minute).In(time.Local)
	u, err := vnpay.BuildPaymentURL(testConfig(), p)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	if got := q.Get("vnp_CreateDate"); got != "20270101000000" {
		t.Errorf("vnp_CreateDate = %s", got)
	}
	if got := q.Get("vnp_ExpireDate"); got != "20270101003000" {
		t.Errorf("vnp_ExpireDate = %s", got)
	}
	back, err := vnpay.ParseDate("20270101000000")
	if err != nil || !back.Equal(p.CreatedAt) {
		t.Errorf("ParseDate = %v, %v; want %v", back, err, p.CreatedAt)
	}
}

func TestBuildPaymentURL_options(t *testing.T) {
	cfg := testConfig()
	cfg.Locale = vnpay.LocaleEN
	cfg.PayURL = "https://pay.vnpay.vn/vpcpay.html"
	p := testPayment()
	p.OrderType = vnpay.OrderTypeBillPayment
	p.BankCode = "VNPAYQR"
	p.AmountVND = vnpay.MaxAmountVND
	u, err := vnpay.BuildPaymentURL(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://pay.vnpay.vn/vpcpay.html?vnp_Amount=99999999900&vnp_BankCode=VNPAYQR&") {
		t.Errorf("url %s", u)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	if q.Get("vnp_Locale") != "en" || q.Get("vnp_OrderType") != "billpayment" {
		t.Errorf("locale/order type: %v", q)
	}
	if err := vnpay.Verify(testSecret, q); err != nil {
		t.Error(err)
	}
}

func TestBuildPaymentURL_invalid_input(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*vnpay.Config, *vnpay.Payment)
		field  string
	}{
		{"missing_tmn_code", func(c *vnpay.Config, _ *vnpay.Payment) { c.TmnCode = "" }, "TmnCode"},
		{"tmn_code_not_alnum", func(c *vnpay.Config, _ *vnpay.Payment) { c.TmnCode = "AB-12" }, "TmnCode"},
		{"missing_secret", func(c *vnpay.Config, _ *vnpay.Payment) { c.HashSecret = "" }, "HashSecret"},
		{"relative_return_url", func(c *vnpay.Config, _ *vnpay.Payment) { c.ReturnURL = "/return" }, "ReturnURL"},
		{"pay_url_with_query", func(c *vnpay.Config, _ *vnpay.Payment) { c.PayURL = "https://x.vn/p?a=1" }, "PayURL"},
		{"bad_locale", func(c *vnpay.Config, _ *vnpay.Payment) { c.Locale = "vi" }, "Locale"},
		{"empty_txn_ref", func(_ *vnpay.Config, p *vnpay.Payment) { p.TxnRef = "" }, "TxnRef"},
		{"txn_ref_with_space", func(_ *vnpay.Config, p *vnpay.Payment) { p.TxnRef = "HS 1" }, "TxnRef"},
		{"amount_below_minimum", func(_ *vnpay.Config, p *vnpay.Payment) { p.AmountVND = 4_999 }, "AmountVND"},
		{"amount_one_billion", func(_ *vnpay.Config, p *vnpay.Payment) { p.AmountVND = 1_000_000_000 }, "AmountVND"},
		{"negative_amount", func(_ *vnpay.Config, p *vnpay.Payment) { p.AmountVND = -10_000 }, "AmountVND"},
		{"blank_order_info", func(_ *vnpay.Config, p *vnpay.Payment) { p.OrderInfo = " \t" }, "OrderInfo"},
		{"order_info_too_long", func(_ *vnpay.Config, p *vnpay.Payment) { p.OrderInfo = strings.Repeat("ă", 256) }, "OrderInfo"},
		{"bad_ip", func(_ *vnpay.Config, p *vnpay.Payment) { p.IPAddr = "localhost" }, "IPAddr"},
		{"missing_created_at", func(_ *vnpay.Config, p *vnpay.Payment) { p.CreatedAt = time.Time{} }, "CreatedAt"},
		{"expiry_before_creation", func(_ *vnpay.Config, p *vnpay.Payment) { p.ExpireAt = p.CreatedAt.Add(-time.Minute) }, "ExpireAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, p := testConfig(), testPayment()
			tt.mutate(&cfg, &p)
			u, err := vnpay.BuildPaymentURL(cfg, p)
			if !errors.Is(err, vnpay.ErrInvalid) {
				t.Fatalf("err = %v (url %q), want ErrInvalid", err, u)
			}
			var fe *vnpay.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestBuildPaymentURL_reports_every_bad_field(t *testing.T) {
	_, err := vnpay.BuildPaymentURL(vnpay.Config{}, vnpay.Payment{})
	for _, f := range []string{"TmnCode", "HashSecret", "ReturnURL", "TxnRef", "AmountVND", "OrderInfo", "IPAddr", "CreatedAt"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

// The vectors of TestEscape and TestVerify_java_reference_vector were
// computed the reference way, outside Go: java.net.URLEncoder.encode(s,
// UTF_8) (OpenJDK 17), the encoder of VNPAY's Java integration sample, and
// javax.crypto HmacSHA512 over the sorted name=value pairs.
func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"space_is_plus", "a b", "a+b"},
		{"unreserved_kept", "AZaz09-_.", "AZaz09-_."},
		{"tilde_escaped", "a~b", "a%7Eb"},
		{"star_kept_like_java_urlencoder", "a*b", "a*b"},
		{"reserved_escaped", "a&b=c/d:e?f+g", "a%26b%3Dc%2Fd%3Ae%3Ff%2Bg"},
		{"vietnamese_utf8", "Lệ phí", "L%E1%BB%87+ph%C3%AD"},
		{"mixed", "Thanh toan hồ sơ *STP*-261203-0001 (50%)!'()", "Thanh+toan+h%E1%BB%93+s%C6%A1+*STP*-261203-0001+%2850%25%29%21%27%28%29"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vnpay.Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFoldOrderInfo(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"diacritics_dropped_case_kept", "Lệ phí Đăng ký KINH DOANH", "Le phi Dang ky KINH DOANH"},
		{"d_stroke", "đường Đồng Khởi", "duong Dong Khoi"},
		{"decomposed_input", "Tie\u0302\u0301ng Vie\u0323\u0302t", "Tieng Viet"},
		{"spaces_collapsed", "  a \t\n b  ", "a b"},
		{"non_latin_becomes_space", "phí 😀 nộp", "phi nop"},
		{"ascii_punctuation_kept", "HS:123/2026 (lan 2)", "HS:123/2026 (lan 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vnpay.FoldOrderInfo(tt.in); got != tt.want {
				t.Errorf("FoldOrderInfo(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// signedIPN returns an IPN query signed with testSecret, built by hand.
func signedIPN(mut func(url.Values)) url.Values {
	q := url.Values{
		"vnp_Amount":            {"15000000"},
		"vnp_BankCode":          {"NCB"},
		"vnp_BankTranNo":        {"VNP14226112"},
		"vnp_CardType":          {"ATM"},
		"vnp_OrderInfo":         {"Lệ phí HS-2026-000123"}, // raw UTF-8 as some gateways echo it
		"vnp_PayDate":           {"20261125153512"},
		"vnp_ResponseCode":      {"00"},
		"vnp_TmnCode":           {"DEMOV210"},
		"vnp_TransactionNo":     {"14226112"},
		"vnp_TransactionStatus": {"00"},
		"vnp_TxnRef":            {"HS-2026-000123"},
	}
	if mut != nil {
		mut(q)
	}
	q.Set("vnp_SecureHash", hmacHex(testSecret, vnpay.HashData(q)))
	return q
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(url.Values)
		want   error
	}{
		{"untouched", func(url.Values) {}, nil},
		{"uppercase_hex_accepted", func(q url.Values) { q.Set("vnp_SecureHash", strings.ToUpper(q.Get("vnp_SecureHash"))) }, nil},
		{"hash_type_ignored", func(q url.Values) { q.Set("vnp_SecureHashType", "HmacSHA512") }, nil},
		{"non_vnp_param_ignored", func(q url.Values) { q.Set("utm_source", "zalo") }, nil},
		{"empty_vnp_param_ignored", func(q url.Values) { q.Set("vnp_BankTranNo2", "") }, nil},
		{"amount_changed", func(q url.Values) { q.Set("vnp_Amount", "1500000") }, vnpay.ErrBadSignature},
		{"order_info_changed", func(q url.Values) { q.Set("vnp_OrderInfo", "Le phi HS-2026-000123") }, vnpay.ErrBadSignature},
		{"param_added", func(q url.Values) { q.Set("vnp_Extra", "1") }, vnpay.ErrBadSignature},
		{"param_removed", func(q url.Values) { q.Del("vnp_BankCode") }, vnpay.ErrBadSignature},
		{"status_flipped", func(q url.Values) { q.Set("vnp_ResponseCode", "24") }, vnpay.ErrBadSignature},
		{"hash_not_hex", func(q url.Values) { q.Set("vnp_SecureHash", "zz") }, vnpay.ErrBadSignature},
		{"hash_truncated", func(q url.Values) { q.Set("vnp_SecureHash", q.Get("vnp_SecureHash")[:64]) }, vnpay.ErrBadSignature},
		{"hash_missing", func(q url.Values) { q.Del("vnp_SecureHash") }, vnpay.ErrMissingSignature},
		{"repeated_key", func(q url.Values) { q.Add("vnp_Amount", "1") }, vnpay.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := signedIPN(nil)
			tt.tamper(q)
			err := vnpay.Verify(testSecret, q)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := vnpay.Verify("another-secret", signedIPN(nil)); !errors.Is(err, vnpay.ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestParseIPN(t *testing.T) {
	n, err := vnpay.VerifyIPN(testSecret, signedIPN(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := vnpay.IPN{
		TmnCode: "DEMOV210", TxnRef: "HS-2026-000123", AmountVND: 150_000,
		OrderInfo: "Lệ phí HS-2026-000123", ResponseCode: "00", TransactionStatus: "00",
		TransactionNo: "14226112", BankCode: "NCB", BankTranNo: "VNP14226112", CardType: "ATM",
		PayDate: time.Date(2026, 11, 25, 8, 35, 12, 0, time.UTC),
	}
	if !n.PayDate.Equal(want.PayDate) {
		t.Errorf("PayDate %v, want %v", n.PayDate, want.PayDate)
	}
	n.PayDate, want.PayDate = time.Time{}, time.Time{}
	if n != want {
		t.Errorf("IPN\n got %+v\nwant %+v", n, want)
	}
	if !(vnpay.IPN{ResponseCode: "00", TransactionStatus: "00"}).Success() {
		t.Error("00/00 not a success")
	}

	bad := []struct {
		name string
		mut  func(url.Values)
	}{
		{"missing_txn_ref", func(q url.Values) { q.Del("vnp_TxnRef") }},
		{"missing_amount", func(q url.Values) { q.Del("vnp_Amount") }},
		{"missing_response_code", func(q url.Values) { q.Del("vnp_ResponseCode") }},
		{"amount_not_numeric", func(q url.Values) { q.Set("vnp_Amount", "1e6") }},
		{"amount_negative", func(q url.Values) { q.Set("vnp_Amount", "-100") }},
		{"amount_fraction_of_dong", func(q url.Values) { q.Set("vnp_Amount", "15000050") }},
		{"amount_overflow", func(q url.Values) { q.Set("vnp_Amount", "99999999999999999999") }},
		{"bad_pay_date", func(q url.Values) { q.Set("vnp_PayDate", "2026-11-25") }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			q := signedIPN(tt.mut) // correctly signed: parsing must still refuse it
			if _, err := vnpay.VerifyIPN(testSecret, q); !errors.Is(err, vnpay.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}

	failed := []struct{ name, rsp, status string }{
		{"customer_cancelled", "24", "02"},
		{"response_ok_status_pending", "00", "01"},
		{"status_missing", "00", ""},
	}
	for _, tt := range failed {
		t.Run(tt.name, func(t *testing.T) {
			n, err := vnpay.VerifyIPN(testSecret, signedIPN(func(q url.Values) {
				q.Set("vnp_ResponseCode", tt.rsp)
				q.Set("vnp_TransactionStatus", tt.status)
			}))
			if err != nil {
				t.Fatal(err)
			}
			if n.Success() {
				t.Errorf("%s/%s counted as success", tt.rsp, tt.status)
			}
		})
	}
}

func TestIPNReply(t *testing.T) {
	tests := []struct {
		name string
		err  error
		body string
	}{
		{"success", nil, `{"RspCode":"00","Message":"Confirm Success"}`},
		{"order_not_found", vnpay.ErrOrderNotFound, `{"RspCode":"01","Message":"Order not found"}`},
		{"already_confirmed", vnpay.ErrAlreadyConfirmed, `{"RspCode":"02","Message":"Order already confirmed"}`},
		{"invalid_amount", vnpay.ErrAmountMismatch, `{"RspCode":"04","Message":"Invalid amount"}`},
		{"bad_signature", vnpay.ErrBadSignature, `{"RspCode":"97","Message":"Invalid signature"}`},
		{"missing_signature_wrapped", errors.Join(errors.New("ctx"), vnpay.ErrMissingSignature), `{"RspCode":"97","Message":"Invalid signature"}`},
		{"malformed", vnpay.ErrMalformed, `{"RspCode":"99","Message":"Unknow error"}`},
		{"storage_failure", errors.New("s3 down"), `{"RspCode":"99","Message":"Unknow error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(vnpay.ReplyFor(tt.err).Body()); got != tt.body {
				t.Errorf("body %s, want %s", got, tt.body)
			}
		})
	}
}

// An IPN whose signed values contain '*' verifies against the signature
// VNPAY's Java reference computes (see TestEscape for how the vector was
// made), and a changed value does not.
func TestVerify_java_reference_vector(t *testing.T) {
	const secret = "SECRETKEYOFMERCHANT0123456789ABC"
	const wantData = "vnp_Amount=5000000&vnp_BankCode=NCB&vnp_CardType=ATM&vnp_OrderInfo=Thanh+toan+le+phi+*ho+so*+STP-261203-0001&vnp_PayDate=20261203093000&vnp_ResponseCode=00&vnp_TmnCode=2QXUI4J4&vnp_TransactionNo=14226112&vnp_TransactionStatus=00&vnp_TxnRef=MCEIUIGOPULA3U"
	const wantHash = "86fc4dfe57918ba4db4177aeaaf7205f34eedc905adb08b5ff52775eaabfc51de4e1c13a9e1f638ae78bfefa502a56b8ad827a463faf21c1bde1f9630328ece9"
	q := url.Values{
		"vnp_Amount": {"5000000"}, "vnp_BankCode": {"NCB"}, "vnp_CardType": {"ATM"},
		"vnp_OrderInfo": {"Thanh toan le phi *ho so* STP-261203-0001"}, "vnp_PayDate": {"20261203093000"},
		"vnp_ResponseCode": {"00"}, "vnp_TmnCode": {"2QXUI4J4"}, "vnp_TransactionNo": {"14226112"},
		"vnp_TransactionStatus": {"00"}, "vnp_TxnRef": {"MCEIUIGOPULA3U"},
		"vnp_SecureHashType": {"HmacSHA512"}, "vnp_SecureHash": {wantHash},
	}
	if got := vnpay.HashData(q); got != wantData {
		t.Fatalf("HashData =\n%s\nwant\n%s", got, wantData)
	}
	if got := vnpay.Sign(secret, wantData); got != wantHash {
		t.Fatalf("Sign = %s, want %s", got, wantHash)
	}
	if err := vnpay.Verify(secret, q); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	q.Set("vnp_OrderInfo", "Thanh toan le phi *ho so* STP-261203-0002")
	if err := vnpay.Verify(secret, q); err == nil {
		t.Fatal("a changed value verified")
	}
}
