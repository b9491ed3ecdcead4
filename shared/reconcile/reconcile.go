// Package reconcile settles what the payment callbacks missed:
//
//   - CheckPending re-checks pending payments older than a threshold with
//     the provider's status query (VNPAY querydr through a
//     vnpay.StatusQuerier) and confirms the paid ones through the payment
//     domain's own idempotent apply path (the path the callback uses, which
//     emits payment.confirmed and so the receipt) or expires the stale ones;
//   - RunSettlement matches a bank settlement file (CSV, see
//     ParseSettlement) stored under SettlementPrefix against our payments
//     and writes a report under ReportPrefix: ok, callback_lost (confirmed
//     now), missing_at_bank, amount_mismatch, unknown_reference,
//     duplicate_at_bank.
//
// Reconciliation never writes a payment document itself: every change goes
// through the Payments port. Runs are idempotent: running the same file
// twice confirms nothing twice (the second run reports ok). Safe for
// concurrent use.
package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
)

// Storage layout in the data bucket.
const (
	// SettlementPrefix holds uploaded settlement files (<name>.csv).
	SettlementPrefix = "reconciliation/settlements/"
	// ReportPrefix holds run reports (<run-id>.json).
	ReportPrefix = "reconciliation/reports/"
)

// Source is the Attempt source reconciliation writes through the domain.
const Source = "reconcile"

// ErrBadName means a settlement name is not 1-100 of [A-Za-z0-9._-].
var ErrBadName = errors.New("reconcile: bad settlement name")

// Confirmation is a provider's word that a payment was paid, found by
// reconciliation rather than delivered by a callback.
type Confirmation struct {
	// Ref is the payment reference.
	Ref string
	// Provider is payment.ProviderVNPay or payment.ProviderBank.
	Provider string
	// TransactionNo is the provider's transaction number.
	TransactionNo string
	// BankCode is the paying bank, if known.
	BankCode string
	// AmountVND is the amount the provider reports.
	AmountVND int64
	// PaidAt is when the provider says it was paid (zero: unknown).
	PaidAt time.Time
	// Note explains where the confirmation comes from (querydr, a
	// settlement file and line).
	Note string
}

// Payments is what reconciliation needs from the payment domain. Confirm
// must be the same idempotent, crash-safe apply path the callbacks
// use: confirming an already-paid payment changes nothing and is not an
// error. Implementations are safe for concurrent use.
type Payments interface {
	// Get returns payment ref; an error matching docstore.ErrNotFound
	// when there is none.
	Get(ctx context.Context, ref string) (payment.Payment, error)
	// List calls fn for every payment (any order); fn's error stops it.
	List(ctx context.Context, fn func(payment.Payment) error) error
	// Confirm marks the payment paid (once) and emits payment.confirmed.
	Confirm(ctx context.Context, c Confirmation) (payment.Payment, error)
	// Expire marks a pending payment expired; a payment no longer pending
	// is returned unchanged.
	Expire(ctx context.Context, ref string, note string) (payment.Payment, error)
	// Finish completes the follow-up (application update, payment.confirmed)
	// of a paid payment whose follow-up a crash may have cut short; it does
	// nothing when already done.
	Finish(ctx context.Context, ref string) error
}

// Options configures a Reconciler.
type Options struct {
	// Querier asks the provider for a payment's status (VNPAY querydr);
	// nil means pending VNPAY payments are only expired when stale.
	Querier vnpay.StatusQuerier
	// ServerIP is this server's IP address for querydr (vnp_IpAddr);
	// default 127.0.0.1.
	ServerIP string
	// Log receives structured logs; discarded when nil.
	Log *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Workers bounds concurrent lookups; default 8.
	Workers int
}

// Reconciler runs reconciliations. Safe for concurrent use.
type Reconciler struct {
	store    docstore.Store
	payments Payments
	opts     Options
}

// New returns a Reconciler storing files and reports in store and acting on
// payments through the domain port.
func New(store docstore.Store, payments Payments, opts Options) *Reconciler {
	if opts.ServerIP == "" {
		opts.ServerIP = "127.0.0.1"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	return &Reconciler{store: store, payments: payments, opts: opts}
}

// SettlementKey returns the storage key of settlement file name (with or
// without ".csv"), or ErrBadName.
func SettlementKey(name string) (string, error) {
	name = strings.TrimSuffix(path.Base(name), ".csv")
	if name == "" || len(name) > 100 || name == "." || name == ".." {
		return "", fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: %q (use A-Z a-z 0-9 . _ -)", ErrBadName, name)
		}
	}
	return SettlementPrefix + name + ".csv", nil
}

// UploadSettlement checks body with ParseSettlement and stores it as
// settlement file name; a bad file is refused (*SettlementError) and not
// stored. It returns the key. Uploading the same name again replaces the
// file (a run reads it at that moment).
func (r *Reconciler) UploadSettlement(ctx context.Context, name string, body []byte) (string, error) {
	key, err := SettlementKey(name)
	if err != nil {
		return "", err
	}
	if _, err := ParseSettlement(strings.NewReader(string(body))); err != nil {
		return "", err
	}
	if _, err := r.store.Put(ctx, key, body, docstore.PutOptions{ContentType: "text/csv; charset=utf-8"}); err != nil {
		return "", fmt.Errorf("store settlement %s: %w", key, err)
	}
	return key, nil
}

// newRunID returns a sortable run id: UTC time plus 6 random hex digits.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ReportKey returns the key of run id's report.
func ReportKey(runID string) string { return ReportPrefix + runID + ".json" }

// saveReport writes a report once under its run id.
func (r *Reconciler) saveReport(ctx context.Context, runID string, v any) (string, error) {
	key := ReportKey(runID)
	if _, err := docstore.PutJSON(ctx, r.store, key, v, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		return "", fmt.Errorf("store report %s: %w", key, err)
	}
	return key, nil
}

// forEach runs fn(i) for i in [0, n) on up to workers goroutines.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int)) {
	if workers > n {
		workers = n
	}
	next := make(chan int)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range next {
				fn(ctx, i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		<-done
	}
}

// sortedCounts returns the count of every outcome in items, zero ones
// included for each of outcomes.
func countOutcomes[T any](items []T, outcome func(T) string, outcomes []string) map[string]int {
	m := make(map[string]int, len(outcomes))
	for _, o := range outcomes {
		m[o] = 0
	}
	for _, it := range items {
		m[outcome(it)]++
	}
	return m
}

// sortByRef orders items by a key for stable reports.
func sortBy[T any](items []T, key func(T) string) {
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
}

// ListPayments calls fn for every payment document in store (keys
// payment.Prefix + "MC…" + ".json"; the domain's markers, events and audit
// records live in sub-folders and are skipped). Documents are read with up
// to 8 concurrent GETs; fn may be called concurrently.
func ListPayments(ctx context.Context, store docstore.Store, fn func(payment.Payment) error) error {
	var keys []string
	next := ""
	for {
		page, err := store.List(ctx, payment.Prefix+"MC", next, 1000)
		if err != nil {
			return fmt.Errorf("list payments: %w", err)
		}
		for _, e := range page.Entries {
			if k := strings.TrimPrefix(e.Key, payment.Prefix); !strings.Contains(k, "/") && strings.HasSuffix(k, ".json") {
				keys = append(keys, e.Key)
			}
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	var (
		mu    sync.Mutex
		first error
	)
	forEach(ctx, len(keys), 8, func(ctx context.Context, i int) {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			return
		}
		var p payment.Payment
		_, err := docstore.GetJSON(ctx, store, keys[i], &p)
		if errors.Is(err, docstore.ErrNotFound) {
			return // deleted meanwhile
		}
		if err == nil {
			err = fn(p)
		} else {
			err = fmt.Errorf("read %s: %w", keys[i], err)
		}
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	})
	return first
}
