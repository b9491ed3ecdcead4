package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"motcua/shared/catalog"
	"motcua/shared/stats"
	"motcua/shared/workdays"
)

func init() {
	groups["stats"] = group{summary: "rebuild the indicators from the documents", run: statsCmd}
}

const statsUsage = `usage:
  motcua stats rebuild [--json]

Recomputes every indicator (applications, ratings, feedback items in
MOTCUA_BUCKET) and replaces the aggregates under stats/v1/. The numbers are
the ones the stats function keeps incrementally from the events; run it
after a bug fix, a restore or a change of the catalog's fields and levels.
Safe while events are being applied. The AWS SDK's standard variables
select the backend.`

func statsCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return fmt.Errorf("%w: %s", errUsage, statsUsage)
	}
	fs := flag.NewFlagSet("motcua stats rebuild", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, statsUsage)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	cal, err := workdays.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc, err := stats.NewService(store, catalog.NewCatalog(store), cal, nil, log)
	if err != nil {
		return err
	}
	res, err := svc.Rebuild(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(out))
		return nil
	}
	fmt.Fprintf(e.stdout, "stats rebuilt: %d applications, %d ratings, %d feedback items → %d shards, %d months (%d stale removed) in %s\n",
		res.Applications, res.Ratings, res.Feedback, res.Shards, res.Months, res.Removed, res.Duration.Round(1e6))
	return nil
}
