// Command motcua-connector is the production entrypoint of motcua's queue
// connector (package motcua/infra/connector): it long-polls the SQS queues
// named by the functions' `topic` annotations and the async-calls queue, and
// invokes the functions through the OpenFaaS gateway.
//
// Configuration (environment):
//
//	GATEWAY_URL                   gateway base URL (default http://127.0.0.1:8080)
//	CONNECTOR_CONCURRENCY         in-flight deliveries per function without annotation (default 4)
//	CONNECTOR_ASYNC_CONCURRENCY   in-flight async calls (default: CONNECTOR_CONCURRENCY)
//	CONNECTOR_WAIT_TIME           SQS long-poll time, at most 20s (default 20s)
//	CONNECTOR_REFRESH_INTERVAL    how often the function list is re-read (default 30s)
//	CONNECTOR_SHUTDOWN_GRACE      drain time after SIGTERM/SIGINT (default 30s)
//	CONNECTOR_CALL_TIMEOUT        per-call timeout (default: queue visibility timeout minus a margin)
//	CONNECTOR_HEALTH_ADDR         address of the /healthz listener (default :8081, "off" disables)
//	MOTCUA_SECRETS_DIR            secrets directory (default /var/openfaas/secrets); the optional
//	                              secrets basic-auth-user and basic-auth-password authenticate to the gateway
//
// AWS settings come from the SDK's standard environment (AWS_REGION,
// AWS_ENDPOINT_URL, credentials, ...), so the same binary talks to the
// embedded stack, LocalStack or AWS.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"motcua/infra/connector"
	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/delivery"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("motcua-connector failed", "error", err)
		os.Exit(1)
	}
}

// settings is the connector's configuration read from the environment.
type settings struct {
	opts       connector.Options
	healthAddr string
}

// loadSettings reads every key and reports all problems at once.
func loadSettings(src config.Source) (settings, error) {
	r := config.NewReader(src)
	s := settings{opts: connector.Options{
		GatewayURL:         r.String("GATEWAY_URL", config.Default("http://127.0.0.1:8080")),
		DefaultConcurrency: r.Int("CONNECTOR_CONCURRENCY", config.Default(connector.DefaultConcurrency), config.Min(1), config.Max(1000)),
		AsyncConcurrency:   r.Int("CONNECTOR_ASYNC_CONCURRENCY", config.Default(0), config.Min(0), config.Max(1000)),
		WaitTime:           r.Duration("CONNECTOR_WAIT_TIME", config.Default(connector.DefaultWaitTime), config.Min(time.Second), config.Max(20*time.Second)),
		RefreshInterval:    r.Duration("CONNECTOR_REFRESH_INTERVAL", config.Default(connector.DefaultRefreshInterval), config.Min(time.Second)),
		ShutdownGrace:      r.Duration("CONNECTOR_SHUTDOWN_GRACE", config.Default(connector.DefaultShutdownGrace), config.Min(time.Second)),
		CallTimeout:        r.Duration("CONNECTOR_CALL_TIMEOUT", config.Default(time.Duration(0)), config.Min(time.Duration(0))),
	}}
	s.healthAddr = r.String("CONNECTOR_HEALTH_ADDR", config.Default(":8081"))
	if err := r.Err(); err != nil {
		return settings{}, fmt.Errorf("configuration: %w", err)
	}
	secrets := config.SecretsFrom(src)
	user, userErr := secrets.Get("basic-auth-user")
	pass, passErr := secrets.Get("basic-auth-password")
	switch {
	case userErr == nil && passErr == nil:
		s.opts.GatewayUsername, s.opts.GatewayPassword = user, pass
	case errors.Is(userErr, config.ErrSecretMissing) && errors.Is(passErr, config.ErrSecretMissing):
		// No gateway authentication configured.
	default:
		return settings{}, fmt.Errorf("gateway credentials: %w", errors.Join(userErr, passErr))
	}
	// Deliveries are signed when the queue-delivery-secret secret is
	// mounted (required by issue-receipt).
	if _, err := secrets.Get(delivery.SecretName); err == nil {
		s.opts.DeliverySecrets = func() ([][]byte, error) {
			v, err := secrets.Get(delivery.SecretName)
			return delivery.ParseSecrets(v), err
		}
	} else if !errors.Is(err, config.ErrSecretMissing) {
		return settings{}, fmt.Errorf("delivery secret: %w", err)
	}
	return s, nil
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	s, err := loadSettings(config.FromEnviron(os.Environ()))
	if err != nil {
		return err
	}
	// awsx: the functions' HTTP client (256 idle connections per host; the
	// SDK's default keeps 10, below the connector's deliveries in flight,
	// so it redialled) and the cached endpoint resolution.
	awsCfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	s.opts.SQS = awsx.SQS(awsCfg)
	s.opts.Logger = logger
	c, err := connector.New(s.opts)
	if err != nil {
		return err
	}

	if s.healthAddr != "off" {
		ln, err := net.Listen("tcp", s.healthAddr)
		if err != nil {
			return fmt.Errorf("health listener %s: %w", s.healthAddr, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write([]byte("OK\n"))
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("health listener stopped", "error", err)
			}
		}()
		defer func() { _ = srv.Close() }()
	}

	err = c.Run(ctx)
	if errors.Is(err, connector.ErrGraceExceeded) {
		// Unfinished deliveries were left on their queues for redelivery:
		// a controlled stop, not a failure.
		logger.Warn("stopped after the grace period", "error", err)
		return nil
	}
	return err
}
