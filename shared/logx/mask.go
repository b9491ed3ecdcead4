package logx

import (
	"regexp"
	"strings"
)

// Redacted replaces the whole value of an attribute whose key looks secret.
const Redacted = "[REDACTED]"

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	uuidRe  = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
)

// Mask returns s with personal identifiers hidden:
//
//   - 12-digit citizen IDs (CCCD) keep the first 3 and last 2 digits:
//     001234567889 → 001*******89;
//   - 9-digit old identity cards (CMND) likewise: 012345678 → 012****78;
//   - Vietnamese phone numbers keep the prefix with the first two digits of
//     the subscriber number and the last 3 digits: 0901234567 → 090****567,
//     +84901234567 → +8490****567, 84901234567 → 8490****567 (mobile
//     numbers 03x/05x/07x/08x/09x with 0 or 84 in front, and 11-digit
//     landlines 02x; 10-digit tax codes starting 01 stay readable);
//   - e-mail addresses keep the first 2 characters of the local part and
//     the domain: nguyenvana@gmail.com → ng********@gmail.com.
//
// A number counts only when it is a whole run of digits not glued to letters
// or underscores (so hex IDs and UUIDs stay readable). Numbers written with
// separators ("0901 234 567") are not recognised. Mask is safe for concurrent
// use and returns s itself when there is nothing to hide.
func Mask(s string) string {
	hasDigit, hasAt := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			hasDigit = true
		} else if c == '@' {
			hasAt = true
		}
	}
	if !hasDigit && !hasAt {
		return s
	}
	if hasAt {
		s = emailRe.ReplaceAllStringFunc(s, maskEmail)
	}
	if !hasDigit {
		return s
	}
	return maskDigits(s)
}

func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	local := e[:at]
	keep := 2
	if len(local) <= 2 {
		keep = 1
	}
	return local[:keep] + strings.Repeat("*", len(local)-keep) + e[at:]
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

// maskDigits masks the identifier-shaped digit runs of s.
func maskDigits(s string) string {
	var protected [][]int
	if len(s) >= 36 && strings.IndexByte(s, '-') >= 0 {
		protected = uuidRe.FindAllStringIndex(s, -1)
	}
	var b []byte // lazily allocated copy
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		start, end := i, j
		i = j
		if start > 0 && isWordByte(s[start-1]) {
			continue
		}
		if end < len(s) && isWordByte(s[end]) {
			continue
		}
		if inRanges(protected, start) {
			continue
		}
		keepHead, keepTail, ok := classify(s[start:end])
		if !ok {
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		for k := start + keepHead; k < end-keepTail; k++ {
			b[k] = '*'
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// classify says how much of a digit run to keep, and whether it is an
// identifier at all.
func classify(d string) (head, tail int, ok bool) {
	switch {
	case len(d) == 12: // CCCD
		return 3, 2, true
	case len(d) == 9: // CMND
		return 3, 2, true
	case len(d) == 10 && d[0] == '0' && isMobilePrefix(d[1]): // 0 + mobile
		return 3, 3, true
	case len(d) == 11 && d[0] == '0' && d[1] == '2': // 02 + landline
		return 3, 3, true
	case len(d) == 11 && d[0] == '8' && d[1] == '4' && isMobilePrefix(d[2]): // 84 + mobile
		return 4, 3, true
	}
	return 0, 0, false
}

// isMobilePrefix reports whether c starts a Vietnamese mobile subscriber
// number (03x, 05x, 07x, 08x, 09x); tax codes (01…) stay readable.
func isMobilePrefix(c byte) bool {
	return c == '3' || c == '5' || c == '7' || c == '8' || c == '9'
}

func inRanges(rs [][]int, pos int) bool {
	for _, r := range rs {
		if pos >= r[0] && pos < r[1] {
			return true
		}
	}
	return false
}

// secretWords are matched against whole words of a key ("api_key",
// "apiKey", "pin"); secretSubstrings anywhere in it ("access_token").
var (
	secretWords      = []string{"pin", "key", "hash", "otp", "pwd", "cvv", "auth"}
	secretSubstrings = []string{"password", "passwd", "secret", "token", "authorization", "signature", "cookie", "credential", "apikey", "privatekey", "pepper"}
)

// IsSecretKey reports whether an attribute key names a secret whose value
// must never be logged: keys containing password, secret, token,
// authorization, signature, cookie, credential or pepper, or having pin, key, hash
// or otp as a word (case-insensitive; words split at _ - . space and
// camelCase boundaries).
func IsSecretKey(key string) bool {
	lower := strings.ToLower(key)
	for _, w := range secretSubstrings {
		if strings.Contains(lower, w) {
			return true
		}
	}
	for _, w := range splitWords(key) {
		for _, s := range secretWords {
			if w == s {
				return true
			}
		}
	}
	return false
}

// splitWords splits a key into lower-case words at separators and at
// lower→upper camelCase boundaries.
func splitWords(key string) []string {
	var words []string
	start := 0
	flush := func(end int) {
		if end > start {
			words = append(words, strings.ToLower(key[start:end]))
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-' || c == '.' || c == ' ' || c == '/' || c == ':':
			flush(i)
			start = i + 1
		case c >= 'A' && c <= 'Z' && i > start && key[i-1] >= 'a' && key[i-1] <= 'z':
			flush(i)
			start = i
		}
	}
	flush(len(key))
	return words
}
