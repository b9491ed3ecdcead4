package queue_test

import (
	"context"
	"errors"
	"testing"

	"motcua/shared/queue"
	"motcua/shared/queue/queuetest"
)

func TestMemQueue_contract(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Env {
		m := queue.NewMemQueue()
		return queuetest.Env{
			Publisher: m,
			Receiver:  m,
			CreateQueue: func(t *testing.T, name string, spec queuetest.QueueSpec) {
				m.CreateQueue(name, spec.VisibilityTimeout, spec.MaxReceiveCount)
			},
		}
	})
}

func TestMemQueue_records_and_fails_on_demand(t *testing.T) {
	m := queue.NewMemQueue("application-events")
	e, err := queue.NewEnvelope("application.submitted", "call-1", map[string]string{"soHoSo": "H01"})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	m.FailNextPublish(boom)
	if err := m.Publish(context.Background(), "application-events", e); !errors.Is(err, boom) {
		t.Fatalf("Publish after FailNextPublish: %v, want boom", err)
	}
	if err := m.Publish(context.Background(), "application-events", e); err != nil {
		t.Fatal(err)
	}
	got := m.Published("application-events")
	if len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("Published = %+v, want just %s", got, e.ID)
	}
}

func TestNewEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		payload any
		wantErr bool
	}{
		{name: "ok", typ: "payment.confirmed", payload: map[string]int{"amount": 1}},
		{name: "nil_payload_is_null", typ: "x.y", payload: nil},
		{name: "empty_type_rejected", typ: "", wantErr: true},
		{name: "unencodable_payload_rejected", typ: "x.y", payload: func() {}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := queue.NewEnvelope(tt.typ, "c", tt.payload)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewEnvelope = %+v, want error", e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(e.ID) != 36 || e.Time.Location().String() != "UTC" || e.Type != tt.typ || e.CorrelationID != "c" {
				t.Fatalf("NewEnvelope = %+v", e)
			}
			if err := e.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
