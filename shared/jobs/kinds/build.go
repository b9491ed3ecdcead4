package kinds

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/awsx"
	"motcua/shared/catalog"
	"motcua/shared/config"
	"motcua/shared/jobs"
	"motcua/shared/payment"
	"motcua/shared/payment/vnpay"
	"motcua/shared/platform"
	"motcua/shared/receipt/book"
	"motcua/shared/reconcile"
	"motcua/shared/staffauth"
	"motcua/shared/stats"
)

// Configuration keys of the reprocess functions.
const (
	// KeyJobsQueue is the queue of job messages (default jobs.DefaultQueue).
	KeyJobsQueue = "MOTCUA_JOBS_QUEUE"
	// KeyJobsChunk is the number of items per chunk message (default 10).
	KeyJobsChunk = "MOTCUA_JOBS_CHUNK"
	// KeyVNPayAPIURL is VNPAY's querydr API (default: VNPAY's sandbox).
	KeyVNPayAPIURL = "MOTCUA_VNPAY_API_URL"
	// KeyReceiptUnitName, when set (with the rest of the receipt
	// configuration and secrets, as issue-receipt has them), enables
	// reissue-missing-receipts.
	KeyReceiptUnitName = "MOTCUA_RECEIPT_UNIT_NAME"
)

// Service builds the jobs service with every kind motcua has, from the
// platform and the process environment. Kinds whose issue lands later are
// registered here, in one line each.
func Service(p *platform.Platform) (*jobs.Service, error) {
	src := config.FromEnviron(os.Environ())
	r := config.NewReader(src)
	q := r.String(KeyJobsQueue, config.Default(jobs.DefaultQueue))
	chunk := r.Int(KeyJobsChunk, config.Default(jobs.DefaultChunkSize), config.Min(1), config.Max(jobs.MaxChunkSize))
	apiURL := r.String(KeyVNPayAPIURL)
	if err := r.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, err
	}
	payCfg, _, err := payment.LoadConfig(src, p.Secrets, payment.Needs{Callbacks: true}, p.Log)
	if err != nil {
		return nil, err
	}
	paySvc, err := payment.NewService(payment.Deps{Store: p.Store, Publisher: p.Queue, Log: p.Log}, payCfg)
	if err != nil {
		return nil, err
	}
	ropts := reconcile.Options{Log: p.Log}
	if payCfg.VNPay != nil && payCfg.VNPay.TmnCode != "" {
		qc, err := vnpay.NewQueryClient(vnpay.Config{TmnCode: payCfg.VNPay.TmnCode, HashSecret: payCfg.VNPay.HashSecret, APIURL: apiURL}, nil)
		if err != nil {
			return nil, fmt.Errorf("querydr client: %w", err)
		}
		ropts.Querier = qc
	}
	cal, err := application.DefaultCalendar()
	if err != nil {
		return nil, err
	}
	statsSvc, err := stats.NewService(p.Store, catalog.NewCatalog(p.Store, catalog.WithLogger(p.Log)), cal, nil, p.Log)
	if err != nil {
		return nil, err
	}
	reg := jobs.NewRegistry(
		&RepublishOutbox{Outbox: DefaultOutbox(p.Store, p.Queue)},
		&ReconcilePayments{Store: p.Store, Reconciler: reconcile.New(p.Store, reconcile.NewDomain(paySvc), ropts)},
		&RedriveDLQ{SQS: awsx.SQS(awsCfg)},
		&RebuildStats{Stats: statsSvc},
	)
	// reissue-missing-receipts needs the receipt book (series, signer,
	// keys): registered where the receipt configuration is deployed.
	if os.Getenv(KeyReceiptUnitName) != "" {
		b, _, err := book.FromPlatform(p)
		if err != nil {
			return nil, fmt.Errorf("reissue-missing-receipts: %w", err)
		}
		reg.Register(&ReissueMissingReceipts{Store: p.Store, Receipts: b})
	}
	return jobs.New(p.Store, p.Queue, reg, jobs.Options{Queue: q, ChunkSize: chunk, Log: p.Log}), nil
}

// AdminAuth checks staff tokens against the staff-jwt-public-keys key set
// (re-read on each call: a rotation needs no restart) and requires the
// admin role: the reprocess function's one token check.
func AdminAuth(p *platform.Platform) (jobs.Authenticator, error) {
	v, err := staffauth.NewVerifier(p.Secrets)
	if err != nil {
		return nil, err
	}
	return jobs.StaffAdmin(v.Verify, time.Now), nil
}

// Configuration keys of a scheduled reprocess function (reprocess-cron-*).
const (
	// KeyCronName names the schedule (the function's name).
	KeyCronName = "MOTCUA_CRON_NAME"
	// KeyCronSchedule is its cron expression; stack.yml gives the same
	// text to the "schedule" annotation (a test checks they agree).
	KeyCronSchedule = "MOTCUA_CRON_SCHEDULE"
	// KeyCronKind is the job kind to start.
	KeyCronKind = "MOTCUA_CRON_KIND"
	// KeyCronScope is the job's scope as JSON (optional).
	KeyCronScope = "MOTCUA_CRON_SCOPE"
)

// Schedule reads a scheduled function's job from its environment.
func Schedule(environ []string) (jobs.Schedule, error) {
	r := config.NewReader(config.FromEnviron(environ))
	sc := jobs.Schedule{
		Name: r.String(KeyCronName, config.Required()),
		Spec: r.String(KeyCronSchedule, config.Required()),
	}
	sc.Request.Kind = r.String(KeyCronKind, config.Required())
	scope := r.String(KeyCronScope)
	if err := r.Err(); err != nil {
		return sc, err
	}
	if scope != "" {
		dec := json.NewDecoder(strings.NewReader(scope))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc.Request.Scope); err != nil {
			return sc, fmt.Errorf("%s: %w", KeyCronScope, err)
		}
	}
	return sc, sc.Validate()
}
