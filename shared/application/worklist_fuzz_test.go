package application

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseWorkQueueQuery: any query string gives a query or a 422 naming
// a field, never a panic, and an accepted query has bounded values.
func FuzzParseWorkQueueQuery(f *testing.F) {
	for _, s := range []string{"", "status=received,processing&limit=20", "dueFrom=2026-12-01&dueTo=2026-12-31",
		"overdue=true&dueWithinDays=3", "limit=0", "cursor=" + strings.Repeat("A", 5000), "receivedFrom=03/12/2026", "dueWithinDays=-1",
		"status=", "status=received,", "overdue=&limit=", "cursor=%20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseWorkQueueQuery(v)
		if err != nil {
			if ae, ok := err.(*ActionError); !ok || ae.Field == "" {
				t.Fatalf("error %v names no field", err)
			}
			return
		}
		// A filter sent blank is refused, never read as "no filter"
		// (procedure excepted), as the API document's patterns say.
		for _, name := range []string{"status", "receivedFrom", "receivedTo", "dueFrom", "dueTo", "overdue", "dueWithinDays", "limit", "cursor"} {
			if v.Has(name) && strings.TrimSpace(v.Get(name)) == "" {
				t.Fatalf("blank %s accepted: %+v", name, q)
			}
		}
		if q.Limit < 0 || q.Limit > 200 || q.DueWithinDays < 0 || q.DueWithinDays > 365 || len(q.Cursor) > 4096 {
			t.Fatalf("out of bounds: %+v", q)
		}
	})
}

// FuzzParseIndexKey: parseIndexKey never panics and round-trips the keys
// IndexKey writes.
func FuzzParseIndexKey(f *testing.F) {
	f.Add("20261203T100000Z/STP-261203-0001/received/T.TP.001/20261202T080000Z", "T.TP/001 x")
	f.Add("x/y", "")
	f.Fuzz(func(t *testing.T, rest, proc string) {
		_, _ = parseIndexKey(rest)
		r := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
		a := Application{Code: "STP-261203-0001", ProcedureCode: proc, Agency: Agency{Code: "STP"}, Status: StatusReceived,
			DueAt: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), ReceivedAt: &r}
		key := IndexKey(a)
		it, ok := parseIndexKey(strings.TrimPrefix(key, IndexAgencyPrefix("STP")+familyOpen+"/"))
		if !ok || it.ProcedureCode != proc || it.Code != a.Code || !it.DueAt.Equal(a.DueAt) || it.ReceivedAt == nil || !it.ReceivedAt.Equal(r) {
			t.Fatalf("round trip of %q: %+v %v", key, it, ok)
		}
	})
}
