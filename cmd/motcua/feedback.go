package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"

	"motcua/shared/feedback"
)

func init() {
	groups["feedback"] = group{summary: "validate, load and show the feedback field and routing tables; try a routing", run: feedbackCmd}
}

const feedbackUsage = `usage:
  motcua feedback fields  validate|load|show [--file path]   the field (lĩnh vực) table
  motcua feedback routing validate|load|show [--file path]   the routing table (agencies, areas, rules)
  motcua feedback route --field CODE [--area CODE] [--lat D --long D]

validate checks a file offline; load stores it as a new version (without
--file: the embedded seed) and the feedback function picks it up within
30 s; show prints the current version (seeding it first if the bucket has
none). route prints the agency the current table picks.`

func feedbackCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, feedbackUsage)
	}
	switch args[0] {
	case feedback.TableFields, feedback.TableRouting:
		if len(args) < 2 {
			return fmt.Errorf("%w: %s", errUsage, feedbackUsage)
		}
		return feedbackTable(ctx, e, args[0], args[1], args[2:])
	case "route":
		return feedbackRoute(ctx, e, args[1:])
	}
	return fmt.Errorf("%w: unknown feedback command %q\n%s", errUsage, args[0], feedbackUsage)
}

// readTable reads and validates a table file, or the embedded seed.
func readTable(table, path string) (any, error) {
	if path == "" {
		if table == feedback.TableFields {
			return feedback.SeedFields()
		}
		return feedback.SeedRouting()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if table == feedback.TableFields {
		return feedback.DecodeFields(b)
	}
	return feedback.DecodeRouting(b)
}

func feedbackTable(ctx context.Context, e *env, table, op string, args []string) error {
	fs := flag.NewFlagSet("motcua feedback "+table+" "+op, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	file := fs.String("file", "", "table file (JSON); default: the embedded seed")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, feedbackUsage)
	}
	switch op {
	case "validate":
		if _, err := readTable(table, *file); err != nil {
			return fmt.Errorf("%s table is not valid:\n%w", table, err)
		}
		fmt.Fprintf(e.stdout, "%s table is valid\n", table)
		return nil
	case "load":
		v, err := readTable(table, *file)
		if err != nil {
			return fmt.Errorf("%s table is not valid:\n%w", table, err)
		}
		store, err := e.store(ctx)
		if err != nil {
			return err
		}
		n, err := feedback.StoreTable(ctx, store, table, v)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s table version %d loaded\n", table, n)
		return nil
	case "show":
		store, err := e.store(ctx)
		if err != nil {
			return err
		}
		f, r, err := feedback.NewTables(store).Get(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if table == feedback.TableFields {
			return enc.Encode(f)
		}
		return enc.Encode(r)
	}
	return fmt.Errorf("%w: unknown %s command %q\n%s", errUsage, table, op, feedbackUsage)
}

func feedbackRoute(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("motcua feedback route", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	field := fs.String("field", "", "field code")
	area := fs.String("area", "", "area code")
	lat := fs.String("lat", "", "latitude")
	long := fs.String("long", "", "longitude")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *field == "" {
		return fmt.Errorf("%w: %s", errUsage, feedbackUsage)
	}
	var la, lo *float64
	if *lat != "" || *long != "" {
		a, err1 := strconv.ParseFloat(*lat, 64)
		b, err2 := strconv.ParseFloat(*long, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: --lat and --long are decimal degrees\n%s", errUsage, feedbackUsage)
		}
		la, lo = &a, &b
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	_, r, err := feedback.NewTables(store).Get(ctx)
	if err != nil {
		return err
	}
	resolved := r.ResolveArea(*area, la, lo)
	ag, rule := r.Route(*field, resolved)
	fmt.Fprintf(e.stdout, "area %q → %s %s (%s)\n", resolved, ag.Code, ag.Name, rule)
	return nil
}
