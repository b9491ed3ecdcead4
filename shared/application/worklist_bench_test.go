package application_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"motcua/shared/application"
	"motcua/shared/docstore"
)

// BenchmarkWorkQueue compares the first page (50) of an agency's open
// applications read from the index with the baseline the index replaces:
// reading every application document and filtering, over the same 3 000
// applications (2 500 of the agency). Compare ns/op of the two sub-benchmarks.
func BenchmarkWorkQueue(b *testing.B) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(b, store)
	seedAgencies(b, store, 2500)
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			res, err := p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{Limit: 50})
			if err != nil || len(res.Items) != 50 {
				b.Fatal(err, len(res.Items))
			}
		}
	})
	b.Run("scan_baseline", func(b *testing.B) {
		for b.Loop() {
			var open []application.Application
			next := ""
			for {
				page, err := store.List(ctx, "applications/", next, 1000)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range page.Entries {
					var a application.Application
					if _, err := docstore.GetJSON(ctx, store, e.Key, &a); err != nil {
						b.Fatal(err)
					}
					if strings.EqualFold(a.Agency.Code, "STP") && a.Status != application.StatusRejected && a.Status != application.StatusReturned && a.Status != application.StatusCancelled {
						open = append(open, a)
					}
				}
				if page.Next == "" {
					break
				}
				next = page.Next
			}
			slices.SortFunc(open, func(x, y application.Application) int { return x.DueAt.Compare(y.DueAt) })
			if len(open) < 50 {
				b.Fatal(len(open))
			}
		}
	})
}
