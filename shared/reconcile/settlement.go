package reconcile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SettlementHeader is the exact header line of a settlement file.
const SettlementHeader = "date,reference,amount,bank_transaction_id"

// Limits of a settlement file.
const (
	// MaxSettlementBytes is the largest settlement file accepted (8 MiB).
	MaxSettlementBytes = 8 << 20
	// MaxSettlementLines is the most transaction lines accepted.
	MaxSettlementLines = 100_000
	// maxFieldLen bounds reference and bank transaction id.
	maxFieldLen = 100
	// maxAmountVND bounds one transaction (under ten thousand billion đồng).
	maxAmountVND = 9_999_999_999_999
)

// DateLayout is the settlement file's date format (YYYY-MM-DD).
const DateLayout = "2006-01-02"

// ErrBadSettlement means a settlement file does not follow the format; it
// is wrapped by a *SettlementError listing every problem with its line.
var ErrBadSettlement = errors.New("reconcile: bad settlement file")

// SettlementLine is one transaction the bank settled.
type SettlementLine struct {
	// Line is the 1-based line number in the file (the header is line 1).
	Line int `json:"line"`
	// Date is the settlement date (YYYY-MM-DD, Vietnam time).
	Date string `json:"date"`
	// Reference is our payment reference as the bank reports it.
	Reference string `json:"reference"`
	// AmountVND is the amount settled, in đồng.
	AmountVND int64 `json:"amount_vnd"`
	// BankTransactionID is the bank's (or VNPAY's) transaction id.
	BankTransactionID string `json:"bank_transaction_id"`
}

// LineError is one problem of a settlement file.
type LineError struct {
	// Line is the 1-based line number (0 for the file as a whole).
	Line int `json:"line"`
	// Field names the column, if one is at fault.
	Field string `json:"field,omitempty"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
	// MessageVi says what is wrong, in Vietnamese.
	MessageVi string `json:"message_vi"`
}

// String formats the problem as "line N: field: message".
func (e LineError) String() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// SettlementError lists every problem found in a settlement file (at most
// maxReported, then a count). errors.Is(err, ErrBadSettlement) holds.
type SettlementError struct {
	// Problems are the problems, in line order.
	Problems []LineError
	// More counts problems not listed.
	More int
}

// maxReported bounds the problems listed in a SettlementError.
const maxReported = 50

// Error lists the problems, one per line.
func (e *SettlementError) Error() string {
	parts := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		parts = append(parts, p.String())
	}
	if e.More > 0 {
		parts = append(parts, fmt.Sprintf("... and %d more", e.More))
	}
	return ErrBadSettlement.Error() + ":\n  " + strings.Join(parts, "\n  ")
}

// Unwrap makes errors.Is(err, ErrBadSettlement) true.
func (e *SettlementError) Unwrap() error { return ErrBadSettlement }

func (e *SettlementError) add(line int, field, en, vi string) {
	if len(e.Problems) >= maxReported {
		e.More++
		return
	}
	e.Problems = append(e.Problems, LineError{Line: line, Field: field, Message: en, MessageVi: vi})
}

// ParseSettlement reads a settlement file strictly: a UTF-8 CSV (an
// optional UTF-8 byte-order mark, LF or CRLF line ends) whose first line is
// exactly SettlementHeader, then one transaction per line with four
// fields: date YYYY-MM-DD (a real calendar date), reference (1-100 of
// [A-Za-z0-9_-]), amount (a positive whole number of đồng, digits only) and
// bank_transaction_id (1-100 printable ASCII characters, no spaces, commas or quotes). A
// bank transaction id may appear once. Blank lines are not allowed except a
// final newline. Any problem fails the whole file with a *SettlementError
// naming every bad line, so a bad file changes nothing.
func ParseSettlement(r io.Reader) ([]SettlementLine, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxSettlementBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read settlement file: %w", err)
	}
	serr := &SettlementError{}
	if len(raw) > MaxSettlementBytes {
		serr.add(0, "", fmt.Sprintf("file larger than %d bytes", MaxSettlementBytes),
			fmt.Sprintf("tệp lớn hơn %d byte", MaxSettlementBytes))
		return nil, serr
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) {
		serr.add(0, "", "file is not UTF-8 text", "tệp không phải văn bản UTF-8")
		return nil, serr
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		serr.add(1, "", "file is empty; the header "+SettlementHeader+" is required",
			"tệp rỗng; cần dòng tiêu đề "+SettlementHeader)
		return nil, serr
	}
	// encoding/csv silently skips blank lines, which would shift line
	// numbers and hide truncation; refuse them first.
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	body := strings.TrimSuffix(text, "\n")
	for i, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) == "" {
			serr.add(i+1, "", "blank line", "dòng trống")
		} else if strings.ContainsRune(l, '\r') {
			serr.add(i+1, "", "stray carriage return", "ký tự CR không hợp lệ")
		}
	}
	if len(serr.Problems) > 0 {
		return nil, serr
	}
	cr := csv.NewReader(strings.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		out     []SettlementLine
		seenTxn = map[string]int{}
	)
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				serr.add(pe.StartLine, "", "malformed CSV: "+pe.Err.Error(), "CSV sai định dạng: "+pe.Err.Error())
			} else {
				serr.add(line, "", "malformed CSV: "+err.Error(), "CSV sai định dạng")
			}
			return nil, serr
		}
		for _, f := range rec {
			if strings.ContainsRune(f, '\n') { // a quoted field spanning lines
				serr.add(line, "", "a field spans several lines", "một trường kéo dài nhiều dòng")
				return nil, serr
			}
		}
		if line == 1 {
			if strings.Join(rec, ",") != SettlementHeader || len(rec) != 4 {
				serr.add(1, "", "header must be exactly "+SettlementHeader, "dòng tiêu đề phải đúng là "+SettlementHeader)
				return nil, serr
			}
			continue
		}
		if line-1 > MaxSettlementLines {
			serr.add(line, "", fmt.Sprintf("more than %d transactions", MaxSettlementLines),
				fmt.Sprintf("quá %d giao dịch", MaxSettlementLines))
			return nil, serr
		}
		if len(rec) != 4 {
			serr.add(line, "", fmt.Sprintf("has %d fields, want 4", len(rec)), fmt.Sprintf("có %d trường, cần 4", len(rec)))
			continue
		}
		sl, ok := parseLine(serr, line, rec)
		if !ok {
			continue
		}
		if first, dup := seenTxn[sl.BankTransactionID]; dup {
			serr.add(line, "bank_transaction_id", fmt.Sprintf("repeats line %d", first), fmt.Sprintf("trùng với dòng %d", first))
			continue
		}
		seenTxn[sl.BankTransactionID] = line
		out = append(out, sl)
	}
	if len(serr.Problems) > 0 || serr.More > 0 {
		return nil, serr
	}
	return out, nil
}

// parseLine checks the four fields of one transaction line.
func parseLine(serr *SettlementError, line int, rec []string) (SettlementLine, bool) {
	before := len(serr.Problems) + serr.More
	sl := SettlementLine{Line: line, Date: rec[0], Reference: rec[1], BankTransactionID: rec[3]}
	if len(rec[0]) != len(DateLayout) {
		serr.add(line, "date", fmt.Sprintf("%q is not YYYY-MM-DD", clip(rec[0])), fmt.Sprintf("%q không theo dạng YYYY-MM-DD", clip(rec[0])))
	} else if _, err := time.Parse(DateLayout, rec[0]); err != nil {
		serr.add(line, "date", fmt.Sprintf("%q is not a valid date", clip(rec[0])), fmt.Sprintf("%q không phải ngày hợp lệ", clip(rec[0])))
	}
	if !validRef(rec[1]) {
		serr.add(line, "reference", fmt.Sprintf("%q must be 1-%d of A-Z a-z 0-9 _ -", clip(rec[1]), maxFieldLen),
			fmt.Sprintf("%q phải gồm 1-%d ký tự A-Z a-z 0-9 _ -", clip(rec[1]), maxFieldLen))
	}
	amt, err := parseAmount(rec[2])
	if err != nil {
		serr.add(line, "amount", fmt.Sprintf("%q %v", clip(rec[2]), err),
			fmt.Sprintf("%q phải là số nguyên dương đồng, chỉ gồm chữ số", clip(rec[2])))
	}
	sl.AmountVND = amt
	if !validTxnID(rec[3]) {
		serr.add(line, "bank_transaction_id", fmt.Sprintf("%q must be 1-%d printable ASCII characters without spaces, commas or quotes", clip(rec[3]), maxFieldLen),
			fmt.Sprintf("%q phải gồm 1-%d ký tự ASCII in được, không có dấu cách", clip(rec[3]), maxFieldLen))
	}
	return sl, len(serr.Problems)+serr.More == before
}

// parseAmount reads a positive whole number of đồng written in digits.
func parseAmount(s string) (int64, error) {
	if s == "" || len(s) > 13 {
		return 0, errors.New("must be a positive whole number of đồng (1-13 digits)")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("must be digits only (no sign, separators or decimals)")
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > maxAmountVND {
		return 0, errors.New("must be a positive whole number of đồng")
	}
	return v, nil
}

func validRef(s string) bool {
	if s == "" || len(s) > maxFieldLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validTxnID(s string) bool {
	if s == "" || len(s) > maxFieldLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ',' || s[i] == '"' {
			return false
		}
	}
	return true
}

// clip shortens a bad value for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	for i := 40; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// FormatSettlement writes lines as a settlement file (header first), the
// inverse of ParseSettlement for valid lines.
func FormatSettlement(lines []SettlementLine) []byte {
	var b bytes.Buffer
	b.WriteString(SettlementHeader + "\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "%s,%s,%d,%s\n", l.Date, l.Reference, l.AmountVND, l.BankTransactionID)
	}
	return b.Bytes()
}
