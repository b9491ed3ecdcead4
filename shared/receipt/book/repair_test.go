package book_test

import (
	"context"
	"testing"
	"time"

	"motcua/shared/docstore/docstoretest"
)

func TestRepairPending_completes_numbers_left_in_flight(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	crash := &docstoretest.CrashStore{Store: e.store, FailPutPrefix: "receipts/BL26T/"}
	crashing := e.newBook(t, crash)
	for i := 1; i <= 2; i++ {
		if _, _, err := crashing.HandleEvent(ctx, e.paid(t, i)); err == nil {
			t.Fatal("the injected crash did not happen")
		}
	}
	c, _ := e.book.Numbering().Get(ctx, "BL26T")
	if len(c.InFlight) != 2 {
		t.Fatalf("in flight %d, want 2", len(c.InFlight))
	}
	res, err := e.book.RepairPending(ctx, time.Minute)
	if err != nil || res.Pending != 2 || res.Completed != 0 {
		t.Fatalf("young entries: %+v %v", res, err)
	}
	e.clock.Advance(2 * time.Minute)
	res, err = e.book.RepairPending(ctx, time.Minute)
	if err != nil || res.Completed != 2 {
		t.Fatalf("repair: %+v %v", res, err)
	}
	c, _ = e.book.Numbering().Get(ctx, "BL26T")
	if c.Last != 2 || len(c.InFlight) != 0 {
		t.Fatalf("counter %+v", c)
	}
	for n := uint32(1); n <= 2; n++ {
		if _, _, err := e.book.Get(ctx, "BL26T", n); err != nil {
			t.Fatalf("number %d: %v", n, err)
		}
	}
	if r, err := e.book.RepairPending(ctx, time.Minute); err != nil || r.Completed+r.Pending+len(r.Failed)+len(r.Corrections) != 0 {
		t.Fatalf("second run: %+v %v", r, err)
	}
}
