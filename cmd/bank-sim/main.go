// Command bank-sim plays a partner bank against the local gateway:
//
//	bank-sim pay-vnpay  --url '<payment URL from pay-fee>' [--mode ok]
//	bank-sim pay-vietqr --payload '<VietQR EMV string>'    [--mode ok]
//	bank-sim serve      [--addr 127.0.0.1:9099]            answer VNPAY querydr
//
// Modes: ok, bad-signature, wrong-amount, duplicate, replay-stale,
// late-failure, failure (see package sim).
//
// The gateway is --gateway, else http://$MOTCUA_GATEWAY_ADDR, else
// http://127.0.0.1:8080; the data folder is $MOTCUA_DATA_DIR, else .data
// (the same variables motcua-local reads).
//
// Secrets come from flags, else the environment (BANK_SIM_VNPAY_SECRET,
// BANK_SIM_TMN_CODE, BANK_SIM_WEBHOOK_SECRET), else the dev secrets the local
// runner generated under --secrets-dir (default <data>/secrets: files
// vnpay-hash-secret, vnpay-tmn-code, bank-webhook-secrets, whose first line
// is used). What the bank paid is kept in --ledger (default
// .data/bank-sim/ledger.jsonl) so that `serve` answers querydr about
// payments made by earlier pay-vnpay runs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"motcua/cmd/bank-sim/sim"
	"motcua/shared/payment/webhook"
)

const usageText = `usage:
  bank-sim pay-vnpay  --url URL [--mode MODE] [--gateway URL] [--secret S]
  bank-sim pay-vietqr --payload EMV [--mode MODE] [--gateway URL] [--webhook-secret S]
  bank-sim serve      [--addr 127.0.0.1:9099] [--tmn-code C] [--secret S]
common: [--secrets-dir .data/secrets] [--ledger .data/bank-sim/ledger.jsonl]
modes: ok bad-signature wrong-amount duplicate replay-stale late-failure failure`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// opts are the flags of every subcommand.
type opts struct {
	url, payload, mode, gateway    string
	secret, tmnCode, webhookSecret string
	secretsDir, ledger, addr       string
	timeout                        time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usageText)
		return 2
	}
	cmd := args[0]
	var o opts
	fs := flag.NewFlagSet("bank-sim "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "VNPAY payment URL (pay-vnpay)")
	fs.StringVar(&o.payload, "payload", "", "VietQR payload (pay-vietqr)")
	fs.StringVar(&o.mode, "mode", "ok", "bank behaviour")
	// The local stack's own variables move the defaults, as they move the stack.
	gatewayURL := sim.DefaultGatewayURL
	if addr := strings.TrimSpace(getenv("MOTCUA_GATEWAY_ADDR")); addr != "" {
		gatewayURL = "http://" + addr
	}
	dataDir := ".data"
	if d := strings.TrimSpace(getenv("MOTCUA_DATA_DIR")); d != "" {
		dataDir = d
	}
	fs.StringVar(&o.gateway, "gateway", gatewayURL, "gateway base URL (default from MOTCUA_GATEWAY_ADDR)")
	fs.StringVar(&o.secret, "secret", "", "VNPAY merchant hash secret")
	fs.StringVar(&o.tmnCode, "tmn-code", "", "VNPAY terminal code (serve)")
	fs.StringVar(&o.webhookSecret, "webhook-secret", "", "bank webhook secret")
	fs.StringVar(&o.secretsDir, "secrets-dir", filepath.Join(dataDir, "secrets"), "the local runner's dev secrets (default under MOTCUA_DATA_DIR)")
	fs.StringVar(&o.ledger, "ledger", filepath.Join(dataDir, "bank-sim", "ledger.jsonl"), "ledger file shared by bank-sim runs (empty: in memory)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9099", "listen address (serve)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bank-sim: unexpected argument %q\n%s\n", fs.Arg(0), usageText)
		return 2
	}
	mode, err := sim.ParseMode(o.mode)
	if err != nil {
		fmt.Fprintf(stderr, "bank-sim: %v\n", err)
		return 2
	}
	secret := func(flagVal, env, file string) string {
		if flagVal != "" {
			return flagVal
		}
		if v := getenv(env); v != "" {
			return v
		}
		b, err := os.ReadFile(filepath.Join(o.secretsDir, file))
		if err != nil {
			return ""
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		return strings.TrimSpace(first)
	}
	cfg := sim.Config{
		GatewayURL: o.gateway,
		HashSecret: secret(o.secret, "BANK_SIM_VNPAY_SECRET", "vnpay-hash-secret"),
		TmnCode:    secret(o.tmnCode, "BANK_SIM_TMN_CODE", "vnpay-tmn-code"),
		HTTP:       &http.Client{Timeout: o.timeout},
		LedgerFile: o.ledger,
	}
	if ws := secret(o.webhookSecret, "BANK_SIM_WEBHOOK_SECRET", "bank-webhook-secrets"); ws != "" {
		cfg.WebhookSecret = webhook.ParseSecrets(ws)[0]
	}
	bank := sim.New(cfg)
	if cmd == "pay-vnpay" {
		// An order paid by an earlier run is not paid again.
		if err := bank.LoadLedger(); err != nil {
			fmt.Fprintf(stderr, "bank-sim: %v\n", err)
			return 1
		}
	}
	var res sim.Result
	switch cmd {
	case "pay-vnpay":
		if o.url == "" || cfg.HashSecret == "" {
			fmt.Fprintf(stderr, "bank-sim: pay-vnpay needs --url and a merchant secret (--secret, BANK_SIM_VNPAY_SECRET or %s)\n", filepath.Join(o.secretsDir, "vnpay-hash-secret"))
			return 2
		}
		res, err = bank.PayVNPay(ctx, o.url, mode)
	case "pay-vietqr":
		if o.payload == "" || len(cfg.WebhookSecret) == 0 {
			fmt.Fprintf(stderr, "bank-sim: pay-vietqr needs --payload and a webhook secret (--webhook-secret, BANK_SIM_WEBHOOK_SECRET or %s)\n", filepath.Join(o.secretsDir, "bank-webhook-secrets"))
			return 2
		}
		res, err = bank.PayVietQR(ctx, o.payload, mode)
	case "serve":
		if cfg.HashSecret == "" || cfg.TmnCode == "" {
			fmt.Fprintln(stderr, "bank-sim: serve needs the merchant secret and terminal code (--secret, --tmn-code or the dev secrets)")
			return 2
		}
		if err := serve(ctx, o.addr, bank, stderr); err != nil {
			fmt.Fprintf(stderr, "bank-sim serve: %v\n", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "bank-sim: unknown command %q\n%s\n", cmd, usageText)
		return 2
	}
	if b, jerr := json.MarshalIndent(res, "", "  "); jerr == nil && res.Reference != "" {
		fmt.Fprintln(stdout, string(b))
	}
	if err == nil {
		err = bank.Err()
	}
	if err != nil {
		fmt.Fprintf(stderr, "bank-sim %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// serve answers querydr on addr (any path) until ctx ends.
func serve(ctx context.Context, addr string, bank *sim.Bank, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bank.QueryHandler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("bank-sim serving VNPAY querydr", "url", "http://"+ln.Addr().String()+"/merchant_webapi/api/transaction")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
