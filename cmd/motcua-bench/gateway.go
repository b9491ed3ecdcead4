package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"motcua/infra/gateway"
)

// HopRow is one gateway measurement: the same call made directly to the
// function process, through a bare reverse proxy and through the gateway,
// interleaved call by call, in Rounds repeated rounds.
type HopRow struct {
	// Name says which call at which concurrency.
	Name string `json:"name"`
	// Direct, Bare and Gateway are the three ways' latencies in the median
	// round (by the p50 ratio).
	Direct  Stat `json:"direct"`
	Bare    Stat `json:"bare_proxy"`
	Gateway Stat `json:"gateway"`
	// AddedP50 and AddedP99 are (gateway − direct) / (bare − direct) at
	// p50 and p99 per round, sorted; the target is ≤ 1.2.
	AddedP50 []float64 `json:"added_ratio_p50"`
	AddedP99 []float64 `json:"added_ratio_p99"`
	// ExtraP50Us is gateway − bare proxy at p50 in microseconds per round,
	// sorted: what the gateway costs beyond the bare hop.
	ExtraP50Us []float64 `json:"extra_over_bare_p50_us"`
	// PooledP50 and PooledP99 are the same ratio over every round's
	// samples together (n × rounds per way: a steadier p99).
	PooledP50 float64 `json:"added_ratio_pooled_p50"`
	PooledP99 float64 `json:"added_ratio_pooled_p99"`
	// Verdict is "met" when the median round's ratio is ≤ 1.2 at both p50
	// and p99, "not met" otherwise; ", spread crosses 1.2" is added when
	// the rounds disagree.
	Verdict string `json:"verdict"`
}

// hopTarget is the gateway's added latency over the bare proxy's.
const hopTarget = 1.2

// verdict judges a row from its sorted per-round ratios.
func verdict(p50, p99 []float64) string {
	v := "not met"
	if median(p50) <= hopTarget && median(p99) <= hopTarget {
		v = "met"
	}
	if crosses(p50) || crosses(p99) {
		v += ", spread crosses 1.2"
	}
	return v
}

func median(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)/2]
}

func crosses(sorted []float64) bool {
	return len(sorted) > 0 && sorted[0] <= hopTarget && sorted[len(sorted)-1] > hopTarget
}

// gatewayHops measures the three hops for each call and concurrency. The
// gateway is a second instance in front of the stack's runner with its
// access log on (JSON lines through a gateway.AccessLog buffer to a file,
// as motcua-local runs it) and the
// default tuned transport; the bare proxy is httputil.ReverseProxy with the
// same transport and nothing else.
func gatewayHops(ctx context.Context, a interface {
	gateway.FunctionSource
}, direct, logPath string, n, rounds int, stderr io.Writer) ([]HopRow, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	access := gateway.NewAccessLog(logf, 0) // as motcua-local runs it
	defer access.Close()
	g := gateway.New(gateway.Options{Functions: a,
		AccessLog: slog.New(slog.NewJSONHandler(access, nil))})
	defer g.Flush() // before access.Close
	gw, err := serve(g)
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	target, err := url.Parse(direct)
	if err != nil {
		return nil, err
	}
	bare, err := serve(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: gateway.NewTransport(),
	})
	if err != nil {
		return nil, err
	}
	defer bare.Close()

	var rows []HopRow
	for _, c := range []int{1, 10} {
		for _, call := range []struct {
			name   string
			method string
			query  string
			body   []byte
			status int
		}{
			{"POST 1 KiB → 405", http.MethodPost, "", bytes.Repeat([]byte("a"), 1024), http.StatusMethodNotAllowed},
			{"GET ?code= lookup", http.MethodGet, "?code=X.HT.001", nil, http.StatusOK},
		} {
			row := HopRow{Name: fmt.Sprintf("%s, concurrency %d", call.name, c)}
			type round struct {
				s   []Stat
				r50 float64
			}
			var rs []round
			pooled := make([][]time.Duration, 3)
			for k := range rounds {
				progress(stderr, "gateway hops: %s, round %d/%d, %d calls each way", row.Name, k+1, rounds, n)
				urls := []string{direct + "/" + call.query, bare.url + "/" + call.query,
					gw.url + "/function/" + benchFunction + call.query}
				s, raw, err := hops(ctx, urls, call.method, call.body, call.status, c, n)
				if err != nil {
					return nil, err
				}
				for j := range pooled {
					pooled[j] = append(pooled[j], raw[j]...)
				}
				r50 := added(s[2].P50Ms, s[1].P50Ms, s[0].P50Ms)
				row.AddedP50 = append(row.AddedP50, r50)
				row.AddedP99 = append(row.AddedP99, added(s[2].P99Ms, s[1].P99Ms, s[0].P99Ms))
				row.ExtraP50Us = append(row.ExtraP50Us, (s[2].P50Ms-s[1].P50Ms)*1000)
				rs = append(rs, round{s, r50})
			}
			slices.SortFunc(rs, func(x, y round) int { return cmpFloat(x.r50, y.r50) })
			mid := rs[len(rs)/2].s
			row.Direct, row.Bare, row.Gateway = mid[0], mid[1], mid[2]
			slices.Sort(row.AddedP50)
			slices.Sort(row.AddedP99)
			slices.Sort(row.ExtraP50Us)
			row.Verdict = verdict(row.AddedP50, row.AddedP99)
			pd, pb, pg := summarize(pooled[0]), summarize(pooled[1]), summarize(pooled[2])
			row.PooledP50 = added(pg.P50Ms, pb.P50Ms, pd.P50Ms)
			row.PooledP99 = added(pg.P99Ms, pb.P99Ms, pd.P99Ms)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// added is (via − direct) / (bare − direct), or 0 when the bare hop added
// nothing measurable.
func added(via, bare, direct float64) float64 {
	if bare <= direct {
		return 0
	}
	return (via - direct) / (bare - direct)
}

type server struct {
	url string
	srv *http.Server
}

func (s *server) Close() { _ = s.srv.Close() }

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// hops calls each URL n times with c workers, each worker rotating the order
// call by call so every way sees the same machine load, and returns one Stat
// per URL and the samples themselves.
func hops(ctx context.Context, urls []string, method string, body []byte, want, c, n int) ([]Stat, [][]time.Duration, error) {
	client := &http.Client{Transport: gateway.NewTransport(), Timeout: 30 * time.Second}
	call := func(u string) (time.Duration, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != want {
			return 0, fmt.Errorf("%s %s: status %d, want %d", method, u, res.StatusCode, want)
		}
		return d, nil
	}
	for range 20 * c { // warm every connection pool
		for _, u := range urls {
			if _, err := call(u); err != nil {
				return nil, nil, err
			}
		}
	}
	var (
		mu       sync.Mutex
		got      = make([][]time.Duration, len(urls))
		firstErr error
		wg       sync.WaitGroup
	)
	per := (n + c - 1) / c
	for w := range c {
		wg.Go(func() {
			mine := make([][]time.Duration, len(urls))
			for i := range per {
				for k := range urls {
					j := (i + w + k) % len(urls)
					t, err := call(urls[j])
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						return
					}
					mine[j] = append(mine[j], t)
				}
			}
			mu.Lock()
			for j := range got {
				got[j] = append(got[j], mine[j]...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	out := make([]Stat, len(urls))
	for j := range got {
		out[j] = summarize(got[j])
	}
	return out, got, nil
}

func printHops(w io.Writer, rows []HopRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "### Gateway added latency (function %s; target: gateway added ≤ 1.2× bare proxy added at p50 and p99)\n\n", benchFunction)
	fmt.Fprintln(w, "| call | n × rounds | direct p50 | direct p99 | bare proxy p50 | bare proxy p99 | gateway p50 | gateway p99 | added ratio p50 (median [min–max]) | added ratio p99 (median [min–max]) | added ratio, all rounds pooled, p50 / p99 | gateway − bare p50 (median [min–max]) | verdict (median round) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d × %d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f× / %.2f× | %s | %s |\n", r.Name, r.Gateway.N, len(r.AddedP50),
			fmtMs(r.Direct.P50Ms), fmtMs(r.Direct.P99Ms), fmtMs(r.Bare.P50Ms), fmtMs(r.Bare.P99Ms),
			fmtMs(r.Gateway.P50Ms), fmtMs(r.Gateway.P99Ms), spread(r.AddedP50), spread(r.AddedP99),
			r.PooledP50, r.PooledP99, spreadUs(r.ExtraP50Us), r.Verdict)
	}
	fmt.Fprintln(w)
}

// spreadUs prints a sorted series of microseconds as "median [min–max] µs".
func spreadUs(v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf("%+.0f µs [%+.0f – %+.0f]", v[len(v)/2], v[0], v[len(v)-1])
}

// spread prints a sorted series as "median× [min–max]".
func spread(v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f× [%.2f–%.2f]", v[len(v)/2], v[0], v[len(v)-1])
}
