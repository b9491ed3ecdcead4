// Package function is the "payment-callback" function: payment providers
// tell motcua that money arrived (or did not).
//
//	GET  ?provider=vnpay&vnp_...  VNPAY IPN; always 200 {"RspCode","Message"} as VNPAY expects
//	POST ?provider=bank           partner-bank webhook (X-Motcua-Signature); 200 {eventId, status, ref, reason}
//
// Every call is stored raw (signatures redacted) before it is acted on; a
// confirmed payment marks the application's fee paid and publishes one
// payment.confirmed event to MOTCUA_PAYMENT_EVENTS_QUEUE (payment-events).
// Secrets: vnpay-hash-secret, bank-webhook-secrets (one per line, re-read on
// each call so a rotation needs no restart). All logic lives in
// motcua/shared/payment.
package function

import (
	"net/http"
	"os"

	"motcua/shared/config"
	"motcua/shared/payment"
	"motcua/shared/platform"
)

// Handle answers one call of the payment-callback function.
var Handle = platform.Serve(func(p *platform.Platform) (*payment.CallbackHTTP, error) {
	cfg, secrets, err := payment.LoadConfig(config.FromEnviron(os.Environ()), p.Secrets, payment.Needs{Callbacks: true}, p.Log)
	if err != nil {
		return nil, err
	}
	svc, err := payment.NewService(payment.Deps{Store: p.Store, Publisher: p.Queue, BankSecrets: secrets, Guard: p.Guard, Log: p.Log}, cfg)
	if err != nil {
		return nil, err
	}
	return payment.NewCallbackHTTP(svc, p.Log), nil
}, http.MethodPost, http.MethodGet)
