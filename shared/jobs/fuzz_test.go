package jobs

import (
	"context"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// FuzzHandle feeds arbitrary queue bodies to the worker: it must never
// panic, and a body naming no existing job must change nothing.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"id":"e1","type":"reprocess.chunk","time":"2026-12-03T08:00:00Z","payload":{"type":"chunk","job":"20261203T080000Z-abcdef","gen":1,"from":0,"to":10}}`))
	f.Add([]byte(`{"id":"e2","type":"reprocess.dispatch","payload":{"job":"20261203T080000Z-abcdef","gen":1,"cursor":-5}}`))
	f.Add([]byte(`{"id":"e3","type":"reprocess.chunk","payload":{"job":"../../etc","from":-1,"to":99999999}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		store := docstore.NewMemStore("f")
		q := queue.NewMemQueue()
		q.CreateQueue(DefaultQueue, time.Minute, 3)
		svc := New(store, q, NewRegistry(&counterKind{store: store, n: 3, applied: map[string]int{}}), Options{})
		_ = svc.Handle(context.Background(), body, 1)
		if keys := store.Keys(); len(keys) != 0 {
			t.Fatalf("a message of no job wrote %v", keys)
		}
	})
}
