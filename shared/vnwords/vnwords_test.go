package vnwords_test

import (
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"motcua/shared/vnwords"
)

func TestVND(t *testing.T) {
	cases := []struct {
		name string
		n    int64
		want string
	}{
		{"zero", 0, "Không đồng"},
		{"one", 1, "Một đồng"},
		{"five", 5, "Năm đồng"},
		{"ten", 10, "Mười đồng"},
		{"eleven", 11, "Mười một đồng"},
		{"fifteen_lam", 15, "Mười lăm đồng"},
		{"twenty_one_mot", 21, "Hai mươi mốt đồng"},
		{"twenty_four_bon", 24, "Hai mươi bốn đồng"},
		{"twenty_five_lam", 25, "Hai mươi lăm đồng"},
		{"forty", 40, "Bốn mươi đồng"},
		{"hundred", 100, "Một trăm đồng"},
		{"hundred_one_linh", 101, "Một trăm linh một đồng"},
		{"hundred_five_linh_nam", 105, "Một trăm linh năm đồng"},
		{"hundred_ten", 110, "Một trăm mười đồng"},
		{"hundred_eleven", 111, "Một trăm mười một đồng"},
		{"hundred_fifteen", 115, "Một trăm mười lăm đồng"},
		{"thousand", 1_000, "Một nghìn đồng"},
		{"thousand_five", 1_005, "Một nghìn không trăm linh năm đồng"},
		{"thousand_fifty", 1_050, "Một nghìn không trăm năm mươi đồng"},
		{"ten_thousand", 10_000, "Mười nghìn đồng"},
		{"fifteen_thousand", 15_000, "Mười lăm nghìn đồng"},
		{"twenty_one_thousand", 21_000, "Hai mươi mốt nghìn đồng"},
		{"hundred_thousand", 100_000, "Một trăm nghìn đồng"},
		{"hundred_fifty_thousand", 150_000, "Một trăm năm mươi nghìn đồng"},
		{"million", 1_000_000, "Một triệu đồng"},
		{"million_and_one", 1_000_001, "Một triệu không trăm linh một đồng"},
		{"million_and_thousand", 1_001_000, "Một triệu không trăm linh một nghìn đồng"},
		{"twenty_one_million_five", 21_500_000, "Hai mươi mốt triệu năm trăm nghìn đồng"},
		{"billion", 1_000_000_000, "Một tỷ đồng"},
		{"billion_and_fifteen", 1_000_000_015, "Một tỷ không trăm mười lăm đồng"},
		{"two_billion_one_thousand", 2_000_001_000, "Hai tỷ không trăm linh một nghìn đồng"},
		{"hundred_five_billion_fifteen", 105_000_000_015, "Một trăm linh năm tỷ không trăm mười lăm đồng"},
		{"largest_hundreds_of_billions", 999_999_999_999,
			"Chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín đồng"},
		{"thousand_billion", 1_000_000_000_000, "Một nghìn tỷ đồng"},
		{"negative_adjustment", -20_000, "Âm hai mươi nghìn đồng"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := vnwords.VND(tc.n); got != tc.want {
				t.Errorf("VND(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

// parse reads words produced by Number back into a number; it is the test
// oracle of the fuzz target, written independently of the speller.
func parse(t testing.TB, s string) (uint64, bool) {
	value := map[string]uint64{"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4,
		"năm": 5, "lăm": 5, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
	neg := false
	var total, cur, grp, pending uint64
	for i, w := range strings.Fields(s) {
		switch w {
		case "âm":
			if i != 0 {
				t.Fatalf("%q: âm not first", s)
			}
			neg = true
		case "trăm":
			grp += pending * 100
			pending = 0
		case "mươi":
			grp += pending * 10
			pending = 0
		case "mười":
			grp += 10
		case "linh":
		case "nghìn":
			cur += (grp + pending) * 1000
			grp, pending = 0, 0
		case "triệu":
			cur += (grp + pending) * 1_000_000
			grp, pending = 0, 0
		case "tỷ":
			total = (total + cur + grp + pending) * 1_000_000_000
			cur, grp, pending = 0, 0, 0
		default:
			v, ok := value[w]
			if !ok {
				t.Fatalf("%q: unknown word %q", s, w)
			}
			pending = v
		}
	}
	return total + cur + grp + pending, neg
}

func check(t testing.TB, n int64) {
	s := vnwords.VND(n)
	if !strings.HasSuffix(s, " đồng") {
		t.Fatalf("VND(%d) = %q: no unit", n, s)
	}
	first, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(first) {
		t.Fatalf("VND(%d) = %q: not capitalised", n, s)
	}
	if strings.Contains(s, "  ") || strings.TrimSpace(s) != s || !norm.NFC.IsNormalString(s) {
		t.Fatalf("VND(%d) = %q: bad spacing or not NFC", n, s)
	}
	words := strings.ToLower(strings.TrimSuffix(s, " đồng"))
	got, neg := parse(t, words)
	want := uint64(n)
	if n < 0 {
		want = uint64(-(n + 1)) + 1
	}
	if got != want || neg != (n < 0) {
		t.Fatalf("VND(%d) = %q reads back as %d (negative %v)", n, s, got, neg)
	}
}

func TestVND_round_trip(t *testing.T) {
	for n := int64(0); n < 3000; n++ {
		check(t, n)
	}
	for _, n := range []int64{math.MaxInt64, math.MinInt64, 1_000_000_000_000_001, 10_000_000_000} {
		check(t, n)
	}
}

func FuzzVND(f *testing.F) {
	for _, n := range []int64{0, 1, 15, 21, 105, 1_005, 1_000_001, 105_000_000_015, 999_999_999_999, -5, math.MaxInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) { check(t, n) })
}
