package rating_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/rating"
)

func ip(n int) *int { return &n }

func setup(t *testing.T, status application.Status) (*rating.Service, *docstore.MemStore, *queue.MemQueue, string) {
	t.Helper()
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	mq := queue.NewMemQueue("application-events")
	hash, salt, err := application.HashLegacyPIN("12345678", 1000)
	if err != nil {
		t.Fatal(err)
	}
	a := application.Application{Code: "STP-261103-0001", ProcedureCode: "X.HT.001", Agency: application.Agency{Code: "STP"},
		Status: status, PINHash: hash, PINSalt: salt, SubmittedAt: time.Now().UTC()}
	if _, err := application.NewRepository(store).Create(ctx, &a); err != nil {
		t.Fatal(err)
	}
	access := application.NewAccess(application.NewRepository(store), citizenguard.New(store))
	svc, err := rating.NewService(store, access, mq, "application-events", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, mq, a.Code
}

func TestRate_rules(t *testing.T) {
	tests := []struct {
		name     string
		status   application.Status
		first    rating.Input
		second   *rating.Input
		wantErr  error
		replayed bool
	}{
		{name: "returned_application_is_rated", status: application.StatusReturned,
			first: rating.Input{PIN: "12345678", Overall: 4, Time: ip(5), Comment: "  Tốt  "}},
		{name: "processed_but_not_returned_is_refused", status: application.StatusProcessed,
			first: rating.Input{PIN: "12345678", Overall: 4}, wantErr: rating.ErrNotReturned},
		{name: "submitted_is_refused", status: application.StatusSubmitted,
			first: rating.Input{PIN: "12345678", Overall: 4}, wantErr: rating.ErrNotReturned},
		{name: "wrong_pin_is_refused", status: application.StatusReturned,
			first: rating.Input{PIN: "87654321", Overall: 4}, wantErr: application.ErrWrongPIN},
		{name: "second_different_rating_conflicts", status: application.StatusReturned,
			first:  rating.Input{PIN: "12345678", Overall: 4},
			second: &rating.Input{PIN: "12345678", Overall: 2}, wantErr: rating.ErrAlreadyRated},
		{name: "same_rating_again_is_a_replay", status: application.StatusReturned,
			first:  rating.Input{PIN: "12345678", Overall: 4, Attitude: ip(3), Comment: "Tốt"},
			second: &rating.Input{PIN: "12345678", Overall: 4, Attitude: ip(3), Comment: "Tốt"}, replayed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			svc, store, mq, code := setup(t, tc.status)
			in := tc.first
			in.Code = code
			res, err := svc.Rate(ctx, in, "10.0.0.1", "call-1")
			if tc.second == nil {
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if err != nil {
					if _, gerr := rating.Get(ctx, store, code); !errors.Is(gerr, docstore.ErrNotFound) {
						t.Fatalf("a refused rating was stored: %v", gerr)
					}
					return
				}
				if res.Rating.Overall != in.Overall || res.Rating.Comment != "Tốt" || res.Rating.AgencyCode != "STP" {
					t.Fatalf("stored %+v", res.Rating)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.second != nil {
				in2 := *tc.second
				in2.Code = code
				res2, err := svc.Rate(ctx, in2, "10.0.0.1", "call-2")
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("second: err = %v, want %v", err, tc.wantErr)
					}
				} else if err != nil || res2.Replayed != tc.replayed || res2.Rating.EventID != res.Rating.EventID {
					t.Fatalf("second: %+v, %v", res2, err)
				}
			}
			// One event per rating, whatever was retried: consumers de-duplicate on its ID.
			msgs, err := mq.Receive(ctx, "application-events", 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, m := range msgs {
				env, err := m.Envelope()
				if err != nil || env.Type != rating.EventRated {
					t.Fatalf("unexpected message %v %v", env.Type, err)
				}
				ids[env.ID] = true
			}
			if len(ids) != 1 || !ids[res.Rating.EventID] {
				t.Fatalf("events %v, want exactly %s", ids, res.Rating.EventID)
			}
			// The outbox marker is gone once published (deleted in the
			// background: Drain waits for it).
			if err := svc.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			page, _ := store.List(ctx, application.OutboxPrefix, "", 10)
			if len(page.Entries) != 0 {
				t.Fatalf("outbox markers left: %v", page.Entries)
			}
		})
	}
}

func TestRate_concurrent_first_ratings_store_one(t *testing.T) {
	ctx := context.Background()
	svc, store, _, code := setup(t, application.StatusReturned)
	errs := make(chan error, 2)
	for _, score := range []int{2, 5} {
		go func() {
			_, err := svc.Rate(ctx, rating.Input{Code: code, PIN: "12345678", Overall: score}, "10.0.0.2", "")
			errs <- err
		}()
	}
	var conflicts int
	for range 2 {
		if err := <-errs; errors.Is(err, rating.ErrAlreadyRated) {
			conflicts++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("%d conflicts, want 1", conflicts)
	}
	if _, err := rating.Get(ctx, store, code); err != nil {
		t.Fatal(err)
	}
}
