// Package platform gives a function its dependencies, built once per
// process: configuration, secrets, the document stores, the queue publisher
// and the logger. A function's handler.go calls Get (or New in tests) and
// keeps the result; nothing here runs per request.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/shared/awsx"
	"motcua/shared/citizenguard"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/logx"
	"motcua/shared/queue"
)

// SQSBatchKey turns the coalescing of concurrent publishes into
// SendMessageBatch requests (queue.Batcher) on or off: "false" (or "0")
// makes every Publish its own SendMessage request. Default true.
const SQSBatchKey = "MOTCUA_SQS_BATCH"

// loadTimeout bounds building the platform (loading the AWS configuration
// may query credential providers).
const loadTimeout = 30 * time.Second

// Platform is what every function gets once per process. Its fields are
// safe for concurrent use and must not be reassigned after start-up.
type Platform struct {
	// Config is the configuration every function shares.
	Config config.Common
	// Secrets reads the function's secrets (MOTCUA_SECRETS_DIR or
	// /var/openfaas/secrets).
	Secrets config.Secrets
	// Store is the documents bucket (MOTCUA_BUCKET).
	Store docstore.Store
	// Uploads is the uploads bucket (MOTCUA_UPLOADS_BUCKET); nil when unset.
	Uploads docstore.Store
	// Queue publishes to the queues, copying events to the queues that
	// subscribe to them (queue.Fanout with queue.DefaultRoutes); concurrent
	// publishes to one queue share SendMessageBatch requests (queue.Batcher)
	// unless MOTCUA_SQS_BATCH=false.
	Queue queue.Publisher
	// Guard counts attempts in Store and reads client addresses through
	// the trusted proxies of MOTCUA_TRUSTED_PROXIES (see
	// shared/citizenguard). It has no pepper: it hashes nothing and checks
	// only legacy PBKDF2 hashes (a peppered one is a 5xx). A function that
	// hashes or checks citizen secrets uses CitizenGuard instead.
	Guard *citizenguard.Guard
	// Log is the JSON logger on stderr, masking citizen IDs and phone
	// numbers and dropping secrets (see shared/logx).
	Log *slog.Logger

	// guardOpts are Guard's options (proxies, policy, logger), for
	// CitizenGuard.
	guardOpts []citizenguard.Option
}

// CitizenGuard returns the guard of a function that hashes or checks
// citizen secrets (PINs, follow-up secrets, PIN-recovery codes): Guard's
// store, proxies and logger plus the pepper key set of the
// citizenguard.PepperSecret secret. Call it once, in the function's build
// (platform.Serve, Lazy), so the key set is read once per process. A
// missing or malformed secret is an error naming it, so the function does
// not start (every request answers the build failure until the secret is
// fixed); nothing falls back to an unkeyed hash.
func (p *Platform) CitizenGuard() (*citizenguard.Guard, error) {
	pepper, err := citizenguard.LoadPepper(p.Secrets)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	if p.Log != nil {
		p.Log.Info("citizen-secret key set loaded", slog.String("current_kid", pepper.Current()), slog.String("kids", strings.Join(pepper.Kids(), ",")))
	}
	return citizenguard.New(p.Store, append(slices.Clone(p.guardOpts), citizenguard.WithPepper(pepper))...), nil
}

var (
	mu     sync.Mutex
	cached *Platform
)

// Get returns the process's Platform, built from the environment
// (os.Environ) and the AWS SDK's standard settings on the first successful
// call. A failure is not cached: the next call (the next request) tries
// again, so a function whose dependencies come up late recovers on its own.
// Safe for concurrent use.
func Get() (*Platform, error) {
	mu.Lock()
	defer mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	awsCfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	p, err := New(ctx, config.FromEnviron(os.Environ()), awsCfg)
	if err != nil {
		return nil, err
	}
	cached = p
	return p, nil
}

// New builds a Platform from src and awsCfg without touching the process
// environment; tests use it to point a function at the embedded stack
// (awsCfg from embedded.Stack.AWSConfig). The error names every missing or
// bad configuration key.
func New(ctx context.Context, src config.Source, awsCfg aws.Config) (*Platform, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	common, err := config.LoadCommon(src)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	r := config.NewReader(src)
	force := r.Bool(awsx.PathStyleKey)
	batch := r.Bool(SQSBatchKey, config.Default(true))
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	proxies, err := citizenguard.ProxiesFromEnv(src.Lookup)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	guardPolicy, err := citizenguard.PolicyFromEnv(src.Lookup)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	s3c := awsx.S3WithPathStyle(awsCfg, force)
	presign := s3.NewPresignClient(s3c)
	sqsPub := queue.NewSQSPublisher(awsx.SQS(awsCfg))
	var pub queue.Publisher = sqsPub
	if batch {
		pub = queue.NewBatcher(sqsPub, queue.BatcherOptions{})
	}
	p := &Platform{
		Config:  common,
		Secrets: config.SecretsFrom(src),
		Store:   docstore.NewS3Store(s3c, presign, common.Bucket),
		Queue:   queue.NewFanout(pub, queue.DefaultRoutes),
		Log:     logx.New(os.Stderr, common.LogLevel),
	}
	p.guardOpts = []citizenguard.Option{citizenguard.WithProxies(proxies), citizenguard.WithPolicy(guardPolicy), citizenguard.WithLogger(p.Log)}
	p.Guard = citizenguard.New(p.Store, p.guardOpts...)
	if common.UploadsBucket != "" {
		// Assigned only when configured: a nil *S3Store in the interface
		// would not compare equal to nil.
		p.Uploads = docstore.NewS3Store(s3c, presign, common.UploadsBucket)
	}
	p.Log.Debug("platform ready",
		slog.String("bucket", common.Bucket),
		slog.String("uploads_bucket", common.UploadsBucket),
		slog.String("events_queue", common.EventsQueue),
		slog.String("region", awsCfg.Region),
		slog.String("s3_path_style", strconv.FormatBool(s3c.Options().UsePathStyle)),
		slog.Bool("sqs_batch", batch))
	return p, nil
}
