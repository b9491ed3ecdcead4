package main

// The receipts scenario (-receipts): how many receipts per second one
// series takes, and how long a payment waits for its receipt.
//
// Part 1, issuing rate (in-process, on the stack's embedded S3 through the
// real SDK): for 1, 4 and 16 concurrent issuers, n paid payments (seeded
// straight into the bucket, not timed) each get their receipt through
// receipt/book (claim, number, sign XML, QR, PDF, index, outbox) in one
// series per level. Gaplessness is checked at the end of each level: the
// counter's last number is n, nothing in flight, numbers 1..n each stored
// once. Baselines measured in the same run at the same concurrency: the
// numbering alone (Allocate + Complete, the series counter's
// compare-and-swap: the contention point) and the document work alone
// (sign + QR + PDF, CPU only, no storage).
//
// Part 2, latency through the connector: m paid payments get a
// payment.confirmed published to payment-events, paced at a fixed rate;
// the latency of each is the receipt's index StoredAt minus the publish
// time (same host clock).
//
// Part 3, throughput through the connector: burst paid payments get their
// payment.confirmed published at once; receipts/s is burst over the time
// from the publish to the last receipt's StoredAt.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"motcua/cmd/motcua-local/app"
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/numbering"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/signing"
)

// rcptOptions are the receipts scenario's flags.
type rcptOptions struct {
	enabled bool
	n       int
	m       int
	rate    int
	burst   int
}

// register adds the scenario's flags to fs.
func (o *rcptOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "receipts", true, "run the receipts scenario (receipts/s for one series at 1, 4, 16 issuers, gapless checked; p50/p99 from payment.confirmed to receipt stored through the connector)")
	fs.IntVar(&o.n, "rcpt-n", 200, "receipts issued per concurrency level")
	fs.IntVar(&o.m, "rcpt-m", 100, "payment.confirmed events published for the connector latency")
	fs.IntVar(&o.rate, "rcpt-rate", 10, "events per second published for the connector latency")
	fs.IntVar(&o.burst, "rcpt-burst", 200, "payment.confirmed events published at once for the throughput through the connector")
}

// validate checks the flags when the scenario is enabled.
func (o rcptOptions) validate() error {
	if o.enabled && (o.n < 1 || o.m < 1 || o.rate < 1 || o.burst < 1) {
		return errors.New("-rcpt-n, -rcpt-m, -rcpt-rate and -rcpt-burst must be at least 1")
	}
	return nil
}

// RcptLevel is one concurrency level of the issuing rate.
type RcptLevel struct {
	Workers int `json:"workers"`
	// Issue is the full issuing; Numbering the counter alone; Documents the
	// signing and rendering alone.
	Issue              Stat    `json:"issue"`
	IssuePerSecond     float64 `json:"issue_per_second"`
	Numbering          Stat    `json:"numbering"`
	NumberingPerSecond float64 `json:"numbering_per_second"`
	Documents          Stat    `json:"documents"`
	DocumentsPerSecond float64 `json:"documents_per_second"`
	// Gapless is true when the series is exactly 1..n, each once.
	Gapless bool `json:"gapless"`
	// Storage requests per receipt issued (all of them; the series
	// counter's compare-and-swap writes; those of them that lost the race)
	// and the counter writes per Allocate + Complete of the numbering alone.
	RequestsPerReceipt      float64 `json:"requests_per_receipt"`
	CounterWritesPerReceipt float64 `json:"counter_writes_per_receipt"`
	CounterLostPerReceipt   float64 `json:"counter_lost_per_receipt"`
	NumberingWritesPerOp    float64 `json:"numbering_writes_per_op"`
	// CPUMsPerReceipt is this process's CPU time (user + system) over the
	// issuing, per receipt: the book's work and the embedded S3 server's,
	// a figure other load on the machine does not inflate the way it does
	// wall time.
	CPUMsPerReceipt float64 `json:"cpu_ms_per_receipt"`
}

// processCPU is the CPU time this process used so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingStore counts the storage requests made through it: all of them,
// and the writes of series counters (numbering.Prefix) with the ones that
// lost their compare-and-swap.
type countingStore struct {
	docstore.Store
	requests, counterWrites, counterLost atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) (docstore.Object, error) {
	c.requests.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Head(ctx context.Context, key string) (docstore.Entry, error) {
	c.requests.Add(1)
	return c.Store.Head(ctx, key)
}

func (c *countingStore) Delete(ctx context.Context, key, ifMatch string) error {
	c.requests.Add(1)
	return c.Store.Delete(ctx, key, ifMatch)
}

func (c *countingStore) Put(ctx context.Context, key string, body []byte, opts docstore.PutOptions) (string, error) {
	c.requests.Add(1)
	etag, err := c.Store.Put(ctx, key, body, opts)
	if strings.HasPrefix(key, numbering.Prefix) {
		c.counterWrites.Add(1)
		if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict) {
			c.counterLost.Add(1)
		}
	}
	return etag, err
}

// RcptReport is the receipts scenario's result.
type RcptReport struct {
	Levels []RcptLevel `json:"levels"`
	// Connector is payment.confirmed published → receipt stored.
	Connector Stat `json:"connector"`
	Rate      int  `json:"rate"`
	// Burst events published at once drained at BurstPerSecond receipts/s
	// through the connector (first publish → last receipt stored).
	Burst          int      `json:"burst"`
	BurstPerSecond float64  `json:"burst_per_second"`
	Problems       []string `json:"problems"`
}

// benchReceipts runs the scenario on the started stack a.
func benchReceipts(ctx context.Context, a *app.App, o rcptOptions, stderr io.Writer) (*RcptReport, error) {
	store := docstore.NewS3Store(a.S3(), nil, payBenchBucket)
	key, cert, err := signing.GenerateDevPair("motcua-bench receipt signer", time.Now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	signer, err := signing.NewLocal(key, cert)
	if err != nil {
		return nil, err
	}
	qrSecret, err := offlineqr.GenerateDevSecret("BENCH")
	if err != nil {
		return nil, err
	}
	qr, err := offlineqr.ParseSecret(qrSecret)
	if err != nil {
		return nil, err
	}
	docs := book.StandardDocuments(signer, qr, "A5", "")
	quiet := slog.New(slog.DiscardHandler)
	rep := &RcptReport{Rate: o.rate}
	for li, c := range []int{1, 4, 16} {
		progress(stderr, "receipts: %d issuers, %d receipts in one series", c, o.n)
		lvl := RcptLevel{Workers: c}
		unit := benchUnit(fmt.Sprintf("R%d{YY}", c))
		counted := &countingStore{Store: store}
		b, err := book.New(book.Deps{Store: counted, Publisher: queue.NewMemQueue(book.DefaultEventsQueue), Documents: docs, Log: quiet}, book.Config{Unit: unit})
		if err != nil {
			return nil, err
		}
		refs, err := seedPaid(ctx, store, o.n, li)
		if err != nil {
			return nil, err
		}
		cpu0 := processCPU()
		lat, wall, err := payHammer(ctx, c, o.n, func(ctx context.Context, i int) error {
			_, _, err := b.IssueForPayment(ctx, refs[i], "")
			return err
		})
		lvl.CPUMsPerReceipt = float64(processCPU()-cpu0) / float64(time.Millisecond) / float64(o.n)
		if err != nil {
			return nil, fmt.Errorf("receipts: issue: %w", err)
		}
		lvl.Issue, lvl.IssuePerSecond = summarize(lat), float64(o.n)/wall.Seconds()
		lvl.RequestsPerReceipt = float64(counted.requests.Load()) / float64(o.n)
		lvl.CounterWritesPerReceipt = float64(counted.counterWrites.Load()) / float64(o.n)
		lvl.CounterLostPerReceipt = float64(counted.counterLost.Load()) / float64(o.n)
		series := unit.SeriesAt(time.Now())
		if lvl.Gapless, err = gapless(ctx, b, series, o.n); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%d issuers: %v", c, err))
		}

		ncounted := &countingStore{Store: store}
		al := numbering.New(ncounted)
		nseries := fmt.Sprintf("N%d%02d", c, time.Now().Year()%100)
		lat, wall, err = payHammer(ctx, c, o.n, func(ctx context.Context, i int) error {
			ref := fmt.Sprintf("bench-%d", i)
			if _, err := al.Allocate(ctx, nseries, ref, time.Now(), time.Time{}, nil); err != nil {
				return err
			}
			return al.Complete(ctx, nseries, ref)
		})
		if err != nil {
			return nil, fmt.Errorf("receipts: numbering: %w", err)
		}
		lvl.Numbering, lvl.NumberingPerSecond = summarize(lat), float64(o.n)/wall.Seconds()
		lvl.NumberingWritesPerOp = float64(ncounted.counterWrites.Load()) / float64(o.n)

		sample := benchReceipt(unit)
		lat, wall, err = payHammer(ctx, c, o.n, func(ctx context.Context, i int) error {
			r := sample
			r.Number = uint32(i + 1)
			if _, err := docs.SignXML(ctx, r, r.IssuedAt); err != nil {
				return err
			}
			p, err := docs.QR(r)
			if err != nil {
				return err
			}
			_, err = docs.PDF(r, p)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("receipts: documents: %w", err)
		}
		lvl.Documents, lvl.DocumentsPerSecond = summarize(lat), float64(o.n)/wall.Seconds()
		rep.Levels = append(rep.Levels, lvl)
	}

	// Part 2: through the connector and the issue-receipt function.
	progress(stderr, "receipts: %d payment.confirmed through the connector at %d/s", o.m, o.rate)
	refs, err := seedPaid(ctx, store, o.m, 9)
	if err != nil {
		return nil, err
	}
	pub := queue.NewSQSPublisher(a.SQS())
	sent := make([]time.Time, o.m)
	tick := time.NewTicker(time.Second / time.Duration(o.rate))
	defer tick.Stop()
	for i, ref := range refs {
		<-tick.C
		env, err := queue.NewEnvelope(payment.EventConfirmed, "", payment.ConfirmedPayload{Ref: ref, AmountVND: payBenchAmount, Method: payment.MethodVNPay})
		if err != nil {
			return nil, err
		}
		sent[i] = time.Now()
		if err := pub.Publish(ctx, payBenchEvents0, env); err != nil {
			return nil, fmt.Errorf("receipts: publish: %w", err)
		}
	}
	lookup, err := book.New(book.Deps{Store: store, Publisher: queue.NewMemQueue(), Documents: docs, Log: quiet}, book.Config{Unit: benchUnit("R{YY}")})
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, o.m)
	deadline := time.Now().Add(2 * time.Minute)
	for i, ref := range refs {
		for {
			rec, err := lookup.ByPayment(ctx, ref)
			if err == nil {
				lat = append(lat, rec.StoredAt.Sub(sent[i]))
				break
			}
			if !errors.Is(err, book.ErrNotFound) {
				return nil, err
			}
			if time.Now().After(deadline) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("connector: payment %s has no receipt after 2 min", ref))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rep.Connector = summarize(lat)

	// Part 3: throughput through the connector: a burst published at once.
	progress(stderr, "receipts: %d payment.confirmed through the connector at once", o.burst)
	if refs, err = seedPaid(ctx, store, o.burst, 8); err != nil {
		return nil, err
	}
	envs := make([]queue.Envelope, len(refs))
	for i, ref := range refs {
		if envs[i], err = queue.NewEnvelope(payment.EventConfirmed, "", payment.ConfirmedPayload{Ref: ref, AmountVND: payBenchAmount, Method: payment.MethodVNPay}); err != nil {
			return nil, err
		}
	}
	begin := time.Now()
	if err := pub.PublishBatch(ctx, payBenchEvents0, envs); err != nil {
		return nil, fmt.Errorf("receipts: publish burst: %w", err)
	}
	var last time.Time
	deadline = time.Now().Add(5 * time.Minute)
	for _, ref := range refs {
		for {
			rec, err := lookup.ByPayment(ctx, ref)
			if err == nil {
				if rec.StoredAt.After(last) {
					last = rec.StoredAt
				}
				break
			}
			if !errors.Is(err, book.ErrNotFound) {
				return nil, err
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("receipts: burst: payment %s has no receipt after 5 min", ref)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rep.Burst, rep.BurstPerSecond = o.burst, float64(o.burst)/last.Sub(begin).Seconds()
	return rep, nil
}

// payBenchEvents0 is the family queue issue-receipt consumes.
const payBenchEvents0 = "payment-events"

// benchUnit is a collecting unit whose series pattern is pattern.
func benchUnit(pattern string) receipt.Unit {
	return receipt.Unit{Party: receipt.Party{Name: "Sở Tư pháp tỉnh (bench)", TaxCode: "5800001001", Address: "36 Trần Phú, Đà Lạt"},
		TemplateSymbol: "01BLP0-001", SeriesPattern: pattern}
}

// benchReceipt is a valid receipt of unit for the documents baseline.
func benchReceipt(u receipt.Unit) receipt.Receipt {
	now := time.Now()
	return receipt.Receipt{Unit: u.Party, TemplateSymbol: u.TemplateSymbol, Series: u.SeriesAt(now), Number: 1, Kind: receipt.KindOriginal,
		Payer:         receipt.Payer{Name: "Nguyễn Thị Hồng Nhung", ID: "001099012345", Address: "12 Lê Lợi, Đà Lạt"},
		ProcedureCode: "T.TP.001", ProcedureName: "Cấp Phiếu lý lịch tư pháp", ApplicationCode: "STP-261203-0001",
		Lines:    []receipt.Line{{Name: "Phí cấp Phiếu lý lịch tư pháp", Kind: receipt.LineFee, AmountVND: payBenchAmount}},
		TotalVND: payBenchAmount, PaymentMethod: "vnpay", PaymentRef: "MCABCDEFGH2345", IssuedAt: now, LookupCode: "BENCHLOOKUP2"}
}

// seedPaid writes n applications and their paid payments (batch selects
// the application codes' day so levels do not collide).
func seedPaid(ctx context.Context, store docstore.Store, n, batch int) ([]string, error) {
	refs := make([]string, n)
	for i := range refs {
		ref, err := payment.NewRef()
		if err != nil {
			return nil, err
		}
		refs[i] = ref
	}
	apps := application.NewRepository(store)
	pays := payment.NewRepository(store)
	now := time.Now().UTC()
	_, _, err := payHammer(ctx, 8, n, func(ctx context.Context, i int) error {
		code := fmt.Sprintf("STP-2601%02d-%04d", 10+batch, i+1)
		a := &application.Application{Code: code, ProcedureCode: "T.TP.001", ProcedureName: "Cấp Phiếu lý lịch tư pháp",
			Agency:    application.Agency{Code: "STP", Name: "Sở Tư pháp"},
			Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hồng Nhung", IDNumber: "001099012345", Phone: "+84912345678", Address: "12 Lê Lợi, Đà Lạt"},
			Status:    application.StatusProcessing, SubmittedAt: now, DueAt: now.Add(240 * time.Hour),
			Fee: application.Fee{AmountVND: payBenchAmount, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: refs[i], PaymentMethod: "vnpay"}}
		if _, err := apps.Create(ctx, a); err != nil && !errors.Is(err, docstore.ErrConflict) {
			return err
		}
		p := &payment.Payment{Ref: refs[i], ApplicationCode: code, AmountVND: payBenchAmount, Method: payment.MethodVNPay,
			State: payment.StatePaid, CreatedAt: now, ExpiresAt: now.Add(time.Hour), PaidAt: &now,
			Provider: &payment.Provider{Name: "vnpay", TransactionNo: fmt.Sprintf("14%08d", i)}}
		return pays.Create(ctx, p)
	})
	if err != nil {
		return nil, fmt.Errorf("receipts: seed: %w", err)
	}
	return refs, nil
}

// gapless checks series holds exactly 1..n, each number once.
func gapless(ctx context.Context, b *book.Book, series string, n int) (bool, error) {
	c, err := b.Numbering().Get(ctx, series)
	if err != nil {
		return false, err
	}
	if int(c.Last) != n || len(c.InFlight) != 0 {
		return false, fmt.Errorf("series %s: last %d, %d in flight, want %d and 0", series, c.Last, len(c.InFlight), n)
	}
	seen := map[string]bool{}
	for i := 1; i <= n; i++ {
		rec, _, err := b.Get(ctx, series, uint32(i))
		if err != nil {
			return false, fmt.Errorf("series %s number %d: %w", series, i, err)
		}
		if seen[rec.Receipt.PaymentRef] {
			return false, fmt.Errorf("series %s: payment %s twice", series, rec.Receipt.PaymentRef)
		}
		seen[rec.Receipt.PaymentRef] = true
	}
	return true, nil
}

// printReceipts writes the scenario's table.
func printReceipts(w io.Writer, r *RcptReport) {
	if r == nil {
		return
	}
	fmt.Fprintln(w, "\n### Receipts (one series; issuers in-process on the embedded S3)")
	fmt.Fprintln(w, "\n| issuers | issue receipts/s | p50 / p99 | CPU ms / receipt (process) | storage requests / receipt | counter CAS writes / receipt (lost) | numbering alone/s (writes / op) | documents alone/s | issue ÷ numbering | gapless |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, l := range r.Levels {
		fmt.Fprintf(w, "| %d | %.0f | %s / %s | %.1f | %.1f | %.2f (%.2f) | %.0f (%.2f) | %.0f | %.2f× | %v |\n", l.Workers, l.IssuePerSecond, fmtMs(l.Issue.P50Ms), fmtMs(l.Issue.P99Ms),
			l.CPUMsPerReceipt, l.RequestsPerReceipt, l.CounterWritesPerReceipt, l.CounterLostPerReceipt, l.NumberingPerSecond, l.NumberingWritesPerOp,
			l.DocumentsPerSecond, l.IssuePerSecond/l.NumberingPerSecond, l.Gapless)
	}
	fmt.Fprintf(w, "\npayment.confirmed published → receipt stored, through the connector and issue-receipt (%d at %d/s): p50 %s, p99 %s, max %s\n",
		r.Connector.N, r.Rate, fmtMs(r.Connector.P50Ms), fmtMs(r.Connector.P99Ms), fmtMs(r.Connector.MaxMs))
	fmt.Fprintf(w, "\n%d payment.confirmed published at once → all receipts stored, through the connector: %.1f receipts/s\n", r.Burst, r.BurstPerSecond)
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "problems:\n  %v\n", r.Problems)
	}
}
