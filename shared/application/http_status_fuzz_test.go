package application

import (
	"regexp"
	"testing"
)

// idNumberPattern is RecoverPinRequest.idNumber's pattern in
// api/openapi.yaml without its length bound (httpx.Validate's max=20
// checks the length first).
var idNumberPattern = regexp.MustCompile(`^[0-9]([0-9 -]*[0-9])?$`)

// FuzzIDNumberShape: recover-pin's idNumber check accepts exactly what the
// API document's pattern admits, never panics.
func FuzzIDNumberShape(f *testing.F) {
	for _, s := range []string{"", "1", "001190123456", "0011-9012 3456", "-1", "1-", " 1", "CCCD 1", "１２", "0101234567-001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := idNumberShape(s), idNumberPattern.MatchString(s); got != want {
			t.Fatalf("idNumberShape(%q) = %v, the document's pattern says %v", s, got, want)
		}
	})
}
