package payment_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/queue"
)

const (
	testPIN     = "12345678"
	hashSecret  = "VNPAYTESTSECRETKEY0123456789ABCD"
	tmnCode     = "MOTCUA01"
	eventsQueue = "payment-events"
	bankAccount = "0011001234567"
)

var (
	newSecret = []byte("bank-secret-new")
	oldSecret = []byte("bank-secret-old")
	quiet     = slog.New(slog.NewJSONHandler(io.Discard, nil))
	pinOnce   sync.Once
	pinHash   string
	pinSalt   string
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a payment service over a MemStore and a MemQueue.
type env struct {
	store docstore.Store
	mem   *docstore.MemStore
	q     *queue.MemQueue
	clock *clock
	svc   *payment.Service
	cfg   payment.Config
}

// settle waits for the follow-ups of every callback answered so far.
func (e *env) settle() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.svc.WaitFollowUps(ctx); err != nil {
		panic("follow-ups did not finish: " + err.Error())
	}
}

func testConfig() payment.Config {
	return payment.Config{
		TTL:         15 * time.Minute,
		VNPay:       &vnpay.Config{TmnCode: tmnCode, HashSecret: hashSecret, ReturnURL: "https://dichvucong.example.gov.vn/thanh-toan/ket-qua"},
		VietQR:      &payment.VietQRConfig{BankBIN: "970436", AccountNumber: bankAccount, AccountName: "VAN PHONG UBND TINH"},
		EventsQueue: eventsQueue,
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mem := docstore.NewMemStore("motcua-data")
	return newEnvOn(t, mem, mem)
}

func newEnvOn(t *testing.T, store docstore.Store, mem *docstore.MemStore) *env {
	t.Helper()
	e := &env{store: store, mem: mem, q: queue.NewMemQueue(eventsQueue), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, cfg: testConfig()}
	svc, err := payment.NewService(payment.Deps{
		Store: store, Publisher: e.q, Now: e.clock.Now, Log: quiet,
		BankSecrets: func() ([][]byte, error) { return [][]byte{newSecret, oldSecret}, nil },
	}, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

// procedure is a catalog procedure with a reduced online fee.
func procedure() catalog.Procedure {
	online := int64(150_000)
	return catalog.Procedure{Code: "1.001", Name: "Cấp giấy phép", Fee: catalog.Fee{AmountVND: 200_000, OnlineAmountVND: &online, Kind: "charge"}}
}

// addApp stores an online application of procedure() in status st, its
// fee taken from the catalog as submission does.
func (e *env) addApp(t *testing.T, code string, st application.Status, mutate ...func(*application.Application)) application.Application {
	t.Helper()
	pinOnce.Do(func() {
		var err error
		pinHash, pinSalt, err = application.HashLegacyPIN(testPIN, 1000)
		if err != nil {
			t.Fatal(err)
		}
	})
	proc := procedure()
	now := e.clock.Now()
	a := application.Application{
		Code: code, ProcedureCode: proc.Code, ProcedureName: proc.Name, Agency: application.Agency{Code: "STP", Name: "Sở Tư pháp"},
		Channel: application.ChannelOnline, Status: st, SubmittedAt: now, DueAt: now.Add(72 * time.Hour),
		Fee:      application.Fee{AmountVND: proc.Fee.Amount(true), Kind: string(proc.Fee.Kind), PaymentState: application.PaymentUnpaid},
		Timeline: []application.Event{{At: now, Status: st, Actor: application.ActorCitizen}},
		PINHash:  pinHash, PINSalt: pinSalt,
	}
	for _, m := range mutate {
		m(&a)
	}
	if _, err := application.NewRepository(e.store).Create(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) app(t *testing.T, code string) application.Application {
	t.Helper()
	c, err := application.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := application.NewRepository(e.store).Get(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) payment(t *testing.T, ref string) payment.Payment {
	t.Helper()
	p, _, err := e.svc.Repository().Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) pay(t *testing.T, code string, m payment.Method) payment.Payment {
	t.Helper()
	p, _, err := e.svc.Pay(context.Background(), payment.PayInput{Code: code, PIN: testPIN, Method: m, ClientIP: "203.0.113.7"})
	if err != nil {
		t.Fatalf("pay %s: %v", code, err)
	}
	return p
}

// keys lists the keys under prefix.
func (e *env) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	next := ""
	for {
		page, err := e.store.List(context.Background(), prefix, next, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range page.Entries {
			out = append(out, en.Key)
		}
		if page.Next == "" {
			return out
		}
		next = page.Next
	}
}

// ipn returns a VNPAY IPN query for ref, signed with secret.
func ipn(ref string, amountVND int64, respCode, txnStatus, txnNo, secret string) url.Values {
	q := url.Values{}
	q.Set("vnp_TmnCode", tmnCode)
	q.Set("vnp_Amount", strconv.FormatInt(amountVND*100, 10))
	q.Set("vnp_BankCode", "NCB")
	q.Set("vnp_BankTranNo", "VNP"+txnNo)
	q.Set("vnp_CardType", "ATM")
	q.Set("vnp_OrderInfo", "Thanh toan phi, le phi ho so")
	q.Set("vnp_PayDate", vnpay.FormatDate(time.Now()))
	q.Set("vnp_ResponseCode", respCode)
	q.Set("vnp_TransactionNo", txnNo)
	q.Set("vnp_TransactionStatus", txnStatus)
	q.Set("vnp_TxnRef", ref)
	q.Set("vnp_SecureHashType", "HmacSHA512")
	q.Set(vnpay.ParamSecureHash, vnpay.Sign(secret, vnpay.HashData(q)))
	return q
}

type qenv = queue.Envelope

func newEnvelope(typ string, payload any) (queue.Envelope, error) {
	return queue.NewEnvelope(typ, "", payload)
}
