package docstoretest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"motcua/shared/docstore"
)

// ErrCrash is what a CrashStore returns for an injected crash.
var ErrCrash = errors.New("injected crash")

// CrashStore wraps a docstore.Store and fails calls the way a process
// killed mid-call does, for crash-safety tests: a Rate fraction of Get,
// Put and Delete calls fail, half of them BEFORE the call reaches the store
// and half AFTER it was applied (the worst case: the write is durable but
// the caller believes it failed). FailPutPrefix additionally fails every
// Put under that prefix before it reaches the store (only the first one
// with Once). Safe for concurrent use; other methods pass through.
type CrashStore struct {
	docstore.Store
	// Rate is the fraction of calls that crash (0: none).
	Rate float64
	// FailPutPrefix, when set, makes Puts under it fail before the store.
	FailPutPrefix string
	// Once limits FailPutPrefix to the first such Put.
	Once bool

	fired   atomic.Bool
	crashes atomic.Int64
}

// Crashes is how many crashes were injected so far.
func (c *CrashStore) Crashes() int64 { return c.crashes.Load() }

// roll decides one call: crash before it, after it, or not at all.
func (c *CrashStore) roll() (before, after bool) {
	if c.Rate == 0 || rand.Float64() >= c.Rate {
		return false, false
	}
	c.crashes.Add(1)
	if rand.IntN(2) == 0 {
		return true, false
	}
	return false, true
}

// Get fails before the read at the crash rate.
func (c *CrashStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	if before, _ := c.roll(); before {
		return docstore.Object{}, ErrCrash
	}
	return c.Store.Get(ctx, key)
}

// Put fails under FailPutPrefix, or before or after the write at the crash
// rate.
func (c *CrashStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	if c.FailPutPrefix != "" && strings.HasPrefix(key, c.FailPutPrefix) && !(c.Once && c.fired.Swap(true)) {
		c.crashes.Add(1)
		return "", ErrCrash
	}
	before, after := c.roll()
	if before {
		return "", ErrCrash
	}
	etag, err := c.Store.Put(ctx, key, body, opts)
	if err == nil && after {
		return "", ErrCrash
	}
	return etag, err
}

// Delete fails before or after the delete at the crash rate.
func (c *CrashStore) Delete(ctx context.Context, key, ifMatch string) error {
	before, after := c.roll()
	if before {
		return ErrCrash
	}
	err := c.Store.Delete(ctx, key, ifMatch)
	if err == nil && after {
		return ErrCrash
	}
	return err
}
