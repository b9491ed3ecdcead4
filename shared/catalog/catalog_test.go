package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

func seed(t *testing.T) []Procedure {
	t.Helper()
	procs, err := SeedProcedures()
	if err != nil {
		t.Fatal(err)
	}
	return procs
}

func TestSeedIsValidRealisticAndNFC(t *testing.T) {
	procs := seed(t)
	if err := Validate(procs); err != nil {
		t.Fatalf("seed invalid: %v", err)
	}
	if len(procs) < 15 {
		t.Fatalf("seed has %d procedures, want at least 15", len(procs))
	}
	levels := map[Level]int{}
	kinds := map[FeeKind]int{}
	online := map[OnlineLevel]int{}
	for _, p := range procs {
		levels[p.Level]++
		kinds[p.Fee.Kind]++
		online[p.OnlineLevel]++
		if p.Normalize().Name != p.Name || !norm.NFC.IsNormalString(p.Fee.Note) {
			t.Errorf("%s: text not in NFC", p.Code)
		}
		for _, f := range p.FormFields {
			if !norm.NFC.IsNormalString(f.Label) {
				t.Errorf("%s.%s: label not in NFC", p.Code, f.Name)
			}
		}
	}
	for _, l := range []Level{LevelProvince, LevelDistrict, LevelCommune} {
		if levels[l] < 3 {
			t.Errorf("level %s has %d procedures, want at least 3", l, levels[l])
		}
	}
	for _, k := range []FeeKind{FeeKindFee, FeeKindCharge, FeeKindFree} {
		if kinds[k] == 0 {
			t.Errorf("no procedure with fee kind %s", k)
		}
	}
	if online[OnlineFull] == 0 || online[OnlinePartial] == 0 {
		t.Errorf("online levels not both represented: %v", online)
	}
	ix := NewIndex(procs)
	gplx, err := ix.Get("T.GT.001")
	if err != nil {
		t.Fatal(err)
	}
	if gplx.Fee.Amount(false) != 135000 || gplx.Fee.Amount(true) != 115000 {
		t.Errorf("driving licence fee = %d / %d online", gplx.Fee.Amount(false), gplx.Fee.Amount(true))
	}
}

func validProc() Procedure {
	return Procedure{
		Code: "T.TEST.001", Name: "Thủ tục thử", Field: "Thử nghiệm",
		Agency: Agency{Code: "STP", Name: "Sở Tư pháp"}, Level: LevelProvince, OnlineLevel: OnlineFull,
		ProcessingDays: 5, Fee: Fee{AmountVND: 10000, Kind: FeeKindCharge},
		Documents:  []DocumentSpec{{Code: "TK", Name: "Tờ khai", Required: true, Formats: []string{"pdf"}, MaxSizeMB: 5}},
		FormFields: []FieldSpec{{Name: "hoTen", Label: "Họ tên", Type: FieldString, Required: true}},
		Version:    1, UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func i64(v int64) *int64 { return &v }

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Procedure)
		want   string // substring of one issue path
	}{
		{"missing_code", func(p *Procedure) { p.Code = "" }, ".code"},
		{"bad_code", func(p *Procedure) { p.Code = "mã có dấu" }, ".code"},
		{"missing_name", func(p *Procedure) { p.Name = "  " }, ".name"},
		{"missing_field", func(p *Procedure) { p.Field = "" }, ".field"},
		{"missing_agency", func(p *Procedure) { p.Agency.Code = "" }, ".agency.code"},
		{"bad_level", func(p *Procedure) { p.Level = "ward" }, ".level"},
		{"bad_online_level", func(p *Procedure) { p.OnlineLevel = "level4" }, ".onlineLevel"},
		{"negative_days", func(p *Procedure) { p.ProcessingDays = -1 }, ".processingDays"},
		{"absurd_days", func(p *Procedure) { p.ProcessingDays = 1000 }, ".processingDays"},
		{"zero_version", func(p *Procedure) { p.Version = 0 }, ".version"},
		{"no_updated_at", func(p *Procedure) { p.UpdatedAt = time.Time{} }, ".updatedAt"},
		{"free_with_amount", func(p *Procedure) { p.Fee = Fee{AmountVND: 5000, Kind: FeeKindFree} }, ".fee.amountVND"},
		{"charge_without_amount", func(p *Procedure) { p.Fee.AmountVND = 0 }, ".fee.amountVND"},
		{"negative_fee", func(p *Procedure) { p.Fee.AmountVND = -5 }, ".fee.amountVND"},
		{"online_fee_above_counter", func(p *Procedure) { p.Fee.OnlineAmountVND = i64(20000) }, ".fee.onlineAmountVND"},
		{"unknown_fee_kind", func(p *Procedure) { p.Fee.Kind = "tip" }, ".fee.kind"},
		{"duplicate_document", func(p *Procedure) { p.Documents = append(p.Documents, p.Documents[0]) }, ".documents[1].code"},
		{"bad_format", func(p *Procedure) { p.Documents[0].Formats = []string{"exe"} }, ".documents[0].formats"},
		{"huge_document", func(p *Procedure) { p.Documents[0].MaxSizeMB = 500 }, ".documents[0].maxSizeMB"},
		{"bad_field_name", func(p *Procedure) { p.FormFields[0].Name = "họ tên" }, ".formFields[0].name"},
		{"duplicate_field", func(p *Procedure) { p.FormFields = append(p.FormFields, p.FormFields[0]) }, ".formFields[1].name"},
		{"enum_without_options", func(p *Procedure) { p.FormFields[0].Type = FieldEnum }, ".formFields[0].options"},
		{"unknown_field_type", func(p *Procedure) { p.FormFields[0].Type = "blob" }, ".formFields[0].type"},
		{"bad_pattern", func(p *Procedure) { p.FormFields[0].Pattern = "([0-9" }, ".formFields[0].pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProc()
			p.Documents = append([]DocumentSpec(nil), p.Documents...)
			p.FormFields = append([]FieldSpec(nil), p.FormFields...)
			tt.mutate(&p)
			err := Validate([]Procedure{p})
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidCatalog) || ce.StatusCode() != 422 {
				t.Fatalf("err = %v, want ErrInvalidCatalog", err)
			}
			found := false
			for _, is := range ce.Issues() {
				if strings.Contains(is.Path, tt.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no issue at %q in %v", tt.want, ce.Issues())
			}
		})
	}
	t.Run("every_problem_named", func(t *testing.T) {
		a, b := validProc(), validProc()
		b.Level, b.Fee.Kind = "", ""
		err := Validate([]Procedure{a, b})
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatal(err)
		}
		// duplicate code + level + fee kind
		if len(ce.Issues()) != 3 {
			t.Fatalf("issues = %v, want 3", ce.Issues())
		}
		for _, want := range []string{"duplicate of procedures[0]", ".level", ".fee.kind"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error text lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("empty_catalog", func(t *testing.T) {
		if err := Validate(nil); !errors.Is(err, ErrInvalidCatalog) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("valid", func(t *testing.T) {
		if err := Validate([]Procedure{validProc()}); err != nil {
			t.Fatal(err)
		}
	})
}

func codes(ps []Procedure) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Code
	}
	return out
}

func TestSearch(t *testing.T) {
	ix := NewIndex(seed(t))
	tests := []struct {
		name    string
		q       Query
		include []string
		exclude []string
		total   int // -1 = do not check
	}{
		{"plain_lowercase", Query{Text: "khai sinh"}, []string{"X.HT.001"}, []string{"X.HT.003"}, 1},
		{"no_diacritics", Query{Text: "dang ky khai sinh"}, []string{"X.HT.001"}, nil, 1},
		{"upper_case", Query{Text: "ĐĂNG KÝ KẾT HÔN"}, []string{"X.HT.002"}, nil, 1},
		{"d_stroke_folded", Query{Text: "dang ky"}, []string{"X.HT.001", "X.HT.002", "X.HT.003", "X.CT.002", "H.KT.001", "T.KH.001"}, []string{"X.CT.001"}, -1},
		{"ki_ky_variants_alike", Query{Text: "dang ki"}, []string{"X.HT.001", "X.HT.002", "X.HT.003", "X.CT.002", "H.KT.001", "T.KH.001"}, []string{"X.CT.001"}, -1},
		{"decomposed_input", Query{Text: "li\u0301 li\u0323ch tư pha\u0301p"}, []string{"T.TP.001"}, nil, 1},
		{"by_code", Query{Text: "t.gt.001"}, []string{"T.GT.001"}, nil, 1},
		{"by_field_word", Query{Text: "ho tich"}, []string{"X.HT.001", "X.HT.004", "X.HT.005"}, nil, 5},
		{"all_tokens_must_match", Query{Text: "khai sinh ket hon"}, nil, nil, 0},
		{"no_match", Query{Text: "tàu vũ trụ"}, nil, nil, 0},
		{"field_filter_folded", Query{Field: "HO TICH"}, []string{"X.HT.002"}, []string{"X.CT.001"}, 5},
		{"agency_filter_case_insensitive", Query{Agency: "stp"}, []string{"T.TP.001"}, nil, 1},
		{"level_filter", Query{Level: "district"}, []string{"H.XD.001", "H.DD.001"}, []string{"X.HT.001", "T.TP.001"}, 4},
		{"text_and_level", Query{Text: "giay phep", Level: "province"}, []string{"T.GT.001", "T.LD.001", "T.YT.001"}, []string{"H.XD.001", "H.CT.001"}, -1},
		{"empty_query_all", Query{}, nil, nil, 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Search(tt.q)
			all := codes(got.Items)
			if tt.total >= 0 && got.Total != tt.total {
				t.Fatalf("total = %d (%v), want %d", got.Total, all, tt.total)
			}
			have := map[string]bool{}
			for _, c := range all {
				have[c] = true
			}
			for _, c := range tt.include {
				if !have[c] {
					t.Errorf("missing %s in %v", c, all)
				}
			}
			for _, c := range tt.exclude {
				if have[c] {
					t.Errorf("unexpected %s in %v", c, all)
				}
			}
		})
	}
}

func TestSearch_ki_and_ky_find_the_same(t *testing.T) {
	ix := NewIndex(seed(t))
	ki, ky := ix.Search(Query{Text: "dang ki", PageSize: 100}), ix.Search(Query{Text: "đăng ký", PageSize: 100})
	if ki.Total < 2 || strings.Join(codes(ki.Items), ",") != strings.Join(codes(ky.Items), ",") {
		t.Fatalf("dang ki → %v, đăng ký → %v; want the same procedures", codes(ki.Items), codes(ky.Items))
	}
	// "tay" (a vowel before y) is not an i/y variant.
	if searchFold("Tây Ninh") != " tay ninh " {
		t.Fatalf("searchFold(Tây Ninh) = %q", searchFold("Tây Ninh"))
	}
}

func TestSearchPaginationIsStable(t *testing.T) {
	ix := NewIndex(seed(t))
	full := ix.Search(Query{PageSize: 100})
	if full.Total != 17 || len(full.Items) != 17 || full.TotalPages != 1 {
		t.Fatalf("full = %d items, total %d, pages %d", len(full.Items), full.Total, full.TotalPages)
	}
	var paged []string
	for page := 1; page <= 4; page++ {
		p := ix.Search(Query{Page: page, PageSize: 5})
		if p.TotalPages != 4 || p.Total != 17 || p.Page != page || p.PageSize != 5 {
			t.Fatalf("page %d meta = %+v", page, p)
		}
		paged = append(paged, codes(p.Items)...)
	}
	if strings.Join(paged, ",") != strings.Join(codes(full.Items), ",") {
		t.Fatalf("pages %v != full %v", paged, codes(full.Items))
	}
	if past := ix.Search(Query{Page: 5, PageSize: 5}); len(past.Items) != 0 || past.Items == nil {
		t.Fatalf("page past the end = %+v, want empty non-nil", past.Items)
	}
	if def := ix.Search(Query{}); def.PageSize != DefaultPageSize {
		t.Fatalf("default page size = %d", def.PageSize)
	}
	// Order is by folded name: "Cấp bản sao…" before "Chứng thực…" before "Đăng ký…".
	first := full.Items[0].Name
	if !strings.HasPrefix(first, "Cấp") {
		t.Fatalf("first item %q, want the alphabetically first name", first)
	}
	again := NewIndex(seed(t)).Search(Query{PageSize: 100})
	if strings.Join(codes(again.Items), ",") != strings.Join(codes(full.Items), ",") {
		t.Fatal("order differs between two indexes of the same catalog")
	}
}

func TestQueryValidate(t *testing.T) {
	tests := []struct {
		name  string
		q     Query
		param string
	}{
		{"ok", Query{Text: "khai sinh", Level: "commune", Page: 2, PageSize: 100}, ""},
		{"bad_level", Query{Level: "ward"}, "level"},
		{"negative_page", Query{Page: -1}, "page"},
		{"huge_page", Query{Page: 1 << 40}, "page"},
		{"page_size_too_big", Query{PageSize: 101}, "pageSize"},
		{"page_size_negative", Query{PageSize: -3}, "pageSize"},
		{"text_too_long", Query{Text: strings.Repeat("a", 201)}, "q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if tt.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidQuery) || ce.Param() != tt.param || ce.StatusCode() != 400 {
				t.Fatalf("err = %v, want invalid %s", err, tt.param)
			}
			if ce.MessageVi() == "" || ce.MessageEn() == "" || ce.ProblemCode() != "invalid_query" {
				t.Fatalf("messages/code missing: %+v", ce)
			}
		})
	}
}

func TestGet(t *testing.T) {
	ix := NewIndex(seed(t))
	p, err := ix.Get(" x.ht.001 ")
	if err != nil || p.Name != "Đăng ký khai sinh" {
		t.Fatalf("Get = %+v, %v", p.Name, err)
	}
	_, err = ix.Get("NOPE.1")
	var ce *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ce) || ce.StatusCode() != 404 || ce.ProblemCode() != "procedure_not_found" {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(ce.MessageVi(), "NOPE.1") {
		t.Fatalf("vi message should name the code: %q", ce.MessageVi())
	}
	if errors.Is(err, ErrInvalidQuery) {
		t.Fatal("not-found must not match ErrInvalidQuery")
	}
}

func TestDecodeForms(t *testing.T) {
	arr := `[{"code":"A.1","name":"x"}]`
	obj := `{"version":3,"createdAt":"2025-01-01T00:00:00Z","procedures":[{"code":"A.1","name":"x"}]}`
	for name, in := range map[string]string{"array": arr, "version_object": obj} {
		t.Run(name, func(t *testing.T) {
			ps, err := Decode(strings.NewReader(in))
			if err != nil || len(ps) != 1 || ps[0].Code != "A.1" {
				t.Fatalf("Decode = %v, %v", ps, err)
			}
		})
	}
	if _, err := Decode(strings.NewReader(`[{"code":"A.1","nmae":"typo"}]`)); err == nil {
		t.Fatal("unknown field should be rejected")
	}
}

func TestSearch_dang_ki_finds_all_eight_dang_ky(t *testing.T) {
	ix := NewIndex(seed(t))
	if got := ix.Search(Query{Text: "dang ki", PageSize: 100}); got.Total != 8 {
		t.Fatalf("dang ki found %d: %v, want the 8 Đăng ký procedures", got.Total, codes(got.Items))
	}
}
