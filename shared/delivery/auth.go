package delivery

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"motcua/shared/queue"
)

// Authenticator checks that a delivery comes from the queue connector; a
// nil error means accepted.
type Authenticator func(h http.Header, body []byte) error

// FromSecret returns the Authenticator that accepts only deliveries signed
// by the queue connector: secret reads the queue-delivery-secret secret on
// each call, so a rotation needs no restart.
func FromSecret(secret func() (string, error)) Authenticator {
	return func(h http.Header, body []byte) error {
		s, err := secret()
		if err != nil {
			return fmt.Errorf("delivery secret: %w", err)
		}
		return Verify(h, body, ParseSecrets(s), time.Now())
	}
}

// MaxEnvelope bounds a delivered envelope's size.
const MaxEnvelope = 256 << 10

// DecodeEnvelope parses a delivery body into a valid envelope.
func DecodeEnvelope(body []byte) (queue.Envelope, error) {
	if len(body) > MaxEnvelope {
		return queue.Envelope{}, fmt.Errorf("%w: %d bytes", queue.ErrInvalidEnvelope, len(body))
	}
	var env queue.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return queue.Envelope{}, fmt.Errorf("%w: %v", queue.ErrInvalidEnvelope, err)
	}
	if err := env.Validate(); err != nil {
		return queue.Envelope{}, err
	}
	return env, nil
}
