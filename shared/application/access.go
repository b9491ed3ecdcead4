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
	return citizenguard.Check(ctx, x.guard,
		citizenguard.Attempt{Kind: GuardKind, ID: code.String(), Client: client, Secret: pin, Refusal: ErrWrongPIN},
		func(ctx context.Context) (Application, citizenguard.Hashed, error) {
			a, _, err := x.repo.Get(ctx, code)
			return a, citizenguard.Hashed{Hash: a.PINHash, Salt: a.PINSalt}, err
		})
}

// Guard returns the guard (for adapters that read client addresses).
func (x *Access) Guard() *citizenguard.Guard { return x.guard }
