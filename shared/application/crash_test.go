package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// errCrashed is what a crashed process's store and queue calls return.
var errCrashed = errors.New("process crashed")

// crashPoint makes a process "die" after its k-th write: the k-th write
// and everything after it fail (lostAck: the k-th write lands, but its
// answer is lost, as when the process dies right after the storage
// acknowledged). Reads and sends fail after the crash too.
type crashPoint struct {
	mu      sync.Mutex
	writes  int
	k       int
	lostAck bool
	crashed bool
}

// write reports whether a write may land, and the error to return.
func (c *crashPoint) write() (land bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return false, errCrashed
	}
	c.writes++
	if c.writes < c.k {
		return true, nil
	}
	c.crashed = true
	return c.lostAck, errCrashed
}

func (c *crashPoint) dead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// crashStore is a docstore.Store that crashes at a crashPoint.
type crashStore struct {
	docstore.Store
	c *crashPoint
}

func (s crashStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	if s.c.dead() {
		return docstore.Object{}, errCrashed
	}
	return s.Store.Get(ctx, key)
}

func (s crashStore) Head(ctx context.Context, key string) (docstore.Entry, error) {
	if s.c.dead() {
		return docstore.Entry{}, errCrashed
	}
	return s.Store.Head(ctx, key)
}

func (s crashStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	land, err := s.c.write()
	if !land {
		return "", err
	}
	etag, perr := s.Store.Put(ctx, key, body, opts)
	if perr != nil {
		return "", perr
	}
	return etag, err
}

func (s crashStore) Delete(ctx context.Context, key, ifMatch string) error {
	land, err := s.c.write()
	if !land {
		return err
	}
	if derr := s.Store.Delete(ctx, key, ifMatch); derr != nil {
		return derr
	}
	return err
}

// crashQueue fails every send after the crash.
type crashQueue struct {
	*queue.MemQueue
	c *crashPoint
}

func (q crashQueue) Publish(ctx context.Context, name string, env queue.Envelope) error {
	if q.c.dead() {
		return errCrashed
	}
	return q.MemQueue.Publish(ctx, name, env)
}

// TestSubmit_crash_at_every_write_loses_nothing kills a submission's
// process after its k-th write, for every k along the write path (counter
// block, outbox marker, idempotency record, application, index, marker
// delete), with the crashing write lost or landed, then restarts: a new
// process retries the same request with the same Idempotency-Key after the
// lock TTL and the outbox repair runs. Whatever k:
//   - a 201 before the crash means the application was durable;
//   - the retry answers 201 with the first answer's code and PIN when there
//     was one, a later retry replays it, and exactly one application
//     exists afterwards;
//   - every stored application's application.submitted event is published
//     (by the request or the repair), with the ID its timeline names, and
//     the work-queue index holds its entry, once.
func TestSubmit_crash_at_every_write_loses_nothing(t *testing.T) {
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	const key = "b3f1c2d4-crash-test-key"
	for _, lostAck := range []bool{false, true} {
		for k := 1; k <= 9; k++ {
			for round := range 3 { // the concurrent writes land in varying order
				name := fmt.Sprintf("write_%d_lost_ack_%v_round_%d", k, lostAck, round)
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					store := docstore.NewMemStore("motcua-data")
					q := queue.NewMemQueue(eventsQueue)
					clock := time.Date(2026, 11, 24, 9, 0, 0, 0, workdays.Location)
					pepper := guardtest.Pepper(t) // one deployment: both processes share it
					var clockMu sync.Mutex
					now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
					serve := func(st docstore.Store, pub queue.Publisher) (handler.Response, *application.Service) {
						svc, err := application.NewService(application.Deps{
							Store: st, Uploads: docstore.NewMemStore("motcua-uploads"), Publisher: pub, EventsQueue: eventsQueue,
							Procedures: fakeProcedures{"X.HT.004": testProcedure()}, Calendar: cal, Log: quiet, Now: now,
							Guard: citizenguard.New(st, citizenguard.WithPepper(pepper), citizenguard.WithLogger(quiet)),
						})
						if err != nil {
							t.Fatal(err)
						}
						keeper := idempotency.New(st, "idempotency/submit-application", time.Hour,
							idempotency.WithClock(now), idempotency.WithLockTTL(2*time.Minute))
						return post(t, application.NewHTTP(svc, keeper, quiet), "", validInput(), map[string]string{"Idempotency-Key": key}), svc
					}

					// The process that crashes.
					cp := &crashPoint{k: k, lostAck: lostAck}
					first, svc1 := serve(crashStore{store, cp}, crashQueue{q, cp})
					_ = svc1.Drain(ctx)
					var firstOut application.SubmitResult
					if first.StatusCode == http.StatusCreated {
						if err := json.Unmarshal(first.Body, &firstOut); err != nil {
							t.Fatal(err)
						}
						if _, _, err := application.NewRepository(store).Get(ctx, mustCode(firstOut.Code)); err != nil {
							t.Fatalf("201 %s without a durable application: %v", firstOut.Code, err)
						}
					} else if first.StatusCode < 500 {
						t.Fatalf("crashed submission answered %d: %s", first.StatusCode, first.Body)
					}

					// Restart after the lock TTL: the client retries, the
					// outbox sweep runs.
					clockMu.Lock()
					clock = clock.Add(3 * time.Minute)
					clockMu.Unlock()
					again, svc2 := serve(store, q)
					if again.StatusCode != http.StatusCreated {
						t.Fatalf("retry after crash at write %d: %d %s", k, again.StatusCode, again.Body)
					}
					var out application.SubmitResult
					if err := json.Unmarshal(again.Body, &out); err != nil {
						t.Fatal(err)
					}
					if first.StatusCode == http.StatusCreated && (out.Code != firstOut.Code || out.PIN != firstOut.PIN) {
						t.Fatalf("retry gave %s/%s, first answer %s/%s", out.Code, out.PIN, firstOut.Code, firstOut.PIN)
					}
					_ = svc2.Drain(ctx)
					// A later retry replays that answer.
					third, _ := serve(store, q)
					var out3 application.SubmitResult
					if err := json.Unmarshal(third.Body, &out3); err != nil || third.StatusCode != http.StatusCreated ||
						third.Header.Get(idempotency.HeaderReplayed) != "true" || out3.Code != out.Code || out3.PIN != out.PIN {
						t.Fatalf("third try: %d %s, want the replay of %s", third.StatusCode, third.Body, out.Code)
					}
					if _, err := application.RepairOutbox(ctx, store, q, 0, quiet); err != nil {
						t.Fatal(err)
					}

					published := map[string]bool{}
					for _, env := range q.Published(eventsQueue) {
						if env.Type == application.EventSubmitted {
							published[env.ID] = true
						}
					}
					var apps []string
					for _, key := range store.Keys() {
						if !strings.HasPrefix(key, "applications/") {
							continue
						}
						var a application.Application
						if _, err := docstore.GetJSON(ctx, store, key, &a); err != nil {
							t.Fatal(err)
						}
						apps = append(apps, a.Code)
						if len(a.Timeline) == 0 || !published[a.Timeline[0].EventID] {
							t.Errorf("application %s stored, its submitted event never published", a.Code)
						}
						if !application.CheckPIN(citizenguard.New(store, citizenguard.WithPepper(pepper)), a, out.PIN) {
							t.Errorf("application %s does not take the answered PIN", a.Code)
						}
					}
					if len(apps) != 1 || apps[0] != out.Code {
						t.Fatalf("applications stored %v, answered %s", apps, out.Code)
					}
					// The work-queue index names it, once.
					a, _, err := application.NewRepository(store).Get(ctx, mustCode(out.Code))
					if err != nil {
						t.Fatal(err)
					}
					var entries []string
					for _, key := range store.Keys() {
						if strings.HasPrefix(key, "index/agency/") && !strings.HasSuffix(key, "/counts.json") {
							entries = append(entries, key)
						}
					}
					if len(entries) != 1 || entries[0] != application.IndexKey(a) {
						t.Errorf("index entries %v, want %s", entries, application.IndexKey(a))
					}
					if keys, _ := store.List(ctx, application.OutboxPrefix, "", 10); len(keys.Entries) != 0 {
						t.Errorf("outbox left after repair: %v", keys.Entries)
					}
				})
			}
		}
	}
}

// TestSyncIndex_first_move_crash_at_every_write_repairs kills the first
// index sync that moves a submitted application's entry (no pointer yet:
// put the new entry, create the pointer, delete the first entry) after its
// k-th write, lost or landed; then the sync runs again (the next write of
// the application, or the outbox repair of the step's marker), or not, and
// RebuildIndex runs. After the sync again the moved entry exists and the
// pointer names it (the first entry may be left when the crash came after
// the pointer, as an old entry is after any move: `motcua applications
// reindex` removes it); after RebuildIndex one entry is left, the moved one.
func TestSyncIndex_first_move_crash_at_every_write_repairs(t *testing.T) {
	ctx := context.Background()
	for _, lostAck := range []bool{false, true} {
		for k := 1; k <= 4; k++ {
			for _, repair := range []string{"sync_again_then_rebuild", "rebuild"} {
				t.Run(fmt.Sprintf("write_%d_lost_ack_%v_%s", k, lostAck, repair), func(t *testing.T) {
					e := newEnv(t, nil)
					out, err := e.svc.Submit(ctx, validInput(), "", "corr-1")
					if err != nil {
						t.Fatal(err)
					}
					_ = e.svc.Drain(ctx)
					repo := application.NewRepository(e.store)
					a, _, err := repo.Get(ctx, mustCode(out.Code))
					if err != nil {
						t.Fatal(err)
					}
					// Received: the entry moves (status, due, received time).
					recv := e.now.Add(time.Hour).UTC()
					a.Status, a.ReceivedAt, a.DueAt, a.Version = application.StatusReceived, &recv, recv.AddDate(0, 0, 7), 2
					if _, err := docstore.PutJSON(ctx, e.store, application.Key(a.ID()), a, docstore.PutOptions{}); err != nil {
						t.Fatal(err)
					}
					cp := &crashPoint{k: k, lostAck: lostAck}
					if err := application.SyncIndex(ctx, crashStore{e.store, cp}, a); err == nil && cp.dead() {
						t.Fatal("crashed sync reported success")
					}
					want := application.IndexKey(a)
					checkPointer := func(step string) {
						t.Helper()
						var ptr struct {
							Key     string `json:"key"`
							Version int    `json:"version"`
						}
						if _, err := docstore.GetJSON(ctx, e.store, application.IndexPointerKey(a.ID()), &ptr); err != nil || ptr.Key != want || ptr.Version != 2 {
							t.Fatalf("%s: pointer %+v (%v), want %s version 2", step, ptr, err, want)
						}
					}
					if repair == "sync_again_then_rebuild" {
						if err := application.SyncIndex(ctx, e.store, a); err != nil {
							t.Fatal(err)
						}
						checkPointer("sync again")
						if got := indexEntries(t, e.store); !slices.Contains(got, want) {
							t.Fatalf("sync again: entries %v, want %s among them", got, want)
						}
					}
					if _, err := application.RebuildIndex(ctx, e.store); err != nil {
						t.Fatal(err)
					}
					if got := indexEntries(t, e.store); len(got) != 1 || got[0] != want {
						t.Fatalf("rebuild: entries %v, want %s", got, want)
					}
					checkPointer("rebuild")
				})
			}
		}
	}
}
