// Package devsink is the local stack's stand-in for the outside world the
// notify function talks to: an SMTP server (go-smtp) that accepts every
// message and keeps it, and an HTTP server that answers like the eSMS
// brandname SMS API and records every message. `make run` starts both and
// points the notify function at them; tests use them to check what was
// really delivered. Messages are kept in memory and, when Dir is set,
// written under it (mail/<n>.eml, sms/<n>.json), so they survive the
// process and can be opened with any mail reader.
package devsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"motcua/shared/logx"
	"motcua/shared/notify"
)

// Mail is one message the SMTP sink received.
type Mail struct {
	// From and To are the envelope addresses.
	From string
	To   []string
	// Raw is the whole message as received.
	Raw []byte
	// At is when it arrived.
	At time.Time
}

// Header parses the message's header (nil if unparseable).
func (m Mail) Header() mail.Header {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return nil
	}
	return msg.Header
}

// SMS is one message the SMS sink received.
type SMS struct {
	// Request is the provider request as posted.
	Request notify.ESMSRequest
	// At is when it arrived.
	At time.Time
}

// Options configures Start.
type Options struct {
	// SMTPAddr and SMSAddr are the listen addresses (127.0.0.1:0 when empty).
	SMTPAddr string
	SMSAddr  string
	// Dir, when set, receives a copy of every message.
	Dir string
	// Logger gets one line per message (discarded when nil).
	Logger *slog.Logger
}

// Sinks are the running dev SMTP and SMS servers. Safe for concurrent use.
type Sinks struct {
	opts    Options
	log     *slog.Logger
	smtpSrv *smtp.Server
	smtpLn  net.Listener
	httpSrv *http.Server
	httpLn  net.Listener

	mu      sync.Mutex
	mails   []Mail
	sms     []SMS
	failSMS int // answer the next failSMS requests with HTTP 503
	failSMT int // answer the next failSMT messages with 451
	seenReq map[string]string
}

// Start starts both sinks.
func Start(opts Options) (*Sinks, error) {
	if opts.SMTPAddr == "" {
		opts.SMTPAddr = "127.0.0.1:0"
	}
	if opts.SMSAddr == "" {
		opts.SMSAddr = "127.0.0.1:0"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sinks{opts: opts, log: log, seenReq: map[string]string{}}
	if opts.Dir != "" {
		for _, d := range []string{"mail", "sms"} {
			if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
				return nil, fmt.Errorf("devsink: %w", err)
			}
		}
	}
	var err error
	if s.smtpLn, err = net.Listen("tcp", opts.SMTPAddr); err != nil {
		return nil, fmt.Errorf("devsink: smtp listen: %w", err)
	}
	s.smtpSrv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sinks: s}, nil }))
	s.smtpSrv.Domain = "devsink.local"
	s.smtpSrv.MaxMessageBytes = 4 << 20
	s.smtpSrv.MaxRecipients = 50
	s.smtpSrv.ReadTimeout, s.smtpSrv.WriteTimeout = 30*time.Second, 30*time.Second
	go func() { _ = s.smtpSrv.Serve(s.smtpLn) }()

	if s.httpLn, err = net.Listen("tcp", opts.SMSAddr); err != nil {
		s.smtpSrv.Close()
		return nil, fmt.Errorf("devsink: sms listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /MainService.svc/json/SendMultipleMessage_V4_post_json/", s.handleSMS)
	mux.HandleFunc("GET /sms", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.SMS())
	})
	s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(s.httpLn) }()
	return s, nil
}

// SMTPAddr is the SMTP sink's address (host:port).
func (s *Sinks) SMTPAddr() string { return s.smtpLn.Addr().String() }

// SMSURL is the eSMS-shaped endpoint of the SMS sink.
func (s *Sinks) SMSURL() string {
	return "http://" + s.httpLn.Addr().String() + "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
}

// Mails returns the received mails, oldest first.
func (s *Sinks) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// SMS returns the received text messages, oldest first.
func (s *Sinks) SMS() []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMS(nil), s.sms...)
}

// FailNextSMS makes the next n SMS requests fail with HTTP 503.
func (s *Sinks) FailNextSMS(n int) { s.mu.Lock(); s.failSMS = n; s.mu.Unlock() }

// FailNextMail makes the next n messages fail with a transient 451 reply.
func (s *Sinks) FailNextMail(n int) { s.mu.Lock(); s.failSMT = n; s.mu.Unlock() }

// Close stops both servers.
func (s *Sinks) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.smtpSrv.Close(), s.httpSrv.Shutdown(ctx))
}

// handleSMS answers like eSMS: 100 + SMSID; a repeated RequestId gets the
// first answer again and is not recorded twice (eSMS refuses duplicates).
func (s *Sinks) handleSMS(w http.ResponseWriter, r *http.Request) {
	var req notify.ESMSRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	w.Header().Set("Content-Type", "application/json")
	answer := func(v notify.ESMSResponse) { _ = json.NewEncoder(w).Encode(v) }
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		answer(notify.ESMSResponse{CodeResult: "99", ErrorMessage: "invalid request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSMS > 0 {
		s.failSMS--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if req.ApiKey == "" || req.SecretKey == "" {
		answer(notify.ESMSResponse{CodeResult: "101", ErrorMessage: "Authorize Failed"})
		return
	}
	if req.Phone == "" || req.Content == "" || req.Brandname == "" {
		answer(notify.ESMSResponse{CodeResult: "99", ErrorMessage: "Phone, Content and Brandname are required"})
		return
	}
	if id, ok := s.seenReq[req.RequestId]; ok && req.RequestId != "" {
		answer(notify.ESMSResponse{CodeResult: notify.ESMSSuccess, SMSID: id})
		return
	}
	id := fmt.Sprintf("devsms-%06d", len(s.sms)+1)
	s.seenReq[req.RequestId] = id
	s.sms = append(s.sms, SMS{Request: req, At: time.Now().UTC()})
	if s.opts.Dir != "" {
		saved := req
		saved.ApiKey, saved.SecretKey = "", ""
		b, _ := json.MarshalIndent(saved, "", "  ")
		_ = os.WriteFile(filepath.Join(s.opts.Dir, "sms", fmt.Sprintf("%s-%06d.json", time.Now().UTC().Format("20060102T150405"), len(s.sms))), b, 0o644)
	}
	s.log.Info("dev SMS received", "sms_id", id, "phone", logx.Mask(req.Phone))
	answer(notify.ESMSResponse{CodeResult: notify.ESMSSuccess, SMSID: id})
}

// session is one SMTP session of the sink.
type session struct {
	sinks *Sinks
	from  string
	to    []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mail.ParseAddress(to); err != nil || !strings.Contains(to, "@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "bad recipient"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.sinks
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSMT > 0 {
		s.failSMT--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m := Mail{From: ss.from, To: append([]string(nil), ss.to...), Raw: raw, At: time.Now().UTC()}
	s.mails = append(s.mails, m)
	if s.opts.Dir != "" {
		_ = os.WriteFile(filepath.Join(s.opts.Dir, "mail", fmt.Sprintf("%s-%06d.eml", m.At.Format("20060102T150405"), len(s.mails))), raw, 0o644)
	}
	s.log.Info("dev mail received", "to", logx.Mask(strings.Join(m.To, ",")))
	return nil
}
