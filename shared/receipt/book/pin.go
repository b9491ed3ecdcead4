package book

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/throttle"
)

// pinDummy makes an unknown code cost a PIN check too (same as
// application-status).
var pinDummy = application.Application{
	PINHash: "pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	PINSalt: "AAAAAAAAAAAAAAAAAAAAAA",
}

// checkApplicationPIN is the one place the receipt look-up checks a
// citizen's application PIN: the same throttle and PIN check as
// application-status (5 failures per code, 20 per client per 15 min). When
// the shared guard for citizen secrets lands, only this function changes.
// A wrong PIN and an unknown code give the same ErrNotFound.
func checkApplicationPIN(ctx context.Context, store docstore.Store, thr *throttle.Throttle, log *slog.Logger, code, pin, client string) error {
	var tk *throttle.Ticket
	if thr != nil {
		var err error
		if tk, err = thr.Acquire(ctx, code, client); err != nil {
			return err
		}
	}
	a, _, err := application.NewRepository(store).Get(ctx, code)
	switch {
	case errors.Is(err, application.ErrNotFound):
		application.CheckPIN(pinDummy, pin)
		log.InfoContext(ctx, "receipt look-up refused", "reason", "unknown_code_or_wrong_pin")
		return ErrNotFound
	case err != nil:
		if tk != nil {
			if rerr := tk.Release(context.WithoutCancel(ctx)); rerr != nil {
				log.WarnContext(ctx, "throttle release failed", "error", rerr.Error())
			}
		}
		return err
	case !application.CheckPIN(a, pin):
		log.InfoContext(ctx, "receipt look-up refused", "reason", "unknown_code_or_wrong_pin")
		return ErrNotFound
	}
	if tk != nil {
		if err := tk.Succeed(context.WithoutCancel(ctx)); err != nil {
			log.WarnContext(ctx, "throttle success not recorded", "error", err.Error())
		}
	}
	return nil
}

// sameCode compares lookup codes in constant time, ignoring case.
func sameCode(stored, given string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(strings.ToUpper(stored)), []byte(strings.ToUpper(strings.TrimSpace(given)))) == 1
}
