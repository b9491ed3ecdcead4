package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/queue"
	"motcua/shared/reconcile"
)

func init() {
	groups["reconcile"] = group{summary: "reconcile payments: settlement files and stale pending payments", run: reconcileCmd}
}

// KeyVNPayAPIURL is the environment variable naming VNPAY's querydr API
// (default: VNPAY's sandbox; the local bank simulator is
// http://127.0.0.1:9099/merchant_webapi/api/transaction).
const KeyVNPayAPIURL = "MOTCUA_VNPAY_API_URL"

const reconcileUsage = `usage:
  motcua reconcile run --file s3key|localpath [--method vnpay|vietqr] [--from YYYY-MM-DD --to YYYY-MM-DD] [--json]
      match a bank settlement CSV (date,reference,amount,bank_transaction_id) against payments;
      a local file is checked and uploaded to reconciliation/settlements/<name>.csv first
  motcua reconcile pending [--older-than 30m] [--querydr-url URL] [--json]
      re-check pending payments older than the threshold with VNPAY querydr; confirm or expire them
exit status: 0 all done, 1 error or an action failed (rerun is safe), 2 usage
secrets vnpay-hash-secret, vnpay-tmn-code: from $MOTCUA_SECRETS_DIR, else <--data-dir>/secrets
(motcua-local's dev secrets), else the runner's default, else /var/openfaas/secrets; querydr URL: --querydr-url or ` + KeyVNPayAPIURL

// reconcilePublisher opens the queue publisher payment.confirmed goes to;
// tests replace it.
var reconcilePublisher = func(ctx context.Context, _ *env) (queue.Publisher, error) {
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, err
	}
	return queue.NewFanout(queue.NewSQSPublisher(awsx.SQS(cfg)), queue.DefaultRoutes), nil
}

func reconcileCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, reconcileUsage)
	}
	fs := flag.NewFlagSet("motcua reconcile "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	dataDir := fs.String("data-dir", ".data", "motcua-local's data folder (its secrets/ holds the dev VNPAY secrets)")
	var (
		file, method, from, to string
		olderThan              time.Duration
		querydrURL             string
	)
	switch args[0] {
	case "run":
		fs.StringVar(&file, "file", "", "settlement file: an S3 key, a name under "+reconcile.SettlementPrefix+", or a local path")
		fs.StringVar(&method, "method", "", "only flag missing_at_bank for this method (vnpay or vietqr)")
		fs.StringVar(&from, "from", "", "period start (YYYY-MM-DD; default the file's first date)")
		fs.StringVar(&to, "to", "", "period end (YYYY-MM-DD; default the file's last date)")
	case "pending":
		fs.DurationVar(&olderThan, "older-than", 30*time.Minute, "check pending payments created longer ago than this")
		fs.StringVar(&querydrURL, "querydr-url", "", "VNPAY querydr API URL (default $"+KeyVNPayAPIURL+", else VNPAY's sandbox)")
	default:
		return fmt.Errorf("%w: unknown reconcile command %q\n%s", errUsage, args[0], reconcileUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %s", errUsage, reconcileUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q\n%s", errUsage, fs.Arg(0), reconcileUsage)
	}
	if args[0] == "run" && file == "" {
		return fmt.Errorf("%w: --file is required\n%s", errUsage, reconcileUsage)
	}
	if method != "" && !payment.Method(method).Valid() {
		return fmt.Errorf("%w: --method must be vnpay or vietqr\n%s", errUsage, reconcileUsage)
	}
	if olderThan < 0 {
		return fmt.Errorf("%w: --older-than must not be negative", errUsage)
	}

	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := config.FromEnviron(e.environ)
	secrets := config.SecretsFrom(src)
	if dir, _ := findSecretsDir(e.environ, *dataDir, "vnpay-hash-secret"); dir != "" {
		secrets = config.Secrets{Dir: dir} // the same dev secrets token mint finds
	}
	cfg, _, err := payment.LoadConfig(src, secrets, payment.Needs{Callbacks: true}, log)
	if err != nil {
		return err
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	pub, err := reconcilePublisher(ctx, e)
	if err != nil {
		return err
	}
	svc, err := payment.NewService(payment.Deps{Store: store, Publisher: pub, Log: log}, cfg)
	if err != nil {
		return err
	}
	opts := reconcile.Options{Log: log}
	if args[0] == "pending" {
		if querydrURL == "" {
			querydrURL = reconcileEnv(e.environ, KeyVNPayAPIURL)
		}
		if cfg.VNPay != nil && cfg.VNPay.TmnCode != "" {
			qc, err := vnpay.NewQueryClient(vnpay.Config{TmnCode: cfg.VNPay.TmnCode, HashSecret: cfg.VNPay.HashSecret, APIURL: querydrURL}, nil)
			if err != nil {
				return err
			}
			opts.Querier = qc
		} else {
			fmt.Fprintln(e.stderr, "motcua reconcile: no VNPAY terminal configured: pending VNPAY payments are only expired, not queried")
		}
	}
	r := reconcile.New(store, reconcile.NewDomain(svc), opts)

	if args[0] == "pending" {
		rep, err := r.CheckPending(ctx, olderThan)
		if err != nil {
			return err
		}
		if *asJSON {
			return reconcileJSON(e.stdout, rep)
		}
		printPending(e.stdout, rep)
		if rep.Counts[reconcile.PendingError] > 0 {
			return fmt.Errorf("%d payment(s) could not be checked; rerun later", rep.Counts[reconcile.PendingError])
		}
		return nil
	}

	key, err := settlementSource(ctx, r, file)
	if err != nil {
		return err
	}
	rep, err := r.RunSettlement(ctx, key, reconcile.RunOptions{Method: payment.Method(method), From: from, To: to})
	var se *reconcile.SettlementError
	if errors.As(err, &se) {
		fmt.Fprintf(e.stderr, "%s: %d problem(s); nothing was changed:\n", key, len(se.Problems)+se.More)
		for _, p := range se.Problems {
			fmt.Fprintf(e.stderr, "  %s\n", p)
		}
		return fmt.Errorf("%s is not a valid settlement file", key)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := reconcileJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printSettlement(e.stdout, rep)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d action(s) failed; rerunning the file is safe", rep.Failed)
	}
	return nil
}

// settlementSource returns the key of the settlement file named by file: a
// local file is checked and uploaded first; otherwise file is a key (or a
// bare name under reconcile.SettlementPrefix).
func settlementSource(ctx context.Context, r *reconcile.Reconciler, file string) (string, error) {
	if body, err := os.ReadFile(file); err == nil {
		key, err := r.UploadSettlement(ctx, filepath.Base(file), body)
		var se *reconcile.SettlementError
		if errors.As(err, &se) {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		return key, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if strings.Contains(file, "/") {
		return file, nil
	}
	return reconcile.SettlementKey(file)
}

func reconcileEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func reconcileJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSettlement(w io.Writer, rep *reconcile.Report) {
	fmt.Fprintf(w, "settlement %s: %d line(s), period %s..%s, report %s\n", rep.Source, rep.Lines, rep.From, rep.To, rep.ReportKey)
	for _, o := range reconcile.SettlementOutcomes {
		fmt.Fprintf(w, "  %-18s %d\n", o, rep.Counts[o])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTCOME\tACTION\tREFERENCE\tLINE\tBANK VND\tOUR VND\tAPPLICATION\tSTATE\tERROR")
	for _, it := range rep.Items {
		if it.Outcome == reconcile.OutcomeOK {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s→%s\t%s\n", it.Outcome, it.Action, it.Reference, it.Line,
			it.BankAmountVND, it.AmountVND, it.ApplicationCode, it.StateBefore, it.StateAfter, it.Error)
	}
	tw.Flush()
}

func printPending(w io.Writer, rep *reconcile.PendingReport) {
	fmt.Fprintf(w, "pending check (older than %s): %d payment(s), report %s\n", rep.OlderThan, rep.Checked, rep.ReportKey)
	for _, o := range reconcile.PendingOutcomes {
		fmt.Fprintf(w, "  %-16s %d\n", o, rep.Counts[o])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTCOME\tREFERENCE\tMETHOD\tVND\tPROVIDER\tSTATE\tERROR")
	for _, it := range rep.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.Outcome, it.Reference, it.Method, it.AmountVND, it.ProviderStatus, it.StateAfter, it.Error)
	}
	tw.Flush()
}
