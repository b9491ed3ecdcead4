package feedback

import (
	"context"
	"testing"

	"motcua/shared/docstore"
)

func TestSeedTables_are_valid(t *testing.T) {
	f, err := SeedFields()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(f.Fields) < 30 {
		t.Fatalf("%d fields, want at least 30 as provinces use", len(f.Fields))
	}
	r, err := SeedRouting()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, x := range f.Fields {
		if a, _ := r.Route(x.Code, ""); a.Code == "" {
			t.Errorf("field %s routes to no agency", x.Code)
		}
	}
}

func TestRoute(t *testing.T) {
	r, err := SeedRouting()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		field     string
		area      string
		lat, long *float64
		want      string
	}{
		{"field_rule_of_the_commune_beats_the_province", "HO_TICH", "X-VIETHUNG", nil, nil, "UBND-X-VIETHUNG"},
		{"field_rule_of_the_province_elsewhere", "HO_TICH", "H-SOCSON", nil, nil, "STP"},
		{"field_rule_of_the_district_for_a_commune_inside", "DAT_DAI", "X-VIETHUNG", nil, nil, "UBND-H-DONGANH"},
		{"field_rule_beats_an_any_field_district_rule", "CU_TRU", "H-DONGANH", nil, nil, "CA-TINH"},
		{"any_field_district_rule_when_no_field_rule", "KHAC", "H-SOCSON", nil, nil, "UBND-H-SOCSON"},
		{"default_without_location", "KHAC", "", nil, nil, "VP-UBND"},
		{"coordinates_in_the_commune", "RAC_THAI", "", f64(21.1375), f64(105.8842), "UBND-X-VIETHUNG"},
		{"coordinates_in_the_district_outside_the_commune", "RAC_THAI", "", f64(21.10), f64(105.76), "UBND-H-DONGANH"},
		{"coordinates_outside_every_area", "RAC_THAI", "", f64(10.77), f64(106.70), "VP-UBND"},
		{"unknown_area_code_falls_back_to_coordinates", "RAC_THAI", "NOPE", f64(21.1375), f64(105.8842), "UBND-X-VIETHUNG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			area := r.ResolveArea(tc.area, tc.lat, tc.long)
			a, rule := r.Route(tc.field, area)
			if a.Code != tc.want {
				t.Fatalf("Route(%s, %q) = %s (%s), want %s", tc.field, area, a.Code, rule, tc.want)
			}
		})
	}
}

func TestTables_seed_once_and_new_versions(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("data")
	f, r, err := NewTables(store).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 1 || r.Version != 1 {
		t.Fatalf("seeded versions %d/%d, want 1/1", f.Version, r.Version)
	}
	r.Rules = append(r.Rules, Rule{Field: "KHAC", Agency: "STP"})
	n, err := StoreTable(ctx, store, TableRouting, r)
	if err != nil || n != 2 {
		t.Fatalf("StoreTable = %d, %v; want 2", n, err)
	}
	_, r2, err := NewTables(store).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := r2.Route("KHAC", ""); a.Code != "STP" || r2.Version != 2 {
		t.Fatalf("v%d routes KHAC to %s, want v2 STP", r2.Version, a.Code)
	}
	bad := r
	bad.Default = "NOPE"
	if _, err := StoreTable(ctx, store, TableRouting, bad); err == nil {
		t.Fatal("an invalid table was stored")
	}
}
