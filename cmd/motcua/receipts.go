package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/receipt/book"
)

func init() {
	groups["receipts"] = group{summary: "the receipt book: numbers in flight, repair of interrupted issuing", run: receiptsCmd}
}

const receiptsUsage = `usage:
  motcua receipts pending [--json]
      list the receipt numbers allocated and not yet completed, per series
  motcua receipts repair [--older-than 2m] [--json]
      issue to the end every receipt whose number was allocated more than
      --older-than ago (e.g. its payment.confirmed went to the dead-letter
      queue after a crash), so no allocated number stays unused

Both read MOTCUA_BUCKET and the AWS SDK's standard variables; repair also
needs what issue-receipt needs: the MOTCUA_RECEIPT_* configuration and the
receipt-signing-key/-cert and receipt-qr-key secrets (MOTCUA_SECRETS_DIR).`

// openBook opens the receipt book from the environment; tests replace it.
var openBook = bookFromEnv

// bookFromEnv builds the book as issue-receipt does.
func bookFromEnv(ctx context.Context, environ []string) (*book.Book, error) {
	src := config.FromEnviron(environ)
	common, err := config.LoadCommon(src)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, awsx.ErrNoRegion
	}
	setup, err := book.LoadSetup(ctx, src, config.SecretsFrom(src), cfg)
	if err != nil {
		return nil, err
	}
	return book.New(book.Deps{
		Store:     docstore.NewS3Store(awsx.S3(cfg), nil, common.Bucket),
		Publisher: queue.NewFanout(queue.NewSQSPublisher(awsx.SQS(cfg)), queue.DefaultRoutes),
		Documents: setup.Documents,
	}, setup.Config)
}

func receiptsCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, receiptsUsage)
	}
	fs := flag.NewFlagSet("motcua receipts "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	olderThan := fs.Duration("older-than", 2*time.Minute, "leave allocations younger than this to the workers handling them")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, receiptsUsage)
	}
	if fs.NArg() > 0 || *olderThan < 0 {
		return fmt.Errorf("%w: bad arguments\n%s", errUsage, receiptsUsage)
	}
	switch args[0] {
	case "pending", "repair":
	default:
		return fmt.Errorf("%w: unknown receipts command %q\n%s", errUsage, args[0], receiptsUsage)
	}
	b, err := openBook(ctx, e.environ)
	if err != nil {
		return err
	}
	if args[0] == "pending" {
		return receiptsPending(ctx, e, b, *asJSON)
	}
	res, err := b.RepairPending(ctx, *olderThan)
	if *asJSON {
		out, jerr := json.Marshal(res)
		if jerr != nil {
			return jerr
		}
		fmt.Fprintln(e.stdout, string(out))
	} else {
		fmt.Fprintf(e.stdout, "receipts repair (allocations older than %s): %d completed, %d pending, %d corrections to resend, %d failed\n",
			*olderThan, res.Completed, res.Pending, len(res.Corrections), len(res.Failed))
		for _, c := range res.Corrections {
			fmt.Fprintf(e.stdout, "  correction in flight (staff: send the same request again): %s\n", c)
		}
		for _, f := range res.Failed {
			fmt.Fprintf(e.stdout, "  failed: %s\n", f)
		}
	}
	return err
}

// receiptsPending prints every series' last number and in-flight entries.
func receiptsPending(ctx context.Context, e *env, b *book.Book, asJSON bool) error {
	series, err := b.Numbering().Series(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Series   string `json:"series"`
		Last     uint32 `json:"last"`
		InFlight any    `json:"inFlight"`
	}
	var rows []row
	for _, s := range series {
		c, err := b.Numbering().Get(ctx, s)
		if err != nil {
			return err
		}
		rows = append(rows, row{Series: s, Last: c.Last, InFlight: c.Pending()})
		if !asJSON {
			fmt.Fprintf(e.stdout, "%s: last %d, %d in flight\n", s, c.Last, len(c.InFlight))
			for _, p := range c.Pending() {
				fmt.Fprintf(e.stdout, "  %08d %s allocated %s\n", p.Number, p.Ref, p.At.Format(time.RFC3339))
			}
		}
	}
	if asJSON {
		out, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(out))
	}
	return nil
}
