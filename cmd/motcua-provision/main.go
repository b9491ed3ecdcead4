// Command motcua-provision creates motcua's buckets, queues and dead-letter
// queues (infra/provision/resources.json) in whatever the standard AWS
// environment points at: AWS itself, LocalStack (AWS_ENDPOINT_URL=
// http://localhost:4566) or the embedded stack. S3 uses path-style
// addressing when AWS_ENDPOINT_URL(_S3) is set or MOTCUA_S3_PATH_STYLE=true.
// It is idempotent: run it as often as you like.
//
// Usage:
//
//	motcua-provision [-resources path/to/resources.json] [-timeout 2m]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"motcua/infra/provision"
	"motcua/shared/awsx"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	fs := flag.NewFlagSet("motcua-provision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("resources", "", "resource definition to apply (default: the one built in, infra/provision/resources.json)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var (
		res provision.Resources
		err error
	)
	if *path != "" {
		res, err = provision.Load(*path)
	} else {
		res, err = provision.LoadDefault()
	}
	if err != nil {
		logger.Error("load resources", "err", err)
		return 1
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		logger.Error("load AWS config", "err", err)
		return 1
	}
	rep, err := provision.ApplyWithReport(ctx, awsx.S3(cfg), awsx.SQS(cfg), res)
	for _, a := range rep.Actions {
		state := "exists "
		if a.Created {
			state = "created"
		}
		if a.URL != "" {
			fmt.Fprintf(stdout, "%s %-6s %s (%s)\n", state, a.Kind, a.Name, a.URL)
		} else {
			fmt.Fprintf(stdout, "%s %-6s %s\n", state, a.Kind, a.Name)
		}
	}
	if err != nil {
		logger.Error("provision", "err", err)
		return 1
	}
	return 0
}
