package catalog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"motcua/infra/embedded"
	"motcua/shared/catalog"
	"motcua/shared/config"
	"motcua/shared/platform"
)

// TestCatalogOnEmbeddedS3 runs seeding, versioned loads and the service
// against the embedded S3 server through platform.New, i.e. the real AWS
// SDK, the S3 protocol and its conditional writes. (It lives here rather
// than in functions/procedures because a function's build context holds
// only shared/ and sdk/, not infra/.)
func TestCatalogOnEmbeddedS3(t *testing.T) {
	ctx := context.Background()
	stack := embedded.StartForTest(t)
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))

	// Several replicas cold-start at once on an empty bucket: each seeds
	// if needed, all answer, one catalog version results.
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := catalog.NewService(p.Store, quiet, catalog.ServiceOptions{SeedIfEmpty: true})
			page, err := s.Search(ctx, catalog.Query{Text: "khai sinh"})
			if err != nil || page.Total != 1 {
				errs <- fmt.Sprintf("cold start search: total %d, err %v", page.Total, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	listed, err := p.Store.List(ctx, "catalog/", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range listed.Entries {
		keys = append(keys, e.Key)
	}
	if strings.Join(keys, ",") != catalog.PointerKey+","+catalog.VersionKey(1) {
		t.Fatalf("keys after concurrent cold starts = %v", keys)
	}

	svc := catalog.NewService(p.Store, quiet, catalog.ServiceOptions{RefreshInterval: 1})
	if got, err := svc.Get(ctx, "T.TP.001"); err != nil || got.Field != "Lý lịch tư pháp" {
		t.Fatalf("Get = %+v, %v", got.Field, err)
	}

	// Two operators load at the same time: versions 2 and 3, pointer on 3.
	procs, err := catalog.SeedProcedures()
	if err != nil {
		t.Fatal(err)
	}
	procs[0].Name += " (bản mới)"
	got := make([]int, 2)
	var lw sync.WaitGroup
	for i := range got {
		lw.Add(1)
		go func(i int) {
			defer lw.Done()
			n, err := catalog.Load(ctx, p.Store, procs)
			if err != nil {
				t.Error(err)
			}
			got[i] = n
		}(i)
	}
	lw.Wait()
	if got[0]+got[1] != 5 || got[0] == got[1] {
		t.Fatalf("concurrent load versions = %v, want 2 and 3", got)
	}
	cur, err := catalog.Current(ctx, p.Store)
	if err != nil || cur.Version != 3 {
		t.Fatalf("current = %d, %v", cur.Version, err)
	}
	// The service (refresh interval ~0) sees the new version.
	if got, err := svc.Get(ctx, procs[0].Code); err != nil || got.Name != procs[0].Name {
		t.Fatalf("after reload Get = %q, %v", got.Name, err)
	}
}
