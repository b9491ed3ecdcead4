package feedback

import (
	"context"
	"strings"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/platform"
)

// benchStore is the data bucket of an embedded S3 server (real HTTP, the
// real SDK, bbolt on disk), as the functions see S3.
func benchStore(b *testing.B) docstore.Store {
	b.Helper()
	ctx := context.Background()
	stack := embedded.StartForTest(b)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
	if err != nil {
		b.Fatal(err)
	}
	return p.Store
}

// benchN is the number of items stored for the queue benchmarks.
const benchN = 2000

// benchItems stores n items spread over agencies (round robin) and over
// the last 12 months, straight through the repository (intake's checks and
// limits are not what is measured).
func benchItems(b *testing.B, f *fixture, n int, agencies []string) {
	b.Helper()
	ctx := context.Background()
	start := f.clk.now().AddDate(-1, 0, 0)
	for i := range n {
		at := start.Add(time.Duration(i) * (365 * 24 * time.Hour / time.Duration(n)))
		id, err := NewID(at)
		if err != nil {
			b.Fatal(err)
		}
		st := StatusReceived
		if i%3 == 0 {
			st = StatusAnswered
		}
		it := Item{ID: id.String(), Version: 1, Kind: KindRegulation, FieldCode: "RAC_THAI", Title: "Rác",
			Agency: Agency{Code: agencies[i%len(agencies)]}, Status: st, ReceivedAt: at.UTC(), UpdatedAt: at.UTC(),
			Due: ComputeDue(f.cal, at)}
		if err := f.svc.repo.create(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
}

var benchAgencies = []string{"UBND-X-VIETHUNG", "STP", "SXD", "STNMT", "SYT", "SGTVT", "CA-TINH", "SNV"}

// BenchmarkQueue_index lists one agency's first page of answered items
// through the per-agency month index.
func BenchmarkQueue_index(b *testing.B) {
	f := newFixtureOn(b, benchStore(b))
	benchItems(b, f, benchN, benchAgencies)
	o := Officer{Subject: "o", Agency: "STP"}
	b.ResetTimer()
	for b.Loop() {
		page, err := f.svc.Queue(context.Background(), o, QueueQuery{Status: StatusAnswered, Limit: 20})
		if err != nil || len(page.Items) != 20 {
			b.Fatalf("%d items, %v", len(page.Items), err)
		}
	}
}

// BenchmarkQueue_scan_baseline is the same page found the way an index
// avoids: listing every item and reading each until 20 match.
func BenchmarkQueue_scan_baseline(b *testing.B) {
	f := newFixtureOn(b, benchStore(b))
	benchItems(b, f, benchN, benchAgencies)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		found, next := 0, ""
		for found < 20 {
			lp, err := f.store.List(ctx, ItemsPrefix, next, 1000)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range lp.Entries {
				var it Item
				if _, err := docstore.GetJSON(ctx, f.store, e.Key, &it); err != nil {
					b.Fatal(err)
				}
				if it.Agency.Code == "STP" && it.Status == StatusAnswered && strings.HasPrefix(e.Key, ItemsPrefix) {
					found++
					if found == 20 {
						break
					}
				}
			}
			if next = lp.Next; next == "" {
				break
			}
		}
		if found != 20 {
			b.Fatalf("found %d", found)
		}
	}
}
