package citizenguard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Environment variables that tune the global in-process rate of PIN and
// code checks (Policy.GlobalRate and GlobalBurst). Unset means
// DefaultPolicy's value. The per-client, per-pair and per-identifier
// rules are not configurable: they are the security policy, the same in
// every deployment (see the package documentation).
const (
	// EnvGlobalRate is the checks per second one process admits, a
	// positive number (e.g. "250" or "12.5").
	EnvGlobalRate = "MOTCUA_PIN_GUARD_RATE"
	// EnvGlobalBurst is how many checks may arrive at once above that
	// rate, a positive integer.
	EnvGlobalBurst = "MOTCUA_PIN_GUARD_BURST"
)

// maxGlobalRate bounds EnvGlobalRate: far beyond what one process can
// check (each check is storage requests), so a larger value is a typo.
const maxGlobalRate = 100_000

// PolicyFromEnv returns DefaultPolicy with the global rate and burst of
// EnvGlobalRate and EnvGlobalBurst when they are set. A malformed, zero or
// negative value is an error naming the variable: the global rate is the
// last protection of the storage against a flood of guesses from many
// addresses, so it can be raised or lowered, never switched off by
// environment.
func PolicyFromEnv(getenv func(string) (string, bool)) (Policy, error) {
	p := DefaultPolicy
	if v, ok := getenv(EnvGlobalRate); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > maxGlobalRate {
			return Policy{}, fmt.Errorf("citizenguard: %s=%q: want checks per second, a number above 0 and at most %d", EnvGlobalRate, v, maxGlobalRate)
		}
		p.GlobalRate = f
	}
	if v, ok := getenv(EnvGlobalBurst); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 || n > maxGlobalRate {
			return Policy{}, fmt.Errorf("citizenguard: %s=%q: want a whole number of checks above 0 and at most %d", EnvGlobalBurst, v, maxGlobalRate)
		}
		p.GlobalBurst = n
	}
	return p, nil
}
