package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	cases := []struct {
		name   string
		frac   float64
		width  int
		filled int
		cells  int
	}{
		{"empty", 0, 80, 0, 40},
		{"half", 0.5, 80, 20, 40},
		{"full", 1, 80, 40, 40},
		{"over_one_is_full", 1.7, 80, 40, 40},
		{"narrow_terminal_keeps_ten_cells", 0.5, 10, 5, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Bar(tc.frac, tc.width, " tail")
			if n := strings.Count(got, "█"); n != tc.filled {
				t.Fatalf("%q: %d filled, want %d", got, n, tc.filled)
			}
			if n := strings.Count(got, "█") + strings.Count(got, "░"); n != tc.cells {
				t.Fatalf("%q: %d cells, want %d", got, n, tc.cells)
			}
			if !strings.HasSuffix(got, "] tail") {
				t.Fatalf("%q lacks the tail", got)
			}
		})
	}
}

func TestMeter_plain_lines_when_not_a_terminal(t *testing.T) {
	var buf bytes.Buffer
	m := NewMeter(&buf, "submit", 4, time.Hour)
	for range 3 {
		m.Add(1, false)
	}
	m.Add(1, true)
	m.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 { // the first line at start, the last at Done
		t.Fatalf("lines %q", lines)
	}
	if !strings.Contains(lines[1], "100% 4/4 ✗1") || !strings.HasSuffix(lines[1], "submit") {
		t.Fatalf("last line %q", lines[1])
	}
}
