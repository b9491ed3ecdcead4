package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"motcua/cmd/internal/progress"
	"motcua/shared/jobs"
	"motcua/shared/staffauth"
)

func init() {
	groups["jobs"] = group{summary: "staff batch reprocessing jobs (dry run, confirm, watch, report)", run: jobsCmd}
}

// Exit statuses of motcua jobs (documented in README "Staff batch reprocessing").
const (
	exitFailedItems = 3 // the job finished with failed items
	exitCancelled   = 4 // the job was cancelled
	exitDenied      = 5 // the token was refused (401) or lacks role admin (403)
	exitNotFound    = 6 // no such job
)

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode is the process exit status.
func (e *exitError) ExitCode() int { return e.code }

const jobsUsage = `usage:
  motcua jobs start KIND [scope flags] [--rate N] [--reason TEXT]   dry run: what it would do (changes nothing)
  motcua jobs start [KIND] --confirm ID [--watch]                 execute dry run ID
  motcua jobs watch ID [--interval 1s]                            live progress until the job ends
  motcua jobs report ID [--out file.csv]                          CSV report: every item, its outcome and why
  motcua jobs list [--limit 20]                                   recent jobs
  motcua jobs cancel ID                                           stop it: items not applied yet are skipped
  motcua jobs resume ID                                           re-dispatch a stalled job (finished items are kept)

kinds: republish-outbox, reconcile-payments, redrive-dlq, rebuild-stats, reissue-missing-receipts, rerender-receipts (where deployed; motcua jobs list --json names them)
scope flags: --from YYYY-MM-DD --to YYYY-MM-DD --agency CODE --series S --queue NAME
             --limit N --older-than 30m --mode pending|settlement --file NAME
common flags: --gateway URL (env MOTCUA_GATEWAY, default http://127.0.0.1:8080)
              --token JWT (env MOTCUA_TOKEN; on a loopback gateway a dev admin token is minted
              from the local stack's secret when neither is given)  --json
exit status: 0 ok, 1 error, 2 usage or request refused, 3 job finished with failed items,
             4 job cancelled, 5 token refused or not admin, 6 no such job`

// jobsClient calls the reprocess function through the gateway.
type jobsClient struct {
	base   string
	auth   string
	http   *http.Client
	asJSON bool
}

// commonFlags are shared by every jobs subcommand.
type commonFlags struct {
	gateway, token, dataDir string
	asJSON                  bool
}

func (c *commonFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&c.gateway, "gateway", envOr(e.environ, "MOTCUA_GATEWAY", "http://127.0.0.1:8080"), "gateway base URL")
	fs.StringVar(&c.token, "token", envOr(e.environ, "MOTCUA_TOKEN", ""), "staff token with role admin")
	fs.StringVar(&c.dataDir, "data-dir", ".data", "motcua-local's data folder (dev token minting)")
	fs.BoolVar(&c.asJSON, "json", false, "machine-readable output")
}

func envOr(environ []string, key, def string) string {
	if v := reconcileEnv(environ, key); v != "" {
		return v
	}
	return def
}

// client builds the API client; on a loopback gateway without a token it
// mints a short-lived dev admin token from the local stack's secret.
func (c *commonFlags) client(e *env) (*jobsClient, error) {
	u, err := url.Parse(c.gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --gateway %q is not an http(s) URL", errUsage, c.gateway)
	}
	tok := strings.TrimPrefix(strings.TrimSpace(c.token), "Bearer ")
	if tok == "" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, &exitError{code: exitDenied, msg: "no token: pass --token or set MOTCUA_TOKEN (a staff token with role admin)"}
		}
		signer, from, err := tokenSigner(e.environ, "", c.dataDir, "")
		if err != nil {
			return nil, &exitError{code: exitDenied, msg: "no token given and none can be minted: " + err.Error()}
		}
		who := envOr(e.environ, "USER", "dev")
		tok, err = signer.Mint(staffauth.Claims{Subject: "dev-" + who, Agency: "DEV", Roles: []string{staffauth.RoleStaff, jobs.RoleAdmin}}, time.Hour, time.Now())
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "motcua: using a dev admin token minted from %s\n", from)
	}
	return &jobsClient{base: strings.TrimRight(c.gateway, "/") + "/function/reprocess", auth: "Bearer " + tok,
		http: &http.Client{Timeout: 90 * time.Second}, asJSON: c.asJSON}, nil
}

// problem is the part of a problem+json answer the CLI shows.
type problem struct {
	Code     string `json:"code"`
	Title    string `json:"title"`
	Detail   string `json:"detail"`
	TitleVi  string `json:"title_vi"`
	DetailVi string `json:"detail_vi"`
	Errors   []struct {
		Field, Message string
	} `json:"errors"`
}

// do sends one call; a non-2xx answer becomes an exitError.
func (c *jobsClient) do(ctx context.Context, method, query string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+query, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var p problem
	_ = json.Unmarshal(b, &p)
	msg := fmt.Sprintf("%d %s: %s", resp.StatusCode, p.Code, p.Detail)
	if p.Code == "" {
		msg = fmt.Sprintf("%d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if p.DetailVi != "" {
		msg += " / " + p.DetailVi
	}
	for _, fe := range p.Errors {
		msg += fmt.Sprintf("\n  %s: %s", fe.Field, fe.Message)
	}
	code := 1
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		code = exitDenied
	case resp.StatusCode == http.StatusNotFound:
		code = exitNotFound
	case resp.StatusCode/100 == 4:
		code = 2
	}
	return nil, &exitError{code: code, msg: msg}
}

func (c *jobsClient) view(ctx context.Context, method, query string, body any) (jobs.View, error) {
	b, err := c.do(ctx, method, query, body)
	if err != nil {
		return jobs.View{}, err
	}
	var v jobs.View
	if err := json.Unmarshal(b, &v); err != nil {
		return jobs.View{}, fmt.Errorf("unexpected answer: %w", err)
	}
	return v, nil
}

func jobsCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, jobsUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("motcua jobs "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cf commonFlags
	cf.register(fs, e)
	// Positional arguments may come before flags: KIND or ID first.
	var pos string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = args[0], args[1:]
	}
	switch sub {
	case "start":
		return jobsStart(ctx, e, fs, &cf, pos, args)
	case "watch", "report", "cancel", "resume":
		interval := fs.Duration("interval", time.Second, "polling interval (watch)")
		out := fs.String("out", "", "write the report to this file (report)")
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v\n%s", errUsage, err, jobsUsage)
		}
		if pos == "" {
			pos = fs.Arg(0)
		}
		if !jobs.ValidID(pos) {
			return fmt.Errorf("%w: a job id (like 20261203T074500Z-a1b2c3) is required\n%s", errUsage, jobsUsage)
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		switch sub {
		case "watch":
			if *interval < 100*time.Millisecond {
				return fmt.Errorf("%w: --interval must be at least 100ms", errUsage)
			}
			return watch(ctx, e, c, pos, *interval)
		case "report":
			b, err := c.do(ctx, http.MethodGet, "?job="+pos+"&format=csv", nil)
			if err != nil {
				return err
			}
			if *out != "" {
				return os.WriteFile(*out, b, 0o600)
			}
			_, err = e.stdout.Write(b)
			return err
		default:
			v, err := c.view(ctx, http.MethodPost, "?job="+pos+"&action="+sub, nil)
			if err != nil {
				return err
			}
			return printView(e.stdout, v, c.asJSON)
		}
	case "list":
		limit := fs.Int("limit", 20, "how many jobs (1-100)")
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v\n%s", errUsage, err, jobsUsage)
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		b, err := c.do(ctx, http.MethodGet, fmt.Sprintf("?limit=%d", *limit), nil)
		if err != nil {
			return err
		}
		if c.asJSON {
			_, err = e.stdout.Write(append(b, '\n'))
			return err
		}
		var l jobs.JobList
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tTOTAL\tDONE\tFAILED\tSKIPPED\tBY\tCREATED")
		for _, j := range l.Jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.Kind, j.Status, j.Progress.Total, j.Progress.Done,
				j.Progress.Failed, j.Progress.Skipped, j.Created.By.Subject, j.Created.At.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w: unknown jobs command %q\n%s", errUsage, sub, jobsUsage)
}

func jobsStart(ctx context.Context, e *env, fs *flag.FlagSet, cf *commonFlags, kind string, args []string) error {
	var req jobs.StartRequest
	fs.StringVar(&req.Scope.From, "from", "", "first date (YYYY-MM-DD)")
	fs.StringVar(&req.Scope.To, "to", "", "last date (YYYY-MM-DD)")
	fs.StringVar(&req.Scope.Agency, "agency", "", "agency code")
	fs.StringVar(&req.Scope.Series, "series", "", "receipt series")
	fs.StringVar(&req.Scope.Queue, "queue", "", "queue (redrive-dlq: the source queue or its -dlq)")
	fs.IntVar(&req.Scope.Limit, "limit", 0, "at most this many")
	fs.StringVar(&req.Scope.OlderThan, "older-than", "", "only things older than this (e.g. 30m)")
	fs.StringVar(&req.Scope.Mode, "mode", "", "kind-specific mode (reconcile-payments: pending|settlement)")
	fs.StringVar(&req.Scope.File, "file", "", "file in the bucket (settlement)")
	fs.Float64Var(&req.Rate, "rate", 0, "items (redrive-dlq: messages) per second; 0 = no bound")
	fs.StringVar(&req.Reason, "reason", "", "why (kept in the audit)")
	fs.StringVar(&req.Confirm, "confirm", "", "execute this dry run")
	watchAfter := fs.Bool("watch", false, "watch the job after --confirm")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, jobsUsage)
	}
	if kind == "" {
		kind = fs.Arg(0)
	}
	req.Kind = kind
	if kind == "" && req.Confirm == "" {
		return fmt.Errorf("%w: KIND is required\n%s", errUsage, jobsUsage)
	}
	c, err := cf.client(e)
	if err != nil {
		return err
	}
	v, err := c.view(ctx, http.MethodPost, "", req)
	if err != nil {
		return err
	}
	if err := printView(e.stdout, v, c.asJSON); err != nil {
		return err
	}
	if v.Status == jobs.StatusPlanned && !c.asJSON {
		fmt.Fprintf(e.stdout, "\nDry run: nothing was changed. To execute exactly this plan:\n  motcua jobs start %s --confirm %s\n", v.Kind, v.ID)
	}
	if req.Confirm != "" && *watchAfter {
		return watch(ctx, e, c, v.ID, time.Second)
	}
	return nil
}

// printView shows one job (JSON with --json).
func printView(w io.Writer, v jobs.View, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	fmt.Fprintf(w, "job %s  kind %s  status %s\n", v.ID, v.Kind, v.Status)
	fmt.Fprintf(w, "created by %s at %s", v.Created.By.Subject, v.Created.At.Format(time.RFC3339))
	if v.Reason != "" {
		fmt.Fprintf(w, " (%s)", v.Reason)
	}
	fmt.Fprintln(w)
	if b, _ := json.Marshal(v.Scope); string(b) != "{}" {
		fmt.Fprintf(w, "scope %s", b)
		if v.Rate > 0 {
			fmt.Fprintf(w, "  rate %g/s", v.Rate)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "plan: %d item(s)", v.Plan.Total)
	for a, n := range v.Plan.Actions {
		fmt.Fprintf(w, "  %s=%d", a, n)
	}
	fmt.Fprintln(w)
	if v.Status == jobs.StatusPlanned {
		for _, it := range v.Plan.Samples {
			fmt.Fprintf(w, "  %-10s %-40s %s\n", it.Action, it.Key, it.Note)
		}
		if v.Plan.Total > len(v.Plan.Samples) {
			fmt.Fprintf(w, "  … and %d more\n", v.Plan.Total-len(v.Plan.Samples))
		}
		return nil
	}
	fmt.Fprintln(w, progressLine(v))
	return nil
}

// progressLine is the plain-text progress of a job.
func progressLine(v jobs.View) string {
	p := v.Progress
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Finished()) / float64(p.Total)
	}
	return fmt.Sprintf("%s %d/%d (%.0f%%) done=%d failed=%d skipped=%d rate=%.1f/s eta=%s",
		v.Status, p.Finished(), p.Total, pct, p.Done, p.Failed, p.Skipped, v.RatePerSecond, eta(v))
}

func eta(v jobs.View) string {
	switch {
	case v.Status.Terminal():
		return "0s"
	case v.ETASeconds < 0:
		return "?"
	}
	return (time.Duration(v.ETASeconds) * time.Second).String()
}

// bar renders a progress bar line for a terminal of the given width.
func bar(v jobs.View, width int) string {
	p := v.Progress
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Finished()) / float64(p.Total)
	}
	tail := fmt.Sprintf(" %3.0f%% %d/%d  ✓%d ✗%d ↷%d  %.1f items/s  ETA %s  %s", 100*frac, p.Finished(), p.Total,
		p.Done, p.Failed, p.Skipped, v.RatePerSecond, eta(v), v.Status)
	return progress.Bar(frac, width, tail)
}

// isTerminal reports whether w is a terminal, and its width.
func isTerminal(w io.Writer) (bool, int) { return progress.Terminal(w) }

// watch polls a job until it ends: a live bar on a terminal, a line per
// change otherwise, one JSON object per poll with --json.
func watch(ctx context.Context, e *env, c *jobsClient, id string, interval time.Duration) error {
	tty, width := isTerminal(e.stdout)
	last := ""
	lastLine := time.Time{}
	for {
		v, err := c.view(ctx, http.MethodGet, "?job="+id, nil)
		if err != nil {
			if tty {
				fmt.Fprintln(e.stdout)
			}
			return err
		}
		switch {
		case c.asJSON:
			b, _ := json.Marshal(v)
			fmt.Fprintln(e.stdout, string(b))
		case tty:
			fmt.Fprint(e.stdout, "\r\x1b[K"+bar(v, width))
		default:
			line := progressLine(v)
			if line != last || time.Since(lastLine) > 30*time.Second {
				fmt.Fprintf(e.stdout, "%s job %s %s\n", time.Now().UTC().Format(time.RFC3339), id, line)
				last, lastLine = line, time.Now()
			}
		}
		if v.Status.Terminal() || v.Status == jobs.StatusPlanned {
			if tty && !c.asJSON {
				fmt.Fprintln(e.stdout)
			}
			return finalStatus(v)
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(e.stdout)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// finalStatus maps a finished job to the exit status scripts rely on.
func finalStatus(v jobs.View) error {
	switch {
	case v.Status == jobs.StatusPlanned:
		return &exitError{code: 2, msg: "job " + v.ID + " is a dry run: confirm it with motcua jobs start --confirm " + v.ID}
	case v.Status == jobs.StatusCancelled:
		return &exitError{code: exitCancelled, msg: "job " + v.ID + " was cancelled"}
	case v.Progress.Failed > 0:
		return &exitError{code: exitFailedItems, msg: fmt.Sprintf("job %s finished with %d failed item(s): motcua jobs report %s", v.ID, v.Progress.Failed, v.ID)}
	}
	return nil
}
