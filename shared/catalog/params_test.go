package catalog

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		want  Query
		param string
	}{
		{"empty", "", Query{}, ""},
		{"all", "q=khai+sinh&field=H%E1%BB%99+t%E1%BB%8Bch&agency=STP&level=commune&page=2&pageSize=50",
			Query{Text: "khai sinh", Field: "Hộ tịch", Agency: "STP", Level: "commune", Page: 2, PageSize: 50}, ""},
		{"page_not_number", "page=abc", Query{}, "page"},
		{"page_zero", "page=0", Query{}, "page"},
		{"page_size_float", "pageSize=1.5", Query{}, "pageSize"},
		{"page_size_too_big", "pageSize=500", Query{}, "pageSize"},
		{"bad_level", "level=ward", Query{}, "level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.raw)
			got, err := ParseQuery(v)
			if tt.param != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Param() != tt.param {
					t.Fatalf("err = %v, want bad %s", err, tt.param)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
