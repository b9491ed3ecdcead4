// Package citizenguard is the one guard in front of every citizen secret:
// the look-up PIN of an application (application-status, pay-fee,
// submit-application cancel and complete-uploads) and the secrets that come
// next (receipt verification, feedback follow-up, ratings, PIN recovery).
//
// A guarded call goes through four steps, always in this order and always
// at the same cost whatever the answer:
//
//  1. The identifier is parsed at the boundary into a typed value (Kind.Parse;
//     application.ParseCode, payment.ParseRef): only a string of the kind's
//     exact shape becomes one, anything else is a 400 naming the field, so
//     no client string ever reaches a storage key.
//  2. The attempt is admitted by the throttle (Guard.Check): an in-process
//     global rate, then counters in the document store, counted up front
//     with compare-and-swap so parallel guesses cannot overrun them.
//  3. The record is looked up (the caller's load function).
//  4. The secret is compared at constant cost: PBKDF2 against the stored
//     hash, or against a dummy hash with the same work factor when the
//     record does not exist or its hash is unreadable, so an unknown
//     identifier, a wrong secret and the right secret cost the same.
//
// # Lockout policy
//
// A hard lock per identifier (the old "5 wrong PINs lock the code for 15
// minutes") lets anyone lock a citizen out, since application codes are
// sequential. The guard never locks an identifier. It keeps three counters
// of failures, each with its own Rule (see DefaultPolicy):
//
//   - per client address: 20 free failures per hour, then exponential
//     backoff (1 min, 2 min, 4 min … capped at 1 h). Guessing from one
//     address stops quickly; it only ever hurts that address.
//   - per (identifier, client address): 5 free failures per hour, then
//     exponential backoff from 30 s. A citizen who mistypes is slowed at
//     their own address only.
//   - per identifier: 10 free failures per hour, then one attempt per 20 s
//     (fixed, never growing). This bounds a distributed attacker (many
//     addresses) to about 4 000 guesses a day on one code, roughly 34 years
//     on average for an 8-digit PIN, while the real citizen is at worst asked
//     to wait 20 s: slowed, never locked out.
//
// On top, a global in-process rate (DefaultPolicy.GlobalRate) protects the
// CPU from a flood of hash computations; it answers 429 with a 1 s
// Retry-After and counts nothing.
//
// A success clears the identifier's and the pair's counters (the holder
// knows the secret) and takes the attempt back from the client's counter,
// whose earlier failures stay. Counters live in the document store under
// hashed keys (never the raw identifier or address), so every replica sees
// the same counts and they survive restarts; they age out with their
// window. A store failure fails closed (5xx).
//
// # Client address
//
// The address a request is counted under comes from X-Forwarded-For read
// right to left through a configured list of trusted proxies
// (MOTCUA_TRUSTED_PROXIES, CIDRs; default the local gateway's 127.0.0.1 and
// the private networks cluster proxies live on):
// the first address not in the list is the client. A header the client
// wrote itself is never believed, because the trusted proxies append to the
// right of it. The function template appends its own peer, as of-watchdog
// does, so the gateway is always the last hop.
package citizenguard
