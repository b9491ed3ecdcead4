package book

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"motcua/shared/awsx"
	"motcua/shared/config"
	"motcua/shared/platform"
	"motcua/shared/receipt"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/signing"
)

// Configuration keys of the receipt functions (besides the unit's, see
// receipt.LoadUnit, and the signer's, see signing.FromConfig).
const (
	// KeyEventsQueue is the queue receiving receipt.issued.
	KeyEventsQueue = "MOTCUA_RECEIPT_EVENTS_QUEUE"
	// KeyAgency is the staff agency of the collecting unit.
	KeyAgency = "MOTCUA_RECEIPT_UNIT_AGENCY"
	// KeyPageSize is the PDF page size, A5 (default) or A4.
	KeyPageSize = "MOTCUA_RECEIPT_PAGE_SIZE"
	// KeyPublicURL is the public URL of the receipt function, printed on
	// PDFs as the look-up link (optional).
	KeyPublicURL = "MOTCUA_RECEIPT_PUBLIC_URL"
)

// Setup is a Book's configuration and documents, read from the
// environment and the secrets.
type Setup struct {
	// Config is the book's configuration.
	Config Config
	// Documents sign and render receipts.
	Documents *FormatDocuments
	// QR is the offline-QR signer (its KeySet is published).
	QR *offlineqr.Signer
}

// LoadSetup reads the collecting unit, the signer (local or KMS), the QR
// key and the options; the error names every bad key or secret.
func LoadSetup(ctx context.Context, src config.Source, secrets config.Secrets, awsCfg aws.Config) (Setup, error) {
	unit, err := receipt.LoadUnit(src)
	if err != nil {
		return Setup{}, fmt.Errorf("receipt unit: %w", err)
	}
	r := config.NewReader(src)
	cfg := Config{
		Unit:        unit,
		AgencyCode:  r.String(KeyAgency, config.Required()),
		EventsQueue: r.String(KeyEventsQueue, config.Default(DefaultEventsQueue)),
	}
	page := r.String(KeyPageSize, config.Default("A5"), config.OneOf("A5", "A4"))
	public := r.String(KeyPublicURL)
	if err := r.Err(); err != nil {
		return Setup{}, err
	}
	signer, err := signing.FromConfig(ctx, src, secrets, awsCfg)
	if err != nil {
		return Setup{}, fmt.Errorf("receipt signer: %w", err)
	}
	qr, err := offlineqr.LoadSigner(secrets)
	if err != nil {
		return Setup{}, fmt.Errorf("receipt qr key: %w", err)
	}
	return Setup{Config: cfg, Documents: StandardDocuments(signer, qr, page, public), QR: qr}, nil
}

// FromPlatform builds a function's Book from its platform, the process
// environment and its secrets (and, for the KMS signer, the AWS SDK's
// standard settings); it also returns the setup (QR key set to publish).
func FromPlatform(p *platform.Platform) (*Book, Setup, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, Setup{}, err
	}
	setup, err := LoadSetup(ctx, config.FromEnviron(os.Environ()), p.Secrets, awsCfg)
	if err != nil {
		return nil, Setup{}, err
	}
	b, err := New(Deps{Store: p.Store, Publisher: p.Queue, Documents: setup.Documents, Log: p.Log}, setup.Config)
	if err != nil {
		return nil, Setup{}, err
	}
	return b, setup, nil
}
