package dvcqg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/cmd/dvcqg-sim/sim"
	"motcua/shared/application"
	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/dvcqg"
	"motcua/shared/queue"
)

func TestStatusMap_covers_every_status(t *testing.T) {
	want := map[application.Status]string{
		application.StatusSubmitted: "1", application.StatusReceived: "2", application.StatusRejected: "3",
		application.StatusProcessing: "4", application.StatusSupplementRequested: "5", application.StatusAwaitingPayment: "6",
		application.StatusCancelled: "7", application.StatusProcessed: "9", application.StatusReturned: "10",
	}
	for _, s := range application.Statuses {
		t.Run(string(s), func(t *testing.T) {
			if got := dvcqg.PortalStatus(s); got != want[s] || got == "" {
				t.Fatalf("PortalStatus(%s) = %q, want %q", s, got, want[s])
			}
		})
	}
}

func TestChannel_and_subject_codes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"direct_is_1", dvcqg.PortalChannel(application.ChannelDirect), 1},
		{"online_is_2", dvcqg.PortalChannel(application.ChannelOnline), 2},
		{"postal_is_3", dvcqg.PortalChannel(application.ChannelPostal), 3},
		{"person_is_1", dvcqg.PortalSubject(application.ApplicantPerson), 1},
		{"business_is_2", dvcqg.PortalSubject(application.ApplicantBusiness), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %d, want %d", tc.got, tc.want)
			}
		})
	}
	if got := dvcqg.FormatTime(time.Date(2026, 12, 3, 2, 4, 5, 0, time.UTC)); got != "20261203090405" {
		t.Fatalf("FormatTime = %q, want Vietnam time yyyyMMddHHmmss", got)
	}
}

const code = "STP-261203-0042"

type world struct {
	store  *docstore.MemStore
	sim    *sim.Sim
	syncer *dvcqg.Syncer
	app    application.Application
	now    time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{store: docstore.NewMemStore("motcua-data"), sim: sim.New("motcua", "pw", "000.00.00.H00"), now: time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(w.sim.Handler())
	t.Cleanup(srv.Close)
	portal, err := dvcqg.NewLGSP(dvcqg.LGSPConfig{AuthURL: srv.URL + sim.PathAuth, URL: srv.URL + sim.PathIntegration, Username: "motcua", Password: "pw", UnitCode: "000.00.00.H00"})
	if err != nil {
		t.Fatal(err)
	}
	field := func(context.Context, string) (string, error) { return "Hộ tịch", nil }
	w.syncer, err = dvcqg.NewSyncer(w.store, portal, field, func() time.Time { return w.now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	w.app = application.Application{Code: code, ProcedureCode: "X.HT.001", ProcedureName: "Đăng ký khai sinh",
		Agency:    application.Agency{Code: "STP", Name: "Sở Tư pháp tỉnh Lâm Đồng"},
		Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hồng Nhung", Phone: "+84901234567"},
		Channel:   application.ChannelOnline, Status: application.StatusSubmitted, SubmittedAt: at, DueAt: at.Add(72 * time.Hour),
		Fee:      application.Fee{AmountVND: 8000, Kind: "charge"},
		Timeline: []application.Event{{At: at, Status: application.StatusSubmitted, Actor: application.ActorCitizen, EventID: "e0"}}, Version: 1}
	w.save(t)
	return w
}

func (w *world) save(t *testing.T) {
	t.Helper()
	c, _ := application.ParseCode(w.app.Code)
	if _, err := docstore.PutJSON(context.Background(), w.store, application.Key(c), w.app, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// advance appends a step with event id id.
func (w *world) advance(t *testing.T, id string, st application.Status) {
	last := w.app.Timeline[len(w.app.Timeline)-1].At
	if st == application.StatusReceived {
		r := last.Add(time.Hour)
		w.app.ReceivedAt = &r
	}
	w.app.Status = st
	w.app.Timeline = append(w.app.Timeline, application.Event{At: last.Add(time.Hour), Status: st, Actor: "STP", EventID: id})
	w.app.Version++
	w.save(t)
}

func (w *world) event(t *testing.T, id string) queue.Envelope {
	raw, _ := json.Marshal(application.EventPayload{Code: code})
	return queue.Envelope{ID: id, Type: "application.x", Time: w.now, Payload: raw}
}

// statuses returns the (service, status) sequence the simulator accepted.
func statuses(s *sim.Sim) []string {
	var out []string
	for _, r := range s.Received() {
		out = append(out, r.Service+":"+r.TrangThai)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSync_in_order_with_retries_and_duplicates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.advance(t, "e1", application.StatusReceived)
	w.advance(t, "e2", application.StatusProcessing)
	w.advance(t, "e3", application.StatusProcessed)

	// The portal fails the first two requests: the delivery of e0 fails and
	// leaves nothing acknowledged.
	w.sim.SetControl(sim.Control{FailNext: 2})
	if _, err := w.syncer.Handle(ctx, w.event(t, "e0")); err == nil {
		t.Fatal("sync succeeded while the portal failed")
	}
	// e2 arrives before e0 is redelivered: it sends e0, e1, e2 in order
	// (after one more failure, which the next redelivery of e2 recovers from).
	if _, err := w.syncer.Handle(ctx, w.event(t, "e2")); err == nil {
		t.Fatal("second failure not reported")
	}
	res, err := w.syncer.Handle(ctx, w.event(t, "e2"))
	if err != nil || res.Duplicate {
		t.Fatalf("e2 retry: %+v, %v", res, err)
	}
	// The late e0 and a duplicate e2 send nothing.
	for _, id := range []string{"e0", "e2", "e1"} {
		res, err := w.syncer.Handle(ctx, w.event(t, id))
		if err != nil || !res.Duplicate || res.Sent != 0 {
			t.Fatalf("%s again: %+v, %v; want duplicate", id, res, err)
		}
	}
	if _, err := w.syncer.Handle(ctx, w.event(t, "e3")); err != nil {
		t.Fatal(err)
	}
	want := []string{"DongBoHoSoMC:1", "CapNhatTienDoHoSoMC:2", "DongBoHoSoMC:2", "CapNhatTienDoHoSoMC:4", "CapNhatTienDoHoSoMC:9", "DongBoHoSoMC:9"}
	if got := statuses(w.sim); !equal(got, want) {
		t.Fatalf("portal received %v, want %v", got, want)
	}
	var st dvcqg.State
	c, _ := application.ParseCode(code)
	if _, err := docstore.GetJSON(ctx, w.store, dvcqg.StateKey(c), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Synced || st.Sent != 6 || st.Steps != 4 || st.LastStatus != "9" || st.LeaseUntil != nil || st.Failures != 0 {
		t.Fatalf("state = %+v", st)
	}
	var rec dvcqg.Record
	if err := json.Unmarshal(w.sim.Received()[5].Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.MaHoSo != code || rec.MaLinhVuc != "Hộ tịch" || rec.LoaiDoiTuong != 1 || rec.KenhThucHien != 2 || rec.NgayTiepNhan != "20261203100000" ||
		len(rec.DanhSachLePhi) != 1 || rec.DanhSachLePhi[0].Gia != 8000 {
		t.Fatalf("record = %+v", rec)
	}
}

func TestSync_busy_application_waits(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c, _ := application.ParseCode(code)
	until := w.now.Add(time.Minute)
	if _, err := docstore.PutJSON(ctx, w.store, dvcqg.StateKey(c), dvcqg.State{Code: code, LeaseUntil: &until, Version: 1}, docstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.syncer.Handle(ctx, w.event(t, "e0")); !errors.Is(err, dvcqg.ErrBusy) {
		t.Fatalf("with a live lease: %v, want ErrBusy", err)
	}
	w.now = w.now.Add(2 * time.Minute)
	if res, err := w.syncer.Handle(ctx, w.event(t, "e0")); err != nil || res.Sent != 1 {
		t.Fatalf("after the lease: %+v, %v", res, err)
	}
}

func TestSync_refusal_relogs_in(t *testing.T) {
	w := newWorld(t)
	w.sim.SetControl(sim.Control{RefuseNext: 1})
	if _, err := w.syncer.Handle(context.Background(), w.event(t, "e0")); err == nil {
		t.Fatal("refusal not reported")
	}
	if _, err := w.syncer.Handle(context.Background(), w.event(t, "e0")); err != nil {
		t.Fatal(err)
	}
	if got := statuses(w.sim); !equal(got, []string{"DongBoHoSoMC:1"}) {
		t.Fatalf("received %v", got)
	}
}

func TestSync_unusable_events(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name    string
		payload string
	}{
		{"no_such_application", `{"code":"STP-261203-9999"}`},
		{"malformed_code", `{"code":"../x"}`},
		{"not_json", `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.syncer.Handle(context.Background(), queue.Envelope{ID: "e", Type: "application.received", Payload: json.RawMessage(tc.payload)})
			if !errors.Is(err, dvcqg.ErrBadEvent) {
				t.Fatalf("%v, want ErrBadEvent", err)
			}
		})
	}
}

func TestLGSPFromConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, dvcqg.SecretPassword), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		src  config.MapSource
		want []string
	}{
		{"login", config.MapSource{"MOTCUA_SECRETS_DIR": dir, dvcqg.KeyURL: "http://x/i", dvcqg.KeyAuthURL: "http://x/a", dvcqg.KeyUsername: "u", dvcqg.KeyUnitCode: "H00"}, nil},
		{"fixed_token", config.MapSource{"MOTCUA_SECRETS_DIR": dir, dvcqg.KeyURL: "http://x/i", dvcqg.KeyUnitCode: "H00"}, nil},
		{"missing_keys_named", config.MapSource{"MOTCUA_SECRETS_DIR": dir}, []string{dvcqg.KeyURL, dvcqg.KeyUnitCode}},
		{"login_without_username", config.MapSource{"MOTCUA_SECRETS_DIR": dir, dvcqg.KeyURL: "http://x/i", dvcqg.KeyAuthURL: "http://x/a", dvcqg.KeyUnitCode: "H00"}, []string{"username"}},
		{"missing_secret", config.MapSource{"MOTCUA_SECRETS_DIR": t.TempDir(), dvcqg.KeyURL: "http://x/i", dvcqg.KeyUnitCode: "H00"}, []string{dvcqg.SecretPassword}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dvcqg.LGSPFromConfig(tc.src, config.SecretsFrom(tc.src))
			if (err == nil) != (len(tc.want) == 0) {
				t.Fatalf("err = %v, want failure naming %v", err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

// TestSync_deliveries_of_one_process_take_turns: the connector hands one
// process several events of one application at once; they take turns
// instead of meeting each other's lease (503 and a redelivery), and the
// portal still receives the sequence once, in order.
func TestSync_deliveries_of_one_process_take_turns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.advance(t, "e1", application.StatusReceived)
	w.advance(t, "e2", application.StatusProcessing)
	ids := []string{"e0", "e1", "e2", "e2", "e1", "e0", "e2", "e1"}
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, err := w.syncer.Handle(ctx, w.event(t, id))
			errs <- err
		}()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent delivery: %v", err)
		}
	}
	want := []string{"DongBoHoSoMC:1", "CapNhatTienDoHoSoMC:2", "DongBoHoSoMC:2", "CapNhatTienDoHoSoMC:4"}
	if got := statuses(w.sim); !equal(got, want) {
		t.Fatalf("portal received %v, want %v", got, want)
	}
}
