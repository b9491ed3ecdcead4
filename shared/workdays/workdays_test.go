package workdays

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, Location)
	if err != nil {
		panic(err) // test helper with literal input
	}
	return t
}

func mustDefault(t *testing.T) *Calendar {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmbeddedCalendarIsSane(t *testing.T) {
	c := mustDefault(t)
	perYear := map[int]int{}
	for d := range c.off {
		wd := d.time(NoonHour).Weekday()
		if wd == time.Saturday || wd == time.Sunday {
			t.Errorf("day off %v is a weekend day; list only weekdays", d)
		}
		perYear[d.y]++
	}
	for y := 2024; y <= 2027; y++ {
		// Labour Code 2019 art. 112: 11 public holidays a year; all fall on
		// or are moved to weekdays for state agencies.
		if perYear[y] < 11 {
			t.Errorf("%d has %d weekday days off, want at least 11", y, perYear[y])
		}
	}
	for d := range c.working {
		if wd := d.time(NoonHour).Weekday(); wd != time.Saturday {
			t.Errorf("compensatory working day %v is a %v, want Saturday", d, wd)
		}
	}
	if !c.Covers(at("2027-12-31 10:00")) || c.Covers(at("2028-01-03 10:00")) {
		t.Error("Covers should be true through 2027 only")
	}
}

func TestIsWorkingDay(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name string
		at   string
		want bool
	}{
		{"ordinary_monday", "2025-03-03 09:00", true},
		{"saturday", "2025-03-08 09:00", false},
		{"sunday", "2025-03-09 09:00", false},
		{"new_year_2025", "2025-01-01 09:00", false},
		{"tet_2024_first_day_off", "2024-02-08 09:00", false},
		{"tet_2024_after", "2024-02-15 09:00", true},
		{"tet_2025_mung_1", "2025-01-29 09:00", false},
		{"tet_2026_mung_4", "2026-02-20 09:00", false},
		{"tet_2026_back_to_work", "2026-02-23 09:00", true},
		{"tet_2027_substitute", "2027-02-11 09:00", false},
		{"hung_kings_2025", "2025-04-07 09:00", false},
		{"hung_kings_2026_substitute_monday", "2026-04-27 09:00", false},
		{"compensatory_saturday_2025", "2025-04-26 09:00", true},
		{"swapped_friday_2025", "2025-05-02 09:00", false},
		{"compensatory_saturday_2024", "2024-05-04 09:00", true},
		{"national_day_2024_adjacent", "2024-09-03 09:00", false},
		{"national_day_2025_adjacent", "2025-09-01 09:00", false},
		{"may_day_2027_substitute", "2027-05-03 09:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := at(tt.at)
			if got := c.IsWorkingDay(in); got != tt.want {
				t.Fatalf("IsWorkingDay(%v) = %v, want %v", in, got, tt.want)
			}
		})
	}
}

func TestIsWorkingDayConvertsToHanoiTime(t *testing.T) {
	c := mustDefault(t)
	// 17:30 UTC on 31/12/2024 is 00:30 on 1/1/2025 in Ha Noi: a holiday.
	if c.IsWorkingDay(time.Date(2024, 12, 31, 17, 30, 0, 0, time.UTC)) {
		t.Fatal("UTC time should be read in Asia/Ho_Chi_Minh")
	}
	if got := c.HolidayName(time.Date(2024, 12, 31, 17, 30, 0, 0, time.UTC)); got != "Tết Dương lịch" {
		t.Fatalf("HolidayName = %q", got)
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name     string
		received string
		days     int
		want     string
	}{
		{"morning_counts_same_day", "2025-03-03 09:00", 3, "2025-03-05 17:00"},
		{"afternoon_counts_next_day", "2025-03-03 14:00", 3, "2025-03-06 17:00"},
		{"noon_is_afternoon", "2025-03-03 12:00", 1, "2025-03-04 17:00"},
		{"just_before_noon", "2025-03-03 11:59", 1, "2025-03-03 17:00"},
		{"friday_afternoon_skips_weekend", "2025-03-07 13:00", 1, "2025-03-10 17:00"},
		{"received_saturday", "2025-03-08 09:00", 1, "2025-03-10 17:00"},
		{"received_sunday_5_days", "2025-03-09 09:00", 5, "2025-03-14 17:00"},
		{"across_tet_2024", "2024-02-07 15:00", 1, "2024-02-15 17:00"},
		{"across_tet_2025", "2025-01-24 10:00", 2, "2025-02-03 17:00"},
		{"across_tet_2026", "2026-02-13 08:00", 5, "2026-02-26 17:00"},
		{"across_tet_2027", "2027-02-04 09:00", 2, "2027-02-12 17:00"},
		{"received_during_tet", "2025-01-29 09:00", 1, "2025-02-03 17:00"},
		{"year_end_2025", "2025-12-31 14:00", 1, "2026-01-05 17:00"},
		{"year_end_morning_2025", "2025-12-31 09:00", 2, "2026-01-05 17:00"},
		{"compensatory_saturday_counts", "2025-04-25 14:00", 1, "2025-04-26 17:00"},
		{"april_30_may_1_2025", "2025-04-29 09:00", 2, "2025-05-05 17:00"},
		{"april_swap_2024", "2024-04-26 14:00", 1, "2024-05-02 17:00"},
		{"april_swap_2024_saturday", "2024-04-26 14:00", 3, "2024-05-04 17:00"},
		{"hung_kings_2026_substitute", "2026-04-24 13:00", 1, "2026-04-28 17:00"},
		{"national_day_2025", "2025-08-29 10:00", 2, "2025-09-03 17:00"},
		{"national_day_2024", "2024-08-30 14:00", 1, "2024-09-04 17:00"},
		{"fifteen_days", "2025-03-03 09:00", 15, "2025-03-21 17:00"},
		{"same_day_before_cutoff", "2025-03-03 14:59", 0, "2025-03-03 17:00"},
		{"same_day_after_cutoff", "2025-03-03 15:00", 0, "2025-03-04 17:00"},
		{"same_day_on_weekend", "2025-03-08 09:00", 0, "2025-03-10 17:00"},
		{"same_day_on_holiday", "2025-09-02 09:00", 0, "2025-09-03 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingDays(at(tt.received), tt.days)
			if want := at(tt.want); !got.Equal(want) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s", tt.received, tt.days, got.Format(time.DateTime), tt.want)
			}
			if got.Location() != Location {
				t.Fatalf("result in %v, want %v", got.Location(), Location)
			}
		})
	}
	t.Run("utc_input_morning_local", func(t *testing.T) {
		got := c.AddWorkingDays(time.Date(2025, 3, 3, 3, 0, 0, 0, time.UTC), 1) // 10:00 local
		if !got.Equal(at("2025-03-03 17:00")) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("utc_input_afternoon_local", func(t *testing.T) {
		got := c.AddWorkingDays(time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC), 1) // 12:00 local
		if !got.Equal(at("2025-03-04 17:00")) {
			t.Fatalf("got %v", got)
		}
	})
}

func TestSettlement(t *testing.T) {
	due := at("2025-03-05 17:00")
	tests := []struct {
		name, settled, want string
	}{
		{"day_before", "2025-03-04 16:00", Early},
		{"on_due_morning", "2025-03-05 08:00", OnTime},
		{"on_due_after_hours", "2025-03-05 19:30", OnTime},
		{"next_day", "2025-03-06 08:00", Late},
		{"weekend_after", "2025-03-08 10:00", Late},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Settlement(due, at(tt.settled)); got != tt.want {
				t.Fatalf("Settlement = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name, a, b string
		want       int
	}{
		{"same_day", "2025-03-03 09:00", "2025-03-03 17:00", 0},
		{"mon_to_fri", "2025-03-03 09:00", "2025-03-07 09:00", 4},
		{"across_weekend", "2025-03-07 09:00", "2025-03-10 09:00", 1},
		{"across_tet_2025", "2025-01-24 09:00", "2025-02-03 09:00", 1},
		{"late_by_two_over_may_day", "2025-04-29 17:00", "2025-05-06 10:00", 2},
		{"reverse_is_negative", "2025-03-07 09:00", "2025-03-03 09:00", -4},
		{"year_end", "2025-12-31 09:00", "2026-01-12 09:00", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkingDaysBetween(at(tt.a), at(tt.b)); got != tt.want {
				t.Fatalf("WorkingDaysBetween = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLoadCalendarErrors(t *testing.T) {
	tests := []struct {
		name, in, wantIn string
	}{
		{"bad_date", `{"days_off":[{"date":"2026-13-01"}]}`, "days_off[0]"},
		{"unknown_field", `{"holidays":[]}`, "unknown field"},
		{"both_off_and_working", `{"days_off":[{"date":"2026-03-07"}],"working_days":[{"date":"2026-03-07"}]}`, "working_days[0]"},
		{"not_json", `nope`, "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCalendar(strings.NewReader(tt.in))
			if !errors.Is(err, ErrInvalidCalendar) || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("err = %v, want ErrInvalidCalendar mentioning %q", err, tt.wantIn)
			}
		})
	}
}

func TestFromEnvMergesOperatorFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extra.json")
	extra := `{"to":"2028-12-31","days_off":[{"date":"2026-09-03","name":"Quốc khánh (liền kề)"},{"date":"2028-01-03","name":"test"}],
"working_days":[{"date":"2026-09-01","name":"corrected"}]}`
	if err := os.WriteFile(path, []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnv(func(k string) string {
		if k == EnvHolidaysFile {
			return path
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.IsWorkingDay(at("2026-09-03 09:00")) || !c.IsWorkingDay(at("2026-09-01 09:00")) {
		t.Fatal("operator file should move the National Day adjacent day to 3/9/2026")
	}
	if c.IsWorkingDay(at("2028-01-03 09:00")) || !c.Covers(at("2028-06-01 09:00")) {
		t.Fatal("operator file should extend the calendar into 2028")
	}
	if c.IsWorkingDay(at("2025-01-29 09:00")) {
		t.Fatal("merge lost the embedded entries")
	}
	if _, err := FromEnv(func(string) string { return filepath.Join(t.TempDir(), "missing.json") }); err == nil {
		t.Fatal("missing file should be an error")
	}
}
