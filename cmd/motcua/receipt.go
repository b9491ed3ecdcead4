package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"motcua/shared/receipt"
	"motcua/shared/receipt/format"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/pdf"
)

func init() {
	groups["receipt"] = group{summary: "verify receipts offline (QR payload, signed XML)", run: receiptCmd}
}

const receiptUsage = `usage:
  motcua receipt verify-qr --keys keys.json [--payer-id ID] <payload|->
      check a scanned receipt QR payload offline against the province's
      published key set (the JSON key set the receipt function publishes);
      --payer-id also checks the payer's CCCD or tax code.
  motcua receipt verify [--trusted-cert cert.pem] <receipt.xml|->
      check a signed receipt XML: signature, unaltered content and, with
      --trusted-cert, that it was signed with that certificate.

Exit status: 0 valid, 1 invalid, 2 usage error.`

// maxInput bounds what the receipt commands read.
const maxInput = 1 << 20

func receiptCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, receiptUsage)
	}
	switch args[0] {
	case "verify-qr":
		return receiptVerifyQR(e, args[1:])
	case "verify":
		return receiptVerifyXML(e, args[1:])
	default:
		return fmt.Errorf("%w: unknown receipt command %q\n%s", errUsage, args[0], receiptUsage)
	}
}

// readArg reads a file argument, or standard input for "-".
func readArg(e *env, arg string) ([]byte, error) {
	var r io.Reader
	if arg == "-" {
		if e.stdin == nil {
			return nil, errors.New("no standard input")
		}
		r = e.stdin
	} else {
		f, err := os.Open(arg)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxInput)
	}
	return b, nil
}

func receiptVerifyQR(e *env, args []string) error {
	fs := flag.NewFlagSet("receipt verify-qr", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keysFile := fs.String("keys", "", "published key set (JSON)")
	payerID := fs.String("payer-id", "", "payer's CCCD or tax code to check")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, receiptUsage)
	}
	if *keysFile == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: --keys and one payload (or -) are required\n%s", errUsage, receiptUsage)
	}
	kb, err := os.ReadFile(*keysFile)
	if err != nil {
		return fmt.Errorf("%w: keys: %v", errUsage, err)
	}
	keys, err := offlineqr.ParseKeySet(kb)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	payload := fs.Arg(0)
	if payload == "-" {
		b, err := readArg(e, "-")
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		payload = string(b)
	}
	c, err := offlineqr.Verify(payload, keys)
	if err != nil {
		fmt.Fprintln(e.stdout, "INVALID:", err)
		return fmt.Errorf("receipt QR is not valid: %w", err)
	}
	fmt.Fprintf(e.stdout, "VALID receipt QR (key %s)\n  series  %s\n  number  %08d\n  issued  %s\n  amount  %s đồng\n",
		c.Kid, c.Series, c.Number, c.IssuedOn.Format("2006-01-02"), pdf.Amount(c.AmountVND))
	if *payerID != "" {
		if !c.MatchesPayer(*payerID) {
			fmt.Fprintln(e.stdout, "  payer   DOES NOT MATCH the ID given")
			return errors.New("the receipt was not issued to the payer ID given")
		}
		fmt.Fprintln(e.stdout, "  payer   matches the ID given")
	}
	return nil
}

func receiptVerifyXML(e *env, args []string) error {
	fs := flag.NewFlagSet("receipt verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	trusted := fs.String("trusted-cert", "", "PEM certificate the receipt must be signed with")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, receiptUsage)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: one receipt file (or -) is required\n%s", errUsage, receiptUsage)
	}
	var anchor *x509.Certificate
	if *trusted != "" {
		b, err := os.ReadFile(*trusted)
		if err != nil {
			return fmt.Errorf("%w: trusted cert: %v", errUsage, err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return fmt.Errorf("%w: trusted cert: no PEM block", errUsage)
		}
		if anchor, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("%w: trusted cert: %v", errUsage, err)
		}
	}
	doc, err := readArg(e, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	r, cert, f, err := format.Verify(doc)
	if err != nil {
		fmt.Fprintln(e.stdout, "INVALID:", reason(err))
		return fmt.Errorf("receipt is not valid: %w", err)
	}
	if anchor != nil && !cert.Equal(anchor) {
		fmt.Fprintln(e.stdout, "INVALID: signed with another certificate:", cert.Subject.String())
		return errors.New("receipt is not signed with the trusted certificate")
	}
	fmt.Fprintf(e.stdout, "VALID receipt (format %s)\n  unit    %s (%s)\n  receipt %s %s %08d, %s\n  payer   %s\n  amount  %s đồng\n  signer  %s\n",
		f.Version(), r.Unit.Name, r.Unit.TaxCode, r.TemplateSymbol, r.Series, r.Number,
		r.IssuedAt.In(receipt.Zone).Format("2006-01-02 15:04:05"), r.Payer.Name, pdf.Amount(r.TotalVND), cert.Subject.String())
	if anchor == nil {
		fmt.Fprintln(e.stdout, "  note    certificate not checked against a trusted one (--trusted-cert)")
	}
	return nil
}

// reason is the one-line reason of a verification failure.
func reason(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 {
		s = s[i+2:]
	}
	return s
}
