package vnpay

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// API constants of VNPAY 2.1.0.
const (
	// Version is the API version this package speaks.
	Version = "2.1.0"
	// SandboxPayURL is VNPAY's sandbox payment page, the default Config.PayURL.
	SandboxPayURL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
	// SandboxAPIURL is VNPAY's sandbox querydr/refund API, the default Config.APIURL.
	SandboxAPIURL = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"
	// CurrencyVND is the only currency VNPAY accepts.
	CurrencyVND = "VND"
	// LocaleVN shows VNPAY's pages in Vietnamese.
	LocaleVN = "vn"
	// LocaleEN shows VNPAY's pages in English.
	LocaleEN = "en"
	// OrderTypeOther is VNPAY 2.1.0's generic goods category, the default.
	OrderTypeOther = "other"
	// OrderTypeBillPayment is VNPAY 2.1.0's bill-payment category; the
	// numeric category codes (e.g. "250000") belong to the older 2.0.x list.
	OrderTypeBillPayment = "billpayment"
	// DateLayout is VNPAY's yyyyMMddHHmmss timestamp layout (always GMT+7).
	DateLayout = "20060102150405"
	// MinAmountVND is the smallest amount VNPAY accepts.
	MinAmountVND = 5_000
	// MaxAmountVND is the largest amount VNPAY accepts (under one billion).
	MaxAmountVND = 999_999_999
	// DefaultExpiry is how long a payment URL stays valid when
	// Payment.ExpireAt is zero.
	DefaultExpiry = 15 * time.Minute
)

// GMT7 is the fixed UTC+7 zone VNPAY timestamps are written in (Vietnam has
// no daylight saving time), independent of the host's TZ and tzdata.
var GMT7 = time.FixedZone("GMT+7", 7*3600)

// ErrInvalid means a Config or Payment failed validation; the joined errors
// are *FieldError values naming each bad field.
var ErrInvalid = errors.New("vnpay: invalid input")

// FieldError names one invalid field of a Config, Payment or Query.
// errors.Is(err, ErrInvalid) holds for it.
type FieldError struct {
	// Field is the Go field name (e.g. "AmountVND").
	Field string
	// Reason says what is wrong, in English.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return "vnpay: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Config is a merchant's VNPAY terminal. The zero PayURL, APIURL and Locale
// take the sandbox URLs and "vn".
type Config struct {
	// TmnCode is the terminal (website) code VNPAY issued (vnp_TmnCode).
	TmnCode string
	// HashSecret is the HMAC key VNPAY issued. Keep it in a secret file.
	HashSecret string
	// PayURL is the payment page; default SandboxPayURL.
	PayURL string
	// APIURL is the querydr/refund API endpoint; default SandboxAPIURL.
	APIURL string
	// ReturnURL is where VNPAY sends the citizen's browser after paying
	// (vnp_ReturnUrl). The IPN URL is registered with VNPAY, not sent.
	ReturnURL string
	// Locale is the language of VNPAY's pages: "vn" (default) or "en".
	Locale string
}

// withDefaults fills the documented defaults.
func (c Config) withDefaults() Config {
	if c.PayURL == "" {
		c.PayURL = SandboxPayURL
	}
	if c.APIURL == "" {
		c.APIURL = SandboxAPIURL
	}
	if c.Locale == "" {
		c.Locale = LocaleVN
	}
	return c
}

// Validate reports every problem of c (after defaults) as joined
// *FieldError values, or nil.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.TmnCode == "" || len(c.TmnCode) > 8 || !isAlnum(c.TmnCode) {
		errs = append(errs, fieldErr("TmnCode", "must be 1-8 ASCII letters or digits"))
	}
	if c.HashSecret == "" {
		errs = append(errs, fieldErr("HashSecret", "is required"))
	}
	if err := checkAbsURL(c.PayURL, false); err != nil {
		errs = append(errs, fieldErr("PayURL", "%v", err))
	}
	if err := checkAbsURL(c.APIURL, false); err != nil {
		errs = append(errs, fieldErr("APIURL", "%v", err))
	}
	if c.ReturnURL == "" {
		errs = append(errs, fieldErr("ReturnURL", "is required"))
	} else if err := checkAbsURL(c.ReturnURL, true); err != nil {
		errs = append(errs, fieldErr("ReturnURL", "%v", err))
	} else if len(c.ReturnURL) > 255 {
		errs = append(errs, fieldErr("ReturnURL", "longer than 255 characters"))
	}
	if c.Locale != LocaleVN && c.Locale != LocaleEN {
		errs = append(errs, fieldErr("Locale", "must be %q or %q", LocaleVN, LocaleEN))
	}
	return errors.Join(errs...)
}

func checkAbsURL(s string, queryOK bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	if !queryOK && (u.RawQuery != "" || u.Fragment != "") {
		return errors.New("must have no query or fragment")
	}
	return nil
}

// Payment is one payment request: one fee of one application.
type Payment struct {
	// TxnRef is the merchant's unique reference (vnp_TxnRef), 1-100 of
	// [A-Za-z0-9_-]; VNPAY refuses a reference reused the same day.
	TxnRef string
	// AmountVND is the amount in đồng; vnp_Amount carries it × 100.
	AmountVND int64
	// OrderInfo describes the payment (vnp_OrderInfo). VNPAY requires
	// Vietnamese without diacritics, so BuildPaymentURL folds it with
	// FoldOrderInfo; at most 255 characters after folding.
	OrderInfo string
	// OrderType is the goods category (vnp_OrderType); default "other".
	OrderType string
	// BankCode optionally preselects a method (vnp_BankCode, e.g.
	// "VNPAYQR", "VNBANK", "INTCARD"); empty lets the citizen choose.
	BankCode string
	// IPAddr is the citizen's IP address (vnp_IpAddr).
	IPAddr string
	// CreatedAt is when the payment was created (vnp_CreateDate).
	CreatedAt time.Time
	// ExpireAt is when the payment URL stops working (vnp_ExpireDate);
	// zero means CreatedAt + DefaultExpiry.
	ExpireAt time.Time
}

// Validate reports every problem of p as joined *FieldError values, or nil.
func (p Payment) Validate() error {
	var errs []error
	if p.TxnRef == "" || len(p.TxnRef) > 100 || !isRef(p.TxnRef) {
		errs = append(errs, fieldErr("TxnRef", "must be 1-100 of [A-Za-z0-9_-]"))
	}
	if p.AmountVND < MinAmountVND || p.AmountVND > MaxAmountVND {
		errs = append(errs, fieldErr("AmountVND", "must be between %d and %d", MinAmountVND, MaxAmountVND))
	}
	info := FoldOrderInfo(p.OrderInfo)
	if strings.TrimSpace(info) == "" {
		errs = append(errs, fieldErr("OrderInfo", "is required"))
	} else if len(info) > 255 {
		errs = append(errs, fieldErr("OrderInfo", "longer than 255 characters"))
	}
	if p.OrderType != "" && (len(p.OrderType) > 100 || !isRef(p.OrderType)) {
		errs = append(errs, fieldErr("OrderType", "must be 1-100 of [A-Za-z0-9_-]"))
	}
	if p.BankCode != "" && (len(p.BankCode) > 20 || !isAlnum(p.BankCode)) {
		errs = append(errs, fieldErr("BankCode", "must be 1-20 ASCII letters or digits"))
	}
	if _, err := netip.ParseAddr(p.IPAddr); err != nil {
		errs = append(errs, fieldErr("IPAddr", "is not an IP address"))
	}
	if p.CreatedAt.IsZero() {
		errs = append(errs, fieldErr("CreatedAt", "is required"))
	} else if !p.ExpireAt.IsZero() && !p.ExpireAt.After(p.CreatedAt) {
		errs = append(errs, fieldErr("ExpireAt", "must be after CreatedAt"))
	}
	return errors.Join(errs...)
}

// Params returns the unsigned vnp_* parameters of the payment URL for p
// under cfg (defaults applied, OrderInfo folded). It does not validate.
func Params(cfg Config, p Payment) url.Values {
	cfg = cfg.withDefaults()
	orderType := p.OrderType
	if orderType == "" {
		orderType = OrderTypeOther
	}
	expire := p.ExpireAt
	if expire.IsZero() {
		expire = p.CreatedAt.Add(DefaultExpiry)
	}
	q := url.Values{}
	q.Set("vnp_Version", Version)
	q.Set("vnp_Command", "pay")
	q.Set("vnp_TmnCode", cfg.TmnCode)
	q.Set("vnp_Amount", strconv.FormatInt(p.AmountVND*100, 10))
	q.Set("vnp_CurrCode", CurrencyVND)
	q.Set("vnp_TxnRef", p.TxnRef)
	q.Set("vnp_OrderInfo", FoldOrderInfo(p.OrderInfo))
	q.Set("vnp_OrderType", orderType)
	q.Set("vnp_Locale", cfg.Locale)
	q.Set("vnp_ReturnUrl", cfg.ReturnURL)
	q.Set("vnp_IpAddr", p.IPAddr)
	q.Set("vnp_CreateDate", FormatDate(p.CreatedAt))
	q.Set("vnp_ExpireDate", FormatDate(expire))
	if p.BankCode != "" {
		q.Set("vnp_BankCode", p.BankCode)
	}
	return q
}

// BuildPaymentURL validates cfg and p and returns the signed VNPAY payment
// URL: cfg.PayURL + "?" + HashData(params) + "&vnp_SecureHash=" + signature.
// A validation failure wraps ErrInvalid and names every bad field.
func BuildPaymentURL(cfg Config, p Payment) (string, error) {
	if err := errors.Join(cfg.Validate(), p.Validate()); err != nil {
		return "", fmt.Errorf("build vnpay payment url: %w", err)
	}
	cfg = cfg.withDefaults()
	data := HashData(Params(cfg, p))
	return cfg.PayURL + "?" + data + "&" + ParamSecureHash + "=" + Sign(cfg.HashSecret, data), nil
}

// FormatDate writes t as VNPAY's yyyyMMddHHmmss in GMT+7, whatever t's zone.
func FormatDate(t time.Time) string { return t.In(GMT7).Format(DateLayout) }

// ParseDate reads VNPAY's yyyyMMddHHmmss as a GMT+7 time.
func ParseDate(s string) (time.Time, error) {
	if len(s) != len(DateLayout) {
		return time.Time{}, fmt.Errorf("%w: date %q is not yyyyMMddHHmmss", ErrMalformed, s)
	}
	t, err := time.ParseInLocation(DateLayout, s, GMT7)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %q: %v", ErrMalformed, s, err)
	}
	return t, nil
}

// FoldOrderInfo turns Vietnamese text into the diacritic-free ASCII VNPAY
// requires in vnp_OrderInfo ("Lệ phí cấp Giấy phép" → "Le phi cap Giay
// phep"), keeping case: đ/Đ become d/D, combining marks are dropped, other
// non-ASCII or control characters become spaces, and runs of spaces collapse.
func FoldOrderInfo(s string) string {
	var b strings.Builder
	space := true // drop leading spaces
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			r = 'd'
		case r == 'Đ':
			r = 'D'
		}
		if r > unicode.MaxASCII || unicode.IsControl(r) || unicode.IsSpace(r) {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isRef(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && c != '_' && !isAlnum(s[i:i+1]) {
			return false
		}
	}
	return true
}
