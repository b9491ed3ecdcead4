// Package function is the "dvcqg-sync" function: the queue connector
// delivers every event of dvcqg-events (the fan-out copy of
// application-events) and the application and its steps are sent, in
// order, to the national portal through the LGSP (DongBoHoSoMC,
// CapNhatTienDoHoSoMC). All logic lives in motcua/shared/dvcqg.
//
//	POST <envelope>   200 {code, sent, duplicate, acknowledged}; 422 unusable; 503 retry
package function

import (
	"context"
	"net/http"
	"os"

	"motcua/shared/catalog"
	"motcua/shared/config"
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
	return dvcqg.NewHTTP(s, nil, p.Log), nil
}, http.MethodPost)
