// Package embedded is motcua's embedded local stack: an S3-compatible and an
// SQS-compatible server, both persisting to a data directory, behind one
// LocalStack-style edge endpoint, with every bucket and queue of
// provision.LoadDefault() created at start through the real AWS SDK.
//
// It is what `make run` starts and what every test in the repository uses
// (StartForTest). Clients reach it exactly as they reach LocalStack: the
// standard AWS SDK with BaseEndpoint (or AWS_ENDPOINT_URL) set to
// Endpoint() and S3 path-style addressing.
package embedded

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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"motcua/infra/edge"
	"motcua/infra/provision"
	"motcua/infra/s3server"
	"motcua/infra/sqsserver"
	"motcua/shared/awsx"
)

// Defaults of the embedded stack, the same as LocalStack's.
const (
	// DefaultAddr is the listen address when Config.Addr is empty.
	DefaultAddr = "127.0.0.1:4566"
	// Region is the stack's AWS region.
	Region = "us-east-1"
	// AccountID appears in queue URLs and ARNs.
	AccountID = "000000000000"
	// AccessKeyID is the stack's one access key (LocalStack's default).
	// Every S3 and SQS request must be SigV4-signed with it and
	// SecretAccessKey for Region, as AWS requires of its own keys; other
	// keys get InvalidAccessKeyId / InvalidClientTokenId.
	AccessKeyID = "test"
	// SecretAccessKey is the secret of AccessKeyID.
	SecretAccessKey = "test"
)

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// Config configures Start.
type Config struct {
	// Addr is the listen address; DefaultAddr when empty, "127.0.0.1:0"
	// for tests.
	Addr string
	// DataDir holds the S3 (s3/) and SQS (sqs/) databases; required.
	DataDir string
	// Logger receives structured logs; slog.Default() when nil.
	Logger *slog.Logger
	// NoSync skips fsync on every write (tests, benchmarks). Acknowledged
	// writes still survive a crash of this process, not of the machine.
	NoSync bool
}

// Stack is a running embedded stack. Its methods are safe for concurrent use.
type Stack struct {
	endpoint  string
	logger    *slog.Logger
	res       provision.Resources
	queueURLs map[string]string

	srv     *http.Server
	cancel  context.CancelFunc // cancels every request's context on Close
	served  chan error
	s3srv   *s3server.Server
	sqssrv  *sqsserver.Server
	closeMu sync.Mutex
	closed  bool
	err     error
}

// Start opens the S3 and SQS servers on cfg.DataDir, serves the edge on
// cfg.Addr and provisions every bucket and queue (idempotent, so a restart
// on the same DataDir keeps all data). ctx bounds the start-up only; call
// Close to stop the stack.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded: Config.DataDir is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	res, err := provision.LoadDefault()
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}

	s3srv, err := s3server.New(s3server.Options{
		DataDir:     filepath.Join(cfg.DataDir, "s3"),
		Logger:      logger.With("component", "s3"),
		NoSync:      cfg.NoSync,
		Credentials: map[string]string{AccessKeyID: SecretAccessKey},
		Region:      Region,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: start s3: %w", err)
	}
	sqssrv, err := sqsserver.New(sqsserver.Options{
		DataDir:     filepath.Join(cfg.DataDir, "sqs"),
		AccountID:   AccountID,
		Region:      Region,
		NoSync:      cfg.NoSync,
		Logger:      logger.With("component", "sqs"),
		Credentials: map[string]string{AccessKeyID: SecretAccessKey},
	})
	if err != nil {
		_ = s3srv.Close()
		return nil, fmt.Errorf("embedded: start sqs: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = sqssrv.Close()
		_ = s3srv.Close()
		return nil, fmt.Errorf("embedded: listen on %s: %w", cfg.Addr, err)
	}

	baseCtx, cancel := context.WithCancel(context.Background())
	s := &Stack{
		endpoint: "http://" + ln.Addr().String(),
		logger:   logger,
		res:      res,
		cancel:   cancel,
		served:   make(chan error, 1),
		s3srv:    s3srv,
		sqssrv:   sqssrv,
	}
	s.srv = &http.Server{
		Handler:           edge.New(s3srv, sqssrv, logger.With("component", "edge")),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() { s.served <- s.srv.Serve(ln) }()

	rep, err := s.provision(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("embedded: provision: %w", err), s.Close())
	}
	s.queueURLs = make(map[string]string)
	created := 0
	for _, a := range rep.Actions {
		if a.URL != "" {
			s.queueURLs[a.Name] = a.URL
		}
		if a.Created {
			created++
		}
	}
	logger.Info("embedded stack ready", "endpoint", s.endpoint, "dataDir", cfg.DataDir,
		"buckets", len(res.Buckets), "queues", len(res.Queues), "created", created)
	return s, nil
}

func (s *Stack) provision(ctx context.Context) (provision.Report, error) {
	s3c, sqsc, err := s.Clients(ctx)
	if err != nil {
		return provision.Report{}, err
	}
	return provision.ApplyWithReport(ctx, s3c, sqsc, s.res)
}

// Endpoint returns the base URL of the edge, e.g. http://127.0.0.1:4566;
// use it as AWS_ENDPOINT_URL.
func (s *Stack) Endpoint() string { return s.endpoint }

// Resources returns the provisioned buckets and queues.
func (s *Stack) Resources() provision.Resources { return s.res }

// QueueURL returns the URL of a provisioned queue (or dead-letter queue) by
// name, and whether it exists.
func (s *Stack) QueueURL(name string) (string, bool) {
	u, ok := s.queueURLs[name]
	return u, ok
}

// Env returns the standard AWS environment variables that point an SDK (in
// a child process, say) at this stack, as KEY=VALUE pairs.
func (s *Stack) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.endpoint,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"MOTCUA_S3_PATH_STYLE=true",
	}
}

// AWSConfig returns an SDK configuration for this stack: region us-east-1,
// static test credentials, BaseEndpoint = Endpoint(). It reads nothing from
// the environment or ~/.aws. S3 clients must also set UsePathStyle (see
// Clients). Its HTTP client is awsx.HTTPClient, as in the function
// processes: with the SDK's default (10 idle connections per host) a test
// or benchmark with more requests in flight closes and redials a connection
// for nearly every request (BenchmarkSubmitHTTP left ~10 TIME-WAIT sockets
// per submission), which measures dialling, not the stack. Its clients have
// awsx.SafeRequestBody, as every motcua client.
func (s *Stack) AWSConfig(ctx context.Context) (aws.Config, error) {
	if err := ctx.Err(); err != nil {
		return aws.Config{}, fmt.Errorf("embedded: aws config: %w", err)
	}
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(s.endpoint),
		HTTPClient:   awsx.HTTPClient(),
		APIOptions:   []func(*middleware.Stack) error{awsx.SafeRequestBody},
	}, nil
}

// Clients returns S3 (path style) and SQS clients for this stack.
func (s *Stack) Clients(ctx context.Context) (*s3.Client, *sqs.Client, error) {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), sqs.NewFromConfig(cfg), nil
}

// Close stops serving (waiting up to 10 s for requests in flight; long
// polls are cancelled) and closes both databases. It is idempotent.
func (s *Stack) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	// Cancel request contexts first so SQS long polls return at once.
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("embedded: shutdown: %w", err))
		_ = s.srv.Close()
	}
	if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("embedded: serve: %w", err))
	}
	if err := s.sqssrv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("embedded: close sqs: %w", err))
	}
	if err := s.s3srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("embedded: close s3: %w", err))
	}
	s.err = errors.Join(errs...)
	s.logger.Info("embedded stack closed", "endpoint", s.endpoint, "err", s.err)
	return s.err
}

// StartForTest starts a stack on 127.0.0.1:0 over a fresh temporary
// directory (NoSync), closes it when the test ends, and fails the test if it
// cannot start. Logs are discarded unless MOTCUA_TEST_LOG=1.
func StartForTest(t testing.TB) *Stack {
	t.Helper()
	return startForTest(t, true)
}

// StartDurableForTest is StartForTest with every write fsynced before its
// answer, as in production: for benchmarks that measure what a write costs.
func StartDurableForTest(t testing.TB) *Stack {
	t.Helper()
	return startForTest(t, false)
}

func startForTest(t testing.TB, noSync bool) *Stack {
	t.Helper()
	var logger *slog.Logger
	if os.Getenv("MOTCUA_TEST_LOG") == "1" {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: logger, NoSync: noSync})
	if err != nil {
		t.Fatalf("embedded.StartForTest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("embedded stack close: %v", err)
		}
	})
	return s
}
