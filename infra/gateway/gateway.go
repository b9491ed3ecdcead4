// Package gateway is motcua's local stand-in for the OpenFaaS gateway: an
// http.Handler serving OpenFaaS's routes in front of the function processes.
//
//	/function/NAME[/anything]  synchronous call (any method), reverse-proxied
//	/async-function/NAME       202 + X-Call-Id; the call is queued as an
//	                           asynccall.Call for the queue connector
//	/system/functions          GET: the functions, as OpenFaaS lists them
//	/system/function/NAME      GET: one function
//	/healthz                   200 when the gateway is up
//
// Errors are RFC 9457 problem+json in the functions' shape (shared/httpx):
// type https://motcua.gov.vn/problems/<code>, a snake_case code
// (function_not_found, payload_too_large, method_not_allowed, invalid_header,
// function_not_ready, function_unavailable, function_timeout,
// async_unavailable, not_found), a Vietnamese title and detail beside the
// English ones, instance urn:motcua:call:<id>. Every call gets an X-Call-Id (a
// caller-supplied one of 1-128 characters A-Z a-z 0-9 - _ . : is kept, a
// malformed one is refused with 400 invalid_header) on the request to the
// function and on the response; a malformed X-Callback-Url is refused the
// same way. TRACE and CONNECT are refused (405) on every route, and /healthz
// and /system/* answer GET and HEAD only. Each call writes
// one access-log line (Options.AccessLog, or Logger); bodies, queries and Authorization are never logged.
//
// The per-call path is kept to what a bare httputil.ReverseProxy does plus
// a few header sets: one allocation holds the call's state (response
// recorder, context value, proxy hook data); call ids come from the
// runtime's per-thread generator; a request body of known length up to
// 64 KiB is read before the function is called so it leaves in the same
// write as the headers; the access-log line is only queued on the request
// goroutine and encoded by a background goroutine (Gateway.Flush writes out
// the queue). BenchmarkGatewayOverhead compares it with the bare proxy.
package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"motcua/infra/asynccall"
)

// Defaults for Options.
const (
	// DefaultMaxBody is the request body limit when Options.MaxBody is 0.
	DefaultMaxBody int64 = 1 << 20
	// DefaultTimeout bounds a synchronous call when Options.Timeout is 0; it
	// is above the functions' 30 s exec_timeout so the function answers first.
	DefaultTimeout = 60 * time.Second
)

// Header names the gateway sets or reads.
const (
	// HeaderCallID carries the call's correlation id.
	HeaderCallID = "X-Call-Id"
	// HeaderStartTime is the Unix time in nanoseconds the gateway received
	// the call, as OpenFaaS sets it.
	HeaderStartTime = "X-Start-Time"
	// HeaderDuration is the call's duration in seconds on the response.
	HeaderDuration = "X-Duration-Seconds"
	// HeaderCallbackURL asks for an async call's result to be POSTed there.
	HeaderCallbackURL = "X-Callback-Url"
)

// Function is one function as the gateway sees it.
type Function struct {
	// Name is the function name from stack.yml.
	Name string
	// Image is the function's image name.
	Image string
	// EnvProcess is the process the watchdog runs (fprocess).
	EnvProcess string
	// Labels and Annotations are the function's, from stack.yml.
	Labels      map[string]string
	Annotations map[string]string
	// Replicas is the desired number of processes; AvailableReplicas the
	// number ready now.
	Replicas          int
	AvailableReplicas int
	// URL is the base URL (http://127.0.0.1:PORT) of a ready process, or ""
	// while none is ready.
	URL string
	// Timeout bounds one call (the function's exec_timeout plus a small
	// margin for the function's own 500 to come back); 0 means the
	// gateway's Options.Timeout.
	Timeout time.Duration
}

// FunctionSource tells the gateway which functions exist and where a ready
// process of each listens. Implementations must be safe for concurrent use
// and cheap: Function is called on every request.
type FunctionSource interface {
	// Functions lists every function, sorted by name.
	Functions() []Function
	// Function returns the named function; ok is false if there is none.
	Function(name string) (fn Function, ok bool)
}

// AsyncQueue takes the message body of one asynchronous call (an encoded
// asynccall.Call) to the asynccall.QueueName queue. Enqueue returns nil only
// once the queue acknowledged the message; it must be safe for concurrent use.
// A cancelled ctx aborts the send, which may or may not have happened.
type AsyncQueue interface {
	Enqueue(ctx context.Context, body []byte) error
}

// Options configures New.
type Options struct {
	// Functions is required.
	Functions FunctionSource
	// Async receives /async-function calls; nil answers those with 503.
	Async AsyncQueue
	// MaxBody is the request body limit in bytes (0: DefaultMaxBody).
	MaxBody int64
	// Timeout bounds a synchronous call (0: DefaultTimeout).
	Timeout time.Duration
	// Logger receives access and error logs (nil: discarded).
	Logger *slog.Logger
	// AccessLog, when set, receives the one-line-per-call access log
	// instead of Logger (e.g. a JSON handler over an AccessLog buffer, so
	// the log's goroutine does not wait for a write system call either).
	// Lines reach it a few milliseconds after the call, in call order;
	// Gateway.Flush writes out the rest.
	AccessLog *slog.Logger
	// Transport reaches the functions (nil: a shared keep-alive transport).
	Transport http.RoundTripper
}

// Gateway is the http.Handler returned by New. Its access-log lines are
// queued by the request and written by a background goroutine a few
// milliseconds later; Flush writes out what is queued (call it after the
// server's Shutdown and before closing the access log's writer).
type Gateway struct {
	fns     FunctionSource
	async   AsyncQueue
	maxBody int64
	timeout time.Duration
	log     *slog.Logger
	access  *accessQueue
	proxy   *httputil.ReverseProxy

	counts sync.Map // function name → *atomic.Int64

	targets sync.Map // function base URL string → *url.URL, parsed once
}

// gateway is the receiver name used throughout this file.
type gateway = Gateway

// Flush writes every access-log line queued so far to Options.AccessLog
// (or Logger) before it returns. After the HTTP server's Shutdown returned,
// no call is left unlogged once Flush returns.
func (g *Gateway) Flush() { g.access.drain() }

// targetURL parses a function's base URL once per distinct value (processes
// change port only on restart), keeping url.Parse off the hot path.
func (g *gateway) targetURL(raw string) (*url.URL, error) {
	if u, ok := g.targets.Load(raw); ok {
		return u.(*url.URL), nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	g.targets.Store(raw, u)
	return u, nil
}

// NewTransport returns the transport the gateway uses by default: keep-alive
// connections to the loopback function processes, many idle per host, no
// compression (the functions answer on loopback) and no Expect: 100-continue
// wait (a zero ExpectContinueTimeout sends the body at once; the gateway
// has already answered the caller's own Expect by reading the body).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// New returns the gateway handler. It panics on nothing; a nil
// Options.Functions makes every function route answer 503.
func New(opts Options) *Gateway {
	g := &gateway{
		fns:     opts.Functions,
		async:   opts.Async,
		maxBody: opts.MaxBody,
		timeout: opts.Timeout,
		log:     opts.Logger,
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxBody
	}
	if g.timeout <= 0 {
		g.timeout = DefaultTimeout
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	access := opts.AccessLog
	if access == nil {
		access = g.log
	}
	g.access = &accessQueue{h: access.Handler()}
	tr := opts.Transport
	if tr == nil {
		tr = NewTransport()
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      tr,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		BufferPool:     bufferPool{},
	}
	return g
}

// call is one request's state. It is allocated once per request and plays
// three parts: the response writer handed to the routes (it notes status and
// bytes for the access log), the request context handed to the proxy (its
// Value answers ctxKey{} with the call itself, everything else is the
// server's request context, so no extra context layer is allocated) and the
// carrier of what the proxy hooks need.
type call struct {
	context.Context
	http.ResponseWriter

	status int
	bytes  int64
	wrote  bool // a body write happened (there is something to flush)

	id       string
	function string
	target   *url.URL
	path     string
	start    time.Time
	timeout  time.Duration
}

type ctxKey struct{}

// Value answers ctxKey{} with the call; other keys go to the request context.
func (c *call) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func callOf(ctx context.Context) *call {
	c, _ := ctx.Value(ctxKey{}).(*call)
	return c
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id, idOK := callID(r.Header.Get(HeaderCallID))
	rec := &call{Context: r.Context(), ResponseWriter: w, id: id, start: start}
	w.Header()[HeaderCallID] = []string{id}
	route := "other"
	switch p := r.URL.Path; {
	case r.Method == http.MethodTrace || r.Method == http.MethodConnect:
		// Never echoed or tunnelled, on any route.
		g.methodNotAllowed(rec, r, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	case !idOK:
		g.badHeader(rec, r, HeaderCallID, "pattern",
			"must be 1 to 128 characters of letters, digits and - _ . :",
			"phải gồm 1 đến 128 ký tự chữ, số hoặc - _ . :")
	case strings.HasPrefix(p, "/function/"):
		route = "function"
		if g.callbackOK(rec, r) {
			g.serveFunction(rec, r, p[len("/function/"):])
		}
	case strings.HasPrefix(p, "/async-function/"):
		route = "async-function"
		if g.callbackOK(rec, r) {
			g.serveAsync(rec, r, p[len("/async-function/"):])
		}
	case p == "/system/functions":
		route = "system"
		g.serveList(rec, r)
	case strings.HasPrefix(p, "/system/function/"):
		route = "system"
		g.serveOne(rec, r, p[len("/system/function/"):])
	case p == "/healthz":
		route = "healthz"
		if g.readOnly(rec, r) {
			rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rec.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(rec, "OK")
		}
	default:
		g.problem(rec, r, notFound(r.URL.Path))
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.wrote && r.Method != http.MethodHead {
		// Put the answer on the wire now, so the caller does not wait for
		// the server's own end-of-request bookkeeping.
		_ = rec.flush()
	}
	// Only an append to the queue here: the line is encoded and written
	// by the queue's goroutine.
	end := time.Now()
	g.access.add(accessEntry{at: end, id: rec.id, route: route, function: rec.function,
		method: r.Method, status: rec.status, dur: end.Sub(start), bytes: rec.bytes})
}

// splitName splits "NAME/rest" into NAME and "/rest".
func splitName(s string) (string, string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, "/"
}

func (g *gateway) lookup(w http.ResponseWriter, r *http.Request, name string) (Function, bool) {
	if g.fns == nil {
		g.problem(w, r, problem{Code: "function_not_ready", Status: http.StatusServiceUnavailable,
			Title: "Function not ready", TitleVI: "Chức năng chưa sẵn sàng",
			Detail: "no functions are configured", DetailVI: "Chưa có chức năng nào được cấu hình"})
		return Function{}, false
	}
	fn, ok := g.fns.Function(name)
	if !ok || name == "" {
		g.problem(w, r, problem{Code: "function_not_found", Status: http.StatusNotFound,
			Title: "Function not found", TitleVI: "Không tìm thấy chức năng",
			Detail:   fmt.Sprintf("no function named %q is deployed", name),
			DetailVI: fmt.Sprintf("Không có chức năng nào tên %q", name)})
		return Function{}, false
	}
	return fn, true
}

func (g *gateway) tooLarge(w http.ResponseWriter, r *http.Request) {
	g.problem(w, r, problem{Code: "payload_too_large", Status: http.StatusRequestEntityTooLarge,
		Title: "Payload too large", TitleVI: "Dữ liệu gửi lên quá lớn",
		Detail:   fmt.Sprintf("the request body exceeds %d bytes", g.maxBody),
		DetailVI: fmt.Sprintf("Nội dung yêu cầu vượt quá %d byte", g.maxBody)})
}

// bufferBody is the largest request body (by its Content-Length) the
// gateway reads whole before calling the function, so that the function
// gets headers and body in one write; larger bodies are streamed.
const bufferBody = 64 << 10

func (g *gateway) serveFunction(c *call, r *http.Request, rest string) {
	name, path := splitName(rest)
	c.function = name
	fn, ok := g.lookup(c, r, name)
	if !ok {
		return
	}
	g.counter(name).Add(1)
	if fn.URL == "" {
		c.Header().Set("Retry-After", "1")
		g.problem(c, r, problem{Code: "function_not_ready", Status: http.StatusServiceUnavailable,
			Title: "Function not ready", TitleVI: "Chức năng chưa sẵn sàng",
			Detail:   fmt.Sprintf("function %q has no ready replica; retry shortly", name),
			DetailVI: fmt.Sprintf("Chức năng %q chưa sẵn sàng, vui lòng thử lại sau giây lát", name)})
		return
	}
	target, err := g.targetURL(fn.URL)
	if err != nil {
		g.log.Error("bad function URL", "function", name, "err", err)
		g.unavailable(c, r, name)
		return
	}
	switch n := r.ContentLength; {
	case n > g.maxBody:
		g.tooLarge(c, r)
		return
	case n < 0 && r.Body != nil && r.Body != http.NoBody:
		// Unknown length (chunked): cut it at the limit while streaming.
		r.Body = http.MaxBytesReader(c, r.Body, g.maxBody)
	case n > 0 && n <= bufferBody:
		// The server already stops the body at its Content-Length.
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			g.unreadable(c, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	c.target, c.path = target, path
	c.timeout = g.timeout
	if fn.Timeout > 0 {
		c.timeout = fn.Timeout
	}
	ctx, cancel := context.WithTimeout(c, c.timeout)
	defer cancel()
	g.proxy.ServeHTTP(c, r.WithContext(ctx))
}

// unreadable answers 400 when the request body could not be read (the
// caller sent less than its Content-Length or went away).
func (g *gateway) unreadable(w http.ResponseWriter, r *http.Request) {
	g.problem(w, r, problem{Code: "bad_request", Status: http.StatusBadRequest,
		Title: "Bad request", TitleVI: "Yêu cầu không hợp lệ",
		Detail: "the request body could not be read", DetailVI: "Không đọc được nội dung yêu cầu"})
}

func (g *gateway) rewrite(pr *httputil.ProxyRequest) {
	c := callOf(pr.In.Context())
	pr.Out.URL.Scheme = c.target.Scheme
	pr.Out.URL.Host = c.target.Host
	pr.Out.URL.Path = c.path
	pr.Out.URL.RawPath = ""
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	pr.Out.Host = ""
	pr.SetXForwarded()
	h := pr.Out.Header
	// The gateway's own server answered any Expect: 100-continue when the
	// body was read; the function gets the body at once.
	delete(h, "Expect")
	h[HeaderCallID] = []string{c.id}
	h[HeaderStartTime] = []string{strconv.FormatInt(c.start.UnixNano(), 10)}
}

func (g *gateway) modifyResponse(res *http.Response) error {
	// The gateway's X-Call-Id is already on the response writer.
	delete(res.Header, HeaderCallID)
	if c := callOf(res.Request.Context()); c != nil {
		res.Header[HeaderDuration] = []string{strconv.FormatFloat(time.Since(c.start).Seconds(), 'f', 6, 64)}
	}
	return nil
}

func (g *gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ci := callOf(r.Context())
	name := ""
	if ci != nil {
		name = ci.function
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		g.tooLarge(w, r)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded):
		timeout := g.timeout
		if ci != nil && ci.timeout > 0 {
			timeout = ci.timeout
		}
		g.log.Warn("function timed out", "function", name, "call_id", idOf(ci), "timeout", timeout.String())
		g.problem(w, r, problem{Code: "function_timeout", Status: http.StatusGatewayTimeout,
			Title: "Function timed out", TitleVI: "Chức năng xử lý quá thời gian",
			Detail:   fmt.Sprintf("function %q did not answer within %s", name, timeout),
			DetailVI: fmt.Sprintf("Chức năng %q không phản hồi trong %s", name, timeout)})
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads this answer.
		w.WriteHeader(499)
	default:
		g.log.Warn("function unreachable", "function", name, "call_id", idOf(ci), "err", err)
		g.unavailable(w, r, name)
	}
}

func idOf(ci *call) string {
	if ci == nil {
		return ""
	}
	return ci.id
}

func (g *gateway) unavailable(w http.ResponseWriter, r *http.Request, name string) {
	g.problem(w, r, problem{Code: "function_unavailable", Status: http.StatusBadGateway,
		Title: "Function unavailable", TitleVI: "Chức năng tạm thời không phản hồi",
		Detail:   fmt.Sprintf("function %q could not be reached", name),
		DetailVI: fmt.Sprintf("Không kết nối được tới chức năng %q", name)})
}

func (g *gateway) serveAsync(ci *call, r *http.Request, rest string) {
	var w http.ResponseWriter = ci
	name, _ := splitName(rest)
	ci.function = name
	if _, ok := g.lookup(w, r, name); !ok {
		return
	}
	if g.async == nil {
		g.problem(w, r, problem{Code: "async_unavailable", Status: http.StatusServiceUnavailable,
			Title: "Asynchronous calls unavailable", TitleVI: "Chưa thể nhận yêu cầu xử lý bất đồng bộ",
			Detail: "no async queue is configured", DetailVI: "Chưa cấu hình hàng đợi xử lý bất đồng bộ"})
		return
	}
	if r.ContentLength > g.maxBody {
		g.tooLarge(w, r)
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			g.tooLarge(w, r)
			return
		case err != nil:
			g.unreadable(w, r)
			return
		}
	}
	hdr := r.Header.Clone()
	removeHopByHop(hdr)
	hdr.Set(HeaderCallID, ci.id)
	call := asynccall.Call{
		CallID:      ci.id,
		Function:    name,
		Method:      r.Method,
		Query:       r.URL.RawQuery,
		Header:      hdr,
		Body:        body,
		CallbackURL: r.Header.Get(HeaderCallbackURL),
	}
	msg, err := call.Encode()
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
		err = g.async.Enqueue(ctx, msg)
		cancel()
	}
	if err != nil {
		g.log.Error("queueing async call", "function", name, "call_id", ci.id, "err", err)
		g.problem(w, r, problem{Code: "async_unavailable", Status: http.StatusServiceUnavailable,
			Title: "Asynchronous calls unavailable", TitleVI: "Chưa thể nhận yêu cầu xử lý bất đồng bộ",
			Detail: "the call could not be queued; retry", DetailVI: "Không đưa được yêu cầu vào hàng đợi, vui lòng thử lại"})
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// hopByHop are the headers that apply to one connection only (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopByHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// FunctionStatus is one entry of /system/functions, shaped like OpenFaaS's.
type FunctionStatus struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	EnvProcess        string            `json:"envProcess"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	Replicas          int               `json:"replicas"`
	AvailableReplicas int               `json:"availableReplicas"`
	InvocationCount   float64           `json:"invocationCount"`
}

func (g *gateway) status(fn Function) FunctionStatus {
	s := FunctionStatus{Name: fn.Name, Image: fn.Image, EnvProcess: fn.EnvProcess,
		Labels: fn.Labels, Annotations: fn.Annotations,
		Replicas: fn.Replicas, AvailableReplicas: fn.AvailableReplicas,
		InvocationCount: float64(g.counter(fn.Name).Load())}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	return s
}

func (g *gateway) serveList(w http.ResponseWriter, r *http.Request) {
	if !g.readOnly(w, r) {
		return
	}
	list := []FunctionStatus{}
	if g.fns != nil {
		for _, fn := range g.fns.Functions() {
			list = append(list, g.status(fn))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (g *gateway) serveOne(w http.ResponseWriter, r *http.Request, name string) {
	if !g.readOnly(w, r) {
		return
	}
	fn, ok := g.lookup(w, r, name)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, g.status(fn))
}

func (g *gateway) readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	g.methodNotAllowed(w, r, "GET, HEAD")
	return false
}

// methodNotAllowed answers 405 with the methods the route allows.
func (g *gateway) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	g.problem(w, r, problem{Code: "method_not_allowed", Status: http.StatusMethodNotAllowed,
		Title: "Method not allowed", TitleVI: "Phương thức không được hỗ trợ",
		Detail:   fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allow),
		DetailVI: fmt.Sprintf("Không hỗ trợ phương thức %s tại đây; được phép: %s", r.Method, allow)})
}

// badHeader answers 400 naming the malformed header.
func (g *gateway) badHeader(w http.ResponseWriter, r *http.Request, header, code, en, vi string) {
	g.problem(w, r, problem{Code: "invalid_header", Status: http.StatusBadRequest,
		Title: "Invalid header", TitleVI: "Tiêu đề yêu cầu không hợp lệ",
		Detail:   fmt.Sprintf("header %s %s", header, en),
		DetailVI: fmt.Sprintf("Tiêu đề %s %s", header, vi),
		Errors: []fieldError{{Field: header, Code: code,
			Message: fmt.Sprintf("%s %s", header, en), MessageVI: fmt.Sprintf("%s %s", header, vi)}}})
}

// maxCallbackURL bounds X-Callback-Url.
const maxCallbackURL = 2048

// callbackOK checks an X-Callback-Url, if any: an absolute http(s) URL with
// a host, no user info or fragment, at most 2048 bytes. It answers 400 and
// reports false otherwise.
func (g *gateway) callbackOK(w http.ResponseWriter, r *http.Request) bool {
	vs := r.Header.Values(HeaderCallbackURL)
	if len(vs) == 0 {
		return true
	}
	if len(vs) == 1 && validCallbackURL(vs[0]) {
		return true
	}
	g.badHeader(w, r, HeaderCallbackURL, "format",
		"must be one absolute http or https URL with a host (at most 2048 bytes, no user info or fragment)",
		"phải là một địa chỉ http hoặc https đầy đủ có tên máy (tối đa 2048 byte, không chứa thông tin đăng nhập hay phân đoạn #)")
	return false
}

func validCallbackURL(s string) bool {
	if s == "" || len(s) > maxCallbackURL {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" &&
		u.User == nil && u.Fragment == "" && !strings.Contains(s, "#")
}

func (g *gateway) counter(name string) *atomic.Int64 {
	if c, ok := g.counts.Load(name); ok {
		return c.(*atomic.Int64)
	}
	c, _ := g.counts.LoadOrStore(name, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// callID keeps a caller's X-Call-Id (1 to 128 of A-Z a-z 0-9 - _ . :) or
// makes one when there is none; ok is false for a malformed one (which gets
// a fresh id for the error response).
func callID(in string) (id string, ok bool) {
	if in == "" {
		return newCallID(), true
	}
	if len(in) > 128 {
		return newCallID(), false
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return newCallID(), false
		}
	}
	return in, true
}

// newCallID returns a random (version 4) UUID in its 36-character text
// form. The bits come from math/rand/v2's runtime generator (ChaCha8 seeded
// by the OS, per thread, no system call or lock): a correlation id must be
// unique, not secret, and this costs one allocation instead of a
// crypto/rand read on every call.
func newCallID() string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], rand.Uint64())
	binary.BigEndian.PutUint64(raw[8:], rand.Uint64())
	raw[6] = raw[6]&0x0f | 0x40 // version 4
	raw[8] = raw[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], raw[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], raw[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], raw[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], raw[8:10])
	b[23] = '-'
	hex.Encode(b[24:], raw[10:])
	return string(b[:])
}

// ProblemTypeBase prefixes every problem type slug.
const ProblemTypeBase = "https://motcua.gov.vn/problems/"

// problem is an RFC 9457 problem with Vietnamese title and detail, in the
// same shape as the functions' (shared/httpx.Problem): type is
// ProblemTypeBase + code, code is a snake_case slug, instance is
// urn:motcua:call:<call id>.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     string       `json:"code"`
	TitleVI  string       `json:"title_vi,omitempty"`
	DetailVI string       `json:"detail_vi,omitempty"`
	Errors   []fieldError `json:"errors,omitempty"`
}

// fieldError names one bad part of a request (here a header), as
// shared/httpx.FieldError does.
type fieldError struct {
	Field     string `json:"field"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageVI string `json:"message_vi"`
}

func notFound(path string) problem {
	return problem{Code: "not_found", Status: http.StatusNotFound,
		Title: "Not found", TitleVI: "Không tìm thấy",
		Detail:   fmt.Sprintf("no route for %q", path),
		DetailVI: fmt.Sprintf("Không có đường dẫn %q", path)}
}

func (g *gateway) problem(w http.ResponseWriter, r *http.Request, p problem) {
	w.Header().Set(asynccall.HeaderGatewayError, p.Code)
	p.Type = ProblemTypeBase + p.Code
	if id := w.Header().Get(HeaderCallID); id != "" {
		p.Instance = "urn:motcua:call:" + id
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	b, err := json.Marshal(p)
	if err != nil {
		w.WriteHeader(p.Status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// copyBuffers recycles the proxy's 32 KiB copy buffers across calls.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// bufferPool adapts copyBuffers to httputil.BufferPool.
type bufferPool struct{}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// flush sends what the handler wrote so far to the client.
func (c *call) flush() error {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// WriteHeader notes the first final status for the access log.
func (c *call) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

// Write counts the body bytes for the access log.
func (c *call) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.wrote = true
	n, err := c.ResponseWriter.Write(b)
	c.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush).
func (c *call) Unwrap() http.ResponseWriter { return c.ResponseWriter }
