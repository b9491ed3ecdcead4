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
//	motcua-provision -cloudformation            print the CloudFormation template
//	motcua-provision -generate [-root .]        rewrite infra/cloudformation/motcua.json and infra/secrets.sh
//
// The generated files derive from stack.yml and resources.json (package
// motcua/infra/deploy); a test fails while the committed copies differ.
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

	"motcua/infra/deploy"
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
	cfn := fs.Bool("cloudformation", false, "print the CloudFormation template derived from stack.yml and resources.json, then exit")
	generate := fs.Bool("generate", false, "write the generated deployment files (infra/cloudformation/motcua.json, infra/secrets.sh) under -root, then exit")
	root := fs.String("root", ".", "repository root holding stack.yml (for -cloudformation and -generate)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfn || *generate {
		m, err := deploy.Load(*root)
		if err != nil {
			logger.Error("derive deployment", "err", err)
			return 1
		}
		if *cfn {
			b, err := m.CloudFormation()
			if err != nil {
				logger.Error("template", "err", err)
				return 1
			}
			_, _ = stdout.Write(b)
			return 0
		}
		files, err := m.Generated()
		if err != nil {
			logger.Error("generate", "err", err)
			return 1
		}
		for _, f := range files {
			p := filepath.Join(*root, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				logger.Error("generate", "err", err)
				return 1
			}
			if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
				logger.Error("generate", "err", err)
				return 1
			}
			fmt.Fprintf(stdout, "wrote %s\n", f.Path)
		}
		return 0
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
