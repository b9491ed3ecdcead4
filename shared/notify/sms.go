package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The SMS adapter speaks eSMS's brandname JSON API (esms.vn,
// SendMultipleMessage_V4_post_json): POST a JSON object with ApiKey,
// SecretKey, Phone, Content, Brandname, SmsType "2" (customer care),
// IsUnicode "1" (Vietnamese with diacritics) and RequestId (the provider
// refuses a second request with the same id), answered by
// {"CodeResult":"100","SMSID":"..."} on success or another CodeResult with
// ErrorMessage.

// ESMSDefaultURL is eSMS's endpoint.
const ESMSDefaultURL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"

// ESMSRequest is the body eSMS expects.
type ESMSRequest struct {
	ApiKey    string `json:"ApiKey"`
	SecretKey string `json:"SecretKey"`
	Phone     string `json:"Phone"`
	Content   string `json:"Content"`
	Brandname string `json:"Brandname"`
	SmsType   string `json:"SmsType"`
	IsUnicode string `json:"IsUnicode"`
	Sandbox   string `json:"Sandbox,omitempty"`
	RequestId string `json:"RequestId"`
}

// ESMSResponse is eSMS's answer.
type ESMSResponse struct {
	CodeResult   string `json:"CodeResult"`
	SMSID        string `json:"SMSID,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ESMSSuccess is the CodeResult of an accepted message. The adapter treats
// every other code as transient (credentials, balance, brandname, number:
// the event is retried, then dead-lettered where an operator sees it):
// eSMS's code table was not available to map refusals one by one.
const ESMSSuccess = "100"

// ESMSConfig configures the eSMS adapter.
type ESMSConfig struct {
	// URL is the endpoint (ESMSDefaultURL in production, the dev sink locally).
	URL string
	// APIKey and SecretKey are the account's credentials (secrets).
	APIKey    string
	SecretKey string
	// Brandname is the registered sender name.
	Brandname string
	// Sandbox asks eSMS to validate without sending.
	Sandbox bool
	// Client is the HTTP client (a 15 s timeout client when nil).
	Client *http.Client
}

// ESMS is the eSMS brandname SMS adapter.
type ESMS struct {
	cfg ESMSConfig
}

var _ Sender = (*ESMS)(nil)

// NewESMS returns the adapter; the error names every missing setting.
func NewESMS(cfg ESMSConfig) (*ESMS, error) {
	var errs []error
	if cfg.URL == "" {
		errs = append(errs, errors.New("SMS endpoint URL is empty"))
	}
	if cfg.APIKey == "" || cfg.SecretKey == "" {
		errs = append(errs, errors.New("SMS API key and secret key are required"))
	}
	if cfg.Brandname == "" {
		errs = append(errs, errors.New("SMS brandname is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: eSMS: %w", err)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &ESMS{cfg: cfg}, nil
}

// Channel is ChannelSMS.
func (e *ESMS) Channel() Channel { return ChannelSMS }

// Send posts one message. The phone goes in the national form eSMS expects
// (0xxxxxxxxx).
func (e *ESMS) Send(ctx context.Context, m Outgoing) (string, error) {
	req := ESMSRequest{ApiKey: e.cfg.APIKey, SecretKey: e.cfg.SecretKey, Phone: NationalPhone(m.To), Content: m.Body,
		Brandname: e.cfg.Brandname, SmsType: "2", IsUnicode: "1", RequestId: m.RequestID}
	if e.cfg.Sandbox {
		req.Sandbox = "1"
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("esms: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := e.cfg.Client.Do(hr)
	if err != nil {
		return "", fmt.Errorf("esms: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("esms: read answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		// The provider refuses the request itself (malformed number or
		// content): resending the same request cannot succeed.
		return "", fmt.Errorf("esms: HTTP 400: %w", ErrPermanent)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("esms: HTTP %d", resp.StatusCode)
	}
	var out ESMSResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("esms: undecodable answer: %w", err)
	}
	if out.CodeResult != ESMSSuccess {
		return "", fmt.Errorf("esms: code %q: %s", out.CodeResult, out.ErrorMessage)
	}
	return out.SMSID, nil
}

// NationalPhone turns +84xxxxxxxxx into 0xxxxxxxxx; other forms are kept.
func NationalPhone(p string) string {
	if rest, ok := strings.CutPrefix(p, "+84"); ok {
		return "0" + rest
	}
	return p
}
