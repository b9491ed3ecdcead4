package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"motcua/shared/application"
)

func init() {
	groups["applications"] = group{summary: "rebuild the staff work-queue index of the applications", run: applicationsCmd}
}

const applicationsUsage = `usage:
  motcua applications reindex [--json]

Re-syncs the staff work-queue index (index/agency/<agency>/… and
index/code/<code>.json in MOTCUA_BUCKET) from every application document,
deletes entries no application points to, and recomputes each agency's
counts per status. The index is kept by every write of an application;
run this after a restore, or when a crash between an application write and
its index update left an entry stale. Safe while the functions run.`

func applicationsCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "reindex" {
		return fmt.Errorf("%w: %s", errUsage, applicationsUsage)
	}
	fs := flag.NewFlagSet("applications reindex", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, applicationsUsage)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	res, err := application.RebuildIndex(ctx, store)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "indexed %d applications, removed %d stale entries\n", res.Applications, res.StaleRemoved)
	return nil
}
