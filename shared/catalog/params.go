package catalog

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"motcua/shared/vnid"
)

// Query-string parameter names understood by ParseQuery.
const (
	// ParamCode selects one procedure.
	ParamCode = "code"
	// ParamText is the free-text search.
	ParamText = "q"
	// ParamField filters by lĩnh vực.
	ParamField = "field"
	// ParamAgency filters by agency code.
	ParamAgency = "agency"
	// ParamLevel filters by level.
	ParamLevel = "level"
	// ParamPage is the 1-based page number.
	ParamPage = "page"
	// ParamPageSize is the page size.
	ParamPageSize = "pageSize"
)

// ParseQuery reads a search from query-string values (q, field, agency,
// level, page, pageSize), NFC-normalising text, and validates it. A bad
// value gives an ErrInvalidQuery *Error naming the parameter.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{
		Text:   vnid.NFC(strings.TrimSpace(v.Get(ParamText))),
		Field:  vnid.NFC(strings.TrimSpace(v.Get(ParamField))),
		Agency: vnid.NFC(strings.TrimSpace(v.Get(ParamAgency))),
		Level:  vnid.NFC(strings.TrimSpace(v.Get(ParamLevel))),
	}
	var err error
	if q.Page, err = positiveInt(v, ParamPage); err != nil {
		return Query{}, err
	}
	if q.PageSize, err = positiveInt(v, ParamPageSize); err != nil {
		return Query{}, err
	}
	if err := q.Validate(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// positiveInt parses an optional positive integer parameter (absent = 0).
func positiveInt(v url.Values, name string) (int, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, InvalidParam(name,
			fmt.Sprintf("Tham số %s phải là số nguyên dương.", name),
			fmt.Sprintf("%s must be a positive integer.", name))
	}
	return n, nil
}
