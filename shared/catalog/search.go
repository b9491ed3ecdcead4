package catalog

import (
	"regexp"
	"sort"
	"strings"

	"motcua/shared/vnid"
)

// Page sizes of Search.
const (
	// DefaultPageSize is used when a query asks for none.
	DefaultPageSize = 20
	// MaxPageSize is the largest page a query may ask for.
	MaxPageSize = 100
	// maxQueryRunes bounds the free-text query.
	maxQueryRunes = 200
	// maxPage bounds the page number (keeps offsets far from overflow).
	maxPage = 100_000
)

// Query selects procedures. Empty fields do not filter.
type Query struct {
	// Text must match name, code or field: every whitespace-separated
	// token, case- and diacritics-insensitively ("dang ky" finds "Đăng ký").
	Text string
	// Field filters by lĩnh vực (accent- and case-insensitive equality).
	Field string
	// Agency filters by agency code (case-insensitive).
	Agency string
	// Level filters by level: province, district or commune.
	Level string
	// Page is 1-based; 0 means 1.
	Page int
	// PageSize is 1..MaxPageSize; 0 means DefaultPageSize.
	PageSize int
}

// Validate returns an ErrInvalidQuery *Error naming the first bad
// parameter (by its query-string name), or nil.
func (q Query) Validate() error {
	switch {
	case len([]rune(q.Text)) > maxQueryRunes:
		return InvalidParam("q", "Từ khóa tìm kiếm quá dài (tối đa 200 ký tự).", "The search text is too long (at most 200 characters).")
	case q.Level != "" && q.Level != string(LevelProvince) && q.Level != string(LevelDistrict) && q.Level != string(LevelCommune):
		return InvalidParam("level", "Cấp thực hiện phải là province, district hoặc commune.", "level must be province, district or commune.")
	case q.Page < 0 || q.Page > maxPage:
		return InvalidParam("page", "Số trang phải là số nguyên dương (tối đa 100000).", "page must be a positive integer (at most 100000).")
	case q.PageSize < 0 || q.PageSize > MaxPageSize:
		return InvalidParam("pageSize", "Kích thước trang phải từ 1 đến 100.", "pageSize must be between 1 and 100.")
	}
	return nil
}

// Page is one page of results.
type Page[T any] struct {
	// Items are the results on this page.
	Items []T `json:"items"`
	// Page is the 1-based page number.
	Page int `json:"page"`
	// PageSize is the page size used.
	PageSize int `json:"pageSize"`
	// Total is the number of matches over all pages.
	Total int `json:"total"`
	// TotalPages is ceil(Total / PageSize).
	TotalPages int `json:"totalPages"`
}

// Index is an immutable, searchable set of procedures, safe for concurrent
// use. Results come in a stable order: by name (accents folded), then code.
type Index struct {
	procs  []Procedure
	keys   []string // folded "name code field" per procedure
	fields []string // folded field per procedure
	byCode map[string]int
}

// NewIndex builds an index over procs (normalised to NFC; the slice is
// copied).
func NewIndex(procs []Procedure) *Index {
	ps := make([]Procedure, len(procs))
	for i, p := range procs {
		ps[i] = p.Normalize()
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := vnid.Fold(ps[i].Name), vnid.Fold(ps[j].Name)
		if a != b {
			return a < b
		}
		return ps[i].Code < ps[j].Code
	})
	ix := &Index{procs: ps, keys: make([]string, len(ps)), fields: make([]string, len(ps)), byCode: make(map[string]int, len(ps))}
	for i, p := range ps {
		ix.keys[i] = searchFold(p.Name + " " + p.Code + " " + p.Field)
		ix.fields[i] = strings.Join(strings.Fields(vnid.Fold(p.Field)), " ")
		ix.byCode[strings.ToUpper(p.Code)] = i
	}
	return ix
}

// Len returns the number of procedures.
func (ix *Index) Len() int { return len(ix.procs) }

// All returns every procedure in index order (a copy of the slice).
func (ix *Index) All() []Procedure { return append([]Procedure(nil), ix.procs...) }

// Get returns the procedure with the code (case-insensitive), or an
// ErrNotFound *Error.
func (ix *Index) Get(code string) (Procedure, error) {
	i, ok := ix.byCode[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return Procedure{}, notFound(code)
	}
	return ix.procs[i], nil
}

// Search returns the page of procedures matching q. Out-of-range paging
// values are clamped (callers validate first with Query.Validate); a page
// past the end is empty, never an error.
func (ix *Index) Search(q Query) Page[Procedure] {
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		size = MaxPageSize
	}
	page := min(max(q.Page, 1), maxPage)
	tokens := strings.Fields(searchFold(q.Text))
	field := strings.Join(strings.Fields(vnid.Fold(q.Field)), " ")
	agency := strings.TrimSpace(q.Agency)
	level := Level(strings.TrimSpace(q.Level))

	var hits []int
next:
	for i, p := range ix.procs {
		if field != "" && ix.fields[i] != field {
			continue
		}
		if agency != "" && !strings.EqualFold(p.Agency.Code, agency) {
			continue
		}
		if level != "" && p.Level != level {
			continue
		}
		for _, t := range tokens {
			if !strings.Contains(ix.keys[i], t) {
				continue next
			}
		}
		hits = append(hits, i)
	}
	out := Page[Procedure]{Items: []Procedure{}, Page: page, PageSize: size, Total: len(hits)}
	out.TotalPages = (len(hits) + size - 1) / size
	start := (page - 1) * size
	if start < len(hits) {
		end := min(start+size, len(hits))
		for _, i := range hits[start:end] {
			out.Items = append(out.Items, ix.procs[i])
		}
	}
	return out
}

// iyWord is a syllable whose only vowel is a final i or y after consonants
// (ki/ky, li/ly, mi/my, si/sy, ti/ty, quy/qui …): Vietnamese writes these
// either way (kí/ký, lí/lý), so search treats them alike.
var iyWord = regexp.MustCompile(`^(?:qu|[bcdghklmnpqrstvx]+)[iy]$`)

// searchFold is vnid.Fold (lower case, no diacritics) with the i/y
// spelling variants made one: "dang ki" finds "Đăng ký".
func searchFold(s string) string {
	words := strings.Fields(vnid.Fold(s))
	for i, w := range words {
		if iyWord.MatchString(w) {
			words[i] = w[:len(w)-1] + "i"
		}
	}
	return " " + strings.Join(words, " ") + " "
}
