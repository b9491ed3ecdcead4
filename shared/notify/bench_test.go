package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/notify"
)

// countingSender accepts everything (the provider's cost is not ours).
type countingSender struct {
	ch notify.Channel
	n  int
}

func (c *countingSender) Channel() notify.Channel { return c.ch }
func (c *countingSender) Send(context.Context, notify.Outgoing) (string, error) {
	c.n++
	return "id", nil
}

// BenchmarkHandle measures one event's own cost (application read, audit
// read, render, two markers written twice) against the in-memory store,
// with the duplicate delivery (one marker read per channel) beside it:
//
//	go test -run '^$' -bench Handle -benchmem ./shared/notify/
func BenchmarkHandle(b *testing.B) {
	store := docstore.NewMemStore("motcua-data")
	a := testApplication()
	code, _ := application.ParseCode(a.Code)
	if _, err := docstore.PutJSON(context.Background(), store, application.Key(code), a, docstore.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	svc, err := notify.NewService(store, []notify.Sender{&countingSender{ch: notify.ChannelSMS}, &countingSender{ch: notify.ChannelEmail}}, notify.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first_delivery", func(b *testing.B) {
		for i := range b.N {
			env := appEvent(&testing.T{}, "ev-submitted", application.EventSubmitted, a)
			env.ID = fmt.Sprintf("ev-%d", i)
			a.Timeline[0].EventID = env.ID
			if _, err := docstore.PutJSON(context.Background(), store, application.Key(code), a, docstore.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Handle(context.Background(), env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate_delivery", func(b *testing.B) {
		env := appEvent(&testing.T{}, a.Timeline[0].EventID, application.EventSubmitted, a)
		for range b.N {
			if _, err := svc.Handle(context.Background(), env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRender measures rendering one kind's three parts.
func BenchmarkRender(b *testing.B) {
	d := fullData()
	for range b.N {
		if _, err := notify.Render(notify.KindSupplementRequested, d); err != nil {
			b.Fatal(err)
		}
	}
}
