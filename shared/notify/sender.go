package notify

import (
	"context"
	"errors"
)

// Channel is a way to reach a person.
type Channel string

// Channels.
const (
	// ChannelSMS is a text message to a mobile number.
	ChannelSMS Channel = "sms"
	// ChannelEmail is an e-mail.
	ChannelEmail Channel = "email"
)

// Outgoing is one message for one recipient.
type Outgoing struct {
	// To is the phone number (E.164) or e-mail address.
	To string
	// Name is the recipient's name (e-mail display name).
	Name string
	// Subject is the e-mail subject (empty for SMS).
	Subject string
	// Body is the text.
	Body string
	// RequestID identifies the message for the provider's de-duplication
	// (stable across retries of one event and channel).
	RequestID string
}

// Sender delivers messages over one channel. Implementations are safe for
// concurrent use; Send returns once the provider accepted the message (its
// id, if it gives one) or failed. A failure wrapping ErrPermanent will not
// succeed on retry (the recipient or the message is refused); any other
// failure is transient. ctx bounds the whole exchange.
type Sender interface {
	// Channel is the channel the sender serves.
	Channel() Channel
	// Send delivers m.
	Send(ctx context.Context, m Outgoing) (providerID string, err error)
}

// ErrPermanent marks a refusal that retrying cannot fix.
var ErrPermanent = errors.New("notify: permanent delivery failure")
