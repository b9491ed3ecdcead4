package vnpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// CodeSuccess is the vnp_ResponseCode / vnp_TransactionStatus of a
// successful payment.
const CodeSuccess = "00"

// IPN is the payment result VNPAY sends to the IPN URL (and, in the same
// shape, to the return URL). Parse it with ParseIPN after Verify, or with
// VerifyIPN which does both.
type IPN struct {
	// TmnCode is the merchant terminal the payment belongs to.
	TmnCode string
	// TxnRef is the merchant reference sent in the payment URL.
	TxnRef string
	// AmountVND is vnp_Amount / 100.
	AmountVND int64
	// OrderInfo is the order description echoed back.
	OrderInfo string
	// ResponseCode is vnp_ResponseCode ("00" success; "24" cancelled by the
	// customer; others are failures listed by VNPAY).
	ResponseCode string
	// TransactionStatus is vnp_TransactionStatus ("00" success, "01" not
	// completed, "02" error, ...).
	TransactionStatus string
	// TransactionNo is VNPAY's transaction number (vnp_TransactionNo).
	TransactionNo string
	// BankCode is the paying bank (vnp_BankCode).
	BankCode string
	// BankTranNo is the bank's transaction number (vnp_BankTranNo), if any.
	BankTranNo string
	// CardType is ATM, QRCODE, ... (vnp_CardType), if any.
	CardType string
	// PayDate is when the payment happened (vnp_PayDate, GMT+7); zero if absent.
	PayDate time.Time
}

// Success reports whether the payment succeeded: both vnp_ResponseCode and
// vnp_TransactionStatus are "00".
func (n IPN) Success() bool {
	return n.ResponseCode == CodeSuccess && n.TransactionStatus == CodeSuccess
}

// ParseIPN extracts the fields of an IPN or return-URL query. It does not
// check the signature: call Verify first (or use VerifyIPN). Missing
// vnp_TxnRef, vnp_Amount or vnp_ResponseCode, an amount that is not a whole
// number of đồng × 100, or a bad vnp_PayDate give an error wrapping
// ErrMalformed.
func ParseIPN(q url.Values) (IPN, error) {
	n := IPN{
		TmnCode:           q.Get("vnp_TmnCode"),
		TxnRef:            q.Get("vnp_TxnRef"),
		OrderInfo:         q.Get("vnp_OrderInfo"),
		ResponseCode:      q.Get("vnp_ResponseCode"),
		TransactionStatus: q.Get("vnp_TransactionStatus"),
		TransactionNo:     q.Get("vnp_TransactionNo"),
		BankCode:          q.Get("vnp_BankCode"),
		BankTranNo:        q.Get("vnp_BankTranNo"),
		CardType:          q.Get("vnp_CardType"),
	}
	var errs []error
	if n.TxnRef == "" {
		errs = append(errs, fmt.Errorf("%w: vnp_TxnRef missing", ErrMalformed))
	}
	if n.ResponseCode == "" {
		errs = append(errs, fmt.Errorf("%w: vnp_ResponseCode missing", ErrMalformed))
	}
	amount, err := parseAmount(q.Get("vnp_Amount"))
	if err != nil {
		errs = append(errs, err)
	}
	n.AmountVND = amount
	if s := q.Get("vnp_PayDate"); s != "" {
		t, err := ParseDate(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("vnp_PayDate: %w", err))
		}
		n.PayDate = t
	}
	if err := errors.Join(errs...); err != nil {
		return IPN{}, err
	}
	return n, nil
}

// parseAmount turns VNPAY's amount (đồng × 100, decimal digits) into đồng.
func parseAmount(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: vnp_Amount missing", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: vnp_Amount %q is not a whole number", ErrMalformed, s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: vnp_Amount %q out of range", ErrMalformed, s)
	}
	if v%100 != 0 {
		return 0, fmt.Errorf("%w: vnp_Amount %q is not a whole number of dong x 100", ErrMalformed, s)
	}
	return v / 100, nil
}

// VerifyIPN checks the signature of q with secret and parses it.
func VerifyIPN(secret string, q url.Values) (IPN, error) {
	if err := Verify(secret, q); err != nil {
		return IPN{}, fmt.Errorf("verify vnpay ipn: %w", err)
	}
	n, err := ParseIPN(q)
	if err != nil {
		return IPN{}, fmt.Errorf("parse vnpay ipn: %w", err)
	}
	return n, nil
}

// IPNReply is the JSON body the IPN URL must answer with (HTTP 200 in every
// case); VNPAY retries the IPN unless RspCode is "00" or "02".
type IPNReply struct {
	// RspCode is VNPAY's two-digit result code.
	RspCode string `json:"RspCode"`
	// Message is the English text VNPAY's reference integration sends.
	Message string `json:"Message"`
}

// The IPN replies, with the messages of VNPAY's reference 2.1.0 IPN handler
// (including its spelling "Unknow error"; VNPAY acts on RspCode only).
var (
	// ReplyConfirmSuccess acknowledges a processed IPN.
	ReplyConfirmSuccess = IPNReply{RspCode: "00", Message: "Confirm Success"}
	// ReplyOrderNotFound answers an IPN for an unknown vnp_TxnRef.
	ReplyOrderNotFound = IPNReply{RspCode: "01", Message: "Order not found"}
	// ReplyOrderAlreadyConfirmed answers a duplicate IPN for a settled order.
	ReplyOrderAlreadyConfirmed = IPNReply{RspCode: "02", Message: "Order already confirmed"}
	// ReplyInvalidAmount answers an IPN whose amount differs from the order's.
	ReplyInvalidAmount = IPNReply{RspCode: "04", Message: "Invalid amount"}
	// ReplyInvalidSignature answers an IPN whose vnp_SecureHash is wrong.
	ReplyInvalidSignature = IPNReply{RspCode: "97", Message: "Invalid signature"}
	// ReplyUnknownError answers an IPN that could not be processed (VNPAY retries).
	ReplyUnknownError = IPNReply{RspCode: "99", Message: "Unknow error"}
)

// Errors an IPN handler returns so that ReplyFor picks the right reply.
var (
	// ErrOrderNotFound means no order has the IPN's vnp_TxnRef.
	ErrOrderNotFound = errors.New("vnpay: order not found")
	// ErrAlreadyConfirmed means the order was already settled by an earlier IPN.
	ErrAlreadyConfirmed = errors.New("vnpay: order already confirmed")
	// ErrAmountMismatch means the IPN's amount differs from the order's.
	ErrAmountMismatch = errors.New("vnpay: invalid amount")
)

// Body returns the reply as the JSON VNPAY expects, e.g.
// {"RspCode":"00","Message":"Confirm Success"}.
func (r IPNReply) Body() []byte {
	b, err := json.Marshal(r)
	if err != nil { // unreachable: two strings
		return []byte(`{"RspCode":"99","Message":"Unknow error"}`)
	}
	return b
}

// ReplyFor maps the outcome of processing an IPN to its reply: nil →
// 00, ErrMissingSignature/ErrBadSignature → 97, ErrOrderNotFound → 01,
// ErrAlreadyConfirmed → 02, ErrAmountMismatch → 04, anything else
// (ErrMalformed, storage failures) → 99, which makes VNPAY retry.
func ReplyFor(err error) IPNReply {
	switch {
	case err == nil:
		return ReplyConfirmSuccess
	case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrBadSignature):
		return ReplyInvalidSignature
	case errors.Is(err, ErrOrderNotFound):
		return ReplyOrderNotFound
	case errors.Is(err, ErrAlreadyConfirmed):
		return ReplyOrderAlreadyConfirmed
	case errors.Is(err, ErrAmountMismatch):
		return ReplyInvalidAmount
	default:
		return ReplyUnknownError
	}
}
