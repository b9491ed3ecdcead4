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
	"strconv"
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
	// subscribe to them (queue.Fanout with queue.DefaultRoutes).
	Queue queue.Publisher
	// Guard checks citizen secrets (PINs), counting attempts in Store and
	// reading client addresses through the trusted proxies of
	// MOTCUA_TRUSTED_PROXIES (see shared/citizenguard).
	Guard *citizenguard.Guard
	// Log is the JSON logger on stderr, masking citizen IDs and phone
	// numbers and dropping secrets (see shared/logx).
	Log *slog.Logger
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
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	proxies, err := citizenguard.ProxiesFromEnv(src.Lookup)
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	s3c := awsx.S3WithPathStyle(awsCfg, force)
	presign := s3.NewPresignClient(s3c)
	p := &Platform{
		Config:  common,
		Secrets: config.SecretsFrom(src),
		Store:   docstore.NewS3Store(s3c, presign, common.Bucket),
		Queue:   queue.NewFanout(queue.NewSQSPublisher(awsx.SQS(awsCfg)), queue.DefaultRoutes),
		Log:     logx.New(os.Stderr, common.LogLevel),
	}
	p.Guard = citizenguard.New(p.Store, citizenguard.WithProxies(proxies), citizenguard.WithLogger(p.Log))
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
		slog.String("s3_path_style", strconv.FormatBool(s3c.Options().UsePathStyle)))
	return p, nil
}
