package catalog

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzParseQuery feeds arbitrary query strings to ParseQuery and searches
// the seed catalog with what it accepts: no panic, refusals are
// ErrInvalidQuery, accepted queries are valid and trimmed, and a search
// returns a consistent page whatever the Unicode normalisation of the text.
func FuzzParseQuery(f *testing.F) {
	procs, err := SeedProcedures()
	if err != nil {
		f.Fatalf("SeedProcedures: %v", err)
	}
	ix := NewIndex(procs)
	for _, s := range []string{
		"",
		"q=dang+ky+khai+sinh",
		"q=%C4%90%C4%83ng+k%C3%BD&level=commune&page=1&pageSize=10",
		"q=Da%CC%86ng+ky%CC%81",
		"field=H%E1%BB%99+t%E1%BB%8Bch&agency=UBND-XA",
		"level=province&page=2&pageSize=100",
		"level=ward",
		"page=0",
		"page=-1",
		"page=100001",
		"page=99999999999999999999",
		"pageSize=101",
		"pageSize=+5",
		"pageSize=0x10",
		"q=" + strings.Repeat("a", 201),
		"q=" + strings.Repeat("%E1%BA%A1", 200),
		"q=%FF%FE",
		"q=a&q=b&page=1&page=x",
		"q=%zz",
		"q=+++&field=+&agency=%09",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // keeps what parsed, as handlers do
		q, err := ParseQuery(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("ParseQuery(%q): error %v is not ErrInvalidQuery", raw, err)
			}
			if q != (Query{}) {
				t.Fatalf("ParseQuery returned %+v with error", q)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted query does not validate: %+v: %v", q, err)
		}
		for _, s := range []string{q.Text, q.Field, q.Agency, q.Level} {
			if s != strings.TrimSpace(s) {
				t.Fatalf("accepted query not trimmed: %+v", q)
			}
		}
		if q.Page < 0 || q.Page > maxPage || q.PageSize < 0 || q.PageSize > MaxPageSize {
			t.Fatalf("accepted query out of range: %+v", q)
		}
		page := ix.Search(q)
		if page.Page < 1 || page.PageSize < 1 || page.PageSize > MaxPageSize {
			t.Fatalf("Search(%+v) paging %d/%d", q, page.Page, page.PageSize)
		}
		if len(page.Items) > page.PageSize || page.Total < len(page.Items) || page.Total > ix.Len() {
			t.Fatalf("Search(%+v): %d items, total %d, size %d", q, len(page.Items), page.Total, page.PageSize)
		}
		if page.TotalPages*page.PageSize < page.Total {
			t.Fatalf("Search(%+v): %d pages of %d cannot hold %d", q, page.TotalPages, page.PageSize, page.Total)
		}
		nq := q
		nq.Text, nq.Field = norm.NFC.String(q.Text), norm.NFC.String(q.Field)
		if !reflect.DeepEqual(ix.Search(nq), page) {
			t.Fatalf("Search depends on normalisation: %+v vs %+v", q, nq)
		}
	})
}
