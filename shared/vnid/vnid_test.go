package vnid

import (
	"errors"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func TestProvinceCodesAre63(t *testing.T) {
	if len(provinces) != 63 {
		t.Fatalf("got %d province codes, want 63", len(provinces))
	}
	if name, ok := ProvinceName("096"); !ok || name != "Cà Mau" {
		t.Fatalf("096 = %q %v", name, ok)
	}
}

func TestValidateCCCD(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		dob     time.Time
		want    Gender
		wantErr bool
	}{
		{"hanoi_male_1999", "001099012345", date(1999, 5, 1), Male, false},
		{"hcm_female_2003", "079303001234", date(2003, 12, 31), Female, false},
		{"camau_female_1985", "096185000001", date(1985, 1, 1), Female, false},
		{"male_2000", "038200123456", date(2000, 1, 1), Male, false},
		{"shape_only_zero_dob", "001099012345", time.Time{}, Male, false},
		{"century_2100_male", "001400000001", date(2100, 6, 1), Male, false},
		{"wrong_year", "001099012345", date(1998, 5, 1), "", true},
		{"wrong_century", "001299012345", date(1999, 5, 1), "", true},
		{"unknown_province_003", "003099012345", date(1999, 5, 1), "", true},
		{"unknown_province_097", "097099012345", date(1999, 5, 1), "", true},
		{"eleven_digits", "00109901234", time.Time{}, "", true},
		{"thirteen_digits", "0010990123456", time.Time{}, "", true},
		{"letters", "00109901234A", time.Time{}, "", true},
		{"old_cmnd_9_digits", "012345678", time.Time{}, "", true},
		{"empty", "", time.Time{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateCCCD(tt.id, tt.dob)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestValidateMST(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"viettel", "0100109106", "0100109106", false},
		{"vietcombank", "0100112437", "0100112437", false},
		{"fpt", "0101248141", "0101248141", false},
		{"branch_with_dash", "0100109106-001", "0100109106-001", false},
		{"branch_without_dash", "0100109106123", "0100109106-123", false},
		{"surrounding_space", " 0100112437 ", "0100112437", false},
		{"bad_check_digit", "0100109107", "", true},
		{"branch_of_bad_code", "0100109107-001", "", true},
		{"branch_000", "0100109106-000", "", true},
		{"nine_digits", "010010910", "", true},
		{"letters", "01001091O6", "", true},
		{"dash_in_wrong_place", "010010910-6001", "", true},
		// sum of weights over 000000000 is 0 -> check would be 10: never issued.
		{"check_ten_never_issued", "0000000000", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateMST(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %q, err = %v, want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"viettel_03x", "0912345678", "+84912345678", false},
		{"viettel_038", "0388 123 456", "+84388123456", false},
		{"mobifone_070_dots", "070.123.4567", "+84701234567", false},
		{"vinaphone_plus84", "+84 81 234 5678", "+84812345678", false},
		{"vietnamobile_84_no_plus", "84521234567", "+84521234567", false},
		{"itel_087", "0871234567", "+84871234567", false},
		{"old_11_digit_prefix", "01681234567", "", true},
		{"landline_hanoi", "0243 826 1234", "", true},
		{"unused_prefix_030", "0301234567", "", true},
		{"unused_prefix_095", "0951234567", "", true},
		{"too_short", "091234567", "", true},
		{"foreign", "+14155552671", "", true},
		{"letters", "09123abc78", "", true},
		{"plus_in_middle", "09+12345678", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %q, err = %v, want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFoldAndNFC(t *testing.T) {
	decomposed := "Đa\u0306ng ky\u0301 khai sinh" // NFD: ă and ý as base + combining marks
	if got := NFC(decomposed); got != "Đăng ký khai sinh" {
		t.Fatalf("NFC = %q", got)
	}
	tests := []struct {
		name, in, want string
	}{
		{"d_stroke_upper", "Đăng ký", "dang ky"},
		{"d_stroke_lower", "đất đai", "dat dai"},
		{"stacked_marks", "Người nước ngoài", "nguoi nuoc ngoai"},
		{"decomposed_input", decomposed, "dang ky khai sinh"},
		{"ascii_unchanged_lowered", "GPLX 1.001193", "gplx 1.001193"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(tt.in); got != tt.want {
				t.Fatalf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := MaskPhone("+84912345678"); got != "+84912***678" {
		t.Fatalf("MaskPhone = %q", got)
	}
	if got := MaskCCCD("001099012345"); got != "*********345" {
		t.Fatalf("MaskCCCD = %q", got)
	}
}
