package citizenguard

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"motcua/shared/docstore"
)

// BenchmarkCompare is the baseline: one PBKDF2 comparison at the default
// work factor, what a guarded check cannot avoid.
func BenchmarkCompare(b *testing.B) {
	h, err := HashSecret("12345678", 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Compare(h, "87654321")
	}
}

// BenchmarkCheck_wrong_pin is a whole guarded check (three counters with
// compare-and-swap on the in-memory store, look-up, comparison) of a wrong
// PIN; compare its ns/op with BenchmarkCompare's for the guard's overhead.
func BenchmarkCheck_wrong_pin(b *testing.B) {
	h, err := HashSecret("12345678", 0)
	if err != nil {
		b.Fatal(err)
	}
	pol := DefaultPolicy
	pol.GlobalRate = 0
	pol.Client.Free, pol.Pair.Free, pol.ID.Free = 1<<30, 1<<30, 1<<30
	g := New(docstore.NewMemStore("motcua-data"), WithPolicy(pol), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	ctx := context.Background()
	for b.Loop() {
		_, _ = Check(ctx, g, Attempt{Kind: "application", ID: "A-261203-0001", Client: "203.0.113.7", Secret: "87654321", Refusal: errRefused},
			func(context.Context) (int, Hashed, error) { return 1, h, nil })
	}
}
