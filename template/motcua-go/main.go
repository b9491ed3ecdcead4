// Command handler serves one motcua function over HTTP with the golang-http
// contract: every request becomes a handler.Request (whole body, headers, raw
// query, method, host) passed to function.Handle, and the handler.Response is
// written back. In production of-watchdog (mode=http) proxies to it; locally
// the motcua runner starts it directly.
//
// Environment:
//
//	MOTCUA_FN_ADDR   listen address (default 127.0.0.1:8082)
//	MOTCUA_MAX_BODY  request body limit in bytes (default 1 MiB; 413 above)
//	read_timeout     server read timeout (default 10s)
//	write_timeout    server write timeout and shutdown drain (default 10s)
//	exec_timeout     deadline of each request's context (default 10s)
//	GOGC             the collector's target; unset means 400 (see tuneGC)
//	GOMEMLIMIT       the runtime's soft memory limit; unset means 3/4 of the
//	                 container's cgroup (v2 or v1) memory limit, if it has one
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/function"
)

const (
	defaultAddr    = "127.0.0.1:8082"
	defaultMaxBody = 1 << 20
	defaultTimeout = 10 * time.Second
	// defaultGCPercent is GOGC when the environment sets none. A function
	// process's live heap is a few MB while each storage request through
	// the AWS SDK allocates ~480 objects (~41 KB): at the runtime's 100
	// the collector ran every few requests and took ~20 % of a
	// submission's CPU. 400 lets the heap grow to 5× live between cycles;
	// the soft limit (memoryLimit) makes the collector work harder before
	// that could approach the container's limit.
	defaultGCPercent = 400
	// cgroupMemoryMax is the cgroup v2 memory limit of the container;
	// cgroupV1MemoryLimit the same on cgroup v1 hosts.
	cgroupMemoryMax     = "/sys/fs/cgroup/memory.max"
	cgroupV1MemoryLimit = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	healthPath          = "/_/health"
	// HeaderPath carries the request path to the handler.
	HeaderPath = "X-Motcua-Path"
)

// config is the process configuration read from the environment.
type config struct {
	addr         string
	maxBody      int64
	readTimeout  time.Duration
	writeTimeout time.Duration
	execTimeout  time.Duration
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("function stopped", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	gcPercent, memLimit := tuneGC(os.LookupEnv, os.ReadFile)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.addr, err)
	}
	var ready atomic.Bool
	srv := &http.Server{
		Handler:           newHandler(cfg, function.Handle, &ready, logger),
		ReadHeaderTimeout: cfg.readTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready.Store(true)
	logger.Info("function listening", "addr", ln.Addr().String(),
		"max_body", cfg.maxBody, "exec_timeout", cfg.execTimeout.String(),
		"gc_percent", gcPercent, "memory_limit", memLimit)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	ready.Store(false)
	logger.Info("shutting down, draining in-flight requests", "grace", cfg.writeTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.writeTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// tuneGC sets the collector's target to defaultGCPercent unless GOGC is
// set, and, unless GOMEMLIMIT is set, a soft memory limit of 3/4 of the
// container's cgroup limit when there is one (v2 memory.max, else v1
// memory.limit_in_bytes, read with readFile; none on a developer machine,
// "max" or a value near 2^63 in an unlimited cgroup). It returns the
// GC percent and the memory limit in force (math.MaxInt64: none), for the
// start log line.
func tuneGC(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (int, int64) {
	if _, set := lookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := lookupEnv("GOMEMLIMIT"); !set {
		for _, f := range []string{cgroupMemoryMax, cgroupV1MemoryLimit} {
			b, err := readFile(f)
			if err != nil {
				continue
			}
			// 1<<50 (1 PiB) and above is cgroup v1's "unlimited".
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<50 {
				debug.SetMemoryLimit(n / 4 * 3)
			}
			break
		}
	}
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	return gc, debug.SetMemoryLimit(-1)
}

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{addr: defaultAddr, maxBody: defaultMaxBody}
	var errs []error
	if v := getenv("MOTCUA_FN_ADDR"); v != "" {
		cfg.addr = v
	}
	if v := getenv("MOTCUA_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("MOTCUA_MAX_BODY: %q is not a positive byte count", v))
		}
		cfg.maxBody = n
	}
	for _, t := range []struct {
		key string
		dst *time.Duration
	}{{"read_timeout", &cfg.readTimeout}, {"write_timeout", &cfg.writeTimeout}, {"exec_timeout", &cfg.execTimeout}} {
		d, err := parseTimeout(getenv(t.key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.key, err))
		}
		*t.dst = d
	}
	return cfg, errors.Join(errs...)
}

// parseTimeout accepts a Go duration ("30s") or whole seconds ("30"); "" or 0
// gives the default.
func parseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return defaultTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%q is not a duration", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	if d == 0 {
		return defaultTimeout, nil
	}
	return d, nil
}

// handleFunc is function.Handle's signature.
type handleFunc func(handler.Request) (handler.Response, error)

func newHandler(cfg config, handle handleFunc, ready *atomic.Bool, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			// The pid lets a supervisor tell its own process from
			// another one that took the port first.
			w.Header().Set("X-Function-Pid", strconv.Itoa(os.Getpid()))
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "OK")
			return
		}
		serveFunction(cfg, handle, logger, w, r)
	})
}

func serveFunction(cfg config, handle handleFunc, logger *slog.Logger, w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > cfg.maxBody {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Payload Too Large")
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, cfg.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeProblem(w, http.StatusRequestEntityTooLarge, "Payload Too Large")
				return
			}
			logger.Warn("reading request body", "err", err)
			writeProblem(w, http.StatusBadRequest, "Bad Request")
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), cfg.execTimeout)
	defer cancel()
	appendForwardedFor(r)
	// The golang-http Request has no path: hand it over in a header,
	// overwriting whatever a client sent (used by Open311 paths).
	r.Header.Set(HeaderPath, r.URL.Path)
	req := handler.Request{
		Body:        body,
		Header:      r.Header,
		QueryString: r.URL.RawQuery,
		Method:      r.Method,
		Host:        r.Host,
	}
	req.WithContext(ctx)

	res, err := safeHandle(handle, req)
	if err != nil {
		logger.Error("function returned an error", "method", r.Method,
			"call_id", r.Header.Get("X-Call-Id"), "err", err)
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	// The whole body is in hand: say its length, so an answer over the
	// server's 2 KiB buffer goes out in one piece instead of chunked (an
	// extra write and parse on every hop: function, gateway, client).
	if w.Header().Get("Content-Length") == "" && bodyAllowed(status) {
		w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
	}
	w.WriteHeader(status)
	if len(res.Body) > 0 {
		_, _ = w.Write(res.Body)
	}
}

// bodyAllowed reports whether a response with status may carry a body
// (and so a Content-Length): not 1xx, 204 or 304 (RFC 9110 §8.6).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// errPanic marks a recovered panic in Handle.
var errPanic = errors.New("panic in Handle")

func safeHandle(handle handleFunc, req handler.Request) (res handler.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack())
		}
	}()
	return handle(req)
}

func writeProblem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d}`, title, status)
}

// appendForwardedFor adds the peer's address to X-Forwarded-For, as
// of-watchdog's proxy does, so the function sees its own last hop (the
// gateway) and finds the client through its trusted proxies
// (shared/citizenguard), never from what the client wrote itself.
func appendForwardedFor(r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || host == "" {
		return
	}
	if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		r.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+host)
		return
	}
	r.Header.Set("X-Forwarded-For", host)
}
