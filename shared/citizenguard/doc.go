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
//     with compare-and-swap so parallel guesses cannot overrun them. The
//     client's counter is counted first (a client that must wait costs one
//     or two counter requests, nothing more); the pair's and the
//     identifier's then side by side. A counter that does not exist (the
//     common case: an honest citizen has no failures) is created holding
//     this attempt in one create-once write, with no read first.
//  3. The record is looked up (the caller's load function).
//  4. The secret is compared at constant cost: a keyed HMAC against the
//     stored hash (see Hashing), or against a dummy hash of the same form
//     and key when the record does not exist or its hash is unreadable, so
//     an unknown identifier, a wrong secret and the right secret cost the
//     same.
//
// # Hashing: a key, not a work factor
//
// Citizen secrets are short: an application PIN and a feedback follow-up
// secret have 8 digits (10^8 values), a PIN-recovery code 6. They used to
// be stored as PBKDF2-SHA256 at 10 000 iterations, 1.5 ms of CPU per hash
// (BenchmarkHash_pbkdf2), paid by every submission: on 2 cores that alone
// caps submissions near 1 300/s. And it bought little. Someone who reads
// the bucket (a leaked backup, a too-wide read role, a public-bucket
// mistake) searches all 10^8 PINs of a record in about 43 core-hours —
// hours on a rented GPU — and no work factor a submission can afford
// changes that by more than a constant.
//
// What defeats an offline search is a key the bucket reader does not have.
// New hashes are therefore HMAC-SHA256(pepper key, salt‖secret) with a
// fresh 16-byte salt per record (fixed length, so salt‖secret is
// unambiguous; equal secrets in two records hash differently). The pepper
// is a 256-bit key held in the OpenFaaS secret citizen-secret-pepper,
// mounted only in the functions that hash or check citizen secrets, never
// written to S3 and never logged (Pepper prints its key ids only). Without
// it a stored hash does not let anyone test a single guess offline. One
// hash costs about 1 µs, roughly 1 500× less than the PBKDF2 it replaces
// (BenchmarkHash_hmac against BenchmarkHash_pbkdf2 in the same run; the
// README's "Citizen secrets" section has the figures).
//
// What it does not do: an attacker who holds both the bucket and the
// pepper (a compromised function process) recovers a PIN in about 10^8
// HMACs, a couple of minutes. PBKDF2 at any affordable work factor would
// have held such an attacker for hours, not years, and that attacker can
// already read and change the applications themselves. The online path
// stays guarded by the throttle below whatever the hash.
//
// The stored form names its key: "hmac-sha256$<kid>$<base64 MAC>", the
// salt in its own member. The pepper is a key set (ParsePepper: one
// "<kid>:<base64 key>" line per key, the current one first), so it can be
// rotated: new hashes use the current key, old hashes keep verifying with
// the key their id names for as long as that line stays in the secret
// (infra/README.md says how to rotate without a failed check). A hash
// whose key id is not in the set never matches and is logged as a
// warning. Records written before the pepper
// ("pbkdf2-sha256$<iterations>$<base64>") keep verifying by the same code
// as before; nothing new is written in that form. They are not re-hashed
// on a successful check: that would turn every status look-up into a
// write racing the staff's and the write path's updates of the same
// document, for records that are short-lived anyway (a reset PIN is
// peppered). Until they are gone, a legacy record's wrong PIN costs a
// PBKDF2 while an unknown code costs the HMAC dummy, so timing tells an
// existing pre-pepper code from an unknown one; such codes carry their
// date and sequence number, so this says little the code's shape does
// not.
//
// A guard without a pepper (New without WithPepper) hashes nothing
// (ErrNoPepper) and answers a check of a peppered hash with an error,
// never a silent refusal or an unkeyed hash; the services that hash
// (application.NewService, application.NewRecovery, feedback.NewService)
// refuse to start with one, and the functions build their guard with
// platform.Platform.CitizenGuard, which fails when the secret is missing
// or malformed.
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
// A success clears the pair's counter (the holder knows the secret) and
// takes the attempt back from the client's and the identifier's counters,
// whose earlier failures stay; the three writes go side by side. A counter
// this attempt created and nobody wrote since holds that attempt only: it
// is deleted with compare-and-swap on its ETag (a conditional DELETE), so
// the next honest attempt creates it again in one write; one that was
// written meanwhile gets the attempt removed with compare-and-swap. Counters live in the document store under
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
