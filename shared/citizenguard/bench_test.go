package citizenguard

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"motcua/shared/docstore"
)

// BenchmarkHash_hmac is the cost of hashing a new citizen secret with the
// pepper (what a submission pays). Compare its ns/op with
// BenchmarkHash_pbkdf2's, the form it replaces, in the same run:
//
//	go test -run '^$' -bench 'Hash_|Compare_' -count 5 ./shared/citizenguard/
func BenchmarkHash_hmac(b *testing.B) {
	p := testPepper(b, "k1")
	for b.Loop() {
		if _, err := p.Hash("12345678"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHash_pbkdf2 is the baseline: the legacy PBKDF2-SHA256 hash at
// DefaultIterations, what every submission paid before the pepper.
func BenchmarkHash_pbkdf2(b *testing.B) {
	for b.Loop() {
		if _, err := HashLegacy("12345678", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompare_hmac is one comparison of a peppered hash (a wrong
// PIN, the common guarded case).
func BenchmarkCompare_hmac(b *testing.B) {
	p := testPepper(b, "k1")
	h, err := p.Hash("12345678")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p.Compare(h, "87654321")
	}
}

// BenchmarkCompare_hmac_unknown is the dummy comparison of a missing
// record; its ns/op should match BenchmarkCompare_hmac's.
func BenchmarkCompare_hmac_unknown(b *testing.B) {
	p := testPepper(b, "k1")
	for b.Loop() {
		p.Compare(Hashed{}, "87654321")
	}
}

// BenchmarkCompare_pbkdf2 is one comparison of a legacy hash at the
// default work factor (records written before the pepper).
func BenchmarkCompare_pbkdf2(b *testing.B) {
	h, err := HashLegacy("12345678", 0)
	if err != nil {
		b.Fatal(err)
	}
	p := testPepper(b, "k1")
	for b.Loop() {
		p.Compare(h, "87654321")
	}
}

// BenchmarkCheck_wrong_pin is a whole guarded check (three counters with
// compare-and-swap on the in-memory store, look-up, comparison) of a wrong
// PIN; compare its ns/op with BenchmarkCompare_hmac's for the guard's
// overhead.
func BenchmarkCheck_wrong_pin(b *testing.B) {
	p := testPepper(b, "k1")
	h, err := p.Hash("12345678")
	if err != nil {
		b.Fatal(err)
	}
	pol := DefaultPolicy
	pol.GlobalRate = 0
	pol.Client.Free, pol.Pair.Free, pol.ID.Free = 1<<30, 1<<30, 1<<30
	g := New(docstore.NewMemStore("motcua-data"), WithPolicy(pol), WithPepper(p), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	ctx := context.Background()
	for b.Loop() {
		_, _ = Check(ctx, g, Attempt{Kind: "application", ID: "A-261203-0001", Client: "203.0.113.7", Secret: "87654321", Refusal: errRefused},
			func(context.Context) (int, Hashed, error) { return 1, h, nil })
	}
}
