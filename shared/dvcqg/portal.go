package dvcqg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Portal sends one message to the national portal and returns once it was
// acknowledged (error_code 0). Safe for concurrent use. Every failure is
// transient for the caller: the message is retried, then dead-lettered.
type Portal interface {
	Send(ctx context.Context, m Message) error
}

// LGSPConfig configures the LGSP client.
type LGSPConfig struct {
	// AuthURL is the authentication endpoint (POST {username,password} →
	// {error_code, session}); empty: no login, Token is the session.
	AuthURL string
	// URL is the integration endpoint.
	URL string
	// Username and Password log in (Password is a secret).
	Username string
	Password string
	// Token is a fixed session/access token (when the LGSP issues one).
	Token string
	// UnitCode is madonvi, the province's unit code at the portal.
	UnitCode string
	// Client is the HTTP client (30 s timeout when nil).
	Client *http.Client
}

// LGSP is the HTTP client of the integration endpoint.
type LGSP struct {
	cfg     LGSPConfig
	mu      sync.Mutex
	session string
}

var _ Portal = (*LGSP)(nil)

// NewLGSP returns the client; the error names every missing setting.
func NewLGSP(cfg LGSPConfig) (*LGSP, error) {
	var errs []error
	if cfg.URL == "" {
		errs = append(errs, errors.New("integration endpoint URL is empty"))
	}
	if cfg.UnitCode == "" {
		errs = append(errs, errors.New("unit code (madonvi) is empty"))
	}
	if cfg.AuthURL != "" && (cfg.Username == "" || cfg.Password == "") {
		errs = append(errs, errors.New("login needs a username and a password"))
	}
	if cfg.AuthURL == "" && cfg.Token == "" {
		errs = append(errs, errors.New("neither an authentication endpoint nor a token is configured"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dvcqg: %w", err)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &LGSP{cfg: cfg, session: cfg.Token}, nil
}

// answer is the endpoints' reply.
type answer struct {
	ErrorCode json.RawMessage `json:"error_code"`
	Message   string          `json:"message,omitempty"`
	Session   string          `json:"session,omitempty"`
}

// ok reports error_code 0 (a number or a string, as deployments differ).
func (a answer) ok() bool {
	return strings.Trim(strings.TrimSpace(string(a.ErrorCode)), `"`) == "0"
}

func (l *LGSP) post(ctx context.Context, url string, body any) (answer, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := l.cfg.Client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, fmt.Errorf("undecodable answer: %w", err)
	}
	return a, nil
}

func (l *LGSP) sessionFor(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session != "" {
		return l.session, nil
	}
	a, err := l.post(ctx, l.cfg.AuthURL, map[string]string{"username": l.cfg.Username, "password": l.cfg.Password})
	if err != nil {
		return "", fmt.Errorf("dvcqg: login: %w", err)
	}
	if !a.ok() || a.Session == "" {
		return "", fmt.Errorf("dvcqg: login refused (error_code %s)", a.ErrorCode)
	}
	l.session = a.Session
	return l.session, nil
}

// Send posts m; a refusal drops the cached session so the next attempt
// logs in again (an expired session is the usual cause).
func (l *LGSP) Send(ctx context.Context, m Message) error {
	s, err := l.sessionFor(ctx)
	if err != nil {
		return err
	}
	req := Request{Session: s, MaDonVi: l.cfg.UnitCode, Service: m.Service, Data: []any{m.Data}}
	if m.Service == ServiceSyncApplication {
		req.IsUpdating = fmt.Sprint(m.IsUpdating)
	}
	a, err := l.post(ctx, l.cfg.URL, req)
	if err != nil {
		return fmt.Errorf("dvcqg: %s: %w", m.Service, err)
	}
	if !a.ok() {
		if l.cfg.AuthURL != "" {
			l.mu.Lock()
			if l.session == s {
				l.session = ""
			}
			l.mu.Unlock()
		}
		return fmt.Errorf("dvcqg: %s refused: error_code %s %s", m.Service, a.ErrorCode, a.Message)
	}
	return nil
}
