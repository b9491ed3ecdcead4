// Package app wires motcua's whole local stack in one process, the way
// `make run` (cmd/motcua-local) starts it and the end-to-end tests (tests/)
// and the load command (cmd/motcua-bench) reuse it:
//
//  1. the embedded S3/SQS stack (infra/embedded) on EdgeAddr over DataDir,
//     or, with ExternalAWS, whatever the standard AWS environment points at
//     (LocalStack or AWS), provisioned unless NoProvision;
//  2. every function of stack.yml as its own process (infra/runner), with the
//     standard AWS variables pointing at that backend;
//  3. the gateway (infra/gateway) on GatewayAddr, whose async route sends
//     asynccall.Call messages to the asynccall.QueueName queue;
//  4. the queue connector (infra/connector) calling the gateway.
//
// Stop tears it down in reverse order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/cmd/dvcqg-sim/sim"
	"motcua/infra/asynccall"
	"motcua/infra/connector"
	"motcua/infra/devsink"
	"motcua/infra/embedded"
	"motcua/infra/gateway"
	"motcua/infra/provision"
	"motcua/infra/runner"
	"motcua/shared/awsx"
	"motcua/shared/delivery"
	"motcua/shared/platform"
)

// Defaults applied to zero-valued Config fields.
const (
	// DefaultEdgeAddr is the embedded stack's listen address.
	DefaultEdgeAddr = embedded.DefaultAddr
	// DefaultGatewayAddr is the gateway's listen address.
	DefaultGatewayAddr = "127.0.0.1:8080"
	// DefaultDataDir holds the embedded stack's data and the dev secrets.
	DefaultDataDir = ".data"
	// DefaultMaxBody is the gateway's request body limit.
	DefaultMaxBody int64 = 1 << 20
)

// awsPassThrough are the variables copied from this process's environment to
// the functions when ExternalAWS is set.
var awsPassThrough = []string{
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	awsx.PathStyleKey,
}

// fnPassThrough are the variables copied from this process's environment to
// every function, embedded stack or not: switches an operator flips for a
// local run or a benchmark (MOTCUA_SQS_BATCH=false turns the coalescing of
// SQS sends off, see shared/platform; GOGC and GOMEMLIMIT replace the
// template's collector settings, see template/motcua-go).
var fnPassThrough = []string{platform.SQSBatchKey, "GOGC", "GOMEMLIMIT"}

// Config configures Start. Only RepoRoot (or StackFile) is required.
type Config struct {
	// RepoRoot is the repository folder (stack.yml, template/, functions/).
	RepoRoot string
	// StackFile is the stack file; RepoRoot/stack.yml when empty.
	StackFile string
	// EdgeAddr is the embedded stack's listen address (DefaultEdgeAddr).
	EdgeAddr string
	// DataDir holds the embedded stack's databases (DataDir/s3, DataDir/sqs)
	// and the dev secrets (DataDir/secrets). Default DefaultDataDir.
	DataDir string
	// BuildDir receives the functions' build contexts and binaries;
	// RepoRoot/.build when empty.
	BuildDir string
	// SecretsDir holds the dev secrets; DataDir/secrets when empty.
	SecretsDir string
	// GatewayAddr is the gateway's listen address (DefaultGatewayAddr).
	GatewayAddr string
	// MaxBody is the gateway's body limit in bytes (DefaultMaxBody).
	MaxBody int64
	// ExternalAWS skips the embedded stack and uses the standard AWS
	// environment of this process (LocalStack or AWS) for everything.
	ExternalAWS bool
	// NoProvision skips creating buckets and queues with ExternalAWS.
	NoProvision bool
	// NoSync disables fsync in the embedded stack (tests and benchmarks).
	NoSync bool
	// Logger receives every component's logs; discarded when nil.
	Logger *slog.Logger
	// AccessLog, when set, receives the gateway's access log (one JSON line
	// per call) through a gateway.AccessLog buffer, written in line-aligned
	// chunks off the request path; nil sends those lines to Logger.
	AccessLog io.Writer
	// StopGrace bounds each function's drain on Stop (runner default).
	StopGrace time.Duration
	// ConnectorWaitTime is the connector's long-poll time (connector
	// default 20 s; tests use less so Stop is quick).
	ConnectorWaitTime time.Duration
	// ConnectorShutdownGrace bounds the connector's drain (default 30 s).
	ConnectorShutdownGrace time.Duration
	// ConnectorRetryBaseDelay is the connector's first retry delay.
	ConnectorRetryBaseDelay time.Duration
}

// FunctionInfo is one running function.
type FunctionInfo struct {
	// Name is the stack.yml name.
	Name string
	// URL is the function's public URL through the gateway.
	URL string
	// ProcessURL is the function process's own base URL.
	ProcessURL string
	// Topic is the queue(s) it consumes, if any.
	Topic string
}

// App is a running local stack. Stop it exactly once; other methods are safe
// for concurrent use.
type App struct {
	cfg      Config
	log      *slog.Logger
	stack    *embedded.Stack // nil with ExternalAWS
	awsCfg   aws.Config
	s3c      *s3.Client
	sqsc     *sqs.Client
	edge     string
	runner   *runner.Runner
	gwSrv    *http.Server
	gw       *gateway.Gateway
	gwAccess *gateway.AccessLog
	gwURL    string
	gwDone   chan error
	connStop context.CancelFunc
	connDone chan error
	ready    time.Duration
	sinks    *devsink.Sinks
	dvcqg    *sim.Sim
	dvcqgSrv *http.Server
	dvcqgURL string

	stopOnce sync.Once
	stopErr  error
}

// Start brings the whole stack up and returns once every function answers
// its health check and the gateway and connector serve. ctx bounds the
// start-up only. On error, whatever started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *App, err error) {
	begin := time.Now()
	if cfg.RepoRoot == "" && cfg.StackFile == "" {
		return nil, errors.New("app: Config.RepoRoot or StackFile is required")
	}
	if cfg.RepoRoot == "" {
		cfg.RepoRoot = filepath.Dir(cfg.StackFile)
	}
	if cfg.EdgeAddr == "" {
		cfg.EdgeAddr = DefaultEdgeAddr
	}
	if cfg.GatewayAddr == "" {
		cfg.GatewayAddr = DefaultGatewayAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.BuildDir == "" {
		cfg.BuildDir = filepath.Join(cfg.RepoRoot, ".build")
	}
	if cfg.SecretsDir == "" {
		cfg.SecretsDir = filepath.Join(cfg.DataDir, "secrets")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = errors.Join(err, a.Stop(sctx))
		}
	}()

	fnEnv, err := a.startBackend(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range fnPassThrough {
		if v, ok := os.LookupEnv(k); ok {
			fnEnv[k] = v
		}
	}

	if err := a.startOutside(fnEnv); err != nil {
		return nil, err
	}

	a.runner, err = runner.New(runner.Options{
		RepoRoot:   cfg.RepoRoot,
		StackFile:  cfg.StackFile,
		BuildDir:   cfg.BuildDir,
		SecretsDir: cfg.SecretsDir,
		Env:        fnEnv,
		Logger:     log.With("component", "runner"),
		StopGrace:  cfg.StopGrace,
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if err := a.runner.Start(ctx); err != nil {
		return nil, fmt.Errorf("app: start functions: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.GatewayAddr)
	if err != nil {
		return nil, fmt.Errorf("app: gateway listen on %s: %w", cfg.GatewayAddr, err)
	}
	a.gwURL = "http://" + ln.Addr().String()
	var access *slog.Logger
	if cfg.AccessLog != nil {
		a.gwAccess = gateway.NewAccessLog(cfg.AccessLog, 0)
		access = slog.New(slog.NewJSONHandler(a.gwAccess, nil)).With("component", "gateway")
	}
	a.gw = gateway.New(gateway.Options{
		Functions: a.runner,
		Async:     &sqsAsyncQueue{client: a.sqsc},
		MaxBody:   cfg.MaxBody,
		Logger:    log.With("component", "gateway"),
		AccessLog: access,
	})
	a.gwSrv = &http.Server{
		Handler:           a.gw,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.gwDone = make(chan error, 1)
	go func() { a.gwDone <- a.gwSrv.Serve(ln) }()

	conn, err := connector.New(connector.Options{
		GatewayURL:     a.gwURL,
		SQS:            a.sqsc,
		WaitTime:       cfg.ConnectorWaitTime,
		ShutdownGrace:  cfg.ConnectorShutdownGrace,
		RetryBaseDelay: cfg.ConnectorRetryBaseDelay,
		Logger:         log,
		DeliverySecrets: func() ([][]byte, error) {
			v, err := a.runner.Secret(delivery.SecretName)
			return delivery.ParseSecrets(string(v)), err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("app: connector: %w", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	a.connStop = cancel
	a.connDone = make(chan error, 1)
	go func() { a.connDone <- conn.Run(cctx) }()

	a.ready = time.Since(begin)
	log.Info("local stack ready", "gateway", a.gwURL, "edge", a.edge, "startup_ms", a.ready.Milliseconds())
	return a, nil
}

// startBackend starts the embedded stack (or loads the external AWS
// configuration and provisions it) and returns the functions' AWS variables.
func (a *App) startBackend(ctx context.Context) (map[string]string, error) {
	cfg := a.cfg
	env := map[string]string{}
	if !cfg.ExternalAWS {
		st, err := embedded.Start(ctx, embedded.Config{Addr: cfg.EdgeAddr, DataDir: cfg.DataDir,
			Logger: a.log.With("component", "embedded"), NoSync: cfg.NoSync})
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		a.stack = st
		a.edge = st.Endpoint()
		if a.awsCfg, err = st.AWSConfig(ctx); err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		a.s3c, a.sqsc, err = st.Clients(ctx)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		for _, kv := range st.Env() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return env, nil
	}
	awsCfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: external AWS: %w", err)
	}
	a.awsCfg = awsCfg
	a.s3c, a.sqsc = awsx.S3(awsCfg), awsx.SQS(awsCfg)
	a.edge = aws.ToString(awsCfg.BaseEndpoint)
	if a.edge == "" {
		a.edge = "AWS (" + awsCfg.Region + ")"
	}
	for _, k := range awsPassThrough {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	if !cfg.NoProvision {
		res, err := provision.LoadDefault()
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		if err := provision.Apply(ctx, a.s3c, a.sqsc, res); err != nil {
			return nil, fmt.Errorf("app: provision: %w", err)
		}
	}
	return env, nil
}

// GatewayURL is the gateway's base URL, e.g. http://127.0.0.1:8080.
func (a *App) GatewayURL() string { return a.gwURL }

// EdgeURL is the S3/SQS endpoint the functions use (the embedded edge, the
// external AWS_ENDPOINT_URL, or "AWS (region)").
func (a *App) EdgeURL() string { return a.edge }

// DataDir is the data folder of the embedded stack.
func (a *App) DataDir() string { return a.cfg.DataDir }

// StartupDuration is how long Start took, from its call to ready.
func (a *App) StartupDuration() time.Duration { return a.ready }

// Runner is the function supervisor (PID, URL, Restarts).
func (a *App) Runner() *runner.Runner { return a.runner }

// Embedded is the embedded stack, nil with ExternalAWS.
func (a *App) Embedded() *embedded.Stack { return a.stack }

// AWSConfig is the SDK configuration of the backend.
func (a *App) AWSConfig() aws.Config { return a.awsCfg }

// S3 and SQS are clients of the backend.
func (a *App) S3() *s3.Client { return a.s3c }

// SQS is an SQS client of the backend.
func (a *App) SQS() *sqs.Client { return a.sqsc }

// Functions lists the running functions with their URLs.
func (a *App) Functions() []FunctionInfo {
	var out []FunctionInfo
	for _, f := range a.runner.Functions() {
		out = append(out, FunctionInfo{Name: f.Name, URL: a.gwURL + "/function/" + f.Name,
			ProcessURL: f.URL, Topic: f.Annotations[connector.TopicAnnotation]})
	}
	return out
}

// Stop stops the connector (draining in-flight deliveries), the gateway, the
// functions (SIGTERM, then SIGKILL after the grace) and the embedded stack,
// in that order. ctx bounds the gateway's and functions' drains. Calling it
// again returns the first result.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *App) stop(ctx context.Context) error {
	var errs []error
	if a.connStop != nil {
		a.connStop()
		if err := <-a.connDone; err != nil {
			errs = append(errs, fmt.Errorf("app: connector: %w", err))
		}
	}
	if a.gwSrv != nil {
		if err := a.gwSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: gateway shutdown: %w", err))
			_ = a.gwSrv.Close()
		}
		if err := <-a.gwDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("app: gateway: %w", err))
		}
		a.gw.Flush() // the last calls' access lines, before the log closes
	}
	if a.gwAccess != nil {
		if err := a.gwAccess.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app: gateway access log: %w", err))
		}
	}
	if a.runner != nil {
		if err := a.runner.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: functions: %w", err))
		}
	}
	if a.sinks != nil {
		if err := a.sinks.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app: dev sinks: %w", err))
		}
	}
	if a.dvcqgSrv != nil {
		if err := a.dvcqgSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: dvcqg simulator: %w", err))
		}
	}
	if a.stack != nil {
		if err := a.stack.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app: %w", err))
		}
	}
	a.log.Info("local stack stopped", "err", errors.Join(errs...))
	return errors.Join(errs...)
}

// sqsAsyncQueue is the gateway's AsyncQueue: it sends the raw asynccall.Call
// JSON to the asynccall.QueueName queue, resolving its URL once.
type sqsAsyncQueue struct {
	client *sqs.Client
	mu     sync.Mutex
	url    string
}

var _ gateway.AsyncQueue = (*sqsAsyncQueue)(nil)

// Enqueue sends body and returns once SQS acknowledged it.
func (q *sqsAsyncQueue) Enqueue(ctx context.Context, body []byte) error {
	u, err := q.queueURL(ctx)
	if err != nil {
		return err
	}
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("send to %s: %w", asynccall.QueueName, err)
	}
	return nil
}

func (q *sqsAsyncQueue) queueURL(ctx context.Context) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.url != "" {
		return q.url, nil
	}
	out, err := q.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(asynccall.QueueName)})
	if err != nil {
		return "", fmt.Errorf("resolve queue %s: %w", asynccall.QueueName, err)
	}
	q.url = aws.ToString(out.QueueUrl)
	return q.url, nil
}

// FindRepoRoot returns the folder at or above dir holding stack.yml and a
// go.mod declaring module motcua.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("app: %w", err)
	}
	for d := dir; ; {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module motcua\n") {
			if _, err := os.Stat(filepath.Join(d, "stack.yml")); err == nil {
				return d, nil
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("app: no motcua repository (go.mod + stack.yml) at or above %s", dir)
		}
		d = parent
	}
}
