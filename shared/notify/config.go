package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"motcua/shared/config"
	"motcua/shared/docstore"
)

// Configuration keys of the notify function (environment) and its secrets.
const (
	// KeyChannels lists the enabled channels, comma-separated (default "sms,email").
	KeyChannels = "MOTCUA_NOTIFY_CHANNELS"
	// KeySMSURL is the SMS provider's endpoint (eSMS JSON API).
	KeySMSURL = "MOTCUA_SMS_URL"
	// KeySMSBrandname is the registered sender name.
	KeySMSBrandname = "MOTCUA_SMS_BRANDNAME"
	// KeySMSSandbox asks the provider to validate without sending.
	KeySMSSandbox = "MOTCUA_SMS_SANDBOX"
	// KeySMTPAddr is host:port of the SMTP submission server.
	KeySMTPAddr = "MOTCUA_SMTP_ADDR"
	// KeySMTPSecurity is none, starttls or tls.
	KeySMTPSecurity = "MOTCUA_SMTP_SECURITY"
	// KeySMTPFrom and KeySMTPFromName are the sender.
	KeySMTPFrom     = "MOTCUA_SMTP_FROM"
	KeySMTPFromName = "MOTCUA_SMTP_FROM_NAME"
	// KeySMTPUsername enables SMTP authentication (password: secret SecretSMTPPassword).
	KeySMTPUsername = "MOTCUA_SMTP_USERNAME"
	// KeyPortalURL is the status look-up page shown in messages.
	KeyPortalURL = "MOTCUA_PORTAL_URL"
	// KeySenderName signs the e-mails.
	KeySenderName = "MOTCUA_NOTIFY_SENDER_NAME"

	// SecretSMSAPIKey and SecretSMSSecretKey are the SMS account's credentials.
	SecretSMSAPIKey    = "sms-api-key"
	SecretSMSSecretKey = "sms-secret-key"
	// SecretSMTPPassword is the SMTP password (read only with a username).
	SecretSMTPPassword = "smtp-password"
)

// FromConfig builds the Service from configuration and secrets; the error
// names every missing or bad key.
func FromConfig(src config.Source, secrets config.Secrets, store docstore.Store, log *slog.Logger) (*Service, error) {
	r := config.NewReader(src)
	chans := r.String(KeyChannels, config.Default("sms,email"))
	portal := r.String(KeyPortalURL)
	senderName := r.String(KeySenderName, config.Default("Cổng dịch vụ công"))
	var senders []Sender
	var errs []error
	enabled := strings.Split(chans, ",")
	for i := range enabled {
		enabled[i] = strings.TrimSpace(enabled[i])
		if enabled[i] != "" && enabled[i] != string(ChannelSMS) && enabled[i] != string(ChannelEmail) {
			errs = append(errs, fmt.Errorf("config %s: unknown channel %q", KeyChannels, enabled[i]))
		}
	}
	if slices.Contains(enabled, string(ChannelSMS)) {
		cfg := ESMSConfig{URL: r.String(KeySMSURL, config.Required()), Brandname: r.String(KeySMSBrandname, config.Required()),
			Sandbox: r.Bool(KeySMSSandbox)}
		var kerr, serr error
		cfg.APIKey, kerr = secrets.Get(SecretSMSAPIKey)
		cfg.SecretKey, serr = secrets.Get(SecretSMSSecretKey)
		if err := errors.Join(kerr, serr); err != nil {
			errs = append(errs, err)
		} else if r.Err() == nil {
			s, err := NewESMS(cfg)
			if err != nil {
				errs = append(errs, err)
			}
			senders = append(senders, s)
		}
	}
	if slices.Contains(enabled, string(ChannelEmail)) {
		cfg := SMTPConfig{Addr: r.String(KeySMTPAddr, config.Required()),
			Security: r.String(KeySMTPSecurity, config.Default(SMTPStartTLS), config.OneOf(SMTPPlain, SMTPStartTLS, SMTPTLS)),
			From:     r.String(KeySMTPFrom, config.Required()), FromName: r.String(KeySMTPFromName, config.Default("Cổng dịch vụ công")),
			Username: r.String(KeySMTPUsername)}
		if cfg.Username != "" {
			pw, err := secrets.Get(SecretSMTPPassword)
			if err != nil {
				errs = append(errs, err)
			}
			cfg.Password = pw
		}
		if r.Err() == nil {
			s, err := NewSMTP(cfg)
			if err != nil {
				errs = append(errs, err)
			}
			senders = append(senders, s)
		}
	}
	if err := errors.Join(append([]error{r.Err()}, errs...)...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return NewService(store, senders, Options{PortalURL: portal, SenderName: senderName, Log: log})
}
