// Package progress draws the progress bars of motcua's commands on a
// terminal: `motcua jobs watch` and `motcua-bench -province` share it.
//
// Bar renders one line; Meter redraws a counting bar in place on a terminal
// and, when the output is not a terminal (CI logs, a file), prints a plain
// line at most every few seconds instead.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar renders "[████░░░░] tail" for a fraction frac (clamped to 0..1) done,
// sized to fit a terminal width columns wide (10 to 40 cells of bar).
func Bar(frac float64, width int, tail string) string {
	frac = min(1, max(0, frac))
	n := max(10, min(40, width-len([]rune(tail))-3))
	filled := int(frac * float64(n))
	return "[" + strings.Repeat("█", filled) + strings.Repeat("░", n-filled) + "]" + tail
}

// Terminal reports whether w is a terminal, and its width (80 when unknown).
func Terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	return true, width
}

// Meter counts the items of one stage and shows them on w. Safe for
// concurrent use: Add is called by the stage's workers.
type Meter struct {
	w     io.Writer
	label string
	total int64
	begin time.Time
	tty   bool
	width int
	every time.Duration

	mu      sync.Mutex
	done    int64
	failed  int64
	drawn   time.Time
	stopped bool
}

// NewMeter starts a meter of total items labelled label on w. Plain lines
// (not a terminal) are printed at most every interval.
func NewMeter(w io.Writer, label string, total int, interval time.Duration) *Meter {
	tty, width := Terminal(w)
	m := &Meter{w: w, label: label, total: int64(total), begin: time.Now(), tty: tty, width: width, every: interval}
	m.draw(true)
	return m
}

// Add records n items done (failed ones counted apart) and redraws when due.
func (m *Meter) Add(n int, failed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if failed {
		m.failed += int64(n)
	} else {
		m.done += int64(n)
	}
	m.drawLocked(false)
}

// Done finishes the meter's line.
func (m *Meter) Done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.drawLocked(true)
	if m.tty {
		fmt.Fprintln(m.w)
	}
	m.stopped = true
}

// Line returns the meter's current text (without the bar).
func (m *Meter) Line() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tail()
}

func (m *Meter) draw(force bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drawLocked(force)
}

func (m *Meter) tail() string {
	el := time.Since(m.begin).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(m.done+m.failed) / el
	}
	eta := "?"
	if left := m.total - m.done - m.failed; rate > 0 && left >= 0 {
		eta = (time.Duration(float64(left)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if m.total > 0 {
		pct = 100 * float64(m.done+m.failed) / float64(m.total)
	}
	return fmt.Sprintf(" %3.0f%% %d/%d ✗%d  %.1f/s  ETA %s  %s", pct, m.done+m.failed, m.total, m.failed, rate, eta, m.label)
}

func (m *Meter) drawLocked(force bool) {
	if m.stopped {
		return
	}
	now := time.Now()
	every := m.every
	if m.tty {
		every = 100 * time.Millisecond
	}
	if !force && now.Sub(m.drawn) < every {
		return
	}
	m.drawn = now
	frac := 1.0
	if m.total > 0 {
		frac = float64(m.done+m.failed) / float64(m.total)
	}
	if m.tty {
		fmt.Fprint(m.w, "\r\x1b[K"+Bar(frac, m.width, m.tail()))
		return
	}
	fmt.Fprintf(m.w, "%s %s\n", now.UTC().Format("15:04:05"), strings.TrimSpace(m.tail()))
}
