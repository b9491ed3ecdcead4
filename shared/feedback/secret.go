package feedback

import (
	"context"
	"errors"
	"fmt"

	"motcua/shared/application"
	"motcua/shared/fault"
	"motcua/shared/throttle"
)

// This file is the one place where the follow-up secret is made and
// checked. It uses what application-status uses for the application PIN
// today (application.NewPIN/HashPIN/CheckPIN and shared/throttle); when the
// hardening teammate's guard for all citizen secrets lands in main, only
// newSecret and guard.check change.

// ErrNotFound is the one answer for an unknown id and a wrong secret.
var ErrNotFound = fault.New("feedback", "feedback_not_found", 404,
	"Không tìm thấy phản ánh với mã và mã tra cứu đã nhập.",
	"No feedback item matches this id and secret.")

// newSecret returns a fresh follow-up secret and its stored hash and salt.
func newSecret() (secret, hash, salt string, err error) {
	secret, err = application.NewPIN()
	if err != nil {
		return "", "", "", err
	}
	hash, salt, err = application.HashPIN(secret, 0)
	if err != nil {
		return "", "", "", err
	}
	return secret, hash, salt, nil
}

// dummy is checked against for unknown ids so every failure costs the
// same one hash.
var dummy = func() application.Application {
	h, s, err := application.HashPIN("00000000", 0)
	if err != nil {
		panic(fmt.Sprintf("feedback: dummy secret: %v", err))
	}
	return application.Application{PINHash: h, PINSalt: s}
}()

// guard throttles and checks follow-up secrets.
type guard struct {
	throttle *throttle.Throttle
}

// check loads the item id with get and checks secret, counting the attempt
// per id and per client address. Unknown id, anonymous item (no secret)
// and wrong secret all give ErrNotFound after one hash; a throttled
// attempt is a *throttle.LimitedError (429).
func (g guard) check(ctx context.Context, id, secret, client string, get func(context.Context, string) (Item, string, error)) (Item, string, error) {
	tk, err := g.throttle.Acquire(ctx, "feedback:"+id, client)
	if err != nil {
		return Item{}, "", err
	}
	it, etag, err := get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		application.CheckPIN(dummy, secret)
		return Item{}, "", ErrNotFound
	case err != nil:
		_ = tk.Release(context.WithoutCancel(ctx))
		return Item{}, "", err
	case it.SecretHash == "":
		application.CheckPIN(dummy, secret)
		return Item{}, "", ErrNotFound
	case !application.CheckPIN(application.Application{PINHash: it.SecretHash, PINSalt: it.SecretSalt}, secret):
		return Item{}, "", ErrNotFound
	}
	_ = tk.Succeed(context.WithoutCancel(ctx))
	return it, etag, nil
}
