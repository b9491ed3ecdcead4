package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"motcua/shared/application"
	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/feedback"
	"motcua/shared/outbox"
	"motcua/shared/queue"
)

func init() {
	groups["outbox"] = group{summary: "repair the event outbox (republish or discard stale markers)", run: outboxCmd}
}

const outboxUsage = `usage:
  motcua outbox repair [--older-than 2m] [--json]

Sweeps the outbox markers (outbox/<eventId>.json in MOTCUA_BUCKET) older
than --older-than: an event whose state change was written is published
(again) to the queue its marker names, one whose state change never happened
is discarded. Consumers de-duplicate on the event ID, so a republished event
is harmless. Younger markers belong to requests still running and are left
alone. MOTCUA_EVENTS_QUEUE, when set, must name a valid queue; the markers
carry their own queue. The AWS SDK's standard variables select the backend.`

// outboxBackend is what outbox repair works on.
type outboxBackend struct {
	store docstore.Store
	pub   queue.Publisher
}

// openOutbox opens the data bucket and the SQS publisher from the
// environment; tests replace it to use fakes.
var openOutbox = outboxFromEnv

// outboxFromEnv reads MOTCUA_BUCKET (required) and MOTCUA_EVENTS_QUEUE
// (checked when set) and the standard AWS configuration. It loads that
// configuration itself rather than through awsx.Load, whose process-wide
// cache would keep the endpoint of the first call: one CLI run needs one
// load, and a test process runs several against different stacks.
func outboxFromEnv(ctx context.Context, environ []string) (outboxBackend, error) {
	common, err := config.LoadCommon(config.FromEnviron(environ))
	if err != nil {
		return outboxBackend{}, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return outboxBackend{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return outboxBackend{}, awsx.ErrNoRegion
	}
	return outboxBackend{
		store: docstore.NewS3Store(awsx.S3(cfg), nil, common.Bucket),
		pub:   queue.NewFanout(queue.NewSQSPublisher(awsx.SQS(cfg)), queue.DefaultRoutes),
	}, nil
}

func outboxCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, outboxUsage)
	}
	switch args[0] {
	case "repair":
		return outboxRepair(ctx, e, args[1:])
	default:
		return fmt.Errorf("%w: unknown outbox command %q\n%s", errUsage, args[0], outboxUsage)
	}
}

func outboxRepair(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("motcua outbox repair", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	olderThan := fs.Duration("older-than", 2*time.Minute, "leave markers younger than this to the requests writing them")
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, outboxUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q\n%s", errUsage, fs.Arg(0), outboxUsage)
	}
	if *olderThan < 0 {
		return fmt.Errorf("%w: --older-than must not be negative\n%s", errUsage, outboxUsage)
	}
	b, err := openOutbox(ctx, e.environ)
	if err != nil {
		return err
	}
	// One JSON log line per republished or discarded event on stderr;
	// stdout carries the summary only.
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := outbox.Repair(ctx, b.store, b.pub, *olderThan, map[string]outbox.Written{
		application.OutboxKind: application.OutboxWritten(b.store),
		feedback.OutboxKind:    feedback.EventWritten(b.store),
	}, log)
	if *asJSON {
		out, jerr := json.Marshal(res)
		if jerr != nil {
			return jerr
		}
		fmt.Fprintln(e.stdout, string(out))
	} else {
		fmt.Fprintf(e.stdout, "outbox repair (markers older than %s): %d republished, %d discarded, %d pending, %d failed\n",
			*olderThan, res.Published, res.Discarded, res.Pending, res.Failed)
	}
	return err
}
