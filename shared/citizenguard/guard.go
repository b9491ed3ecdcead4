package citizenguard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"motcua/shared/docstore"
)

// DefaultPrefix is where the guard keeps its counters in the bucket.
const DefaultPrefix = "guard/"

// ErrUnknown may be returned (wrapped) by a load function when no record
// has the identifier; an error matching docstore.ErrNotFound means the same.
var ErrUnknown = errors.New("citizenguard: no such record")

// Guard admits, looks up and compares citizen secrets (see the package
// documentation). Safe for concurrent use, across processes too: counters
// are documents updated with compare-and-swap.
type Guard struct {
	store   docstore.Store
	prefix  string
	policy  Policy
	proxies Proxies
	global  *rate.Limiter
	now     func() time.Time
	log     *slog.Logger
	pepper  *Pepper
}

// Option configures a Guard.
type Option func(*Guard)

// WithPolicy replaces DefaultPolicy.
func WithPolicy(p Policy) Option { return func(g *Guard) { g.policy = p } }

// WithPepper sets the key set that new hashes are made with and peppered
// hashes are checked with (LoadPepper). Without it the guard hashes
// nothing (ErrNoPepper), checks legacy PBKDF2 hashes only and fails a
// check of a peppered hash with ErrNoPepper (a 5xx, never a silent
// refusal): functions that hash or check citizen secrets must set it.
func WithPepper(p *Pepper) Option { return func(g *Guard) { g.pepper = p } }

// WithProxies sets the trusted proxies used by Client (default: loopback).
func WithProxies(p Proxies) Option { return func(g *Guard) { g.proxies = p } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option {
	return func(g *Guard) {
		if now != nil {
			g.now = now
		}
	}
}

// WithPrefix sets the key prefix of the counters (default DefaultPrefix).
func WithPrefix(prefix string) Option {
	return func(g *Guard) {
		if prefix != "" {
			g.prefix = strings.TrimSuffix(prefix, "/") + "/"
		}
	}
}

// WithLogger sets the logger of refusals (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(g *Guard) {
		if l != nil {
			g.log = l
		}
	}
}

// New returns a Guard keeping its counters in store.
func New(store docstore.Store, opts ...Option) *Guard {
	def, _ := ParseProxies(DefaultTrustedProxies)
	g := &Guard{store: store, prefix: DefaultPrefix, policy: DefaultPolicy, proxies: def, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(g)
	}
	if g.policy.GlobalRate > 0 {
		g.global = rate.NewLimiter(rate.Limit(g.policy.GlobalRate), max(1, g.policy.GlobalBurst))
	}
	return g
}

// Pepper returns the guard's key set (nil when WithPepper was not given).
func (g *Guard) Pepper() *Pepper { return g.pepper }

// Hash hashes a new citizen secret (a PIN, a follow-up secret, a one-time
// code) with the guard's pepper: the stored form Check compares against.
// ErrNoPepper without a key set: nothing is ever stored unkeyed.
func (g *Guard) Hash(secret string) (Hashed, error) { return g.pepper.Hash(secret) }

// Compare reports whether secret matches h at constant cost (see
// Pepper.Verify), without throttling: citizens' requests go through
// Check, never straight here.
func (g *Guard) Compare(h Hashed, secret string) bool { return g.pepper.Compare(h, secret) }

// Client returns the client address of a request's headers under the
// guard's trusted proxies (Proxies.ClientAddress).
func (g *Guard) Client(h http.Header) string { return g.proxies.ClientAddress(h) }

// ClientIP returns the client's own IP address ("" when unknown) under the
// guard's trusted proxies (Proxies.ClientIP).
func (g *Guard) ClientIP(h http.Header) string {
	if a := g.proxies.ClientIP(h); a.IsValid() {
		return a.String()
	}
	return ""
}

// Attempt is one check of a citizen secret.
type Attempt struct {
	// Kind namespaces the counters: "application", "payment", "receipt"….
	Kind string
	// ID is the canonical identifier, from a typed value (ParseCode…),
	// never a raw client string.
	ID string
	// Client is the client address (Guard.Client); "" when unknown.
	Client string
	// Secret is the secret the client sent.
	Secret string
	// Refusal is returned for an unknown identifier and for a wrong secret
	// alike (e.g. application.ErrWrongPIN, a 404).
	Refusal error
}

// Check runs one guarded check: global rate, counters, load, constant-cost
// comparison with the guard's pepper (Pepper.Verify). load returns the
// record and its stored hash; an error matching ErrUnknown or
// docstore.ErrNotFound means no such record (the dummy hash is compared
// instead and at.Refusal returned). Other load errors give the attempt
// back and are returned wrapped (fail closed, 5xx). A stored hash that
// names a retired key id or does not parse is refused like a wrong secret
// and logged as a warning.
// Errors: *LimitedError (429), at.Refusal, store faults, ErrNoPepper (a
// peppered hash and a guard without WithPepper: 5xx).
func Check[T any](ctx context.Context, g *Guard, at Attempt, load func(context.Context) (T, Hashed, error)) (T, error) {
	var zero T
	if g.global != nil && !g.global.Allow() {
		g.refused(ctx, at, ScopeGlobal)
		return zero, &LimitedError{Scope: ScopeGlobal, RetryAfter: time.Second}
	}
	tk, err := g.acquire(ctx, at)
	if err != nil {
		var lim *LimitedError
		if errors.As(err, &lim) {
			g.refused(ctx, at, lim.Scope)
		}
		return zero, err
	}
	rec, h, err := load(ctx)
	unknown := err != nil && (errors.Is(err, ErrUnknown) || errors.Is(err, docstore.ErrNotFound))
	if err != nil && !unknown {
		if rerr := tk.refund(context.WithoutCancel(ctx), tk.targets); rerr != nil {
			g.log.WarnContext(ctx, "guard: attempt not given back", "error", rerr.Error())
		}
		return zero, fmt.Errorf("guarded %s look-up: %w", at.Kind, err)
	}
	if unknown {
		h = Hashed{}
	}
	match, verr := g.pepper.Verify(h, at.Secret)
	if !unknown && verr != nil && (h != Hashed{}) { // a record without a secret (e.g. anonymous feedback) just never matches
		if errors.Is(verr, ErrNoPepper) {
			// A configuration fault, not a wrong secret: fail closed and loud.
			if rerr := tk.refund(context.WithoutCancel(ctx), tk.targets); rerr != nil {
				g.log.WarnContext(ctx, "guard: attempt not given back", "error", rerr.Error())
			}
			return zero, fmt.Errorf("guarded %s check: %w", at.Kind, verr)
		}
		// Refused like a wrong secret, but an operator must know: a
		// retired key id or a corrupt record locks its holder out.
		g.log.WarnContext(ctx, "citizen secret hash cannot be checked", "kind", at.Kind, "scheme", h.Scheme(), "error", verr.Error())
	}
	if !match || unknown {
		g.log.InfoContext(ctx, "citizen secret refused", "kind", at.Kind, "reason", "unknown_id_or_wrong_secret")
		return zero, at.Refusal
	}
	if err := tk.succeed(context.WithoutCancel(ctx)); err != nil {
		g.log.WarnContext(ctx, "guard: success not recorded", "error", err.Error())
	}
	return rec, nil
}

func (g *Guard) refused(ctx context.Context, at Attempt, scope string) {
	g.log.InfoContext(ctx, "citizen secret attempt throttled", "kind", at.Kind, "scope", scope)
}

// counter is the stored document of one counter.
type counter struct {
	// Failures are the Unix times (ns) of the latest failures, oldest first.
	Failures []int64 `json:"failures"`
}

// live drops failures older than the rule's window and keeps the newest.
func (c *counter) live(now time.Time, r Rule) {
	cut := now.Add(-r.Window).UnixNano()
	i := 0
	for i < len(c.Failures) && c.Failures[i] <= cut {
		i++
	}
	c.Failures = c.Failures[i:]
	if k := r.keep(); len(c.Failures) > k {
		c.Failures = c.Failures[len(c.Failures)-k:]
	}
}

type target struct {
	scope string
	key   string
	rule  Rule
}

func (g *Guard) targets(at Attempt) []target {
	var out []target
	if at.Client != "" {
		out = append(out,
			target{ScopeClient, g.key(ScopeClient, at.Client), g.policy.Client},
			target{ScopePair, g.key(ScopePair, at.Kind, at.ID, at.Client), g.policy.Pair})
	}
	out = append(out, target{ScopeID, g.key(ScopeID, at.Kind, at.ID), g.policy.ID})
	kept := out[:0]
	for _, t := range out {
		if t.rule.Free > 0 {
			kept = append(kept, t)
		}
	}
	return kept
}

// key is the counter's storage key: a hash, never the raw values.
func (g *Guard) key(scope string, parts ...string) string {
	sum := sha256.Sum256([]byte("motcua-guard\x00" + scope + "\x00" + strings.Join(parts, "\x00")))
	return g.prefix + scope + "/" + hex.EncodeToString(sum[:16]) + ".json"
}

// ticket is one admitted attempt, counted as a failure until succeed or
// refund.
type ticket struct {
	g       *Guard
	at      int64
	targets []counted
}

// counted is one counter this attempt's failure was written to.
type counted struct {
	target
	// created is the ETag of the counter when this attempt created it (it
	// held this failure only); "" when the counter existed before.
	created string
}

// acquire counts the attempt as a failure on every counter, or refuses it
// (counting nothing) when one of them asks to wait. The client's counter
// goes first, so a client that must wait costs one counter read (two when
// its counter is written as a fresh one first); the pair's and the
// identifier's are then counted side by side.
func (g *Guard) acquire(ctx context.Context, at Attempt) (*ticket, error) {
	now := g.now()
	tk := &ticket{g: g, at: now.UnixNano()}
	tgs := g.targets(at)
	first := 0
	if len(tgs) > 0 && tgs[0].scope == ScopeClient {
		first = 1
	}
	results := make([]countResult, len(tgs))
	for i := range first {
		results[i] = g.count(ctx, tgs[i], now, tk.at)
	}
	if first == 0 || results[0].err == nil {
		var wg sync.WaitGroup
		for i := first; i < len(tgs); i++ {
			wg.Go(func() { results[i] = g.count(ctx, tgs[i], now, tk.at) })
		}
		wg.Wait()
	}
	var firstErr error
	for i, r := range results {
		switch {
		case r.err != nil && firstErr == nil:
			firstErr = fmt.Errorf("guard %s counter: %w", tgs[i].scope, r.err)
		case r.err == nil && r.counted:
			tk.targets = append(tk.targets, counted{tgs[i], r.created})
		}
	}
	if firstErr != nil {
		if rerr := tk.refund(context.WithoutCancel(ctx), tk.targets); rerr != nil {
			g.log.WarnContext(ctx, "guard: attempt not given back", "error", rerr.Error())
		}
		var lim *LimitedError
		if errors.As(firstErr, &lim) {
			return nil, lim
		}
		return nil, firstErr
	}
	return tk, nil
}

// countResult is what count did to one counter.
type countResult struct {
	counted bool
	created string // ETag, when count created the counter
	err     error
}

// count writes the failure at to one counter, or refuses with a
// *LimitedError when the counter asks to wait. Most counters do not exist
// (a success deletes the ones it created; an honest citizen has no
// failures): the failure is first written as a new counter, create once,
// which admits by construction (no failures, no wait); only when the
// counter exists is it read and updated with compare-and-swap.
func (g *Guard) count(ctx context.Context, tg target, now time.Time, at int64) countResult {
	etag, err := docstore.PutJSON(ctx, g.store, tg.key, counter{Failures: []int64{at}}, docstore.PutOptions{IfNoneMatch: true})
	if err == nil {
		return countResult{counted: true, created: etag}
	}
	if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
		return countResult{err: err}
	}
	var c counter
	err = docstore.Upsert(ctx, g.store, tg.key, &c, func() error {
		c.live(now, tg.rule)
		if n := len(c.Failures); n > 0 {
			if d := tg.rule.delay(n); d > 0 {
				if next := time.Unix(0, c.Failures[n-1]).Add(d); now.Before(next) {
					return &LimitedError{Scope: tg.scope, RetryAfter: next.Sub(now)}
				}
			}
		}
		c.Failures = append(c.Failures, at)
		return nil
	}, 0)
	if err != nil {
		return countResult{err: err}
	}
	return countResult{counted: true}
}

// succeed clears the pair's counter (this client knows the secret) and
// gives the attempt back to the others, whose earlier failures stay: one
// success does not launder an address's or an identifier's wrong guesses.
// The counters are written side by side.
func (tk *ticket) succeed(ctx context.Context) error {
	errs := make([]error, len(tk.targets))
	var wg sync.WaitGroup
	for i, tg := range tk.targets {
		wg.Go(func() {
			if tg.scope != ScopePair {
				errs[i] = tk.giveBack(ctx, tg)
				return
			}
			if err := tk.g.store.Delete(ctx, tg.key, ""); err != nil && !errors.Is(err, docstore.ErrNotFound) {
				errs[i] = fmt.Errorf("guard succeed: %w", err)
			}
		})
	}
	wg.Wait()
	tk.targets = nil
	return errors.Join(errs...)
}

// refund removes this attempt's failure from targets, side by side.
func (tk *ticket) refund(ctx context.Context, targets []counted) error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Go(func() { errs[i] = tk.giveBack(ctx, tg) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// giveBack removes this attempt's failure from one counter. A counter this
// attempt created and nobody has written since holds that failure only:
// it is deleted (compare-and-swap on its ETag), so the next attempt
// creates it again in one write. Otherwise the failure is taken out of the
// stored list with compare-and-swap.
func (tk *ticket) giveBack(ctx context.Context, tg counted) error {
	if tg.created != "" {
		err := tk.g.store.Delete(ctx, tg.key, tg.created)
		if err == nil || errors.Is(err, docstore.ErrNotFound) {
			return nil
		}
		if !errors.Is(err, docstore.ErrPrecondition) {
			return fmt.Errorf("guard refund %s: %w", tg.scope, err)
		}
		// Written since (another attempt counted there): update it.
	}
	var lastErr error
	for attempt := 0; attempt <= docstore.DefaultUpdateRetries; attempt++ {
		if attempt > 0 {
			if err := docstore.Backoff(ctx, attempt, 7); err != nil {
				return fmt.Errorf("guard refund %s: %w", tg.scope, err)
			}
		}
		var c counter
		etag, err := docstore.GetJSON(ctx, tk.g.store, tg.key, &c)
		if errors.Is(err, docstore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("guard refund %s: %w", tg.scope, err)
		}
		i := slices.Index(c.Failures, tk.at)
		if i < 0 {
			return nil
		}
		c.Failures = slices.Delete(c.Failures, i, i+1)
		if len(c.Failures) == 0 {
			// Nothing left: delete it (compare-and-swap), so the next
			// attempt creates it in one write.
			err = tk.g.store.Delete(ctx, tg.key, etag)
		} else {
			_, err = docstore.PutJSON(ctx, tk.g.store, tg.key, c, docstore.PutOptions{IfMatch: etag})
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, docstore.ErrPrecondition) && !errors.Is(err, docstore.ErrConflict) {
			return fmt.Errorf("guard refund %s: %w", tg.scope, err)
		}
		lastErr = err
	}
	return fmt.Errorf("guard refund %s: gave up: %w", tg.scope, lastErr)
}
