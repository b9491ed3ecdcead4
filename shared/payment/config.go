package payment

import (
	"errors"
	"fmt"
	"log/slog"
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
// not an error; malformed values are errors naming their key. The runner
// generates random 64-hex dev secrets: a vnpay-tmn-code that is not a
// valid terminal code (1-8 letters or digits) is cut to its first 8
// characters, upper-cased, with a warning — VNPAY would refuse it, a local
// simulator does not care.
func LoadConfig(src config.Source, secrets config.Secrets, needs Needs, log *slog.Logger) (Config, func() ([][]byte, error), error) {
	if log == nil {
		log = slog.Default()
	}
	r := config.NewReader(src)
	cfg := Config{
		TTL:         r.Duration(KeyTTL, config.Default(DefaultTTL), config.Min(time.Minute), config.Max(24*time.Hour)),
		EventsQueue: r.String(KeyEventsQueue, config.Default(DefaultEventsQueue)),
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
		if len(tmn) > 8 {
			log.Warn("vnpay terminal code longer than 8 characters: using its first 8 (dev secret?)")
			tmn = strings.ToUpper(tmn[:8])
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
		if len(tmn) > 8 {
			tmn = strings.ToUpper(tmn[:8])
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
