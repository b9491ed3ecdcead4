// Command motcua is the staff and operator CLI of motcua.
//
//	motcua catalog load [--file path]       validate and load a catalog version
//	motcua catalog list [--q text] [--level l] [--json]
//	motcua catalog validate [--file path]   validate a catalog file offline
//	motcua receipt verify-qr --keys keys.json <payload|->   check a receipt QR offline
//	motcua receipt verify <receipt.xml|->   check a signed receipt XML offline
//
// Storage is reached the same way the functions reach it: MOTCUA_BUCKET names
// the bucket and the AWS SDK's standard variables (AWS_REGION,
// AWS_ENDPOINT_URL, credentials) select the backend.
//
// Each command group lives in its own file and registers itself in groups;
// add a group (e.g. "token") by adding a file with its entry.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/docstore"
)

// env is what a command needs from the process, injectable in tests.
type env struct {
	stdout, stderr io.Writer
	environ        []string
	// stdin is read by commands given "-" (nil reads nothing).
	stdin io.Reader
	// store opens the document store (the bucket named by MOTCUA_BUCKET).
	store func(ctx context.Context) (docstore.Store, error)
}

// group is one command group, e.g. "catalog".
type group struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// groups maps a group name to its implementation; filled by each group's
// file.
var groups = map[string]group{}

// errUsage marks a usage error (exit status 2); its text is the usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), stdin: os.Stdin})
	stop()
	os.Exit(code)
}

// run dispatches args to a group and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	if e.store == nil {
		e.store = func(ctx context.Context) (docstore.Store, error) { return storeFromEnv(ctx, e.environ) }
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		return 2
	}
	g, ok := groups[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "motcua: unknown command %q\n", args[0])
		usage(e.stderr)
		return 2
	}
	err := g.run(ctx, e, args[1:])
	var coded interface{ ExitCode() int } // a command's own exit status (e.g. motcua jobs)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(e.stderr, err)
		return 2
	case errors.As(err, &coded):
		fmt.Fprintf(e.stderr, "motcua %s: %v\n", args[0], err)
		return coded.ExitCode()
	default:
		fmt.Fprintf(e.stderr, "motcua %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: motcua <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, groups[n].summary)
	}
}

// storeFromEnv opens the bucket named by MOTCUA_BUCKET with the standard
// AWS configuration.
func storeFromEnv(ctx context.Context, environ []string) (docstore.Store, error) {
	common, err := config.LoadCommon(config.FromEnviron(environ))
	if err != nil {
		return nil, err
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, err
	}
	return docstore.NewS3Store(awsx.S3(cfg), nil, common.Bucket), nil
}
