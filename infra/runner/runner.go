// Package runner runs every function of stack.yml as its own OS process, the
// way OpenFaaS runs one watchdog per function: it builds each function from
// its faas-cli-style build context, starts the binary with a clean
// environment (the function's stack.yml environment, the AWS variables it is
// given, its secrets folder and a free loopback port), waits until
// /_/health answers, restarts a crashed process with backoff, and stops all
// gracefully. It is the gateway's FunctionSource.
//
// Each process's stdout and stderr become structured log records on the
// runner's logger, with the function's name attached.
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"motcua/infra/buildctx"
	"motcua/infra/gateway"
	"motcua/infra/stackfile"
	"motcua/shared/staffauth"
)

var _ gateway.FunctionSource = (*Runner)(nil)

// ErrStopped means the runner was stopped.
var ErrStopped = errors.New("runner: stopped")

// Defaults for Options.
const (
	// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	DefaultStopGrace = 10 * time.Second
	// DefaultReadyTimeout bounds the wait for a process's first /_/health.
	DefaultReadyTimeout = 60 * time.Second
	// maxBackoff caps the delay between restarts of a crashing process.
	maxBackoff = 10 * time.Second
	// firstBackoff is the delay before the first restart.
	firstBackoff = 100 * time.Millisecond
	// stableAfter resets the backoff once a process ran this long.
	stableAfter = 30 * time.Second
	// maxEarlyExits fails Start when a process exits this often before its
	// first ready answer.
	maxEarlyExits = 3
)

// Options configures New.
type Options struct {
	// RepoRoot is the folder faas-cli would run in (template/, functions/,
	// the copy paths). Default: the stack file's folder.
	RepoRoot string
	// StackFile is the stack file. Default: RepoRoot/stack.yml.
	StackFile string
	// BuildDir receives <fn>/context (build context), <fn>/handler (binary)
	// and <fn>/secrets. Default: the user cache folder's motcua/build.
	BuildDir string
	// SecretsDir holds one file per secret (dev values are generated once
	// and kept there). Default: the user config folder's motcua/secrets.
	SecretsDir string
	// Env is added to every function's environment (the AWS variables:
	// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// ...). It wins over the stack file's environment.
	Env map[string]string
	// Logger receives the runner's and the functions' logs (nil: discarded).
	Logger *slog.Logger
	// StopGrace is the wait between SIGTERM and SIGKILL (0: DefaultStopGrace).
	StopGrace time.Duration
	// ReadyTimeout bounds Start's wait for each function (0:
	// DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

// Runner supervises one process per function. Its methods are safe for
// concurrent use.
type Runner struct {
	opts  Options
	st    *stackfile.Stack
	log   *slog.Logger
	procs map[string]*proc
	names []string

	startOnce sync.Once
	stop      chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
}

// proc is one function's supervised process.
// gatewayTimeoutMargin is how much longer than a function's exec_timeout
// the gateway waits for its answer.
const gatewayTimeoutMargin = 2 * time.Second

type proc struct {
	fn         stackfile.Function
	env        []string // without MOTCUA_FN_ADDR
	bin        string
	secretsDir string
	envProcess string
	timeout    time.Duration // exec_timeout plus a margin; 0 = gateway default

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited
	url       string        // "" unless ready
	everReady chan struct{} // closed at the first ready
	readyOnce sync.Once
	early     int   // exits before the first ready
	lastErr   error // last exit or start error
	restarts  int
}

// New loads and validates the stack file and prepares the runner; nothing is
// built or started before Start.
func New(opts Options) (*Runner, error) {
	if opts.RepoRoot == "" && opts.StackFile == "" {
		return nil, errors.New("runner: RepoRoot or StackFile is required")
	}
	if opts.StackFile == "" {
		opts.StackFile = filepath.Join(opts.RepoRoot, "stack.yml")
	}
	st, err := stackfile.Load(opts.StackFile)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	if opts.RepoRoot == "" {
		opts.RepoRoot = st.Dir
	}
	if opts.BuildDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("runner: no BuildDir and no user cache folder: %w", err)
		}
		opts.BuildDir = filepath.Join(d, "motcua", "build")
	}
	if opts.SecretsDir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("runner: no SecretsDir and no user config folder: %w", err)
		}
		opts.SecretsDir = filepath.Join(d, "motcua", "secrets")
	}
	for _, p := range []*string{&opts.RepoRoot, &opts.BuildDir, &opts.SecretsDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts, st: st, log: log, procs: map[string]*proc{},
		names: st.FunctionNames(), stop: make(chan struct{})}
	for _, name := range r.names {
		fn, _ := st.Function(name)
		fenv, err := st.Env(fn)
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		envProcess := fn.FProcess
		if envProcess == "" {
			envProcess = "./handler"
		}
		dir := filepath.Join(opts.BuildDir, name)
		p := &proc{fn: fn, bin: filepath.Join(dir, "handler"), secretsDir: filepath.Join(dir, "secrets"),
			envProcess: envProcess, everReady: make(chan struct{})}
		p.env = buildEnv(fenv, opts.Env, p.secretsDir)
		if exec, err := stackfile.Timeout(fenv, "exec_timeout", 0); err == nil && exec > 0 {
			// The function answers 500 itself at exec_timeout; the gateway
			// waits a little longer so that answer, not a 504, reaches
			// the caller.
			p.timeout = exec + gatewayTimeoutMargin
		}
		r.procs[name] = p
	}
	return r, nil
}

// buildEnv is the clean environment of a function process, without its
// listen address: PATH and HOME, the stack file's environment, the caller's
// variables, and the secrets folder.
func buildEnv(stackEnv, extra map[string]string, secretsDir string) []string {
	m := map[string]string{}
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			m[k] = v
		}
	}
	for k, v := range stackEnv {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	m["MOTCUA_SECRETS_DIR"] = secretsDir
	delete(m, "MOTCUA_FN_ADDR")
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// Start builds every function, prepares its secrets, starts its process and
// waits until each answers /_/health. On error, whatever was started is
// stopped. Start may be called once.
func (r *Runner) Start(ctx context.Context) error {
	err := ErrStopped
	r.startOnce.Do(func() { err = r.start(ctx) })
	return err
}

func (r *Runner) start(ctx context.Context) error {
	for _, name := range r.names {
		if err := r.prepareSecrets(r.procs[name]); err != nil {
			return err
		}
	}
	if err := r.buildAll(ctx); err != nil {
		return err
	}
	select {
	case <-r.stop:
		return ErrStopped
	default:
	}
	for _, name := range r.names {
		p := r.procs[name]
		r.wg.Add(1)
		go r.supervise(name, p)
	}
	deadline := time.NewTimer(r.opts.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var failed error
	for _, name := range r.names {
		p := r.procs[name]
	wait:
		for {
			select {
			case <-p.everReady:
				break wait
			case <-ctx.Done():
				failed = fmt.Errorf("runner: waiting for %s: %w", name, ctx.Err())
			case <-deadline.C:
				failed = fmt.Errorf("runner: function %s not ready after %s: %v", name, r.opts.ReadyTimeout, p.lastError())
			case <-r.stop:
				failed = ErrStopped
			case <-tick.C:
				if p.earlyExits() >= maxEarlyExits {
					failed = fmt.Errorf("runner: function %s exited %d times before becoming ready: %v", name, maxEarlyExits, p.lastError())
				}
			}
			if failed != nil {
				break wait
			}
		}
		if failed != nil {
			sctx, cancel := context.WithTimeout(context.Background(), r.opts.StopGrace+5*time.Second)
			defer cancel()
			_ = r.Stop(sctx)
			return failed
		}
	}
	r.log.Info("all functions ready", "functions", strings.Join(r.names, ","))
	return nil
}

func (p *proc) lastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *proc) earlyExits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.early
}

// buildAll assembles and builds every function's build context, a few at
// a time (linking is single-threaded; the compiler shares the Go build
// cache), reusing binaries of unchanged build contexts from the binary
// cache (buildctx.BinaryCache). The first error stops the rest.
func (r *Runner) buildAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cache := buildctx.DefaultBinaryCache()
	workers := min(max(runtime.NumCPU(), 2), 4)
	jobs := make(chan string)
	errs := make(chan error, len(r.names))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for name := range jobs {
				errs <- r.buildOne(ctx, cache, name)
			}
		})
	}
	var first error
	for _, name := range r.names {
		select {
		case jobs <- name:
		case err := <-errs:
			if err != nil && first == nil {
				first = err
				cancel()
			}
			jobs <- name
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// buildOne assembles and builds one function.
func (r *Runner) buildOne(ctx context.Context, cache *buildctx.BinaryCache, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := r.procs[name]
	dir := filepath.Dir(p.bin)
	start := time.Now()
	if err := buildctx.Assemble(r.opts.RepoRoot, r.st, name, filepath.Join(dir, "context")); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	hit, err := buildctx.BuildCached(ctx, cache, filepath.Join(dir, "context"), p.bin)
	if err != nil {
		return fmt.Errorf("runner: function %s: %w", name, err)
	}
	r.log.Info("built function", "function", name, "from_cache", hit, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// prepareSecrets fills the function's secrets folder with the secrets it
// names, generating a dev value for any secret missing from SecretsDir.
func (r *Runner) prepareSecrets(p *proc) error {
	if err := os.MkdirAll(p.secretsDir, 0o700); err != nil {
		return fmt.Errorf("runner: secrets of %s: %w", p.fn.Name, err)
	}
	// Only the function's own secrets are visible to it.
	entries, err := os.ReadDir(p.secretsDir)
	if err != nil {
		return fmt.Errorf("runner: secrets of %s: %w", p.fn.Name, err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(p.secretsDir, e.Name())); err != nil {
			return fmt.Errorf("runner: secrets of %s: %w", p.fn.Name, err)
		}
	}
	if len(p.fn.Secrets) > 0 {
		if err := os.MkdirAll(r.opts.SecretsDir, 0o700); err != nil {
			return fmt.Errorf("runner: secrets folder: %w", err)
		}
	}
	for _, name := range p.fn.Secrets {
		val, err := r.secret(name)
		if err != nil {
			return fmt.Errorf("runner: secret %s of %s: %w", name, p.fn.Name, err)
		}
		if err := os.WriteFile(filepath.Join(p.secretsDir, name), val, 0o600); err != nil {
			return fmt.Errorf("runner: secret %s of %s: %w", name, p.fn.Name, err)
		}
	}
	return nil
}

// secret returns the value of a secret from SecretsDir, generating a dev
// value the first time (see devSecret). The value is never logged.
func (r *Runner) secret(name string) ([]byte, error) {
	path := filepath.Join(r.opts.SecretsDir, name)
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if gen, ok := devGenerators[name]; ok {
		return r.generateSet(name, gen)
	}
	val, err := r.devSecret(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // created meanwhile by another runner
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(val); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	r.log.Warn("generated a development secret; set a real value for production", "secret", name, "path", path)
	return val, nil
}

// devSecret makes a development value for a secret, in the form its
// reader expects:
//   - staffauth.PrivateKeySecret: a new Ed25519 private key (PKCS #8 PEM);
//   - staffauth.PublicKeysSecret: the JWK Set of the public key of the
//     (generated if needed) private key, so `motcua token mint` tokens
//     verify;
//   - vnpay-tmn-code: an 8-character terminal code like VNPAY's
//     (upper-case letters and digits);
//   - anything else: 32 random bytes, hex.
func (r *Runner) devSecret(name string) ([]byte, error) {
	switch name {
	case staffauth.PrivateKeySecret:
		return staffauth.GenerateKey()
	case staffauth.PublicKeysSecret:
		priv, err := r.secret(staffauth.PrivateKeySecret)
		if err != nil {
			return nil, err
		}
		s, err := staffauth.NewSigner(priv, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", staffauth.PrivateKeySecret, err)
		}
		return staffauth.PublicKeySet(s)
	case "vnpay-tmn-code":
		return []byte(rand.Text()[:8]), nil // base32: A-Z, 2-7
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(raw)), nil
}

// supervise starts the process and restarts it after each crash, with
// backoff, until Stop.
func (r *Runner) supervise(name string, p *proc) {
	defer r.wg.Done()
	backoff := firstBackoff
	for {
		started := time.Now()
		exited, err := r.launch(name, p)
		if err == nil {
			<-exited
		}
		p.mu.Lock()
		p.url = ""
		ready := isClosed(p.everReady)
		if !ready {
			p.early++
		}
		if err != nil {
			p.lastErr = err
		}
		lastErr := p.lastErr
		p.mu.Unlock()
		select {
		case <-r.stop:
			return
		default:
		}
		if time.Since(started) > stableAfter {
			backoff = firstBackoff
		}
		r.log.Error("function process exited; restarting", "function", name, "err", lastErr, "backoff", backoff.String())
		select {
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// launch starts one process on a free port and a goroutine that marks it
// ready once /_/health answers. The returned channel closes at exit.
func (r *Runner) launch(name string, p *proc) (<-chan struct{}, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(p.bin)
	cmd.Dir = filepath.Dir(p.bin)
	cmd.Env = append(append([]string(nil), p.env...), "MOTCUA_FN_ADDR="+addr)
	cmd.Stdout = newLineLogger(r.log, name, "stdout")
	cmd.Stderr = newLineLogger(r.log, name, "stderr")
	cmd.WaitDelay = 2 * time.Second
	exited := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-r.stop:
		return nil, ErrStopped
	default:
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.cmd, p.exited = cmd, exited
	r.log.Info("function process started", "function", name, "pid", cmd.Process.Pid, "addr", addr)
	go func() {
		err := cmd.Wait()
		for _, w := range []any{cmd.Stdout, cmd.Stderr} {
			w.(*lineLogger).flush()
		}
		p.mu.Lock()
		if err == nil {
			err = errors.New("exited with status 0")
		}
		p.lastErr = fmt.Errorf("pid %d: %w", cmd.Process.Pid, err)
		p.mu.Unlock()
		close(exited)
	}()
	go r.awaitReady(name, p, "http://"+addr, cmd.Process.Pid, exited)
	return exited, nil
}

// awaitReady polls /_/health until 200, the process exits, or Stop.
//
// The answer must name pid (X-Function-Pid): the port was free when chosen,
// but another process may have bound it before ours did (ours then fails to
// listen and exits), and that process's answer must not make ours "ready".
func (r *Runner) awaitReady(name string, p *proc, base string, pid int, exited chan struct{}) {
	client := &http.Client{Timeout: 2 * time.Second}
	want := strconv.Itoa(pid)
	for {
		res, err := client.Get(base + "/_/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && res.Header.Get("X-Function-Pid") == want {
				p.mu.Lock()
				if !isClosed(exited) {
					p.url = base
				}
				p.mu.Unlock()
				p.readyOnce.Do(func() { close(p.everReady) })
				r.log.Info("function ready", "function", name, "url", base)
				return
			}
		}
		select {
		case <-exited:
			return
		case <-r.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the base URL (http://127.0.0.1:PORT) of fn's live, ready
// process.
func (r *Runner) URL(fn string) (string, bool) {
	p, ok := r.procs[fn]
	if !ok {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	url := p.liveURLLocked()
	return url, url != ""
}

// liveURLLocked is p.url while its process runs. The process exits (exited
// closes) a moment before supervise clears p.url; in between the URL is a
// dead port, and PID already says no process. Caller holds p.mu.
func (p *proc) liveURLLocked() string {
	if p.exited == nil || isClosed(p.exited) {
		return ""
	}
	return p.url
}

// Restarts returns how many times fn's process was restarted.
func (r *Runner) Restarts(fn string) int {
	p, ok := r.procs[fn]
	if !ok {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

// PID returns the process id of fn's current process, if any.
func (r *Runner) PID(fn string) (int, bool) {
	p, ok := r.procs[fn]
	if !ok {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil || isClosed(p.exited) {
		return 0, false
	}
	return p.cmd.Process.Pid, true
}

// Functions lists every function with its metadata (gateway.FunctionSource).
func (r *Runner) Functions() []gateway.Function {
	out := make([]gateway.Function, 0, len(r.names))
	for _, n := range r.names {
		fn, _ := r.Function(n)
		out = append(out, fn)
	}
	return out
}

// Function returns one function with its metadata and the URL of its ready
// process, "" while none is ready (gateway.FunctionSource).
func (r *Runner) Function(name string) (gateway.Function, bool) {
	p, ok := r.procs[name]
	if !ok {
		return gateway.Function{}, false
	}
	p.mu.Lock()
	url := p.liveURLLocked()
	p.mu.Unlock()
	avail := 0
	if url != "" {
		avail = 1
	}
	return gateway.Function{Name: name, Image: p.fn.Image, EnvProcess: p.envProcess,
		Labels: p.fn.Labels, Annotations: p.fn.Annotations,
		Replicas: 1, AvailableReplicas: avail, URL: url, Timeout: p.timeout}, true
}

// Stop sends SIGTERM to every process, waits up to StopGrace (or ctx) for
// them to drain and exit, then SIGKILLs the rest. Safe to call more than once.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stop) })
	var errs []error
	type running struct {
		name   string
		cmd    *exec.Cmd
		exited chan struct{}
	}
	var live []running
	for _, name := range r.names {
		p := r.procs[name]
		p.mu.Lock()
		p.url = ""
		if p.cmd != nil && !isClosed(p.exited) {
			live = append(live, running{name, p.cmd, p.exited})
		}
		p.mu.Unlock()
	}
	for _, l := range live {
		if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("SIGTERM %s: %w", l.name, err))
		}
	}
	grace := time.NewTimer(r.opts.StopGrace)
	defer grace.Stop()
	for _, l := range live {
		select {
		case <-l.exited:
			continue
		case <-grace.C:
		case <-ctx.Done():
		}
		r.log.Warn("function did not stop in time; killing", "function", l.name)
		if err := l.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("SIGKILL %s: %w", l.name, err))
		}
		<-l.exited
	}
	r.wg.Wait()
	r.log.Info("all functions stopped")
	return errors.Join(errs...)
}

// lineLogger turns a process's output into one log record per line: JSON
// lines (slog from the template) keep their level and message and carry the
// whole record under "record"; other lines are logged as they are.
type lineLogger struct {
	log    *slog.Logger
	fn     string
	stream string
	mu     sync.Mutex
	buf    []byte
}

const maxLine = 64 << 10

func newLineLogger(log *slog.Logger, fn, stream string) *lineLogger {
	return &lineLogger{log: log, fn: fn, stream: stream}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	attrs := []slog.Attr{slog.String("function", l.fn), slog.String("stream", l.stream)}
	var rec struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
	}
	if line[0] == '{' && json.Valid(line) && json.Unmarshal(line, &rec) == nil && rec.Msg != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(rec.Level)); err != nil {
			lvl = slog.LevelInfo
		}
		attrs = append(attrs, slog.Any("record", json.RawMessage(bytes.Clone(line))))
		l.log.LogAttrs(context.Background(), lvl, l.fn+": "+rec.Msg, attrs...)
		return
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, l.fn+": "+string(line), attrs...)
}
