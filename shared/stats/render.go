package stats

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// CSV renders the report's figures as CSV (UTF-8 with a byte-order mark,
// so spreadsheet programs show Vietnamese correctly), one figure a row.
func CSV(r Report) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"id", "label", "label_en", "value", "unit", "numerator", "denominator", "formula", "from", "to", "agency", "field", "level"})
	for _, f := range r.Figures {
		_ = w.Write([]string{f.ID, f.Label, f.LabelEn, fmtPtr(f.Value), f.Unit, fmtInt(f.Numerator), fmtInt(f.Denominator), f.Formula,
			r.Query.From, r.Query.To, r.Query.Agency, r.Query.Field, r.Query.Level})
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// MonthsCSV renders the report's monthly series as CSV.
func MonthsCSV(r Report) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"month", "received", "online", "direct", "postal", "early", "on_time", "late", "feedback_received", "feedback_answered", "feedback_answered_in_time"})
	for _, m := range r.Months {
		row := []string{m.Month}
		for _, n := range []int64{m.Received, m.Online, m.Direct, m.Postal, m.Early, m.OnTime, m.Late, m.FbReceived, m.FbAnswered, m.FbInTime} {
			row = append(row, strconv.FormatInt(n, 10))
		}
		_ = w.Write(row)
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func fmtPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func fmtInt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

//go:embed page.html.tmpl
var pageFS embed.FS

var pageTmpl = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"fmtValue": fmtValue,
}).ParseFS(pageFS, "page.html.tmpl"))

// Chart geometry (SVG user units; the SVG scales to the screen width).
const (
	chartW    = 640
	chartH    = 240
	chartLeft = 52
	chartTop  = 12
	plotH     = 180
)

// Bar is one rectangle of a chart.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// Tick is an axis label.
type Tick struct {
	X, Y  float64
	Label string
}

// Chart is one SVG chart, laid out.
type Chart struct {
	ID, Title string
	W, H      int
	Bars      []Bar
	XTicks    []Tick
	YTicks    []Tick
	Legend    []LegendItem
	// Empty is true when there is nothing to draw.
	Empty bool
}

// LegendItem names a series.
type LegendItem struct {
	Class, Label string
}

// series is one stacked series: a class, a label and a value per month.
type series struct {
	class, label string
	values       []float64
}

// stacked lays out stacked bars, one per month; percent stacks each bar to
// 100 %.
func stacked(id, title string, months []string, ss []series, percent bool) Chart {
	c := Chart{ID: id, Title: title, W: chartW, H: chartH}
	n := len(months)
	totals := make([]float64, n)
	max := 0.0
	for i := range n {
		for _, s := range ss {
			totals[i] += s.values[i]
		}
		if totals[i] > max {
			max = totals[i]
		}
	}
	if percent {
		max = 100
	}
	c.Empty = true
	for _, t := range totals {
		if t > 0 {
			c.Empty = false
		}
	}
	if !percent {
		max = niceMax(max)
	}
	slot := float64(chartW-chartLeft-8) / float64(max1(n))
	barW := slot * 0.7
	for i, m := range months {
		x := chartLeft + float64(i)*slot + (slot-barW)/2
		y := float64(chartTop + plotH)
		for _, s := range ss {
			v := s.values[i]
			if percent && totals[i] > 0 {
				v = 100 * v / totals[i]
			}
			h := v / max * plotH
			if h <= 0 {
				continue
			}
			y -= h
			c.Bars = append(c.Bars, Bar{X: r1(x), Y: r1(y), W: r1(barW), H: r1(h), Class: s.class,
				Title: fmt.Sprintf("%s %s: %s", m, s.label, fmtNum(s.values[i], percent, totals[i]))})
		}
		// At most about six month labels, the last month always labelled,
		// so they stay legible on a phone.
		if step := (n + 5) / 6; (n-1-i)%step == 0 {
			c.XTicks = append(c.XTicks, Tick{X: r1(x + barW/2), Y: chartTop + plotH + 16, Label: shortMonth(m)})
		}
	}
	for _, f := range []float64{0, 0.5, 1} {
		label := fmtValue(max*f, "count")
		if percent {
			label = fmt.Sprintf("%.0f%%", 100*f)
		}
		c.YTicks = append(c.YTicks, Tick{X: chartLeft - 6, Y: r1(chartTop + plotH - f*plotH + 4), Label: label})
	}
	for _, s := range ss {
		c.Legend = append(c.Legend, LegendItem{Class: s.class, Label: s.label})
	}
	return c
}

// niceMax rounds a count axis up to 2, 4, 6, 8 or 10 × 10^k, so that its
// middle tick is a whole number too.
func niceMax(v float64) float64 {
	for scale := 1.0; ; scale *= 10 {
		for _, m := range []float64{2, 4, 6, 8, 10} {
			if m*scale >= v {
				return m * scale
			}
		}
	}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func r1(x float64) float64 { return float64(int(x*10+0.5)) / 10 }

func fmtNum(v float64, percent bool, total float64) string {
	if percent && total > 0 {
		return fmt.Sprintf("%.0f (%.1f%%)", v, 100*v/total)
	}
	return fmt.Sprintf("%.0f", v)
}

// shortMonth turns 2026-11 into 11/26.
func shortMonth(m string) string {
	if len(m) != 7 {
		return m
	}
	return m[5:] + "/" + m[2:4]
}

// fmtValue formats a figure's value the Vietnamese way (1.234.567; 12,5 %).
func fmtValue(v any, unit string) string {
	var x float64
	switch t := v.(type) {
	case *float64:
		if t == nil {
			return "–"
		}
		x = *t
	case float64:
		x = t
	default:
		return fmt.Sprint(v)
	}
	switch unit {
	case "percent":
		return strings.Replace(strconv.FormatFloat(x, 'f', 2, 64), ".", ",", 1) + " %"
	case "score":
		return strings.Replace(strconv.FormatFloat(x, 'f', 2, 64), ".", ",", 1)
	}
	s := strconv.FormatInt(int64(x), 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, '.')
		}
		out = append(out, s[i])
	}
	if unit == "vnd" {
		return string(out) + " đ"
	}
	return string(out)
}

// Page is the data of the public HTML page.
type Page struct {
	Report   Report
	Trend    []MonthRow
	Charts   []Chart
	Scope    string
	Period   string
	Headline []Figure
}

// HTML renders the public page: headline figures, three SVG charts drawn
// here (no script, no external asset) and the full table with formulas.
// trend is the monthly series the charts show (the report's own months, or
// a longer window for a one-month report).
func HTML(r Report, trend []MonthRow) ([]byte, error) {
	months := make([]string, len(trend))
	col := func(f func(MonthRow) int64) []float64 {
		out := make([]float64, len(trend))
		for i, m := range trend {
			out[i] = float64(f(m))
		}
		return out
	}
	for i, m := range trend {
		months[i] = m.Month
	}
	p := Page{Report: r, Trend: trend}
	p.Charts = []Chart{
		stacked("chart-channels", "Hồ sơ tiếp nhận theo tháng và kênh nộp", months, []series{
			{"s-online", "Trực tuyến", col(func(m MonthRow) int64 { return m.Online })},
			{"s-direct", "Trực tiếp", col(func(m MonthRow) int64 { return m.Direct })},
			{"s-postal", "Bưu chính công ích", col(func(m MonthRow) int64 { return m.Postal })},
		}, false),
		stacked("chart-timeliness", "Tỷ lệ giải quyết trước hạn, đúng hạn, trễ hạn", months, []series{
			{"s-early", "Trước hạn", col(func(m MonthRow) int64 { return m.Early })},
			{"s-ontime", "Đúng hạn", col(func(m MonthRow) int64 { return m.OnTime })},
			{"s-late", "Trễ hạn", col(func(m MonthRow) int64 { return m.Late })},
		}, true),
		stacked("chart-feedback", "Phản ánh, kiến nghị trả lời đúng hạn", months, []series{
			{"s-intime", "Đúng hạn", col(func(m MonthRow) int64 { return m.FbInTime })},
			{"s-overdue", "Quá hạn", col(func(m MonthRow) int64 { return m.FbAnswered - m.FbInTime })},
		}, false),
	}
	p.Period = r.Query.From
	if r.Query.To != r.Query.From {
		p.Period += " – " + r.Query.To
	}
	var scope []string
	if r.Query.Agency != "" {
		scope = append(scope, "cơ quan "+r.Query.Agency)
	}
	if r.Query.Field != "" {
		scope = append(scope, "lĩnh vực "+r.Query.Field)
	}
	if r.Query.Level != "" {
		scope = append(scope, "cấp "+levelVi(r.Query.Level))
	}
	p.Scope = "Toàn tỉnh"
	if len(scope) > 0 {
		p.Scope = strings.Join(scope, ", ")
	}
	for _, id := range []string{"applications_received", "online_share", "in_time_share", "late_share", "online_payment_share", "feedback_handled_share", "satisfaction_applications", "satisfaction_index"} {
		if f, ok := r.Figure(id); ok {
			p.Headline = append(p.Headline, f)
		}
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("stats page: %w", err)
	}
	return b.Bytes(), nil
}

func levelVi(l string) string {
	switch l {
	case "province":
		return "tỉnh"
	case "district":
		return "huyện"
	case "commune":
		return "xã"
	}
	return l
}
