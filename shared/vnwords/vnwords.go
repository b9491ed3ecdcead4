// Package vnwords spells amounts of money in Vietnamese words, as printed on
// receipts and invoices ("Một trăm năm mươi nghìn đồng").
//
// Reading rules (the ones official documents use):
//   - 0 in the tens after a hundred is read "linh" (northern usage; the
//     southern "lẻ" is not used): 105 → "một trăm linh năm";
//   - 10 is "mười", 20..90 are "hai mươi".."chín mươi";
//   - 1 after "mươi" is "mốt" (21 → "hai mươi mốt"), but "một" after "mười"
//     (11 → "mười một") and alone;
//   - 5 after "mười" or "mươi" is "lăm" (15 → "mười lăm", 25 → "hai mươi
//     lăm"), "năm" elsewhere; 4 is always "bốn" (not "tư");
//   - groups of three digits are named nghìn, triệu, tỷ; beyond 999 tỷ the
//     scales compose ("một nghìn tỷ");
//   - a group of all zeros is skipped; a later group whose hundreds digit is
//     0 is read with "không trăm" (1 005 → "một nghìn không trăm linh năm",
//     105 000 000 015 → "một trăm linh năm tỷ không trăm mười lăm").
//
// Every function is pure and safe for concurrent use.
package vnwords

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

var digits = [10]string{"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"}

const billion = 1_000_000_000

// Number spells n in lower-case Vietnamese words; a negative n starts with
// "âm".
func Number(n int64) string {
	if n == 0 {
		return digits[0]
	}
	var b strings.Builder
	u := uint64(n)
	if n < 0 {
		b.WriteString("âm ")
		u = uint64(-(n + 1)) + 1 // -MinInt64 does not fit an int64
	}
	spell(&b, u, true)
	return b.String()
}

// VND spells an amount of đồng with a capital first letter and the unit,
// e.g. VND(150000) = "Một trăm năm mươi nghìn đồng".
func VND(n int64) string {
	return Capitalize(Number(n)) + " đồng"
}

// Capitalize upper-cases the first letter of s.
func Capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// spell writes n (> 0). leading is true when nothing precedes n, so its
// first group is read without "không trăm".
func spell(b *strings.Builder, n uint64, leading bool) {
	if n >= billion {
		spell(b, n/billion, leading)
		b.WriteString(" tỷ")
		if rest := n % billion; rest != 0 {
			spell(b, rest, false)
		}
		return
	}
	groups := [3]uint64{n / 1_000_000, n / 1000 % 1000, n % 1000}
	scales := [3]string{" triệu", " nghìn", ""}
	for i, g := range groups {
		if g == 0 {
			continue
		}
		group(b, int(g), leading)
		b.WriteString(scales[i])
		leading = false
	}
}

// group writes one group of three digits (1..999). After a previous group
// (leading false) the hundreds are always read, "không trăm" included.
func group(b *strings.Builder, g int, leading bool) {
	h, t, u := g/100, g/10%10, g%10
	word := func(w string) {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	full := !leading || h > 0
	if full {
		word(digits[h])
		word("trăm")
	}
	switch t {
	case 0:
		if u == 0 {
			return
		}
		if full {
			word("linh")
		}
		word(digits[u])
	case 1:
		word("mười")
		switch u {
		case 0:
		case 5:
			word("lăm")
		default:
			word(digits[u])
		}
	default:
		word(digits[t])
		word("mươi")
		switch u {
		case 0:
		case 1:
			word("mốt")
		case 5:
			word("lăm")
		default:
			word(digits[u])
		}
	}
}
