// Package vietqr builds and parses VietQR payloads: the EMVCo
// merchant-presented QR format as profiled by NAPAS for account-to-account
// transfers, which every Vietnamese banking app scans. A payload names the
// beneficiary bank (6-digit BIN) and account, optionally the amount and a
// transfer reference, and ends with a CRC-16/CCITT-FALSE checksum.
//
// Layout produced (ID, 2-digit length, value), in this order:
//
//	00 "01"                       payload format indicator
//	01 "12" | "11"                dynamic (amount set) | static
//	38 merchant account information (NAPAS)
//	   00 "A000000727"            GUID
//	   01 beneficiary organisation
//	      00 bank BIN (6 digits)
//	      01 account number
//	   02 "QRIBFTTA" | "QRIBFTTC" service: to account | to card
//	53 "704"                      currency VND
//	54 amount                     whole đồng, only when AmountVND > 0
//	58 "VN"                       country
//	62 additional data            only when Reference is set
//	   08 reference               purpose of transaction, ≤ 25 ASCII
//	63 CRC                        4 upper-case hex over everything before,
//	                              including "6304"
//
// Parse accepts exactly this canonical layout (so Build(Parse(s)) == s);
// QR codes carrying other tags (merchant name 59, city 60, ...) are refused
// with ErrUnsupported rather than silently half-read. Pure; safe for
// concurrent use.
package vietqr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fixed values of the NAPAS profile.
const (
	// GUIDNapas is the application identifier of NAPAS (sub-field 38/00).
	GUIDNapas = "A000000727"
	// ServiceToAccount transfers to a bank account (QRIBFTTA), the default.
	ServiceToAccount = "QRIBFTTA"
	// ServiceToCard transfers to a card number (QRIBFTTC).
	ServiceToCard = "QRIBFTTC"
	// CurrencyVND is ISO 4217 numeric for the đồng.
	CurrencyVND = "704"
	// CountryVN is the country code.
	CountryVN = "VN"
	// MaxReferenceLen is the longest transfer reference (62/08) allowed.
	MaxReferenceLen = 25
	// MaxAmountVND is the largest amount that fits field 54 (13 digits).
	MaxAmountVND = 9_999_999_999_999
)

// ErrInvalid means a Payload cannot be encoded; the joined errors are
// *FieldError values naming each bad field.
var ErrInvalid = errors.New("vietqr: invalid payload")

// ErrMalformed means a string is not a well-formed payload (bad TLV, bad CRC,
// wrong fixed values).
var ErrMalformed = errors.New("vietqr: malformed payload")

// ErrBadCRC means the payload's CRC does not match its content. It wraps
// ErrMalformed.
var ErrBadCRC = fmt.Errorf("%w: CRC mismatch", ErrMalformed)

// ErrUnsupported means the payload is well-formed EMVCo but uses tags or
// values outside the NAPAS transfer profile this package reads.
var ErrUnsupported = errors.New("vietqr: unsupported payload")

// FieldError names one invalid Payload field. errors.Is(err, ErrInvalid)
// holds for it.
type FieldError struct {
	// Field is the Go field name.
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return "vietqr: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Payload is the content of a VietQR transfer code.
type Payload struct {
	// BankBIN is the beneficiary bank's 6-digit NAPAS BIN (e.g. "970436"
	// Vietcombank, "970415" VietinBank, "970418" BIDV).
	BankBIN string
	// AccountNumber is the beneficiary account (or card) number, 1-19
	// letters or digits.
	AccountNumber string
	// Service is ServiceToAccount (default when empty) or ServiceToCard.
	Service string
	// AmountVND is the amount in đồng; 0 makes a static code the payer
	// fills in.
	AmountVND int64
	// Reference is the transfer content banks carry to the statement
	// (e.g. our payment reference), at most 25 printable ASCII characters.
	Reference string
}

// Validate reports every problem of p as joined *FieldError values, or nil.
func (p Payload) Validate() error {
	var errs []error
	if len(p.BankBIN) != 6 || !allDigits(p.BankBIN) {
		errs = append(errs, &FieldError{"BankBIN", "must be 6 digits"})
	}
	if p.AccountNumber == "" || len(p.AccountNumber) > 19 || !alnum(p.AccountNumber) {
		errs = append(errs, &FieldError{"AccountNumber", "must be 1-19 letters or digits"})
	}
	if p.Service != "" && p.Service != ServiceToAccount && p.Service != ServiceToCard {
		errs = append(errs, &FieldError{"Service", "must be " + ServiceToAccount + " or " + ServiceToCard})
	}
	if p.AmountVND < 0 || p.AmountVND > MaxAmountVND {
		errs = append(errs, &FieldError{"AmountVND", "must be between 0 and " + strconv.FormatInt(MaxAmountVND, 10)})
	}
	if len(p.Reference) > MaxReferenceLen {
		errs = append(errs, &FieldError{"Reference", "longer than 25 characters"})
	} else if !printableASCII(p.Reference) {
		errs = append(errs, &FieldError{"Reference", "must be printable ASCII (no diacritics)"})
	}
	return errors.Join(errs...)
}

// tlv appends one field; callers guarantee len(v) <= 99.
func tlv(b *strings.Builder, id, v string) {
	b.WriteString(id)
	if len(v) < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(len(v)))
	b.WriteString(v)
}

// Build encodes p as a VietQR payload string (CRC included).
func Build(p Payload) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("build vietqr: %w", err)
	}
	service := p.Service
	if service == "" {
		service = ServiceToAccount
	}
	var ben, mai, add, b strings.Builder
	tlv(&ben, "00", p.BankBIN)
	tlv(&ben, "01", p.AccountNumber)
	tlv(&mai, "00", GUIDNapas)
	tlv(&mai, "01", ben.String())
	tlv(&mai, "02", service)

	tlv(&b, "00", "01")
	if p.AmountVND > 0 {
		tlv(&b, "01", "12")
	} else {
		tlv(&b, "01", "11")
	}
	tlv(&b, "38", mai.String())
	tlv(&b, "53", CurrencyVND)
	if p.AmountVND > 0 {
		tlv(&b, "54", strconv.FormatInt(p.AmountVND, 10))
	}
	tlv(&b, "58", CountryVN)
	if p.Reference != "" {
		tlv(&add, "08", p.Reference)
		tlv(&b, "62", add.String())
	}
	b.WriteString("6304")
	s := b.String()
	return s + fmt.Sprintf("%04X", CRC16CCITTFalse([]byte(s))), nil
}

// field is one parsed TLV entry.
type field struct{ id, value string }

// splitTLV cuts s into TLV fields.
func splitTLV(s string) ([]field, error) {
	var out []field
	for len(s) > 0 {
		if len(s) < 4 || !allDigits(s[:4]) {
			return nil, fmt.Errorf("%w: truncated TLV header %q", ErrMalformed, s)
		}
		n, _ := strconv.Atoi(s[2:4])
		if len(s) < 4+n {
			return nil, fmt.Errorf("%w: field %s wants %d bytes, %d left", ErrMalformed, s[:2], n, len(s)-4)
		}
		out = append(out, field{s[:2], s[4 : 4+n]})
		s = s[4+n:]
	}
	return out, nil
}

// expect takes the next field if it has id, reporting whether it did.
func expect(fs *[]field, id string) (string, bool) {
	if len(*fs) == 0 || (*fs)[0].id != id {
		return "", false
	}
	v := (*fs)[0].value
	*fs = (*fs)[1:]
	return v, true
}

// Parse decodes a VietQR payload produced in the canonical layout, checking
// the CRC first. Errors wrap ErrMalformed (including ErrBadCRC),
// ErrUnsupported, or ErrInvalid for out-of-range values.
func Parse(s string) (Payload, error) {
	if len(s) < 8 || s[len(s)-8:len(s)-4] != "6304" {
		return Payload{}, fmt.Errorf("%w: no trailing CRC field 6304", ErrMalformed)
	}
	crc := s[len(s)-4:]
	want := fmt.Sprintf("%04X", CRC16CCITTFalse([]byte(s[:len(s)-4])))
	if crc != want {
		return Payload{}, fmt.Errorf("%w: got %q, computed %s", ErrBadCRC, crc, want)
	}
	fs, err := splitTLV(s[:len(s)-8])
	if err != nil {
		return Payload{}, err
	}
	if v, ok := expect(&fs, "00"); !ok || v != "01" {
		return Payload{}, fmt.Errorf("%w: payload format indicator must be 00=01", ErrMalformed)
	}
	poi, ok := expect(&fs, "01")
	if !ok || (poi != "11" && poi != "12") {
		return Payload{}, fmt.Errorf("%w: point of initiation must be 11 or 12", ErrMalformed)
	}
	mai, ok := expect(&fs, "38")
	if !ok {
		return Payload{}, fmt.Errorf("%w: no NAPAS merchant account information (38)", ErrUnsupported)
	}
	var p Payload
	if err := parseMAI(mai, &p); err != nil {
		return Payload{}, err
	}
	if v, ok := expect(&fs, "53"); !ok || v != CurrencyVND {
		return Payload{}, fmt.Errorf("%w: currency must be 53=704", ErrUnsupported)
	}
	if amt, ok := expect(&fs, "54"); ok {
		if amt == "" || amt[0] == '0' || !allDigits(amt) || len(amt) > 13 {
			return Payload{}, fmt.Errorf("%w: amount %q is not whole dong", ErrUnsupported, amt)
		}
		p.AmountVND, _ = strconv.ParseInt(amt, 10, 64)
	}
	if (poi == "12") != (p.AmountVND > 0) {
		return Payload{}, fmt.Errorf("%w: point of initiation %s does not match the amount", ErrUnsupported, poi)
	}
	if v, ok := expect(&fs, "58"); !ok || v != CountryVN {
		return Payload{}, fmt.Errorf("%w: country must be 58=VN", ErrUnsupported)
	}
	if add, ok := expect(&fs, "62"); ok {
		sub, err := splitTLV(add)
		if err != nil {
			return Payload{}, fmt.Errorf("additional data: %w", err)
		}
		ref, ok := expect(&sub, "08")
		if !ok || ref == "" || len(sub) != 0 {
			return Payload{}, fmt.Errorf("%w: additional data must hold only 08 (reference)", ErrUnsupported)
		}
		p.Reference = ref
	}
	if len(fs) != 0 {
		return Payload{}, fmt.Errorf("%w: unexpected field %s", ErrUnsupported, fs[0].id)
	}
	if err := p.Validate(); err != nil {
		return Payload{}, fmt.Errorf("parse vietqr: %w", err)
	}
	return p, nil
}

// parseMAI reads field 38 into p.
func parseMAI(s string, p *Payload) error {
	fs, err := splitTLV(s)
	if err != nil {
		return fmt.Errorf("merchant account information: %w", err)
	}
	if v, ok := expect(&fs, "00"); !ok || v != GUIDNapas {
		return fmt.Errorf("%w: 38/00 must be the NAPAS GUID", ErrUnsupported)
	}
	ben, ok := expect(&fs, "01")
	if !ok {
		return fmt.Errorf("%w: 38/01 beneficiary missing", ErrMalformed)
	}
	bfs, err := splitTLV(ben)
	if err != nil {
		return fmt.Errorf("beneficiary: %w", err)
	}
	bin, ok1 := expect(&bfs, "00")
	acct, ok2 := expect(&bfs, "01")
	if !ok1 || !ok2 || len(bfs) != 0 {
		return fmt.Errorf("%w: beneficiary must be 00=BIN, 01=account", ErrMalformed)
	}
	svc, ok := expect(&fs, "02")
	if !ok || len(fs) != 0 {
		return fmt.Errorf("%w: 38 must end with 02=service code", ErrUnsupported)
	}
	p.BankBIN, p.AccountNumber, p.Service = bin, acct, svc
	if svc == ServiceToAccount {
		p.Service = "" // the default; keeps Build(Parse(s)) == s and p comparable
	}
	if svc != ServiceToAccount && svc != ServiceToCard {
		return fmt.Errorf("%w: service code %q", ErrUnsupported, svc)
	}
	return nil
}

// CRC16CCITTFalse is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no
// reflection, no final XOR), the EMVCo QR checksum. Check value:
// "123456789" → 0x29B1.
func CRC16CCITTFalse(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
