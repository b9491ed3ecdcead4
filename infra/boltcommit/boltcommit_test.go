package boltcommit

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openTestDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func putFn(key string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(key), []byte("v-"+key)) }
}

func stored(t *testing.T, db *bolt.DB, key string) bool {
	t.Helper()
	var ok bool
	if err := db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket([]byte("b")).Get([]byte(key)) != nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ok
}

// A failing or panicking write in a group fails alone: the group is retried
// one write per transaction and the others commit.
func TestCommitGroupIsolatesFailures(t *testing.T) {
	errBad := errors.New("bad write")
	tests := []struct {
		name string
		bad  func(tx *bolt.Tx) error
	}{
		{
			name: "error_after_partial_write",
			bad: func(tx *bolt.Tx) error {
				if err := tx.Bucket([]byte("b")).Put([]byte("bad"), []byte("x")); err != nil {
					return err
				}
				return errBad
			},
		},
		{
			name: "panic",
			bad:  func(*bolt.Tx) error { panic("boom") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			c := &Committer{db: db}
			runs := map[string]int{}
			counted := func(key string) func(tx *bolt.Tx) error {
				fn := putFn(key)
				return func(tx *bolt.Tx) error { runs[key]++; return fn(tx) }
			}
			group := []*request{
				{fn: counted("a"), wake: make(chan wakeMsg, 1)},
				{fn: tt.bad, wake: make(chan wakeMsg, 1)},
				{fn: counted("c"), wake: make(chan wakeMsg, 1)},
			}
			c.commit(group)
			for i, want := range []bool{true, false, true} {
				err := (<-group[i].wake).err
				if (err == nil) != want {
					t.Errorf("write %d: err = %v, want success %v", i, err, want)
				}
			}
			for _, k := range []string{"a", "c"} {
				if !stored(t, db, k) {
					t.Errorf("key %s lost", k)
				}
			}
			if stored(t, db, "bad") {
				t.Error("partial write of the failed function was committed")
			}
			if runs["a"] != 2 || runs["c"] != 1 {
				t.Errorf("runs = %v, want a retried once after the group failed", runs)
			}
		})
	}
}

// Many concurrent writers all get an answer and all their writes commit.
func TestCommitterConcurrentWrites(t *testing.T) {
	db := openTestDB(t)
	c := New(db)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(1, putFn(fmt.Sprintf("k%03d", i)))
		}()
	}
	wg.Wait()
	c.Close()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if !stored(t, db, fmt.Sprintf("k%03d", i)) {
			t.Fatalf("write %d acknowledged but not stored", i)
		}
	}
	if err := c.Do(1, putFn("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: err = %v, want ErrClosed", err)
	}
}

// Writes queued behind a commit in progress share the next transaction.
func TestCommitterGroupsQueuedWrites(t *testing.T) {
	db := openTestDB(t)
	c := New(db)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Do(1, func(tx *bolt.Tx) error {
			close(started)
			<-release
			return putFn("first")(tx)
		})
	}()
	<-started // the first write is mid-commit: everything else queues
	const n = 20
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		txs = map[int]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Do(1, func(tx *bolt.Tx) error {
				mu.Lock()
				txs[tx.ID()]++
				mu.Unlock()
				return putFn(fmt.Sprintf("q%02d", i))(tx)
			})
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	// Wait (no deadline needed: the test timeout bounds it) until all n
	// writers are queued behind the blocked leader.
	for {
		c.mu.Lock()
		queued := len(c.pending)
		c.mu.Unlock()
		if queued == n {
			break
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c.Close()
	if len(txs) != 1 {
		t.Fatalf("queued writes ran in %d transactions (%v), want 1", len(txs), txs)
	}
}
