// Package workdays does the working-day arithmetic of Vietnamese
// administrative procedures: due dates counted in working days of state
// agencies (Monday–Friday, minus public holidays and official days off,
// plus announced compensatory working Saturdays) and the early / on-time /
// late classification of settled applications.
//
// All dates are taken in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). A
// Calendar is immutable once built and safe for concurrent use.
package workdays

import (
	"bytes"
	_ "embed" // holiday calendar
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh even on images without zoneinfo
)

//go:embed holidays/vn.json
var vnHolidays []byte

// EnvHolidaysFile names the environment variable that points to an extra
// holiday file, merged over the embedded calendar by FromEnv.
const EnvHolidaysFile = "MOTCUA_HOLIDAYS_FILE"

// Office hours used by the due-date convention.
const (
	// NoonHour splits the morning session from the afternoon one.
	NoonHour = 12
	// CloseHour is the end of office hours; a due date is at this hour.
	CloseHour = 17
	// SameDayCutoffHour is the latest receipt hour still settled the same
	// day for 0-day procedures (as for chứng thực, Decree 23/2015/NĐ-CP art. 7).
	SameDayCutoffHour = 15
)

// Settlement outcomes returned by Settlement.
const (
	// Early (trước hạn): settled on a day before the due day.
	Early = "early"
	// OnTime (đúng hạn): settled on the due day.
	OnTime = "on_time"
	// Late (trễ hạn): settled after the due day.
	Late = "late"
)

// ErrInvalidCalendar is wrapped by every LoadCalendar error.
var ErrInvalidCalendar = errors.New("workdays: invalid calendar")

// Location is Asia/Ho_Chi_Minh, or a fixed UTC+7 zone if it cannot be loaded.
var Location = loadLocation()

func loadLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
}

// Day is one dated entry of a holiday file.
type Day struct {
	// Date is YYYY-MM-DD.
	Date string `json:"date"`
	// Name says why (Vietnamese).
	Name string `json:"name"`
}

// File is the JSON form of a holiday calendar.
type File struct {
	// Comment is free text.
	Comment string `json:"comment,omitempty"`
	// From (YYYY-MM-DD, optional) is the first day the file is known to be
	// complete for.
	From string `json:"from,omitempty"`
	// To (YYYY-MM-DD, optional) is the last day the file is known to be
	// complete for.
	To string `json:"to,omitempty"`
	// DaysOff are holidays and official days off (weekdays not worked).
	DaysOff []Day `json:"days_off"`
	// WorkingDays are compensatory working days (usually Saturdays).
	WorkingDays []Day `json:"working_days"`
}

type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.In(Location).Date()
	return civil{y, m, d}
}

func (c civil) time(hour int) time.Time {
	return time.Date(c.y, c.m, c.d, hour, 0, 0, 0, Location)
}

func (c civil) next() civil { return civilOf(c.time(NoonHour).AddDate(0, 0, 1)) }

func (c civil) before(o civil) bool {
	if c.y != o.y {
		return c.y < o.y
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.d < o.d
}

// Calendar answers working-day questions. Build one with Default,
// LoadCalendar or FromEnv.
type Calendar struct {
	off     map[civil]string
	working map[civil]string
	from    civil
	to      civil
}

// LoadCalendar parses a holiday file (see holidays/vn.json). Every bad
// entry is reported, not just the first.
func LoadCalendar(r io.Reader) (*Calendar, error) {
	var f File
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: decode: %w", ErrInvalidCalendar, err)
	}
	c := &Calendar{off: map[civil]string{}, working: map[civil]string{}}
	var errs []error
	parse := func(field, s string) (civil, bool) {
		t, err := time.ParseInLocation(time.DateOnly, s, Location)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: date %q is not YYYY-MM-DD", field, s))
			return civil{}, false
		}
		return civilOf(t), true
	}
	for i, d := range f.DaysOff {
		if cd, ok := parse(fmt.Sprintf("days_off[%d]", i), d.Date); ok {
			c.off[cd] = d.Name
		}
	}
	for i, d := range f.WorkingDays {
		field := fmt.Sprintf("working_days[%d]", i)
		if cd, ok := parse(field, d.Date); ok {
			if _, dup := c.off[cd]; dup {
				errs = append(errs, fmt.Errorf("%s: %s is also listed as a day off", field, d.Date))
				continue
			}
			c.working[cd] = d.Name
		}
	}
	if f.From != "" {
		c.from, _ = parse("from", f.From)
	}
	if f.To != "" {
		c.to, _ = parse("to", f.To)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCalendar, errors.Join(errs...))
	}
	return c, nil
}

// Default returns the embedded Vietnamese calendar (2024–2027).
func Default() (*Calendar, error) {
	c, err := LoadCalendar(bytes.NewReader(vnHolidays))
	if err != nil {
		return nil, fmt.Errorf("embedded holidays/vn.json: %w", err)
	}
	return c, nil
}

// FromEnv returns the embedded calendar merged with the file named by
// MOTCUA_HOLIDAYS_FILE when getenv returns a non-empty path.
func FromEnv(getenv func(string) string) (*Calendar, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	path := getenv(EnvHolidaysFile)
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvHolidaysFile, err)
	}
	defer f.Close()
	extra, err := LoadCalendar(f)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", EnvHolidaysFile, path, err)
	}
	return c.Merge(extra), nil
}

// Merge returns a new calendar with other's entries over c's: a date that
// other lists as a working day stops being a day off and vice versa.
func (c *Calendar) Merge(other *Calendar) *Calendar {
	m := &Calendar{off: map[civil]string{}, working: map[civil]string{}, from: c.from, to: c.to}
	for k, v := range c.off {
		m.off[k] = v
	}
	for k, v := range c.working {
		m.working[k] = v
	}
	for k, v := range other.off {
		delete(m.working, k)
		m.off[k] = v
	}
	for k, v := range other.working {
		delete(m.off, k)
		m.working[k] = v
	}
	if other.from != (civil{}) && (m.from == (civil{}) || other.from.before(m.from)) {
		m.from = other.from
	}
	if other.to != (civil{}) && m.to.before(other.to) {
		m.to = other.to
	}
	return m
}

// Covers reports whether t falls in the period the calendar is known to be
// complete for; outside it only weekends are excluded.
func (c *Calendar) Covers(t time.Time) bool {
	d := civilOf(t)
	return !d.before(c.from) && !c.to.before(d)
}

func (c *Calendar) isWorking(d civil) bool {
	if _, ok := c.off[d]; ok {
		return false
	}
	if _, ok := c.working[d]; ok {
		return true
	}
	wd := d.time(NoonHour).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// IsWorkingDay reports whether the day of t (in Asia/Ho_Chi_Minh) is a
// working day of state agencies.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.isWorking(civilOf(t))
}

// HolidayName returns why the day of t is a day off ("" for ordinary days
// and weekends).
func (c *Calendar) HolidayName(t time.Time) string {
	return c.off[civilOf(t)]
}

func (c *Calendar) nextWorking(d civil) civil {
	d = d.next()
	for !c.isWorking(d) {
		d = d.next()
	}
	return d
}

// AddWorkingDays returns the due time of an application received at
// received with a legal processing time of days working days.
//
// Convention (one-stop "half-day" rule):
//   - An application received on a working day before 12:00 counts that day
//     as its first working day; one received from 12:00, or on a day off,
//     counts from the next working day.
//   - The due time is 17:00 (end of office hours) of the days-th working day
//     so counted: received Monday 09:00 with 3 days is due Wednesday 17:00;
//     received Monday 14:00 with 3 days is due Thursday 17:00.
//   - days <= 0 (same-day procedures): due 17:00 the day of receipt when it
//     is a working day and the application came in before 15:00, otherwise
//     17:00 of the next working day.
//
// The result is in Asia/Ho_Chi_Minh.
func (c *Calendar) AddWorkingDays(received time.Time, days int) time.Time {
	local := received.In(Location)
	d := civilOf(local)
	if days <= 0 {
		if !c.isWorking(d) || local.Hour() >= SameDayCutoffHour {
			d = c.nextWorking(d)
		}
		return d.time(CloseHour)
	}
	if !c.isWorking(d) || local.Hour() >= NoonHour {
		d = c.nextWorking(d)
	}
	for i := 1; i < days; i++ {
		d = c.nextWorking(d)
	}
	return d.time(CloseHour)
}

// Settlement classifies a settled application against its due time, by
// calendar day in Asia/Ho_Chi_Minh: "early" when settled on a day before the
// due day, "on_time" on the due day, "late" after it.
func Settlement(due, settled time.Time) string {
	dd, sd := civilOf(due), civilOf(settled)
	switch {
	case sd.before(dd):
		return Early
	case dd.before(sd):
		return Late
	default:
		return OnTime
	}
}

// WorkingDaysBetween counts the working days after a's day up to and
// including b's day; negative when b is before a. With a = now and b = due
// it gives the days left (0 = due today); with a = due and b = settled, the
// working days late.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	da, db := civilOf(a), civilOf(b)
	sign := 1
	if db.before(da) {
		da, db, sign = db, da, -1
	}
	n := 0
	for d := da; d.before(db); {
		d = d.next()
		if c.isWorking(d) {
			n++
		}
	}
	return sign * n
}
