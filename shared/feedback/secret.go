package feedback

import (
	"context"
	"fmt"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/fault"
)

// This file is the one place where the follow-up secret is made and
// checked: shared/citizenguard, the guard of every citizen secret
// (throttled per client, per id and client, and per id; constant cost;
// the same 404 for an unknown id and a wrong secret).

// GuardKind namespaces the guard's counters of feedback secrets.
const GuardKind = "feedback"

// ErrNotFound is the one answer for an unknown id and a wrong secret.
var ErrNotFound = fault.New("feedback", "feedback_not_found", 404,
	"Không tìm thấy phản ánh với mã và mã tra cứu đã nhập.",
	"No feedback item matches this id and secret.")

// newSecret returns a fresh 8-digit follow-up secret and its hash with
// g's pepper.
func newSecret(g *citizenguard.Guard) (string, citizenguard.Hashed, error) {
	secret, err := application.NewPIN()
	if err != nil {
		return "", citizenguard.Hashed{}, fmt.Errorf("feedback secret: %w", err)
	}
	h, err := g.Hash(secret)
	if err != nil {
		return "", citizenguard.Hashed{}, fmt.Errorf("feedback secret: %w", err)
	}
	return secret, h, nil
}

// stored is an item with the ETag it was read at.
type stored struct {
	item Item
	etag string
}

// checkSecret loads item id and checks secret under the guard. Unknown
// id, anonymous item (no secret) and wrong secret are all ErrNotFound
// after one hash; too many attempts are a *citizenguard.LimitedError (429).
func (s *Service) checkSecret(ctx context.Context, id ID, secret, client string) (Item, string, error) {
	at := citizenguard.Attempt{Kind: GuardKind, ID: id.String(), Client: client, Secret: secret, Refusal: ErrNotFound}
	got, err := citizenguard.Check(ctx, s.d.Guard, at, func(ctx context.Context) (stored, citizenguard.Hashed, error) {
		it, etag, err := s.repo.get(ctx, id)
		if err != nil {
			if err == ErrNotFound {
				return stored{}, citizenguard.Hashed{}, citizenguard.ErrUnknown
			}
			return stored{}, citizenguard.Hashed{}, err
		}
		return stored{it, etag}, citizenguard.Hashed{Hash: it.SecretHash, Salt: it.SecretSalt}, nil
	})
	if err != nil {
		return Item{}, "", err
	}
	return got.item, got.etag, nil
}
