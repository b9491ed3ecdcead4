package main

// The province scenario's clients: one HTTP client that retries the way a
// mobile app, an officer's browser and a bank do (same request, same
// Idempotency-Key, until an answer that settles it), records each call's
// latency per function, and counts operations for -chaos.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"motcua/infra/gateway"
)

// provClient calls the stack through the gateway.
type provClient struct {
	gw       string
	hc       *http.Client
	retryFor time.Duration

	mu  sync.Mutex
	lat map[string][]time.Duration
	// from holds one transport per source address (see fnFrom).
	from sync.Map

	retries atomic.Int64
	ops     atomic.Int64
	// afterOp runs after every settled call with the running count
	// (the chaos trigger); nil when not needed.
	afterOp func(n int64)
}

func newProvClient(gw string, c int, retryFor time.Duration) *provClient {
	t := gateway.NewTransport()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 4*c, 2*c
	return &provClient{gw: strings.TrimRight(gw, "/"), hc: &http.Client{Transport: t, Timeout: 90 * time.Second},
		retryFor: retryFor, lat: map[string][]time.Duration{}}
}

// answer is one settled call.
type answer struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// retryable reports whether status means "try again later": the gateway
// or a function is down or restarting, a limit says wait, or a function
// failed in a way the same request may not.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// fn sends method to /function/name?query with body and hdr (pairs),
// retrying transport errors and retryable statuses with the very same
// request for up to retryFor.
func (c *provClient) fn(ctx context.Context, name, method, query string, body []byte, hdr ...string) (answer, error) {
	return c.fnFrom(ctx, "", name, method, query, body, hdr...)
}

// fnFrom is fn sent from the loopback source address from (e.g.
// 127.10.0.7): the gateway sets X-Forwarded-For from the connection's peer
// (any X-Forwarded-For a client sends is dropped), and only 127.0.0.1 is a
// trusted proxy, so each citizen is counted under its own address by the
// citizen guard, as citizens on their own networks are.
func (c *provClient) fnFrom(ctx context.Context, from, name, method, query string, body []byte, hdr ...string) (answer, error) {
	u := c.gw + "/function/" + name
	if query != "" {
		u += "?" + query
	}
	return c.do(ctx, from, name, method, u, body, hdr...)
}

// client returns the HTTP client sending from the source address from.
func (c *provClient) client(from string) *http.Client {
	if from == "" {
		return c.hc
	}
	if v, ok := c.from.Load(from); ok {
		return v.(*http.Client)
	}
	t := gateway.NewTransport()
	t.MaxIdleConnsPerHost, t.IdleConnTimeout = 1, 5*time.Second
	t.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}).DialContext
	hc := &http.Client{Transport: t, Timeout: c.hc.Timeout}
	v, _ := c.from.LoadOrStore(from, hc)
	return v.(*http.Client)
}

// do is fnFrom for any URL (presigned S3 URLs); label names the series.
func (c *provClient) do(ctx context.Context, from, label, method, u string, body []byte, hdr ...string) (answer, error) {
	hc := c.client(from)
	deadline := time.Now().Add(c.retryFor)
	backoff := 100 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.retries.Add(1)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return answer{}, err
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		start := time.Now()
		res, err := hc.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			d := time.Since(start)
			// A retry meeting its own earlier attempt still locked (the
			// process died holding it) is told to come back later.
			inProgress := res.StatusCode == http.StatusConflict && bytes.Contains(b, []byte(`"idempotency_in_progress"`))
			if rerr == nil && !retryable(res.StatusCode) && !inProgress {
				c.record(label, d)
				n := c.ops.Add(1)
				if c.afterOp != nil {
					c.afterOp(n)
				}
				return answer{Status: res.StatusCode, Header: res.Header, Body: b, Attempts: attempt}, nil
			}
			if rerr != nil {
				last = rerr
			} else {
				last = fmt.Errorf("%s: status %d: %.200s", label, res.StatusCode, b)
				if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra > 0 {
					backoff = min(time.Duration(ra)*time.Second, 10*time.Second)
				}
			}
		} else {
			last = err
		}
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return answer{}, fmt.Errorf("%s: gave up after %d attempts over %s: %w", label, attempt, c.retryFor, last)
		}
		select {
		case <-ctx.Done():
			return answer{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (c *provClient) record(label string, d time.Duration) {
	c.mu.Lock()
	c.lat[label] = append(c.lat[label], d)
	c.mu.Unlock()
}

// latencies returns a copy of the recorded series, by label.
func (c *provClient) latencies() map[string][]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]time.Duration, len(c.lat))
	for k, v := range c.lat {
		out[k] = slices.Clone(v)
	}
	return out
}

// pool runs fn(i) for i in [0, n) on c workers, counting each item on the
// meter; the first error stops the stage.
func pool(ctx context.Context, c, n int, tick func(failed bool), fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range min(c, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				err := fn(ctx, i)
				if tick != nil {
					tick(err != nil)
				}
				if err != nil {
					once.Do(func() { first = fmt.Errorf("item %d: %w", i, err); cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
