// Package function is the "dvcqg-sync" function: the queue connector
// delivers every event of dvcqg-events (the fan-out copy of
// application-events) and the application and its steps are sent, in
// order, to the national portal through the LGSP (DongBoHoSoMC,
// CapNhatTienDoHoSoMC). All logic lives in motcua/shared/dvcqg.
//
// Only the connector may call it: every delivery must carry the connector's
// signature (X-Motcua-Delivery-Signature, secret queue-delivery-secret);
// anything else gets 401.
//
//	POST <envelope>   200 {code, sent, duplicate, acknowledged}; 422 unusable; 503 retry
package function

import (
	"context"
	"net/http"
	"os"

	"motcua/shared/catalog"
	"motcua/shared/config"
	"motcua/shared/delivery"
	"motcua/shared/dvcqg"
	"motcua/shared/platform"
)

// Handle answers one delivery of the dvcqg-sync function.
var Handle = platform.Serve(func(p *platform.Platform) (*dvcqg.HTTP, error) {
	portal, err := dvcqg.LGSPFromConfig(config.FromEnviron(os.Environ()), p.Secrets)
	if err != nil {
		return nil, err
	}
	cat := catalog.NewCatalog(p.Store)
	field := func(ctx context.Context, code string) (string, error) {
		proc, err := cat.Get(ctx, code)
		return proc.Field, err
	}
	s, err := dvcqg.NewSyncer(p.Store, portal, field, nil, p.Log)
	if err != nil {
		return nil, err
	}
	auth := delivery.FromSecret(func() (string, error) { return p.Secrets.Get(delivery.SecretName) })
	return dvcqg.NewHTTP(s, auth, p.Log), nil
}, http.MethodPost)
