package book_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/receipttest"
	"motcua/shared/receipt/signing"
)

const testPIN = "12345678"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var (
	fixOnce sync.Once
	signer  signing.Signer
	qr      *offlineqr.Signer
	pinHash string
	pinSalt string
	fixErr  error
)

// fixtures builds the (slow) key material once per test binary.
func fixtures(t testing.TB) {
	t.Helper()
	fixOnce.Do(func() {
		key, cert, err := signing.GenerateDevPair("Sở Tư pháp tỉnh Lâm Đồng (test)", time.Now().Add(-48*time.Hour))
		if err != nil {
			fixErr = err
			return
		}
		if signer, fixErr = signing.NewLocal(key, cert); fixErr != nil {
			return
		}
		sec, err := offlineqr.GenerateDevSecret("K1")
		if err != nil {
			fixErr = err
			return
		}
		if qr, fixErr = offlineqr.ParseSecret(sec); fixErr != nil {
			return
		}
		pinHash, pinSalt, fixErr = application.HashLegacyPIN(testPIN, 1000)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func vnTime(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, receipt.Zone)
}

type env struct {
	store docstore.Store
	mem   *docstore.MemStore
	q     *queue.MemQueue
	clock *clock
	book  *book.Book
}

func newEnv(t testing.TB, store docstore.Store) *env {
	t.Helper()
	fixtures(t)
	e := &env{store: store, q: queue.NewMemQueue(book.DefaultEventsQueue), clock: &clock{t: vnTime(2026, 12, 3, 9, 15, 0)}}
	if store == nil {
		e.mem = docstore.NewMemStore("motcua-data")
		e.store = e.mem
	}
	e.book = e.newBook(t, e.store)
	return e
}

func (e *env) newBook(t testing.TB, store docstore.Store) *book.Book {
	t.Helper()
	b, err := book.New(book.Deps{Store: store, Publisher: e.q, Documents: book.StandardDocuments(signer, qr, "A5", "https://dichvucong.example.gov.vn/function/receipt"),
		Now: e.clock.Now, Log: quiet}, book.Config{Unit: receipttest.Unit(), AgencyCode: "STP"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// paid stores an application and its paid payment; it returns the
// payment.confirmed envelope.
func (e *env) paid(t testing.TB, i int) queue.Envelope {
	t.Helper()
	ctx := context.Background()
	code := fmt.Sprintf("STP-261203-%04d", i)
	ref := fmt.Sprintf("MCAAAA%08d", i)
	ref = ref[:2] + map[bool]string{true: "B", false: "C"}[i%2 == 0] + ref[3:]
	ref = toBase32(ref)
	now := e.clock.Now()
	a := application.Application{
		Code: code, ProcedureCode: "1.001193", ProcedureName: "Cấp bản sao trích lục hộ tịch",
		Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"}, Channel: application.ChannelOnline,
		Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hồng Nhung", IDNumber: receipttest.PayerCCCD,
			Phone: "+84912345678", Address: "12 Lê Lợi, Đà Lạt"},
		Status: application.StatusProcessing, SubmittedAt: now, DueAt: now.Add(72 * time.Hour),
		Fee:      application.Fee{AmountVND: 150_000, Kind: "charge", PaymentState: application.PaymentPaid, PaymentRef: ref, PaymentMethod: "vnpay"},
		Timeline: []application.Event{{At: now, Status: application.StatusSubmitted, Actor: application.ActorCitizen}},
		PINHash:  pinHash, PINSalt: pinSalt,
	}
	if _, err := application.NewRepository(e.store).Create(ctx, &a); err != nil {
		t.Fatal(err)
	}
	paidAt := now.UTC()
	p := payment.Payment{Ref: ref, ApplicationCode: code, AmountVND: 150_000, Method: payment.MethodVNPay, State: payment.StatePaid,
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), PaidAt: &paidAt,
		Provider: &payment.Provider{Name: "vnpay", TransactionNo: fmt.Sprintf("1400%04d", i)}}
	if err := payment.NewRepository(e.store).Create(ctx, &p); err != nil {
		t.Fatal(err)
	}
	env, err := queue.NewEnvelope(payment.EventConfirmed, "corr-1", payment.ConfirmedPayload{Ref: ref, ApplicationCode: code, AmountVND: 150_000,
		Method: payment.MethodVNPay, PaidAt: paidAt, Provider: "vnpay", ProviderTxn: p.Provider.TransactionNo})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// toBase32 maps digits 0, 1, 8, 9 (not in base32) to letters so the
// reference is valid.
func toBase32(s string) string {
	b := []byte(s)
	for i := 2; i < len(b); i++ {
		switch b[i] {
		case '0':
			b[i] = 'A'
		case '1':
			b[i] = 'B'
		case '8':
			b[i] = 'I'
		case '9':
			b[i] = 'J'
		}
	}
	return string(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
