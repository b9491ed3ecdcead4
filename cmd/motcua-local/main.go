// Command motcua-local runs motcua's whole local stack in the foreground (what
// `make run` starts): the embedded S3/SQS stack, every function of stack.yml
// as its own process, the OpenFaaS-style gateway and the queue connector.
// It prints where everything listens and stops gracefully on SIGINT/SIGTERM.
//
// Usage (from the repository):
//
//	go run ./cmd/motcua-local [-edge-addr 127.0.0.1:4566] [-data ./.data]
//	    [-gateway-addr 127.0.0.1:8080] [-max-body 1048576]
//	    [-external-aws [-no-provision]] [-repo .] [-build .build]
//
// MOTCUA_EDGE_ADDR, MOTCUA_DATA_DIR and MOTCUA_GATEWAY_ADDR set the defaults of
// the matching flags. With -external-aws nothing embedded starts: the
// standard AWS environment (AWS_ENDPOINT_URL for LocalStack, or real AWS) is
// used by the functions, the gateway and the connector alike, and the
// buckets and queues are provisioned there unless -no-provision.
// Logs are JSON lines on stderr; the banner goes to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"motcua/cmd/motcua-local/app"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run is main without the exit.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("motcua-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	edgeAddr := fs.String("edge-addr", envOr("MOTCUA_EDGE_ADDR", app.DefaultEdgeAddr), "embedded S3/SQS listen address (env MOTCUA_EDGE_ADDR)")
	dataDir := fs.String("data", envOr("MOTCUA_DATA_DIR", "./.data"), "data folder of the embedded stack and dev secrets (env MOTCUA_DATA_DIR)")
	gwAddr := fs.String("gateway-addr", envOr("MOTCUA_GATEWAY_ADDR", app.DefaultGatewayAddr), "gateway listen address (env MOTCUA_GATEWAY_ADDR)")
	maxBody := fs.Int64("max-body", app.DefaultMaxBody, "gateway request body limit in bytes")
	external := fs.Bool("external-aws", false, "do not start the embedded stack; use the AWS environment as given (LocalStack or AWS)")
	noProvision := fs.Bool("no-provision", false, "with -external-aws: do not create buckets and queues")
	repo := fs.String("repo", ".", "repository folder (stack.yml), searched upwards")
	buildDir := fs.String("build", "", "folder for the functions' build contexts and binaries (default: <repo>/.build)")
	startTimeout := fs.Duration("start-timeout", 5*time.Minute, "give up starting after this long (builds included)")
	stopTimeout := fs.Duration("stop-timeout", 45*time.Second, "bound on the graceful stop")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "motcua-local: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	root, err := app.FindRepoRoot(*repo)
	if err != nil {
		log.Error("repository not found", "err", err)
		return 1
	}
	data, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Error("data folder", "err", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, *startTimeout)
	var access io.Writer // the gateway's access lines are Info
	if lvl <= slog.LevelInfo {
		access = stderr
	}
	a, err := app.Start(sctx, app.Config{
		RepoRoot:    root,
		EdgeAddr:    *edgeAddr,
		DataDir:     data,
		BuildDir:    *buildDir,
		SecretsDir:  filepath.Join(data, "secrets"),
		GatewayAddr: *gwAddr,
		MaxBody:     *maxBody,
		ExternalAWS: *external,
		NoProvision: *noProvision,
		Logger:      log,
		AccessLog:   access,
	})
	cancel()
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	printBanner(stdout, a, *external)

	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("stopping local stack")
	tctx, tcancel := context.WithTimeout(context.Background(), *stopTimeout)
	defer tcancel()
	if err := a.Stop(tctx); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return 0
}

func printBanner(w io.Writer, a *app.App, external bool) {
	backend := "embedded S3/SQS"
	if external {
		backend = "external AWS environment"
	}
	fmt.Fprintf(w, "\nmotcua local stack ready in %s\n\n", a.StartupDuration().Round(time.Millisecond))
	fmt.Fprintf(w, "  gateway   %s   (/function/NAME, /async-function/NAME, /system/functions, /healthz)\n", a.GatewayURL())
	fmt.Fprintf(w, "  S3/SQS    %s   (%s)\n", a.EdgeURL(), backend)
	if !external {
		fmt.Fprintf(w, "  data      %s\n", a.DataDir())
	}
	if sinks := a.DevSinks(); sinks != nil {
		fmt.Fprintf(w, "  dev SMTP  %s   (mails the notify function sends; copies in %s/devsink/mail)\n", sinks.SMTPAddr(), a.DataDir())
		fmt.Fprintf(w, "  dev SMS   %s   (eSMS-shaped sink; copies in %s/devsink/sms)\n", sinks.SMSURL(), a.DataDir())
	}
	if u := a.DVCQGSimURL(); u != "" {
		fmt.Fprintf(w, "  DVCQG sim %s   (national portal simulator: GET /_sim/received, POST /_sim/control)\n", u)
	}
	fmt.Fprintf(w, "\n  functions:\n")
	for _, f := range a.Functions() {
		topic := ""
		if f.Topic != "" {
			topic = "   consumes " + f.Topic
		}
		fmt.Fprintf(w, "    %-20s %s   (process %s)%s\n", f.Name, f.URL, f.ProcessURL, topic)
	}
	fmt.Fprintf(w, "\n  try:\n")
	fmt.Fprintf(w, "    curl '%s/function/procedures?q=khai+sinh'\n", a.GatewayURL())
	fmt.Fprintf(w, "    curl %s/system/functions\n", a.GatewayURL())
	if !external {
		fmt.Fprintf(w, "    AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws s3 ls\n", a.EdgeURL())
	}
	fmt.Fprintf(w, "\n  Ctrl-C stops everything.\n\n")
}
