package citizenguard

import (
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"motcua/shared/fault"
)

// Kind describes one kind of citizen-facing identifier (an application
// code, a payment reference, a receipt number…): its field name, its exact
// shape and its error messages. Domain packages declare one Kind per
// identifier and wrap Parse in a typed constructor:
//
//	var codeKind = citizenguard.Kind{Field: "code", Pattern: `^[A-Z0-9]+(-[A-Z0-9]+)*-[0-9]{6}-[0-9]{4,8}$`, MaxLen: 80, Upper: true, …}
//	type Code struct{ v string }
//	func ParseCode(s string) (Code, error) { v, err := codeKind.Parse(s); return Code{v}, err }
//
// so only a string of the right shape ever becomes a Code, and storage keys
// take a Code, never a string.
type Kind struct {
	// Field names the request member carrying it ("code", "ref").
	Field string
	// Pattern is the exact shape (anchored regular expression, ASCII).
	Pattern *regexp.Regexp
	// MaxLen bounds the length in bytes, checked before the pattern.
	MaxLen int
	// Upper upper-cases the trimmed input before checking it.
	Upper bool
	// NameVi and NameEn name the identifier in messages ("mã hồ sơ",
	// "application code").
	NameVi, NameEn string
	// Example is a well-formed value shown in the error message.
	Example string
}

// ErrInvalidID is the 400 "invalid_identifier" for an identifier of the
// wrong shape (the field is named in the problem's errors).
var ErrInvalidID = fault.New("citizenguard", "invalid_identifier", http.StatusBadRequest,
	"Mã không đúng định dạng.", "The identifier is malformed.")

// ErrMissingID is the 400 "required" for an empty identifier.
var ErrMissingID = fault.New("citizenguard", "required", http.StatusBadRequest,
	"Thiếu mã.", "The identifier is required.")

// Parse returns the canonical form of s (trimmed, upper-cased when k.Upper)
// if it has exactly k's shape; otherwise an ErrInvalidID (or ErrMissingID
// when blank) naming k.Field, with bilingual messages. The result contains
// only characters of k.Pattern, so it is safe in a storage key.
func (k Kind) Parse(s string) (string, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return "", ErrMissingID.WithParam(k.Field).WithMessages(
			"Phải nhập "+k.NameVi+".", "The "+k.NameEn+" ("+k.Field+") is required.")
	}
	if k.Upper {
		v = strings.ToUpper(v)
	}
	if len(v) > k.MaxLen || !utf8.ValidString(v) || !k.Pattern.MatchString(v) {
		ex := ""
		if k.Example != "" {
			ex = " (ví dụ " + k.Example + ")"
		}
		exEn := ""
		if k.Example != "" {
			exEn = " (for example " + k.Example + ")"
		}
		return "", ErrInvalidID.WithParam(k.Field).WithMessages(
			capitalize(k.NameVi)+" không đúng định dạng"+ex+".",
			"The "+k.NameEn+" ("+k.Field+") is malformed"+exEn+".")
	}
	return v, nil
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
