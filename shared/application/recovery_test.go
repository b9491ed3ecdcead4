package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

type recoveryFixture struct {
	store *docstore.MemStore
	q     *queue.MemQueue
	rec   *application.Recovery
	repo  *application.Repository
	guard *citizenguard.Guard
	now   time.Time
	code  application.Code
}

const oldPIN = "11223344"

func newRecoveryFixture(t *testing.T, pol *citizenguard.Policy) *recoveryFixture {
	t.Helper()
	f := &recoveryFixture{store: docstore.NewMemStore("motcua-data"), q: queue.NewMemQueue("notify-events", "application-events"), now: trMonday, code: mustCode("STP-260302-0001")}
	clock := func() time.Time { return f.now }
	opts := []citizenguard.Option{citizenguard.WithClock(clock), citizenguard.WithLogger(quiet)}
	if pol != nil {
		opts = append(opts, citizenguard.WithPolicy(*pol))
	}
	f.repo = application.NewRepository(f.store)
	var err error
	f.guard = guardtest.Guard(t, f.store, opts...)
	f.rec, err = application.NewRecovery(f.repo, f.guard, f.q, application.RecoveryOptions{Now: clock, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := trApp(application.StatusProcessing)
	a.Applicant = application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hoa", IDNumber: "001190123456", Phone: "+84912345678", Email: "hoa@example.vn"}
	a.PINHash, a.PINSalt, err = application.HashPIN(f.guard, oldPIN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Create(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return f
}

// codes returns the one-time codes published to notify so far.
func (f *recoveryFixture) codes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, env := range f.q.Published("notify-events") {
		if env.Type != application.EventPINRecoveryRequested {
			continue
		}
		var n application.RecoveryNotice
		if err := json.Unmarshal(env.Payload, &n); err != nil {
			t.Fatal(err)
		}
		if n.Phone != "+84912345678" || n.Email != "hoa@example.vn" || len(n.OneTimeCode) != 6 {
			t.Fatalf("notice = %+v", n)
		}
		out = append(out, n.OneTimeCode)
	}
	if got := f.q.Published("application-events"); len(got) != 0 {
		t.Fatalf("recovery leaked %d events to application-events", len(got))
	}
	return out
}

func (f *recoveryFixture) request(t *testing.T, code, id string) {
	t.Helper()
	c := mustCode(code)
	got, err := f.rec.Request(context.Background(), c, id, "203.0.113.9", "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Accepted || got.ExpiresInSeconds != 600 {
		t.Fatalf("answer = %+v", got)
	}
}

func (f *recoveryFixture) reset(code, otp, pin string) error {
	_, err := f.rec.Reset(context.Background(), mustCode(code), otp, pin, "203.0.113.9", "")
	return err
}

func (f *recoveryFixture) pinWorks(t *testing.T, pin string) bool {
	a, _, err := f.repo.Get(context.Background(), f.code)
	if err != nil {
		t.Fatal(err)
	}
	return application.CheckPIN(f.guard, a, pin)
}

func TestRecovery_sends_only_on_a_matching_identity(t *testing.T) {
	f := newRecoveryFixture(t, nil)
	f.request(t, "STP-260302-0001", "001190999999") // wrong CCCD
	f.request(t, "STP-260302-0009", "001190123456") // unknown application
	if n := len(f.codes(t)); n != 0 {
		t.Fatalf("%d codes sent for mismatches", n)
	}
	f.request(t, "STP-260302-0001", "0011 9012 3456") // spaces are ignored
	codes := f.codes(t)
	if len(codes) != 1 {
		t.Fatalf("%d codes sent, want 1", len(codes))
	}
	// Only the hash is stored.
	for _, k := range f.store.Keys() {
		obj, _ := f.store.Get(context.Background(), k)
		if strings.Contains(string(obj.Body), `"`+codes[0]+`"`) {
			t.Fatalf("one-time code stored in clear under %s", k)
		}
	}
	// Within the cooldown nothing new is sent.
	f.request(t, "STP-260302-0001", "001190123456")
	if n := len(f.codes(t)); n != 1 {
		t.Fatalf("%d codes after a repeat within the cooldown", n)
	}
}

func TestRecovery_reset(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *recoveryFixture, otp string)
	}{
		{"right_code_sets_the_pin_and_the_old_one_stops_working", func(t *testing.T, f *recoveryFixture, otp string) {
			if err := f.reset("STP-260302-0001", otp, "87654321"); err != nil {
				t.Fatal(err)
			}
			if f.pinWorks(t, oldPIN) || !f.pinWorks(t, "87654321") {
				t.Fatal("old PIN still works or new one does not")
			}
			n := 0
			for _, env := range f.q.Published("notify-events") {
				if env.Type == application.EventPINReset {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d pin_reset notices", n)
			}
		}},
		{"wrong_code", func(t *testing.T, f *recoveryFixture, otp string) {
			wrong := "000000"
			if otp == wrong {
				wrong = "000001"
			}
			if err := f.reset("STP-260302-0001", wrong, "87654321"); !errors.Is(err, application.ErrRecoveryCodeInvalid) {
				t.Fatalf("err = %v", err)
			}
			if !f.pinWorks(t, oldPIN) {
				t.Fatal("wrong code changed the PIN")
			}
		}},
		{"expired", func(t *testing.T, f *recoveryFixture, otp string) {
			f.now = f.now.Add(application.OneTimeCodeTTL + time.Second)
			if err := f.reset("STP-260302-0001", otp, "87654321"); !errors.Is(err, application.ErrRecoveryCodeInvalid) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"replay", func(t *testing.T, f *recoveryFixture, otp string) {
			if err := f.reset("STP-260302-0001", otp, "87654321"); err != nil {
				t.Fatal(err)
			}
			if err := f.reset("STP-260302-0001", otp, "55556666"); !errors.Is(err, application.ErrRecoveryCodeInvalid) {
				t.Fatalf("replay: %v", err)
			}
			if !f.pinWorks(t, "87654321") {
				t.Fatal("replay changed the PIN")
			}
		}},
		{"code_burnt_after_max_wrong_attempts", func(t *testing.T, f *recoveryFixture, otp string) {
			for i := 0; i < application.OneTimeCodeAttempts; i++ {
				wrong := "99999" + string(rune('0'+i))
				if wrong == otp {
					wrong = "888888"
				}
				f.now = f.now.Add(time.Second)
				_ = f.reset("STP-260302-0001", wrong, "87654321")
			}
			if err := f.reset("STP-260302-0001", otp, "87654321"); !errors.Is(err, application.ErrRecoveryCodeInvalid) {
				t.Fatalf("after %d wrong codes: %v", application.OneTimeCodeAttempts, err)
			}
		}},
		{"unknown_application", func(t *testing.T, f *recoveryFixture, otp string) {
			if err := f.reset("STP-260302-0042", otp, "87654321"); !errors.Is(err, application.ErrRecoveryCodeInvalid) {
				t.Fatalf("err = %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecoveryFixture(t, &citizenguard.Policy{})
			f.request(t, "STP-260302-0001", "001190123456")
			codes := f.codes(t)
			if len(codes) != 1 {
				t.Fatalf("%d codes", len(codes))
			}
			tc.run(t, f, codes[0])
		})
	}
}

func TestRecovery_wrong_codes_are_throttled(t *testing.T) {
	f := newRecoveryFixture(t, nil) // DefaultPolicy: 5 free failures per (code, client)
	f.request(t, "STP-260302-0001", "001190123456")
	var lim *citizenguard.LimitedError
	for i := 0; i < 20; i++ {
		err := f.reset("STP-260302-0001", "123457", "87654321")
		if errors.As(err, &lim) {
			if lim.RetryAfterSeconds() <= 0 {
				t.Fatalf("retry after %d", lim.RetryAfterSeconds())
			}
			return
		}
	}
	t.Fatal("20 wrong codes were never throttled")
}
