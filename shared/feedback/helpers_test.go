package feedback

import (
	"context"
	"io"
	"log/slog"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ict builds a time in Asia/Ho_Chi_Minh.
func ict(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, workdays.Location)
}

type fixture struct {
	svc   *Service
	store docstore.Store
	q     *queue.MemQueue
	clk   *clock
	cal   *workdays.Calendar
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, docstore.NewMemStore("data"))
}

// newFixtureOn is newFixture over another data store (benchmarks use the
// embedded S3 server).
func newFixtureOn(t testing.TB, store docstore.Store) *fixture {
	t.Helper()
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewMemQueue(DefaultEventsQueue)
	clk := &clock{t: ict(2026, 12, 3, 9, 0)} // Thursday
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := NewService(Deps{Store: store, Uploads: docstore.NewMemStore("uploads"), Publisher: q, Calendar: cal,
		Log: quiet, Now: clk.now, Guard: guardtest.Guard(t, store, citizenguard.WithClock(clk.now), citizenguard.WithLogger(quiet))})
	if err != nil {
		t.Fatal(err)
	}
	svc.d.Tables.now = clk.now
	return &fixture{svc: svc, store: store, q: q, clk: clk, cal: cal}
}

func f64(v float64) *float64 { return &v }

func validInput() SubmitInput {
	return SubmitInput{
		Kind: KindRegulation, Field: "RAC_THAI", Title: "Rác tồn đọng ở đầu thôn 2",
		Content:  "Điểm tập kết rác ở đầu thôn 2 không được thu gom ba ngày nay, gây mùi hôi.",
		Location: &LocationInput{Address: "Thôn 2, xã Việt Hùng", Lat: f64(21.1375), Long: f64(105.8842)},
		Contact:  &ContactInput{Name: "Nguyễn Văn An", Phone: "0912345678", Email: "an.nguyen@example.com"},
	}
}

func (f *fixture) submit(t *testing.T, in SubmitInput) SubmitResult {
	t.Helper()
	out, err := f.svc.Submit(context.Background(), in, Origin{Client: "203.0.113.7", Channel: "web"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return out
}

func (f *fixture) staff(t *testing.T, agency, id string, in Input) StaffView {
	t.Helper()
	o := Officer{Subject: "officer-1", Agency: agency}
	v, err := f.svc.StaffGet(context.Background(), o, pid(id))
	if err != nil {
		t.Fatalf("staff get: %v", err)
	}
	out, err := f.svc.StaffAct(context.Background(), o, pid(id), v.Item.Version, in, "")
	if err != nil {
		t.Fatalf("staff %s: %v", in.Action, err)
	}
	return out
}

func (f *fixture) eventTypes() []string {
	var out []string
	for _, e := range f.q.Published(DefaultEventsQueue) {
		out = append(out, e.Type)
	}
	return out
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, queue.Envelope) error        { return nil }
func (nopPublisher) PublishBatch(context.Context, string, []queue.Envelope) error { return nil }

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustCalendar(tb testing.TB) *workdays.Calendar {
	tb.Helper()
	cal, err := workdays.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return cal
}

// pid parses an id the test knows is well-formed (the zero ID otherwise).
func pid(s string) ID {
	id, _ := ParseID(s)
	return id
}
