// Package numbering allocates receipt numbers: per series (and so per year,
// the series symbol carrying the year's two digits), consecutive from 1, at
// most 8 digits, with no gap and no duplicate under concurrent issuers and
// crashes at any step.
//
// One counter document per series (receipts/counters/<series>.json) is
// updated by compare-and-swap (docstore If-Match / If-None-Match). Besides
// the last number it holds an "in flight" map payment reference → number:
// the allocation itself records which payment got which number, so an
// issuer that crashes after allocating and before storing its receipt is
// completed by the retry of the same payment with the same number, never
// skipped. An entry leaves the map (Complete) only once the caller's own
// durable record of the payment's number exists.
//
// Protocol (Allocate): read the counter (ETag E), ask the caller whether the
// payment already has a durable number (Issued), then write the counter
// with If-Match E. Because Complete also writes the counter, an allocation
// whose Issued check ran before a Complete of the same payment always fails
// its compare-and-swap and starts over; one whose check ran after it sees
// the caller's record. Hence each payment gets exactly one number.
//
// # Group commit
//
// Within one process, the Allocate and Complete calls on one series share
// the counter's reads and writes. A call on an idle series starts a
// committer at once (no timer); calls arriving while it reads and writes
// wait, and the committer then takes all of them (up to WithMaxBatch) as
// one batch: one read (ETag E), the Issued checks of the batch's
// allocations run concurrently, then one write with If-Match E carrying
// every new number and every removal. The proof above holds per batch,
// because it only needs each Issued check to run between the read and the
// write that records its allocation, which is still so:
//
//   - an allocation's payment already in flight in the counter as read gets
//     that entry (it is durable: it is in the stored counter);
//   - otherwise its Issued check runs after the read; a payment whose
//     Complete was written before the read recorded its number before
//     calling Complete, so the check sees it; a number recorded for it
//     after the read can only come from an allocation written after the
//     read, which makes the batch's write fail (If-Match E);
//   - a Complete and an Allocate of the same payment in one batch: the
//     Allocate is answered from the counter as read (the entry the
//     Complete then removes, i.e. the payment's own number), or, if the
//     entry was already gone, by its Issued check (the Complete's caller
//     recorded the number before calling); a Complete only removes entries
//     present when read, never one the same batch allocates;
//   - two allocations of the same payment in one batch get the same
//     number; numbers in a batch are consecutive from the last one, in
//     arrival order, and each At is max(wanted time, previous At), so
//     numbers and issue times ascend together across batches too.
//
// Failure: a write that loses its compare-and-swap (another process wrote)
// retries the whole batch from the read, re-running its checks, with the
// calls that arrived meanwhile; any other failed write fails every caller
// whose answer waited for it (none of them got a number; if the write
// did land, the next call for the same payment finds its entry in flight,
// exactly as after a crash). A failed Issued check fails its own call only.
// A caller whose context ends returns at once: if its call was not taken
// yet it is dropped; if it is in a batch the batch goes on without it (the
// storage requests are cancelled only when every caller of the batch
// left). Complete stays a durable write the caller waits for (not a lazy
// removal folded into a later write): a process killed after answering a
// delivery would otherwise leave entries in flight that only the repair
// sweep removes.
package numbering

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/fault"
)

// Prefix is where counter documents live in the data bucket.
const Prefix = "receipts/counters/"

// MaxNumber is the largest number of a series (8 digits).
const MaxNumber uint32 = 99_999_999

// DefaultMaxAttempts bounds the compare-and-swap attempts of one call.
const DefaultMaxAttempts = 400

// DefaultMaxBatch bounds the calls that share one counter write: enough
// for every issuer of a process (a write with 256 new in-flight entries is
// about 40 KB).
const DefaultMaxBatch = 256

const domain = "numbering"

// ErrSeriesFull means the series reached MaxNumber.
var ErrSeriesFull = fault.New(domain, "series_full", http.StatusConflict,
	"Dãy số biên lai đã hết số.", "The receipt series has no numbers left.")

// ErrContention means every compare-and-swap attempt lost the race; the
// caller retries later (a 5xx: the message is redelivered).
var ErrContention = fault.New(domain, "series_contention", http.StatusServiceUnavailable,
	"Hệ thống đang bận cấp số biên lai, vui lòng thử lại.", "Too many receipts are being numbered at once; try again.")

// ErrInvalidSeries means a series symbol is not usable as a key.
var ErrInvalidSeries = errors.New("numbering: invalid series")

var seriesRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,10}$`)

// Allocation is the number a payment got.
type Allocation struct {
	// Series is the series symbol.
	Series string `json:"series"`
	// Number is 1..MaxNumber.
	Number uint32 `json:"number"`
	// At is the issue time: never earlier than the previous number's, so
	// numbers and issue times ascend together.
	At time.Time `json:"at"`
	// Token is a random 12-character code fixed with the number (the
	// issuer uses it as the receipt's lookup code), so every retry builds
	// the same receipt.
	Token string `json:"token"`
}

// Counter is a series' counter document.
type Counter struct {
	// Series is the series symbol.
	Series string `json:"series"`
	// Last is the last number allocated (0 before the first).
	Last uint32 `json:"last"`
	// LastAt is the issue time of Last.
	LastAt time.Time `json:"lastAt"`
	// InFlight maps payment references to numbers allocated and not yet
	// completed.
	InFlight map[string]Allocation `json:"inFlight"`
	// Version counts the writes.
	Version int `json:"version"`
}

// Pending lists the in-flight allocations by number.
func (c Counter) Pending() []PendingAllocation {
	out := make([]PendingAllocation, 0, len(c.InFlight))
	for ref, a := range c.InFlight {
		out = append(out, PendingAllocation{Ref: ref, Allocation: a})
	}
	slices.SortFunc(out, func(a, b PendingAllocation) int { return int(a.Number) - int(b.Number) })
	return out
}

// PendingAllocation is an in-flight allocation with its payment reference.
type PendingAllocation struct {
	// Ref is the payment reference.
	Ref string `json:"ref"`
	Allocation
}

// IssuedFunc tells Allocate whether the payment already has a durable
// number in the caller's own records (ok true with that allocation). It
// is called between reading and writing the counter and must read fresh
// state every time.
type IssuedFunc func(ctx context.Context) (a Allocation, ok bool, err error)

// Allocator hands out numbers. Safe for concurrent use, also across
// processes sharing the bucket.
type Allocator struct {
	store       docstore.Store
	maxAttempts int
	maxBatch    int

	mu     sync.Mutex
	series map[string]*waitRoom // by series symbol

	stats counters
}

// Option configures an Allocator.
type Option func(*Allocator)

// WithMaxAttempts bounds the compare-and-swap attempts of one call (of
// one batch: see the package doc).
func WithMaxAttempts(n int) Option { return func(a *Allocator) { a.maxAttempts = n } }

// WithMaxBatch bounds the calls that share one write (DefaultMaxBatch; 1
// gives one write per call, calls of one series taking turns).
func WithMaxBatch(n int) Option {
	return func(a *Allocator) {
		if n > 0 {
			a.maxBatch = n
		}
	}
}

// New returns an Allocator over store (the data bucket).
func New(store docstore.Store, opts ...Option) *Allocator {
	a := &Allocator{store: store, maxAttempts: DefaultMaxAttempts, maxBatch: DefaultMaxBatch, series: map[string]*waitRoom{}}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Key returns the key of a series' counter.
func Key(series string) string { return Prefix + series + ".json" }

// Get reads a series' counter; a series never used gives a zero Counter.
func (al *Allocator) Get(ctx context.Context, series string) (Counter, error) {
	c, _, err := al.read(ctx, series)
	return c, err
}

func (al *Allocator) read(ctx context.Context, series string) (Counter, string, error) {
	if !seriesRE.MatchString(series) {
		return Counter{}, "", fmt.Errorf("%w: %q", ErrInvalidSeries, series)
	}
	var c Counter
	etag, err := docstore.GetJSON(ctx, al.store, Key(series), &c)
	if errors.Is(err, docstore.ErrNotFound) {
		return Counter{Series: series}, "", nil
	}
	if err != nil {
		return Counter{}, "", fmt.Errorf("read counter %s: %w", series, err)
	}
	return c, etag, nil
}

func (al *Allocator) write(ctx context.Context, c Counter, etag string) error {
	c.Version++
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	opts := docstore.PutOptions{IfMatch: etag}
	if etag == "" {
		opts = docstore.PutOptions{IfNoneMatch: true}
	}
	_, err = al.store.Put(ctx, Key(c.Series), body, opts)
	return err
}

// lost reports a compare-and-swap that lost the race.
func lost(err error) bool {
	return errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict)
}

// Allocate returns payment ref's number in series: the one already in
// flight for it, the one issued reports, or the next one, recorded in
// flight. now is the issue time wanted; the allocation's At is
// max(now, the previous number's At), capped at the end of the series'
// year when yearEnd is not zero (a retry that crosses midnight of 31
// December keeps the series it started in). A nil error means the
// allocation is durable.
//
// Concurrent calls on the same series in this process share the counter's
// read and compare-and-swap write (see the package doc); issued runs
// between that read and that write, concurrently with the other calls'
// checks, with ctx. A call whose ctx ends returns at once; if its request
// was already in a write, the number may still be recorded in flight for
// ref, exactly as if the caller had crashed: the next call for ref gets it.
func (al *Allocator) Allocate(ctx context.Context, series, ref string, now, yearEnd time.Time, issued IssuedFunc) (Allocation, error) {
	if ref == "" {
		return Allocation{}, errors.New("numbering: empty payment reference")
	}
	return al.submit(ctx, series, &request{ref: ref, now: now, yearEnd: yearEnd, issued: issued})
}

// Complete removes payment ref's in-flight entry once the caller's durable
// record of its number exists. Completing an entry that is not there is
// not an error. A nil error means the removal is durable. Concurrent calls
// share writes with each other and with Allocate (see the package doc).
func (al *Allocator) Complete(ctx context.Context, series, ref string) error {
	_, err := al.submit(ctx, series, &request{ref: ref, complete: true})
	return err
}

// Series lists the series that have a counter, in lexical order.
func (al *Allocator) Series(ctx context.Context) ([]string, error) {
	var out []string
	next := ""
	for {
		page, err := al.store.List(ctx, Prefix, next, 1000)
		if err != nil {
			return nil, fmt.Errorf("list series: %w", err)
		}
		for _, e := range page.Entries {
			name := e.Key[len(Prefix):]
			if len(name) > 5 && name[len(name)-5:] == ".json" {
				out = append(out, name[:len(name)-5])
			}
		}
		if page.Next == "" {
			return out, nil
		}
		next = page.Next
	}
}

// tokenAlphabet has no look-alike characters (no 0/O, 1/I/L).
const tokenAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewToken returns 12 random characters of an unambiguous alphabet
// (~59 bits).
func NewToken() (string, error) {
	b := make([]byte, 12)
	max := big.NewInt(int64(len(tokenAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("numbering token: %w", err)
		}
		b[i] = tokenAlphabet[n.Int64()]
	}
	return string(b), nil
}

// sleep waits a jittered, growing pause (capped near 50 ms) or until ctx
// ends.
func sleep(ctx context.Context, attempt int) error {
	ceiling := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(ceiling))) + 200*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
