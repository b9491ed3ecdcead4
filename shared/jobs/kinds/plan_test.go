package kinds

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/jobs"
	"motcua/shared/payment"
)

func TestPlanPayments(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("d")
	for _, p := range []payment.Payment{
		{Ref: "MC0003", ApplicationCode: "STP-261202-0003"},
		{Ref: "MC0001", ApplicationCode: "stp-261202-0001"},
		{Ref: "MC0002", ApplicationCode: "BXD-261202-0002"},
		{Ref: "MC0004", ApplicationCode: "STPX-261202-0004"},
	} {
		if _, err := docstore.PutJSON(ctx, store, payment.Prefix+p.Ref+".json", p, docstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	all := func(context.Context, payment.Payment) (bool, error) { return true, nil }
	boom := errors.New("boom")
	for _, c := range []struct {
		name    string
		scope   jobs.Scope
		keep    func(context.Context, payment.Payment) (bool, error)
		want    []string
		wantErr error
	}{
		{"all_sorted_by_ref", jobs.Scope{}, all, []string{"MC0001", "MC0002", "MC0003", "MC0004"}, nil},
		{"agency_prefix_any_case", jobs.Scope{Agency: "stp"}, all, []string{"MC0001", "MC0003"}, nil},
		{"limit_after_sorting", jobs.Scope{Limit: 2}, all, []string{"MC0001", "MC0002"}, nil},
		{"keep_filters", jobs.Scope{}, func(_ context.Context, p payment.Payment) (bool, error) { return p.Ref != "MC0002", nil },
			[]string{"MC0001", "MC0003", "MC0004"}, nil},
		{"keep_error_stops_the_plan", jobs.Scope{}, func(context.Context, payment.Payment) (bool, error) { return false, boom }, nil, boom},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := planPayments(ctx, store, c.scope, c.keep, func(p payment.Payment) jobs.Item {
				return jobs.Item{Key: p.Ref}
			}, func(it jobs.Item) error { got = append(got, it.Key); return nil })
			if !errors.Is(err, c.wantErr) || !slices.Equal(got, c.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		name     string
		t, f, to time.Time
		want     bool
	}{
		{"open_both_ends", day(5), time.Time{}, time.Time{}, true},
		{"from_is_inclusive", day(5), day(5), time.Time{}, true},
		{"before_from", day(4), day(5), time.Time{}, false},
		{"to_is_exclusive", day(6), time.Time{}, day(6), false},
		{"inside", day(5), day(4), day(6), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := within(c.t, c.f, c.to); got != c.want {
				t.Fatalf("within = %v, want %v", got, c.want)
			}
		})
	}
}
