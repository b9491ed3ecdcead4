package application_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/platform"
)

// countsWrites counts the PUTs of counts documents through a store and
// how many of them lost a compare-and-swap.
type countsWrites struct {
	docstore.Store
	puts, lost atomic.Int64
}

func (c *countsWrites) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	etag, err := c.Store.Put(ctx, key, body, opts)
	if strings.HasSuffix(key, "/counts.json") {
		c.puts.Add(1)
		if err != nil {
			c.lost.Add(1)
		}
	}
	return etag, err
}

// countsProcesses returns n stores over one embedded S3 bucket, each with
// its own S3 client, as n replicas of process-application have.
func countsProcesses(t testing.TB, n int, durable bool) []*countsWrites {
	t.Helper()
	ctx := context.Background()
	stack := embedded.StartForTest(t)
	if durable {
		stack = embedded.StartDurableForTest(t)
	}
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*countsWrites
	for range n {
		p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &countsWrites{Store: p.Store})
	}
	return out
}

// finishedApps returns n received applications of agency (Version 2),
// and the finished status each will move to.
func finishedApps(agency string, n int) ([]application.Application, []application.Status) {
	done := []application.Status{application.StatusReturned, application.StatusRejected, application.StatusCancelled}
	apps := make([]application.Application, n)
	to := make([]application.Status, n)
	for i := range apps {
		a := trApp(application.StatusReceived)
		a.Code = fmt.Sprintf("%s-260302-%04d", agency, i+1)
		a.Agency = application.Agency{Code: agency, Name: agency}
		r := trMonday
		a.ReceivedAt, a.Version = &r, 2
		apps[i], to[i] = a, done[i%len(done)]
	}
	return apps, to
}

// TestCounts_two_processes_count_every_finished_entry_once moves 600
// applications of one agency into finished statuses at once from two
// processes (two S3 clients on one embedded S3), each move synced by both
// processes concurrently (a retried or repeated sync): the counts are
// exact (every entry counted once, none lost), no bump gives up, and the
// work queue shows them.
func TestCounts_two_processes_count_every_finished_entry_once(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded S3 concurrency test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	procs := countsProcesses(t, 2, false)
	const n = 600
	apps, to := finishedApps("STP", n)
	run := func(f func(i int) error, calls int) {
		t.Helper()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		errs := make(chan error, calls)
		for i := range calls {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := f(i); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run(func(i int) error { return application.SyncIndex(ctx, procs[i%2], apps[i]) }, n)
	run(func(j int) error {
		a := apps[j/2]
		a.Status, a.Version = to[j/2], 3
		return application.SyncIndex(ctx, procs[j%2], a) // both processes sync each move
	}, 2*n)
	want := map[application.Status]int{}
	for _, s := range to {
		want[s]++
	}
	p, _ := trProcessor(t, procs[0])
	res, err := p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []application.Status{application.StatusReturned, application.StatusRejected, application.StatusCancelled} {
		if res.Counts[s] != want[s] {
			t.Errorf("%s counted %d, want %d", s, res.Counts[s], want[s])
		}
	}
	if res.Counts[application.StatusReceived] != 0 {
		t.Errorf("received counted %d, want 0", res.Counts[application.StatusReceived])
	}
	puts := procs[0].puts.Load() + procs[1].puts.Load()
	lost := procs[0].lost.Load() + procs[1].lost.Load()
	t.Logf("%d bumps: %d counts PUTs (%.3f per bump), %d lost a compare-and-swap", n, puts, float64(puts)/n, lost)
	// RebuildIndex's recount agrees.
	if _, err := application.RebuildIndex(ctx, procs[1]); err != nil {
		t.Fatal(err)
	}
	if res, err = p.WorkQueue(ctx, trClaims, application.WorkQueueQuery{}); err != nil {
		t.Fatal(err)
	}
	for s, w := range want {
		if res.Counts[s] != w {
			t.Errorf("after rebuild %s counted %d, want %d", s, res.Counts[s], w)
		}
	}
}
