// Package delivery authenticates queue deliveries: the queue connector signs
// each message it hands to a function, and a function that must only be
// called from inside the stack (issue-receipt) refuses any call without a
// valid signature. The signature is the webhook one (shared/payment/webhook:
// HMAC-SHA256 over timestamp and body, several secrets for rotation, 300 s
// tolerance) under its own header and secret, so an outsider who can reach
// the gateway cannot forge a payment.confirmed.
package delivery

import (
	"fmt"
	"net/http"
	"time"

	"motcua/shared/payment/webhook"
)

// Header carries the connector's signature of a delivery.
const Header = "X-Motcua-Delivery-Signature"

// SecretName is the secret shared by the connector and the functions it
// calls (one value per line during a rotation; the connector signs with
// every line).
const SecretName = "queue-delivery-secret"

// Sign sets the delivery signature of body on h, at t, with every secret.
func Sign(h http.Header, secrets [][]byte, t time.Time, body []byte) {
	if len(secrets) == 0 {
		return
	}
	h.Set(Header, webhook.SignAll(secrets, t, body))
}

// Verify checks the delivery signature of body in h against secrets.
func Verify(h http.Header, body []byte, secrets [][]byte, now time.Time) error {
	if len(secrets) == 0 {
		return fmt.Errorf("delivery: %w", webhook.ErrNoSecrets)
	}
	if err := webhook.Verify(h.Get(Header), body, secrets, now, webhook.DefaultTolerance); err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	return nil
}

// ParseSecrets splits a secret file's content into secrets (one a line).
func ParseSecrets(s string) [][]byte { return webhook.ParseSecrets(s) }
