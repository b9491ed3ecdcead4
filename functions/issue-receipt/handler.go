// Package function is the "issue-receipt" function: it turns every
// payment.confirmed event of payment-events (delivered by the queue
// connector, topic annotation in stack.yml) into one signed electronic
// receipt, stored in the data bucket, linked from the application and
// announced by receipt.issued on receipt-events.
//
//	POST <envelope>   200 {outcome: issued|ignored|no_receipt, receipt}; 401 unsigned; 4xx unusable; 5xx retry
//
// Only the connector may call it: every delivery carries the connector's
// HMAC signature (X-Motcua-Delivery-Signature, secret
// queue-delivery-secret); anything else gets 401. All logic lives in
// motcua/shared/receipt/book.
package function

import (
	"net/http"

	"motcua/shared/delivery"
	"motcua/shared/platform"
	"motcua/shared/receipt/book"
)

// Handle answers one delivery of the issue-receipt function.
var Handle = platform.Serve(func(p *platform.Platform) (*book.IssueHTTP, error) {
	b, _, err := book.FromPlatform(p)
	if err != nil {
		return nil, err
	}
	secrets := func() ([][]byte, error) {
		s, err := p.Secrets.Get(delivery.SecretName) // re-read: a rotated secret needs no restart
		return delivery.ParseSecrets(s), err
	}
	return book.NewIssueHTTP(b, secrets, p.Log), nil
}, http.MethodPost)
