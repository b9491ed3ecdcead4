package book

import (
	"context"
	"errors"
	"net/http"

	"motcua/shared/application"
)

// checkApplicationPIN is the one place the receipt look-up checks a
// citizen's application PIN: through application.Access, the same citizen
// guard (shared/citizenguard: throttle, constant-cost comparison) that
// application-status uses, sharing its counters. A wrong PIN and an
// unknown code give the same ErrNotFound.
func checkApplicationPIN(ctx context.Context, access *application.Access, h http.Header, code, pin string) error {
	c, err := application.ParseCode(code)
	if err != nil {
		return err
	}
	_, err = access.Authorize(ctx, c, pin, access.Guard().Client(h))
	if errors.Is(err, application.ErrWrongPIN) {
		return ErrNotFound
	}
	return err
}
