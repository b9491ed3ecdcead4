package payment_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua/infra/embedded"
	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/platform"
	"motcua/shared/queue"
)

// opTimer records the count and total time of each kind of storage and
// queue call the payment service makes.
type opTimer struct {
	mu  sync.Mutex
	n   map[string]int
	sum map[string]time.Duration
}

func (o *opTimer) add(kind string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n[kind]++
	o.sum[kind] += d
}

// kind names a call by verb and key family; a payment PUT is "paid" or
// "applied" by what it writes.
func kind(verb, key string, body []byte) string {
	fam := key
	switch {
	case strings.HasPrefix(key, payment.AuditPrefix):
		fam = "payments/audit"
	case strings.HasPrefix(key, payment.Prefix) && !strings.Contains(strings.TrimPrefix(key, payment.Prefix), "/"):
		fam = "payments/<ref>"
		if verb == "PUT" {
			fam += map[bool]string{true: " (applied)", false: " (paid)"}[bytes.Contains(body, []byte(`"applied":true`))]
		}
	case strings.HasPrefix(key, "applications/"):
		fam = "applications/<code>"
	case strings.HasPrefix(key, "index/"):
		fam = "index/ (work-queue sync)"
	case strings.HasPrefix(key, "outbox/"):
		fam = "outbox/"
	default:
		if i := strings.Index(key, "/"); i > 0 {
			fam = key[:i+1]
		}
	}
	return verb + " " + fam
}

type timedStore struct {
	docstore.Store
	t *opTimer
}

func (s timedStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	t0 := time.Now()
	o, err := s.Store.Get(ctx, key)
	s.t.add(kind("GET", key, nil), time.Since(t0))
	return o, err
}

func (s timedStore) Head(ctx context.Context, key string) (docstore.Entry, error) {
	t0 := time.Now()
	e, err := s.Store.Head(ctx, key)
	s.t.add(kind("HEAD", key, nil), time.Since(t0))
	return e, err
}

func (s timedStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	t0 := time.Now()
	tag, err := s.Store.Put(ctx, key, body, opts)
	s.t.add(kind("PUT", key, body), time.Since(t0))
	return tag, err
}

func (s timedStore) Delete(ctx context.Context, key, ifMatch string) error {
	t0 := time.Now()
	err := s.Store.Delete(ctx, key, ifMatch)
	s.t.add(kind("DELETE", key, nil), time.Since(t0))
	return err
}

type timedQueue struct {
	queue.Publisher
	t *opTimer
}

func (q timedQueue) Publish(ctx context.Context, name string, env queue.Envelope) error {
	t0 := time.Now()
	err := q.Publisher.Publish(ctx, name, env)
	q.t.add("SQS send "+name, time.Since(t0))
	return err
}

// TestProfile_VNPayIPN_calls prints what one IPN costs: every storage
// and queue call, how many per IPN and their mean latency, split into the
// answer's path (before 00) and the background follow-up, against the
// embedded S3/SQS with fsync on and 50 concurrent IPNs. It asserts only
// the outcome (all paid and applied); the numbers are for reading
// (`go test -run Profile -v ./shared/payment/`), never a pass criterion.
func TestProfile_VNPayIPN_calls(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded profile skipped in -short mode")
	}
	const n, c = 200, 50
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := embedded.Start(ctx, embedded.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	awsCfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(ctx, config.MapSource{config.KeyBucket: "motcua-data", "MOTCUA_S3_PATH_STYLE": "true"}, awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: p.Store, clock: &clock{t: time.Now().UTC()}, cfg: testConfig()}
	seed, err := payment.NewService(payment.Deps{Store: p.Store, Publisher: p.Queue, Log: quiet}, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = seed
	refs := make([]payment.Payment, n)
	for i := range refs {
		a := e.addApp(t, fmt.Sprintf("STP-260302-%04d", 1000+i), application.StatusAwaitingPayment)
		refs[i] = e.pay(t, a.Code, payment.MethodVNPay)
	}
	ops := &opTimer{n: map[string]int{}, sum: map[string]time.Duration{}}
	svc, err := payment.NewService(payment.Deps{Store: timedStore{p.Store, ops}, Publisher: timedQueue{p.Queue, ops}, Log: quiet}, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s := time.Now()
				r := svc.VNPayIPN(ctx, payment.RawCallback{Method: http.MethodGet, Query: ipn(refs[i].Ref, refs[i].AmountVND, "00", "00", fmt.Sprint(i), hashSecret)})
				lat[i] = time.Since(s)
				if r.RspCode != "00" {
					t.Errorf("ipn %d: %s", i, r.RspCode)
				}
			}
		}()
	}
	wg.Wait()
	answered := time.Since(t0)
	if err := svc.WaitFollowUps(ctx); err != nil {
		t.Fatal(err)
	}
	drained := time.Since(t0)
	for _, r := range refs {
		if got, _, err := seed.Repository().Get(ctx, r.Ref); err != nil || !got.Applied {
			t.Fatalf("%s not applied: %v", r.Ref, err)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d IPNs, %d concurrent, fsync on: answered in %s (p50 %s, p99 %s); follow-ups drained at %s",
		n, c, answered.Round(time.Millisecond), lat[n/2].Round(time.Millisecond), lat[n*99/100].Round(time.Millisecond), drained.Round(time.Millisecond))
	kinds := make([]string, 0, len(ops.n))
	for k := range ops.n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	t.Logf("%-44s %-9s %8s %10s", "call", "path", "per IPN", "mean")
	for _, k := range kinds {
		path := "follow-up"
		if k == "PUT payments/audit" || k == "GET payments/<ref>" || k == "PUT payments/<ref> (paid)" {
			path = "answer"
		}
		t.Logf("%-44s %-9s %8.2f %10s", k, path, float64(ops.n[k])/n, (ops.sum[k] / time.Duration(ops.n[k])).Round(10*time.Microsecond))
	}
}
