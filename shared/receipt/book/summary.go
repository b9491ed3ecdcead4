package book

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"motcua/shared/receipt"
)

// Summary is one series' receipts of one day: what the collecting unit
// reports to the tax authority on the day of issue.
type Summary struct {
	// Day is the date in Vietnam (YYYY-MM-DD).
	Day string `json:"day"`
	// Unit is the collecting unit.
	Unit receipt.Party `json:"unit"`
	// TemplateSymbol and Series name the series.
	TemplateSymbol string `json:"templateSymbol"`
	Series         string `json:"series"`
	// Count is the number of receipts issued that day.
	Count int `json:"count"`
	// First and Last are the first and last numbers (0 when none).
	First uint32 `json:"first"`
	Last  uint32 `json:"last"`
	// TotalVND sums the receipts' totals (adjustments with their sign).
	TotalVND int64 `json:"totalVND"`
	// Replacements and Adjustments count the corrections issued that day;
	// Replaced and Adjusted count that day's receipts corrected since.
	Replacements int `json:"replacements"`
	Adjustments  int `json:"adjustments"`
	Replaced     int `json:"replaced"`
	Adjusted     int `json:"adjusted"`
	// Receipts lists each receipt.
	Receipts []SummaryLine `json:"receipts"`
}

// SummaryLine is one receipt of a summary.
type SummaryLine struct {
	Number   uint32       `json:"number"`
	Kind     receipt.Kind `json:"kind"`
	Status   Status       `json:"status"`
	IssuedAt time.Time    `json:"issuedAt"`
	TotalVND int64        `json:"totalVND"`
	// Original names the corrected receipt (corrections only).
	Original string `json:"original,omitempty"`
}

// maxSummary bounds the receipts of one series-day summary.
const maxSummary = 100_000

// Summarize sums up series on day (YYYY-MM-DD, Vietnam time).
func (b *Book) Summarize(ctx context.Context, series, day string) (Summary, error) {
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return Summary{}, errCorrection.WithMessages("Ngày không hợp lệ (YYYY-MM-DD).", "The day must be YYYY-MM-DD.").WithParam("day")
	}
	s := Summary{Day: day, Unit: b.cfg.Unit.Party, TemplateSymbol: b.cfg.Unit.TemplateSymbol, Series: series, Receipts: []SummaryLine{}}
	prefix := DaysPrefix + day + "/" + series + "/"
	next := ""
	for {
		page, err := b.store.List(ctx, prefix, next, 1000)
		if err != nil {
			return Summary{}, fmt.Errorf("summary %s %s: %w", series, day, err)
		}
		for _, e := range page.Entries {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), ".json"), 10, 32)
			if err != nil {
				continue
			}
			rec, _, err := b.Get(ctx, series, uint32(n))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return Summary{}, err
			}
			r := rec.Receipt
			l := SummaryLine{Number: r.Number, Kind: r.Kind, Status: rec.Status, IssuedAt: r.IssuedAt.UTC(), TotalVND: r.TotalVND}
			if r.Original != nil {
				l.Original = fmt.Sprintf("%s-%08d", r.Original.Series, r.Original.Number)
			}
			s.Receipts = append(s.Receipts, l)
			s.Count++
			s.TotalVND += r.TotalVND
			if s.First == 0 || r.Number < s.First {
				s.First = r.Number
			}
			s.Last = max(s.Last, r.Number)
			switch r.Kind {
			case receipt.KindReplacement:
				s.Replacements++
			case receipt.KindAdjustment:
				s.Adjustments++
			}
			switch rec.Status {
			case StatusReplaced:
				s.Replaced++
			case StatusAdjusted:
				s.Adjusted++
			}
			if s.Count > maxSummary {
				return Summary{}, fmt.Errorf("summary %s %s: more than %d receipts", series, day, maxSummary)
			}
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	return s, nil
}

// CSV renders the summary: a header line, one line per receipt, and a
// final TOTAL line.
func (s Summary) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"day", "template_symbol", "series", "number", "kind", "status", "issued_at", "total_vnd", "original"})
	for _, l := range s.Receipts {
		w.Write([]string{s.Day, s.TemplateSymbol, s.Series, fmt.Sprintf("%08d", l.Number), string(l.Kind), string(l.Status),
			l.IssuedAt.In(receipt.Zone).Format("2006-01-02T15:04:05"), strconv.FormatInt(l.TotalVND, 10), l.Original})
	}
	w.Write([]string{s.Day, s.TemplateSymbol, s.Series, "TOTAL", strconv.Itoa(s.Count), "", "", strconv.FormatInt(s.TotalVND, 10), ""})
	w.Flush()
	return buf.Bytes()
}

// xmlSummary is the XML shape of a summary (element names in the
// Vietnamese style of the receipt format).
type xmlSummary struct {
	XMLName      xml.Name  `xml:"BCBLai"`
	Ngay         string    `xml:"Ngay"`
	TenDVThu     string    `xml:"DVThu>Ten"`
	MSTDVThu     string    `xml:"DVThu>MST"`
	KHMSBLai     string    `xml:"KHMSBLai"`
	KHBLai       string    `xml:"KHBLai"`
	SoLuong      int       `xml:"SLuong"`
	TuSo         uint32    `xml:"TuSo"`
	DenSo        uint32    `xml:"DenSo"`
	TongTien     int64     `xml:"TgTien"`
	SLThayThe    int       `xml:"SLTThe"`
	SLDieuChinh  int       `xml:"SLDChinh"`
	SLBiThayThe  int       `xml:"SLBiTThe"`
	SLBiDieuChnh int       `xml:"SLBiDChinh"`
	DSBLai       []xmlLine `xml:"DSBLai>BLai"`
}

type xmlLine struct {
	So     string `xml:"SBLai"`
	Loai   string `xml:"Loai"`
	TThai  string `xml:"TThai"`
	NLap   string `xml:"NLap"`
	TgTien int64  `xml:"TgTien"`
	BLGoc  string `xml:"BLGoc,omitempty"`
}

// XML renders the summary as UTF-8 XML.
func (s Summary) XML() ([]byte, error) {
	x := xmlSummary{Ngay: s.Day, TenDVThu: s.Unit.Name, MSTDVThu: s.Unit.TaxCode, KHMSBLai: s.TemplateSymbol, KHBLai: s.Series,
		SoLuong: s.Count, TuSo: s.First, DenSo: s.Last, TongTien: s.TotalVND, SLThayThe: s.Replacements, SLDieuChinh: s.Adjustments,
		SLBiThayThe: s.Replaced, SLBiDieuChnh: s.Adjusted}
	for _, l := range s.Receipts {
		x.DSBLai = append(x.DSBLai, xmlLine{So: fmt.Sprintf("%08d", l.Number), Loai: string(l.Kind), TThai: string(l.Status),
			NLap: l.IssuedAt.In(receipt.Zone).Format("2006-01-02T15:04:05"), TgTien: l.TotalVND, BLGoc: l.Original})
	}
	out, err := xml.MarshalIndent(x, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}
