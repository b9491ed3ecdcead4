// Package vnid validates and normalises Vietnamese identifiers and text: the
// 12-digit citizen ID (CCCD), the tax code (MST), mobile phone numbers, and
// the NFC / accent-folding helpers used by search.
//
// Every function is pure and safe for concurrent use. Validation errors wrap
// ErrInvalid so callers can test with errors.Is and still show the detail.
package vnid

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("vnid: invalid")

// Gender is the gender encoded in a CCCD.
type Gender string

// Genders encoded in the CCCD's fourth digit.
const (
	// Male is encoded by an even century digit (0, 2, 4, 6, 8).
	Male Gender = "male"
	// Female is encoded by an odd century digit (1, 3, 5, 7, 9).
	Female Gender = "female"
)

// provinces maps the 3-digit CCCD place-of-birth-registration code to the
// province of the 63-province map the codes were issued under (Circular
// 07/2016/TT-BCA, replaced by Circular 59/2021/TT-BCA). Codes stay valid on
// cards issued before the 2025 province mergers.
var provinces = map[string]string{
	"001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
	"008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
	"014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
	"020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
	"026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
	"033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
	"037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
	"044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
	"049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
	"056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
	"064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
	"070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
	"077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
	"083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
	"089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
	"094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

// ProvinceName returns the province a CCCD place code stands for, and
// whether the code is one of the 63.
func ProvinceName(code string) (string, bool) {
	name, ok := provinces[code]
	return name, ok
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidateCCCD checks a 12-digit citizen ID against the holder's date of
// birth and returns the gender it encodes.
//
// Layout: 3-digit province code, 1 century+gender digit (0/1 = 1900s
// male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 2300s), 2 digits of
// the year of birth, 6 serial digits. Pass the zero time as dob to check the
// shape only.
func ValidateCCCD(id string, dob time.Time) (Gender, error) {
	if len(id) != 12 || !allDigits(id) {
		return "", fmt.Errorf("%w: CCCD must be exactly 12 digits", ErrInvalid)
	}
	if _, ok := provinces[id[:3]]; !ok {
		return "", fmt.Errorf("%w: CCCD province code %s is not a province code", ErrInvalid, id[:3])
	}
	cg := int(id[3] - '0')
	gender := Male
	if cg%2 == 1 {
		gender = Female
	}
	century := 1900 + 100*(cg/2)
	year := century + int(id[4]-'0')*10 + int(id[5]-'0')
	if !dob.IsZero() && dob.Year() != year {
		return "", fmt.Errorf("%w: CCCD encodes birth year %d, date of birth is in %d", ErrInvalid, year, dob.Year())
	}
	return gender, nil
}

// mstWeights are the weights of the first nine MST digits; the tenth digit
// is 10 - (weighted sum mod 11), and a sum that leaves 0 gives no valid code.
var mstWeights = [9]int{31, 29, 23, 19, 17, 13, 7, 5, 3}

// ValidateMST checks a tax code: 10 digits with a check digit, or 13 digits
// (the 10-digit code of the parent plus a 3-digit branch suffix 001–999),
// with or without a dash before the suffix. It returns the canonical form
// (10 digits, or 10 digits + "-" + 3 digits).
func ValidateMST(s string) (string, error) {
	s = strings.TrimSpace(s)
	var base, branch string
	switch {
	case len(s) == 10:
		base = s
	case len(s) == 13:
		base, branch = s[:10], s[10:]
	case len(s) == 14 && s[10] == '-':
		base, branch = s[:10], s[11:]
	default:
		return "", fmt.Errorf("%w: MST must have 10 digits or 13 digits (branch suffix)", ErrInvalid)
	}
	if !allDigits(base) || (branch != "" && !allDigits(branch)) {
		return "", fmt.Errorf("%w: MST must contain digits only (and one dash before the branch)", ErrInvalid)
	}
	sum := 0
	for i, w := range mstWeights {
		sum += int(base[i]-'0') * w
	}
	check := 10 - sum%11
	if check == 10 || int(base[9]-'0') != check {
		return "", fmt.Errorf("%w: MST check digit does not match", ErrInvalid)
	}
	if branch == "" {
		return base, nil
	}
	if branch == "000" {
		return "", fmt.Errorf("%w: MST branch suffix must be 001-999", ErrInvalid)
	}
	return base + "-" + branch, nil
}

// mobilePrefixes are the 3-digit national prefixes of Vietnamese mobile
// networks after the 2018 conversion to 10-digit numbers.
var mobilePrefixes = map[string]bool{
	// Viettel
	"032": true, "033": true, "034": true, "035": true, "036": true, "037": true, "038": true, "039": true,
	"086": true, "096": true, "097": true, "098": true,
	// Vinaphone
	"081": true, "082": true, "083": true, "084": true, "085": true, "088": true, "091": true, "094": true,
	// MobiFone
	"070": true, "076": true, "077": true, "078": true, "079": true, "089": true, "090": true, "093": true,
	// Vietnamobile, Gmobile, Reddi, Itelecom
	"052": true, "056": true, "058": true, "092": true,
	"059": true, "099": true,
	"055": true,
	"087": true,
}

// NormalizePhone turns a Vietnamese mobile number written as 0xxxxxxxxx,
// 84xxxxxxxxx or +84xxxxxxxxx (spaces, dots and dashes allowed) into E.164
// (+84 followed by 9 digits). Numbers whose network prefix is not a current
// mobile prefix are rejected.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: phone number contains %q", ErrInvalid, r)
		}
	}
	d := b.String()
	var national string
	switch {
	case len(d) == 10 && d[0] == '0':
		national = d
	case len(d) == 11 && strings.HasPrefix(d, "84"):
		national = "0" + d[2:]
	default:
		return "", fmt.Errorf("%w: phone number must be 10 digits starting with 0 or +84 and 9 digits", ErrInvalid)
	}
	if !mobilePrefixes[national[:3]] {
		return "", fmt.Errorf("%w: %s is not a Vietnamese mobile prefix", ErrInvalid, national[:3])
	}
	return "+84" + national[1:], nil
}

// MaskPhone hides the middle of a phone number for logs: "+84912***678".
func MaskPhone(s string) string {
	if len(s) < 7 {
		return "***"
	}
	return s[:len(s)-6] + "***" + s[len(s)-3:]
}

// MaskCCCD hides a citizen ID for logs, keeping the last 3 digits.
func MaskCCCD(s string) string {
	if len(s) < 4 {
		return "***"
	}
	return strings.Repeat("*", len(s)-3) + s[len(s)-3:]
}

// NFC returns s in Unicode normalisation form C (precomposed Vietnamese
// letters), the form motcua stores all text in.
func NFC(s string) string {
	return norm.NFC.String(s)
}

// Fold returns s lower-cased with Vietnamese diacritics removed and đ/Đ
// mapped to d, for accent-insensitive matching: Fold("Đăng ký") == "dang ky".
func Fold(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
