package feedback

import (
	"math"
	"regexp"
	"strings"
)

// Redacted replaces personal data in published text.
const Redacted = "[đã ẩn]"

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// Phone numbers: 0 or +84/84 then 9 digits, separators allowed.
	phonePattern = regexp.MustCompile(`(?:\+?84|0)(?:[ .\-]?\d){9}\b`)
	// CCCD (12 digits) and old CMND (9 digits), as whole digit runs.
	idPattern = regexp.MustCompile(`\b\d{12}\b|\b\d{9}\b`)
)

// RedactText removes e-mail addresses, phone numbers, citizen ID numbers
// (CCCD 12 digits, CMND 9 digits) and the given names (the sender's name,
// case-insensitively, whole and without accents too) from s.
func RedactText(s string, names ...string) string {
	s = emailPattern.ReplaceAllString(s, Redacted)
	s = phonePattern.ReplaceAllString(s, Redacted)
	s = idPattern.ReplaceAllString(s, Redacted)
	for _, n := range names {
		n = strings.TrimSpace(n)
		if len([]rune(n)) < 3 {
			continue
		}
		re, err := regexp.Compile(`(?i)` + regexp.QuoteMeta(n))
		if err == nil {
			s = re.ReplaceAllString(s, Redacted)
		}
	}
	return s
}

// roundCoord rounds a coordinate to 3 decimals (about 110 m), enough to
// show the place on a map without pointing at one house.
func roundCoord(v *float64) *float64 {
	if v == nil {
		return nil
	}
	r := math.Round(*v*1000) / 1000
	return &r
}
