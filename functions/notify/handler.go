// Package function is the "notify" function: the queue connector delivers
// every event of notify-events (the fan-out copy of application-, payment-,
// receipt- and feedback-events; topic annotation in stack.yml) and the
// citizen (or feedback sender) is told by SMS and e-mail, at most once per
// event and channel. All logic lives in motcua/shared/notify.
//
// Only the connector may call it: every delivery must carry the connector's
// signature (X-Motcua-Delivery-Signature, secret queue-delivery-secret);
// anything else gets 401.
//
//	POST <envelope>   200 {eventId, kind, ignored, channels}; 422 unusable; 503/5xx retry
package function

import (
	"net/http"
	"os"

	"motcua/shared/config"
	"motcua/shared/delivery"
	"motcua/shared/notify"
	"motcua/shared/platform"
)

// Handle answers one delivery of the notify function.
var Handle = platform.Serve(func(p *platform.Platform) (*notify.HTTP, error) {
	svc, err := notify.FromConfig(config.FromEnviron(os.Environ()), p.Secrets, p.Store, p.Log)
	if err != nil {
		return nil, err
	}
	auth := notify.DeliveryAuth(func() (string, error) { return p.Secrets.Get(delivery.SecretName) })
	return notify.NewHTTP(svc, auth, p.Log), nil
}, http.MethodPost)
