package payment

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"motcua/shared/config"
	"motcua/shared/payment/vnpay"
	"motcua/shared/payment/webhook"
)

// Configuration keys (environment) and secret names.
const (
	// KeyTTL is how long a payment is offered (default 15m).
	KeyTTL = "MOTCUA_PAYMENT_TTL"
	// KeyEventsQueue is the queue receiving payment.confirmed (default payment-events).
	KeyEventsQueue = "MOTCUA_PAYMENT_EVENTS_QUEUE"
	// KeyVNPayPayURL is VNPAY's payment page (default: sandbox).
	KeyVNPayPayURL = "MOTCUA_VNPAY_PAY_URL"
	// KeyVNPayReturnURL is where VNPAY sends the citizen back (vnp_ReturnUrl).
	KeyVNPayReturnURL = "MOTCUA_VNPAY_RETURN_URL"
	// KeyVietQRBIN is the collecting bank's NAPAS BIN.
	KeyVietQRBIN = "MOTCUA_VIETQR_BIN"
	// KeyVietQRAccount is the collecting account number.
	KeyVietQRAccount = "MOTCUA_VIETQR_ACCOUNT"
	// KeyVietQRName is the collecting account's holder.
	KeyVietQRName = "MOTCUA_VIETQR_NAME"
	// KeyFollowUpWorkers is how many confirmation follow-ups a
	// payment-callback process runs at once in the background (default 8).
	KeyFollowUpWorkers = "MOTCUA_PAYMENT_FOLLOWUP_WORKERS"
	// SecretVNPayTmnCode is the VNPAY terminal code.
	SecretVNPayTmnCode = "vnpay-tmn-code"
	// SecretVNPayHashSecret is the VNPAY hash secret.
	SecretVNPayHashSecret = "vnpay-hash-secret"
	// SecretBankWebhook holds the bank webhook secrets, one per line.
	SecretBankWebhook = "bank-webhook-secrets"
)

// Needs says which parts a function configures: pay-fee needs the
// methods, payment-callback the VNPAY secret and the bank secrets.
type Needs struct {
	// Pay builds payment URLs and QR codes.
	Pay bool
	// Callbacks verifies provider callbacks.
	Callbacks bool
}

// LoadConfig reads the Config of a function from src and secrets. A method
// whose settings or secrets are absent is disabled with a warning (log),
// not an error; malformed values are errors naming their key. A configured
// secret is used exactly as written (one trailing newline aside), never
// rewritten: a vnpay-tmn-code that is not a VNPAY terminal code (8
// upper-case letters or digits, e.g. 2QXUI4J4; the runner generates such a
// dev code) is refused here, at start, with an error naming the secret —
// not silently changed into a code an integrator reading the secret would
// not recognise in the payment URLs.
func LoadConfig(src config.Source, secrets config.Secrets, needs Needs, log *slog.Logger) (Config, func() ([][]byte, error), error) {
	if log == nil {
		log = slog.Default()
	}
	r := config.NewReader(src)
	cfg := Config{
		TTL:             r.Duration(KeyTTL, config.Default(DefaultTTL), config.Min(time.Minute), config.Max(24*time.Hour)),
		EventsQueue:     r.String(KeyEventsQueue, config.Default(DefaultEventsQueue)),
		FollowUpWorkers: r.Int(KeyFollowUpWorkers, config.Default(DefaultFollowUpWorkers), config.Min(1), config.Max(256)),
	}
	payURL := r.String(KeyVNPayPayURL, config.Default(vnpay.SandboxPayURL))
	returnURL := r.String(KeyVNPayReturnURL)
	bin, acct, name := r.String(KeyVietQRBIN), r.String(KeyVietQRAccount), r.String(KeyVietQRName)
	if err := r.Err(); err != nil {
		return Config{}, nil, fmt.Errorf("payment config: %w", err)
	}
	hash, herr := secrets.Get(SecretVNPayHashSecret)
	hash = strings.TrimSpace(hash)
	switch {
	case herr != nil || hash == "":
		if needs.Pay || needs.Callbacks {
			log.Warn("vnpay disabled: hash secret missing", "secret", SecretVNPayHashSecret)
		}
	case needs.Pay:
		tmn, err := secrets.Get(SecretVNPayTmnCode)
		tmn = strings.TrimSpace(tmn)
		if err != nil || tmn == "" {
			log.Warn("vnpay disabled: terminal code missing", "secret", SecretVNPayTmnCode)
			break
		}
		if err := validTmnCode(tmn); err != nil {
			return Config{}, nil, err
		}
		if returnURL == "" {
			log.Warn("vnpay disabled: no return url", "key", KeyVNPayReturnURL)
			break
		}
		cfg.VNPay = &vnpay.Config{TmnCode: tmn, HashSecret: hash, PayURL: payURL, ReturnURL: returnURL}
	default:
		// Callbacks need only the hash secret (and, optionally, the terminal
		// code to refuse IPNs of other terminals).
		tmn, _ := secrets.Get(SecretVNPayTmnCode)
		tmn = strings.TrimSpace(tmn)
		if tmn != "" {
			if err := validTmnCode(tmn); err != nil {
				return Config{}, nil, err
			}
		}
		cfg.VNPay = &vnpay.Config{TmnCode: tmn, HashSecret: hash}
	}
	if bin != "" || acct != "" {
		cfg.VietQR = &VietQRConfig{BankBIN: bin, AccountNumber: acct, AccountName: name}
	} else if needs.Pay {
		log.Warn("vietqr disabled: no collecting account", "keys", KeyVietQRBIN+","+KeyVietQRAccount)
	}
	var bankSecrets func() ([][]byte, error)
	if needs.Callbacks {
		bankSecrets = func() ([][]byte, error) {
			s, err := secrets.Get(SecretBankWebhook)
			if err != nil {
				return nil, err
			}
			out := webhook.ParseSecrets(s)
			if len(out) == 0 {
				return nil, errors.New("payment config: " + SecretBankWebhook + " holds no secret")
			}
			return out, nil
		}
	}
	return cfg, bankSecrets, nil
}

// tmnCodePattern is the form of a VNPAY terminal code (vnp_TmnCode).
var tmnCodePattern = regexp.MustCompile(`^[A-Z0-9]{8}$`)

// validTmnCode refuses a terminal code VNPAY would not have issued. The
// error names the secret, never its value.
func validTmnCode(tmn string) error {
	if !tmnCodePattern.MatchString(tmn) {
		return fmt.Errorf("payment config: secret %s must be VNPAY's 8-character terminal code (upper-case letters and digits, e.g. 2QXUI4J4); it has %d characters. Replace the secret file (a dev stack regenerates it when the file is deleted)", SecretVNPayTmnCode, len(tmn))
	}
	return nil
}
