package application

import (
	"context"

	"motcua/shared/citizenguard"
)

// GuardKind namespaces the guard's counters of application PINs: every
// path that checks an application's PIN (status, cancel, complete-uploads,
// pay-fee) shares them, so guesses spread over paths add up.
const GuardKind = "application"

// Access is the one way an applicant's code and PIN reach an application:
// through the citizen guard (throttle, look-up, constant-cost comparison).
// Safe for concurrent use.
type Access struct {
	repo  *Repository
	guard *citizenguard.Guard
}

// NewAccess returns the guarded access to the applications of repo.
func NewAccess(repo *Repository, guard *citizenguard.Guard) *Access {
	return &Access{repo: repo, guard: guard}
}

// Authorize returns the application with code if pin is its PIN. An
// unknown code and a wrong PIN give the same ErrWrongPIN (404) at the same
// cost; too many failures give a *citizenguard.LimitedError (429); client
// is the caller's address (citizenguard.Guard.Client, "" when unknown).
func (x *Access) Authorize(ctx context.Context, code Code, pin, client string) (Application, error) {
	a, _, err := x.AuthorizeTagged(ctx, code, pin, client)
	return a, err
}

// AuthorizeTagged is Authorize that also returns the ETag the application
// was read with, so a caller that changes it can write it back with
// compare-and-swap (Repository.UpdateIfMatch) instead of reading it again.
func (x *Access) AuthorizeTagged(ctx context.Context, code Code, pin, client string) (Application, string, error) {
	type read struct {
		a    Application
		etag string
	}
	r, err := citizenguard.Check(ctx, x.guard,
		citizenguard.Attempt{Kind: GuardKind, ID: code.String(), Client: client, Secret: pin, Refusal: ErrWrongPIN},
		func(ctx context.Context) (read, citizenguard.Hashed, error) {
			a, etag, err := x.repo.Get(ctx, code)
			return read{a, etag}, citizenguard.Hashed{Hash: a.PINHash, Salt: a.PINSalt}, err
		})
	if err != nil {
		return Application{}, "", err
	}
	return r.a, r.etag, nil
}

// Guard returns the guard (for adapters that read client addresses).
func (x *Access) Guard() *citizenguard.Guard { return x.guard }
