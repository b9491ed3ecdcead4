// Package function is the "pay-fee" function: a citizen pays the fee of an
// application online.
//
//	POST {"code", "pin", "method": "vnpay"|"vietqr"}  201 a new payment / 200 the still-valid one
//	POST {"action": "status", "ref", "pin"}           200 the payment's state
//	GET  ?ref=&pin=[&format=png]                      200 the payment (or its VietQR image)
//
// The amount is the application's fee (from the catalog), never the
// client's; one payment is active per application; Idempotency-Key is
// honoured. VNPAY needs the secrets vnpay-tmn-code and vnpay-hash-secret and
// MOTCUA_VNPAY_RETURN_URL; VietQR needs MOTCUA_VIETQR_BIN and
// MOTCUA_VIETQR_ACCOUNT. All logic lives in motcua/shared/payment.
package function

import (
	"net/http"
	"os"

	"motcua/shared/config"
	"motcua/shared/idempotency"
	"motcua/shared/payment"
	"motcua/shared/platform"
)

// Handle answers one call of the pay-fee function.
var Handle = platform.Serve(func(p *platform.Platform) (*payment.PayHTTP, error) {
	cfg, _, err := payment.LoadConfig(config.FromEnviron(os.Environ()), p.Secrets, payment.Needs{Pay: true}, p.Log)
	if err != nil {
		return nil, err
	}
	guard, err := p.CitizenGuard() // the pepper (secret citizen-secret-pepper): no start without it
	if err != nil {
		return nil, err
	}
	svc, err := payment.NewService(payment.Deps{Store: p.Store, Publisher: p.Queue, Guard: guard, Log: p.Log}, cfg)
	if err != nil {
		return nil, err
	}
	keeper := idempotency.New(p.Store, "idempotency/pay-fee", idempotency.DefaultTTL, idempotency.WithLogger(p.Log))
	return payment.NewPayHTTP(svc, keeper, p.Log), nil
}, http.MethodPost, http.MethodGet)
