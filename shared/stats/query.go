package stats

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"motcua/shared/catalog"
	"motcua/shared/fault"
)

// MaxMonths bounds a query's period (five years).
const MaxMonths = 60

// Period kinds.
const (
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodYear    = "year"
	PeriodCustom  = "custom"
)

// Query is one indicators request.
type Query struct {
	// Period is month, quarter, year or custom.
	Period string `json:"period"`
	// From and To are the first and last month (YYYY-MM), inclusive.
	From string `json:"from"`
	To   string `json:"to"`
	// Agency, Field and Level narrow the scope ("" = the whole province).
	Agency string `json:"agency,omitempty"`
	Field  string `json:"field,omitempty"`
	Level  string `json:"level,omitempty"`
}

// Months lists the query's months in order.
func (q Query) Months() []string {
	from, _ := time.Parse("2006-01", q.From)
	to, _ := time.Parse("2006-01", q.To)
	var out []string
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// ErrInvalidQuery is a bad query parameter (400, naming it).
var ErrInvalidQuery = fault.New("stats", "invalid_query", http.StatusBadRequest,
	"Tham số truy vấn không hợp lệ.", "A query parameter is invalid.")

func badParam(param, vi, en string) error {
	return ErrInvalidQuery.WithParam(param).WithMessages(vi, en)
}

var (
	reMonth   = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	reYear    = regexp.MustCompile(`^\d{4}$`)
	reAgency  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
)

// ParseQuery reads a query from URL parameters:
//
//	period=month&month=2026-11 | period=quarter&quarter=2026-Q4 | period=year&year=2026 |
//	period=custom&from=2026-01&to=2026-06     (whole months; at most MaxMonths)
//	agency=STP  field=Hộ tịch  level=province|district|commune
//
// Without period, a month, quarter or year parameter picks the kind; with
// none at all the period is the current month (by now, Asia/Ho_Chi_Minh).
func ParseQuery(v url.Values, now time.Time) (Query, error) {
	var q Query
	q.Period = strings.TrimSpace(v.Get("period"))
	if q.Period == "" {
		switch {
		case v.Has("from") || v.Has("to"):
			q.Period = PeriodCustom
		case v.Has("quarter"):
			q.Period = PeriodQuarter
		case v.Has("year"):
			q.Period = PeriodYear
		default:
			q.Period = PeriodMonth
		}
	}
	switch q.Period {
	case PeriodMonth:
		m := strings.TrimSpace(v.Get("month"))
		if m == "" {
			m = MonthOf(now)
		}
		if !reMonth.MatchString(m) {
			return q, badParam("month", "Tháng phải có dạng YYYY-MM, ví dụ 2026-11.", "month must be YYYY-MM, e.g. 2026-11.")
		}
		q.From, q.To = m, m
	case PeriodQuarter:
		s := strings.ToUpper(strings.TrimSpace(v.Get("quarter")))
		g := reQuarter.FindStringSubmatch(s)
		if g == nil {
			return q, badParam("quarter", "Quý phải có dạng YYYY-Qn, ví dụ 2026-Q4.", "quarter must be YYYY-Qn, e.g. 2026-Q4.")
		}
		n, _ := strconv.Atoi(g[2])
		q.From, q.To = fmt.Sprintf("%s-%02d", g[1], 3*n-2), fmt.Sprintf("%s-%02d", g[1], 3*n)
	case PeriodYear:
		y := strings.TrimSpace(v.Get("year"))
		if !reYear.MatchString(y) {
			return q, badParam("year", "Năm phải có dạng YYYY, ví dụ 2026.", "year must be YYYY, e.g. 2026.")
		}
		q.From, q.To = y+"-01", y+"-12"
	case PeriodCustom:
		q.From, q.To = strings.TrimSpace(v.Get("from")), strings.TrimSpace(v.Get("to"))
		if !reMonth.MatchString(q.From) {
			return q, badParam("from", "Tháng bắt đầu phải có dạng YYYY-MM (số liệu tổng hợp theo tháng).", "from must be a month YYYY-MM (figures are kept per month).")
		}
		if !reMonth.MatchString(q.To) {
			return q, badParam("to", "Tháng kết thúc phải có dạng YYYY-MM (số liệu tổng hợp theo tháng).", "to must be a month YYYY-MM (figures are kept per month).")
		}
		if q.To < q.From {
			return q, badParam("to", "Tháng kết thúc phải không trước tháng bắt đầu.", "to must not be before from.")
		}
		if len(q.Months()) > MaxMonths {
			return q, badParam("to", fmt.Sprintf("Khoảng thời gian tối đa %d tháng.", MaxMonths), fmt.Sprintf("The period spans at most %d months.", MaxMonths))
		}
	default:
		return q, badParam("period", "Kỳ báo cáo phải là month, quarter, year hoặc custom.", "period must be month, quarter, year or custom.")
	}
	q.Agency = strings.TrimSpace(v.Get("agency"))
	if q.Agency != "" && !reAgency.MatchString(q.Agency) {
		return q, badParam("agency", "Mã cơ quan không hợp lệ.", "agency must be an agency code (letters, digits, - or _).")
	}
	q.Field = strings.TrimSpace(v.Get("field"))
	if len([]rune(q.Field)) > 200 {
		return q, badParam("field", "Lĩnh vực tối đa 200 ký tự.", "field has at most 200 characters.")
	}
	q.Level = strings.TrimSpace(v.Get("level"))
	switch catalog.Level(q.Level) {
	case "", catalog.LevelProvince, catalog.LevelDistrict, catalog.LevelCommune:
	default:
		return q, badParam("level", "Cấp thực hiện phải là province, district hoặc commune.", "level must be province, district or commune.")
	}
	return q, nil
}

// matches reports whether the cell of agency is in q's scope. Feedback
// cells have no level: a level filter leaves them out.
func (q Query) matches(agency, cell string) bool {
	if q.Agency != "" && !strings.EqualFold(q.Agency, agency) {
		return false
	}
	field, level := splitCell(cell)
	if q.Field != "" && !strings.EqualFold(q.Field, field) {
		return false
	}
	return q.Level == "" || q.Level == level
}

// MonthTotals is one month's totals in scope.
type MonthTotals struct {
	Month string   `json:"month"`
	C     Counters `json:"-"`
}

// Totals sums q's months in scope, returning the total and each month's.
func (s *Service) Totals(ctx context.Context, q Query) (Counters, []MonthTotals, error) {
	months := q.Months()
	sums := make([]Summary, len(months))
	errs := make([]error, len(months))
	done := make(chan int, len(months))
	for i, m := range months {
		go func() {
			sums[i], errs[i] = ReadSummary(ctx, s.store, m)
			done <- i
		}()
	}
	for range months {
		<-done
	}
	var total Counters
	per := make([]MonthTotals, len(months))
	for i, m := range months {
		if errs[i] != nil {
			return Counters{}, nil, errs[i]
		}
		per[i].Month = m
		for agency, pt := range sums[i].Agencies {
			for cell, c := range pt.Cells {
				if q.matches(agency, cell) {
					per[i].C.Add(c)
				}
			}
		}
		total.Add(per[i].C)
	}
	return total, per, nil
}

// offered counts the catalog's procedures in q's scope by online level
// and level of government, and how many of them got applications.
func offered(ix *catalog.Index, q Query, got map[string]int64) (byOnline, byLevel map[string]int64, withApps int64) {
	byOnline, byLevel = map[string]int64{}, map[string]int64{}
	if ix == nil {
		return byOnline, byLevel, 0
	}
	for _, p := range ix.All() {
		if q.Agency != "" && !strings.EqualFold(q.Agency, p.Agency.Code) ||
			q.Field != "" && !strings.EqualFold(q.Field, p.Field) ||
			q.Level != "" && q.Level != string(p.Level) {
			continue
		}
		if p.OnlineLevel != catalog.OnlineFull && p.OnlineLevel != catalog.OnlinePartial {
			continue
		}
		byOnline[string(p.OnlineLevel)]++
		byLevel[string(p.Level)]++
		if got[p.Code] > 0 {
			withApps++
		}
	}
	return byOnline, byLevel, withApps
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
