package application_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/platform"
)

// TestAllocateCode_500_parallel_on_embedded_S3 allocates 500 codes at once
// against the embedded S3 server (real SDK, real conditional writes): all
// distinct, from four racing replicas, each reserving blocks of numbers
// with compare-and-swap. A replica's unused block numbers are gaps, so the
// highest number is at most 500 plus what four replicas can hold unused.
func TestAllocateCode_500_parallel_on_embedded_S3(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded S3 concurrency test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Several store instances stand for several function replicas: their
	// groups race each other with compare-and-swap on the one counter.
	var stores []*platform.Platform
	for range 4 {
		p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, p)
	}
	now := time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC) // 2026-02-01 in Hanoi
	const n = 500
	codes := make([]application.Code, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = application.AllocateCode(ctx, stores[i%len(stores)].Store, "STP", now)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, c := range codes {
		if errs[i] != nil {
			t.Fatalf("allocation %d: %v", i, errs[i])
		}
		if seen[c.String()] {
			t.Fatalf("duplicate code %s", c)
		}
		seen[c.String()] = true
	}
	// The most the four replicas can hold unused is one block each.
	for i := n + 4*64 + 1; i <= n+8*64; i++ {
		if c := "STP-260201-" + pad4(i); seen[c] {
			t.Fatalf("%s handed out: more gaps than four replicas' blocks", c)
		}
	}
	if !seen["STP-260201-0001"] {
		t.Error("numbering does not start at 0001")
	}
}

func pad4(i int) string {
	s := "0000" + itoa(i)
	return s[len(s)-4:]
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
