package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"motcua/shared/catalog"
)

func init() {
	groups["catalog"] = group{summary: "load, list and validate the procedure catalog", run: catalogCmd}
}

const catalogUsage = `usage:
  motcua catalog load [--file path]       validate and load a new catalog version (default: the embedded seed)
  motcua catalog list [--q text] [--level province|district|commune] [--json]
  motcua catalog validate [--file path]   validate a catalog file without touching storage`

func catalogCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, catalogUsage)
	}
	switch args[0] {
	case "load":
		return catalogLoad(ctx, e, args[1:])
	case "list":
		return catalogList(ctx, e, args[1:])
	case "validate":
		return catalogValidate(e, args[1:])
	default:
		return fmt.Errorf("%w: unknown catalog command %q\n%s", errUsage, args[0], catalogUsage)
	}
}

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("motcua catalog "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s", errUsage, catalogUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q\n%s", errUsage, fs.Arg(0), catalogUsage)
	}
	return nil
}

// readCatalog reads the file at path, or the embedded seed when path is "".
func readCatalog(path string) ([]catalog.Procedure, string, error) {
	if path == "" {
		procs, err := catalog.SeedProcedures()
		return procs, "embedded seed", err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, path, err
	}
	defer f.Close()
	procs, err := catalog.Decode(f)
	return procs, path, err
}

// reportInvalid prints every validation issue of err, if it is one.
func reportInvalid(w io.Writer, source string, err error) error {
	var ce *catalog.Error
	if errors.As(err, &ce) && errors.Is(err, catalog.ErrInvalidCatalog) {
		fmt.Fprintf(w, "%s: %d problem(s):\n", source, len(ce.Issues()))
		for _, is := range ce.Issues() {
			fmt.Fprintf(w, "  %s\n", is)
		}
		return fmt.Errorf("%s is not a valid catalog; nothing was loaded", source)
	}
	return err
}

func catalogValidate(e *env, args []string) error {
	fs := newFlags("validate", e)
	file := fs.String("file", "", "catalog JSON file (array of procedures); default the embedded seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	procs, source, err := readCatalog(*file)
	if err != nil {
		return fmt.Errorf("read %s: %w", source, err)
	}
	if err := catalog.Validate(procs); err != nil {
		return reportInvalid(e.stderr, source, err)
	}
	fmt.Fprintf(e.stdout, "%s: valid, %d procedures\n", source, len(procs))
	return nil
}

func catalogLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlags("load", e)
	file := fs.String("file", "", "catalog JSON file (array of procedures); default the embedded seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	procs, source, err := readCatalog(*file)
	if err != nil {
		return fmt.Errorf("read %s: %w", source, err)
	}
	if err := catalog.Validate(procs); err != nil {
		return reportInvalid(e.stderr, source, err)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	n, err := catalog.Load(ctx, store, procs)
	if err != nil {
		return reportInvalid(e.stderr, source, err)
	}
	cur, err := catalog.Current(ctx, store)
	if err != nil {
		return fmt.Errorf("loaded version %d but cannot read it back: %w", n, err)
	}
	fmt.Fprintf(e.stdout, "loaded %s as catalog version %d (%d procedures); current version is %d\n", source, n, len(procs), cur.Version)
	return nil
}

func catalogList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("list", e)
	text := fs.String("q", "", "search text (accent-insensitive)")
	level := fs.String("level", "", "province, district or commune")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q := catalog.Query{Text: *text, Level: *level, PageSize: catalog.MaxPageSize}
	if err := q.Validate(); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, catalogUsage)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	cur, err := catalog.Current(ctx, store)
	if err != nil {
		return err
	}
	ix := catalog.NewIndex(cur.Procedures)
	var items []catalog.Procedure
	for page := 1; ; page++ {
		q.Page = page
		p := ix.Search(q)
		items = append(items, p.Items...)
		if page >= p.TotalPages {
			break
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"version": cur.Version, "procedures": items})
	}
	fmt.Fprintf(e.stdout, "catalog version %d, %d of %d procedures\n", cur.Version, len(items), len(cur.Procedures))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tLEVEL\tONLINE\tDAYS\tFEE (VND)\tAGENCY\tNAME")
	for _, p := range items {
		fee := fmt.Sprint(p.Fee.AmountVND)
		if p.Fee.OnlineAmountVND != nil {
			fee += fmt.Sprintf(" (online %d)", *p.Fee.OnlineAmountVND)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.Code, p.Level, p.OnlineLevel, p.ProcessingDays, fee, p.Agency.Code, p.Name)
	}
	return tw.Flush()
}
