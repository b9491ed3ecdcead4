package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP security modes.
const (
	// SMTPPlain talks SMTP in clear (the local dev sink only).
	SMTPPlain = "none"
	// SMTPStartTLS upgrades with STARTTLS (port 587).
	SMTPStartTLS = "starttls"
	// SMTPTLS uses implicit TLS (port 465).
	SMTPTLS = "tls"
)

// SMTPConfig configures the e-mail sender.
type SMTPConfig struct {
	// Addr is host:port of the submission server.
	Addr string
	// Security is SMTPPlain, SMTPStartTLS or SMTPTLS.
	Security string
	// From is the sender address; FromName its display name.
	From     string
	FromName string
	// Username and Password authenticate (PLAIN, only over TLS or to a
	// loopback server); empty Username: no authentication.
	Username string
	Password string
	// HelloName is the EHLO name ("localhost" when empty).
	HelloName string
	// Timeout bounds one delivery (20 s when zero).
	Timeout time.Duration
	// TLS is the TLS configuration (server name from Addr when nil).
	TLS *tls.Config
}

// SMTP sends e-mail over SMTP with go-smtp's client: one connection per
// message (notifications are few; no pool to go stale).
type SMTP struct {
	cfg SMTPConfig
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns the sender; the error names every bad setting.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	var errs []error
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("SMTP address %q: %w", cfg.Addr, err))
	}
	switch cfg.Security {
	case SMTPPlain, SMTPStartTLS, SMTPTLS:
	default:
		errs = append(errs, fmt.Errorf("SMTP security %q: want none, starttls or tls", cfg.Security))
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil || cfg.From == "" {
		errs = append(errs, fmt.Errorf("SMTP sender %q is not an address", cfg.From))
	}
	if cfg.Username != "" && cfg.Security == SMTPPlain && !isLoopback(host) {
		errs = append(errs, errors.New("SMTP credentials would travel in clear: use starttls or tls"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: smtp: %w", err)
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return &SMTP{cfg: cfg}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Channel is ChannelEmail.
func (s *SMTP) Channel() Channel { return ChannelEmail }

// Send delivers m. SMTP 5xx replies are permanent (ErrPermanent), 4xx and
// network failures transient. The Message-ID is derived from m.RequestID,
// so a resend after a crash carries the same id.
func (s *SMTP) Send(ctx context.Context, m Outgoing) (string, error) {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return "", fmt.Errorf("smtp: recipient is not an address: %w", ErrPermanent)
	}
	msgID := MessageID(m.RequestID, s.cfg.From)
	raw, err := BuildEmail(s.cfg.FromName, s.cfg.From, m, msgID, time.Now())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	var conn net.Conn
	if s.cfg.Security == SMTPTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.cfg.TLS}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return "", fmt.Errorf("smtp: dial %s: %w", s.cfg.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var c *smtp.Client
	if s.cfg.Security == SMTPStartTLS {
		c, err = smtp.NewClientStartTLS(conn, s.cfg.TLS)
		if err != nil {
			conn.Close()
			return "", classifySMTP("starttls", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return "", classifySMTP("hello", err)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			// A refused login is the operator's to fix: transient, so the
			// event waits in the queue (then the DLQ) instead of being dropped.
			return "", fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.SendMail(s.cfg.From, []string{m.To}, bytes.NewReader(raw)); err != nil {
		return "", classifySMTP("send", err)
	}
	_ = c.Quit()
	return msgID, nil
}

// classifySMTP marks 5xx SMTP replies permanent.
func classifySMTP(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 {
		return fmt.Errorf("smtp: %s: %w: %w", step, err, ErrPermanent)
	}
	return fmt.Errorf("smtp: %s: %w", step, err)
}

// MessageID returns the Message-ID for a request id: stable, so a resend
// of the same notification carries the same id.
func MessageID(requestID, from string) string {
	domain := "motcua.local"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at+1 < len(from) {
		domain = from[at+1:]
	}
	sum := sha256.Sum256([]byte(requestID))
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// BuildEmail returns the RFC 5322 message: UTF-8 text, quoted-printable,
// the subject and display names RFC 2047-encoded.
func BuildEmail(fromName, from string, m Outgoing, msgID string, at time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", (&mail.Address{Name: fromName, Address: from}).String())
	h("To", (&mail.Address{Name: cleanText(m.Name, 200), Address: m.To}).String())
	h("Subject", mime.BEncoding.Encode("utf-8", cleanText(m.Subject, 500)))
	h("Date", at.UTC().Format(time.RFC1123Z))
	h("Message-ID", msgID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := w.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
