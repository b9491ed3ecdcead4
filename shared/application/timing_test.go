package application_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/config"
	"motcua/shared/platform"
)

// TestAuthorize_costs_the_same_for_unknown_code_and_wrong_pin compares
// the distributions of many interleaved calls against the embedded S3 (real
// SDK, the real peppered HMAC of new PINs): the lower quartiles of an
// unknown code and a wrong PIN must be within a generous factor (0.5–2x)
// of each other, or the answer's timing would tell which codes exist.
// Before the guard, an unknown code cost a 100 000-iteration dummy against
// 10 000 for a real PIN (10x), and pay-fee's look-ups had no dummy at all
// (a fraction of the cost): both far outside this bound. No single call is
// timed against a threshold.
//
// The right PIN is measured and logged but not held to the bound: its
// success also gives the attempt back to the guard's counters (one more
// store write, about the cost of the look-up itself now that the peppered
// HMAC takes a microsecond), and its answer — the application — already
// tells it apart, so its timing reveals nothing more.
func TestAuthorize_costs_the_same_for_unknown_code_and_wrong_pin(t *testing.T) {
	if testing.Short() {
		t.Skip("timing distribution test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	// No throttling in the way: this measures the check, not the counters
	// refusing (which answer before any look-up, for every kind alike).
	pol := citizenguard.Policy{Client: citizenguard.Rule{}, Pair: citizenguard.Rule{}, ID: citizenguard.Rule{Free: 1 << 20, Window: time.Minute, Base: time.Second, Max: time.Second}}
	guard := guardtest.Guard(t, p.Store, citizenguard.WithPolicy(pol), citizenguard.WithLogger(quiet))
	hash, salt, err := application.HashPIN(guard, "24681357") // peppered, as real PINs
	if err != nil {
		t.Fatal(err)
	}
	repo := application.NewRepository(p.Store)
	a := application.Application{Code: "TIME-261203-0001", Status: application.StatusSubmitted, PINHash: hash, PINSalt: salt}
	if _, err := repo.Create(ctx, &a); err != nil {
		t.Fatal(err)
	}
	access := application.NewAccess(repo, guard)

	known, unknown := mustCode("TIME-261203-0001"), mustCode("TIME-261203-0002")
	kinds := []struct {
		name string
		code application.Code
		pin  string
		ok   bool
	}{
		{"unknown_code", unknown, "24681357", false},
		{"wrong_pin", known, "13572468", false},
		{"right_pin", known, "24681357", true},
	}
	const rounds = 80
	samples := make([][]time.Duration, len(kinds))
	for r := range rounds + 5 {
		for i, k := range kinds {
			start := time.Now()
			_, err := access.Authorize(ctx, k.code, k.pin, "")
			d := time.Since(start)
			if k.ok != (err == nil) || !k.ok && !errors.Is(err, application.ErrWrongPIN) {
				t.Fatalf("%s: err = %v", k.name, err)
			}
			if r >= 5 { // warm-up rounds are not counted
				samples[i] = append(samples[i], d)
			}
		}
	}
	// The lower quartile is the cost of the work itself; the upper part of
	// the distribution is mostly the machine's other load.
	q1 := make([]time.Duration, len(kinds))
	for i := range kinds {
		slices.Sort(samples[i])
		n := len(samples[i])
		q1[i] = samples[i][n/4]
		t.Logf("%-12s p25 %v  median %v  p90 %v", kinds[i].name, q1[i], samples[i][n/2], samples[i][n*9/10])
	}
	base := q1[1]                 // wrong PIN
	for i, k := range kinds[:2] { // the right PIN is logged only (see above)
		if r := float64(q1[i]) / float64(base); r < 0.5 || r > 2.0 {
			t.Fatalf("%s p25 %v is %.2fx the wrong-PIN p25 %v: an attacker can tell them apart", k.name, q1[i], r, base)
		}
	}
}
