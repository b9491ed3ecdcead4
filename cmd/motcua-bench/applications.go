package main

// The submission scenario (-applications): how fast the local stack files
// applications through the gateway, next to the floor any submission must
// pay on the same embedded servers in the same run.
//
// Submissions: c concurrent clients POST n valid online submissions of a
// seed procedure (T.TP.001, one declared PDF) to
// /function/submit-application, each with its own Idempotency-Key as a
// mobile app sends it, and expect 201. Afterwards every returned code must
// be distinct and the data bucket must hold exactly that many application
// documents.
//
// Floor: the same c concurrent clients each do one create-once S3 PUT
// (If-None-Match: *) of a JSON document the size of a stored application,
// then one SQS send of a message the size of its application.submitted
// event: the least a durable, announced submission costs. The floor's SDK
// clients get a connection pool large enough for c (the SDK default keeps
// 10 idle connections per host), so the floor is not inflated by dialling.
//
// The target is submission p99 ≤ 2× the floor's p99 at 50 clients and
// at least 1 500 submissions/s; the report
// says whether this run met it.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/gateway"
	"motcua/shared/application"
	"motcua/shared/awsx"
)

// Scenario constants.
const (
	appProcedure  = "T.TP.001"
	appDataBucket = "motcua-data"
	appFloorQueue = "motcua-bench-floor"
	appFloorPfx   = "bench-floor/"
	// appTargetP99 is the target: submission p99 ≤ 2× floor p99.
	appTargetP99 = 2.0
	// appTargetPerSec is the throughput target on 2 cores.
	appTargetPerSec = 1500
	// appWarmup submissions and floor operations run first, not timed.
	appWarmup = 50
)

// appOptions are the submission scenario's flags.
type appOptions struct {
	enabled bool
	n       int
	c       int
}

// register adds the scenario's flags to fs.
func (o *appOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.enabled, "applications", true, "run the application submission scenario (throughput, p50/p99 vs the S3 PUT + SQS send floor)")
	fs.IntVar(&o.n, "app-n", 1000, "timed submissions (and floor operations)")
	fs.IntVar(&o.c, "app-c", 50, "concurrent clients of the submission scenario")
}

// validate checks the flags when the scenario is enabled.
func (o appOptions) validate() error {
	if o.enabled && (o.n < 1 || o.c < 1) {
		return fmt.Errorf("-app-n and -app-c must be at least 1")
	}
	return nil
}

// AppReport is the submission scenario's result.
type AppReport struct {
	// Procedure is the catalog procedure submitted.
	Procedure string `json:"procedure"`
	// Concurrency is the number of concurrent clients.
	Concurrency int `json:"concurrency"`
	// Submit is the latency of the timed submissions (201 each).
	Submit Stat `json:"submit"`
	// SubmitPerSec is timed submissions divided by their wall-clock time.
	SubmitPerSec float64 `json:"submit_per_sec"`
	// Floor is the latency of one S3 create-once PUT + one SQS send.
	Floor Stat `json:"floor"`
	// FloorPerSec is floor operations per second.
	FloorPerSec float64 `json:"floor_per_sec"`
	// DocBytes and MsgBytes are the floor's object and message sizes
	// (those of a stored application and of its submitted event).
	DocBytes int `json:"doc_bytes"`
	MsgBytes int `json:"msg_bytes"`
	// P50Ratio and P99Ratio are submit / floor.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// TargetP99Ratio is the target; TargetMet says whether this
	// run's P99Ratio is within it.
	TargetP99Ratio float64 `json:"target_p99_ratio"`
	TargetMet      bool    `json:"target_met"`
	// TargetPerSec is the throughput target; TargetPerSecMet says
	// whether this run's SubmitPerSec reached it.
	TargetPerSec    float64 `json:"target_per_sec"`
	TargetPerSecMet bool    `json:"target_per_sec_met"`
	// Codes is how many codes were returned (warm-up included) and
	// DistinctCodes how many of them differ; StoredApplications counts the
	// application documents in the bucket afterwards.
	Codes              int `json:"codes"`
	DistinctCodes      int `json:"distinct_codes"`
	StoredApplications int `json:"stored_applications"`
}

// benchApplications runs the scenario against a's gateway and embedded
// servers.
func benchApplications(ctx context.Context, a *app.App, o appOptions, stderr io.Writer) (*AppReport, error) {
	body, err := json.Marshal(appSubmission())
	if err != nil {
		return nil, err
	}
	url := a.GatewayURL() + "/function/submit-application"
	client := &http.Client{Transport: gateway.NewTransport(), Timeout: 60 * time.Second}
	var (
		codesMu sync.Mutex
		codes   []string
	)
	submit := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("submit: status %d: %.300s", res.StatusCode, b)
		}
		var out application.SubmitResult
		if err := json.Unmarshal(b, &out); err != nil || out.Code == "" {
			return fmt.Errorf("submit: answer %.300s: %v", b, err)
		}
		codesMu.Lock()
		codes = append(codes, out.Code)
		codesMu.Unlock()
		return nil
	}

	progress(stderr, "applications: %d warm-up submissions", appWarmup)
	if _, _, err := hammer(ctx, o.c, appWarmup, submit); err != nil {
		return nil, fmt.Errorf("warm-up submissions: %w", err)
	}
	// Size the floor after a real stored application and its event.
	docBytes, msgBytes, err := appSizes(ctx, a, codes[0])
	if err != nil {
		return nil, err
	}
	floor, cleanup, err := floorOp(ctx, a, docBytes, msgBytes)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	progress(stderr, "applications: floor (S3 create-once PUT %d B + SQS send %d B), %d warm-up + %d timed, %d concurrent", docBytes, msgBytes, appWarmup, o.n, o.c)
	if _, _, err := hammer(ctx, o.c, appWarmup, floor); err != nil {
		return nil, fmt.Errorf("warm-up floor: %w", err)
	}
	fl, flWall, err := hammer(ctx, o.c, o.n, floor)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	progress(stderr, "applications: %d timed submissions, %d concurrent", o.n, o.c)
	sub, subWall, err := hammer(ctx, o.c, o.n, submit)
	if err != nil {
		return nil, fmt.Errorf("submissions: %w", err)
	}

	rep := &AppReport{Procedure: appProcedure, Concurrency: o.c, Submit: summarize(sub), Floor: summarize(fl),
		SubmitPerSec: float64(o.n) / subWall.Seconds(), FloorPerSec: float64(o.n) / flWall.Seconds(),
		DocBytes: docBytes, MsgBytes: msgBytes, TargetP99Ratio: appTargetP99, Codes: len(codes),
		TargetPerSec: appTargetPerSec}
	rep.TargetPerSecMet = rep.SubmitPerSec >= rep.TargetPerSec
	if rep.Floor.P50Ms > 0 && rep.Floor.P99Ms > 0 {
		rep.P50Ratio, rep.P99Ratio = rep.Submit.P50Ms/rep.Floor.P50Ms, rep.Submit.P99Ms/rep.Floor.P99Ms
		rep.TargetMet = rep.P99Ratio <= appTargetP99
	}
	distinct := map[string]bool{}
	for _, c := range codes {
		distinct[c] = true
	}
	rep.DistinctCodes = len(distinct)
	if rep.StoredApplications, err = countApplications(ctx, a.S3()); err != nil {
		return nil, err
	}
	if rep.DistinctCodes != rep.Codes || rep.StoredApplications != rep.Codes {
		return rep, fmt.Errorf("applications: %d codes returned, %d distinct, %d stored", rep.Codes, rep.DistinctCodes, rep.StoredApplications)
	}
	return rep, nil
}

// appSubmission is a valid online submission of appProcedure by a person.
func appSubmission() map[string]any {
	return map[string]any{
		"procedureCode": appProcedure,
		"applicant": map[string]any{
			"kind": "person", "name": "Nguyễn Thị Hoa", "idNumber": "001190123456",
			"dateOfBirth": "1990-05-17", "phone": "0912 345 678", "email": "hoa@example.vn",
			"address": "Số 5 phố Tràng Thi, Hoàn Kiếm, Hà Nội",
		},
		"form": map[string]any{
			"hoTenNguoiYeuCau": "Nguyễn Thị Hoa", "soCCCDNguoiYeuCau": "001190123456",
			"soDienThoai": "0912345678", "loaiPhieu": "Phiếu số 1", "soLuongPhieu": 1,
			"mucDich": "Bổ sung hồ sơ xin việc", "ngaySinh": "1990-05-17",
		},
		"documents": []map[string]any{
			{"code": "TK", "fileName": "to-khai.pdf", "contentType": "application/pdf", "size": 120000},
		},
	}
}

// appSizes returns the size of the stored application code and of its
// application.submitted event message.
func appSizes(ctx context.Context, a *app.App, code string) (int, int, error) {
	id, err := application.ParseCode(code)
	if err != nil {
		return 0, 0, err
	}
	out, err := a.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(appDataBucket), Key: aws.String(application.Key(id))})
	if err != nil {
		return 0, 0, fmt.Errorf("read application %s: %w", code, err)
	}
	doc, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	var stored application.Application
	if err := json.Unmarshal(doc, &stored); err != nil {
		return 0, 0, fmt.Errorf("decode application %s: %w", code, err)
	}
	env, err := application.NewEvent(application.EventSubmitted, uuid.NewString(), stored, stored.SubmittedAt)
	if err != nil {
		return 0, 0, err
	}
	msg, err := json.Marshal(env)
	if err != nil {
		return 0, 0, err
	}
	return len(doc), len(msg), nil
}

// floorOp returns the floor operation (create-once PUT under a fresh key,
// then one send) and a cleanup that deletes its queue.
func floorOp(ctx context.Context, a *app.App, docBytes, msgBytes int) (func(context.Context) error, func(), error) {
	cfg := a.AWSConfig().Copy()
	cfg.HTTPClient = &http.Client{Transport: gateway.NewTransport()}
	s3c, sqsc := awsx.S3WithPathStyle(cfg, true), awsx.SQS(cfg)
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(appFloorQueue)})
	if err != nil {
		return nil, nil, fmt.Errorf("create floor queue: %w", err)
	}
	cleanup := func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = sqsc.DeleteQueue(cctx, &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	}
	doc := jsonOfSize(docBytes)
	msg := string(jsonOfSize(msgBytes))
	op := func(ctx context.Context) error {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(appDataBucket),
			Key: aws.String(appFloorPfx + uuid.NewString() + ".json"), Body: bytes.NewReader(doc),
			ContentLength: aws.Int64(int64(len(doc))), ContentType: aws.String("application/json"),
			IfNoneMatch: aws.String("*")}); err != nil {
			return fmt.Errorf("floor put: %w", err)
		}
		if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(msg)}); err != nil {
			return fmt.Errorf("floor send: %w", err)
		}
		return nil
	}
	return op, cleanup, nil
}

// jsonOfSize returns a JSON object of exactly n bytes (n ≥ 12).
func jsonOfSize(n int) []byte {
	const head, tail = `{"pad":"`, `"}`
	pad := max(0, n-len(head)-len(tail))
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// hammer runs fn n times from c workers and returns each call's latency
// and the wall-clock time of the whole series; the first error stops it.
func hammer(ctx context.Context, c, n int, fn func(context.Context) error) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		ds       = make([]time.Duration, 0, n)
		firstErr error
		wg       sync.WaitGroup
	)
	begin := time.Now()
	for range min(c, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				start := time.Now()
				err := fn(ctx)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					cancel()
					return
				}
				ds = append(ds, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(begin)
	if firstErr != nil {
		return nil, 0, firstErr
	}
	return ds, wall, ctx.Err()
}

// countApplications counts the application documents in the data bucket.
func countApplications(ctx context.Context, c *s3.Client) (int, error) {
	n := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(appDataBucket), Prefix: aws.String("applications/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list applications: %w", err)
		}
		for _, o := range page.Contents {
			rest := strings.TrimPrefix(aws.ToString(o.Key), "applications/")
			if !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".json") {
				n++
			}
		}
	}
	return n, nil
}

// printApplications prints the scenario's table.
func printApplications(w io.Writer, r *AppReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "### Application submissions (%s, %d concurrent clients, through the gateway)\n\n", r.Procedure, r.Concurrency)
	fmt.Fprintln(w, "| series | n | throughput | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	fmt.Fprintf(w, "| submit-application → 201 | %d | %.0f/s | %s | %s | %s |\n", r.Submit.N, r.SubmitPerSec,
		fmtMs(r.Submit.P50Ms), fmtMs(r.Submit.P99Ms), fmtMs(r.Submit.MaxMs))
	fmt.Fprintf(w, "| floor: S3 create-once PUT %d B + SQS send %d B | %d | %.0f/s | %s | %s | %s |\n", r.DocBytes, r.MsgBytes,
		r.Floor.N, r.FloorPerSec, fmtMs(r.Floor.P50Ms), fmtMs(r.Floor.P99Ms), fmtMs(r.Floor.MaxMs))
	verdict := "NOT met"
	if r.TargetMet {
		verdict = "met"
	}
	fmt.Fprintf(w, "| submit / floor | | | %.2f× | %.2f× | |\n\n", r.P50Ratio, r.P99Ratio)
	fmt.Fprintf(w, "Target p99 ≤ %.1f× the floor: %s (%.2f×). Codes: %d returned, %d distinct, %d applications stored.\n\n",
		r.TargetP99Ratio, verdict, r.P99Ratio, r.Codes, r.DistinctCodes, r.StoredApplications)
	if r.TargetPerSec > 0 {
		verdict = "NOT met"
		if r.TargetPerSecMet {
			verdict = "met"
		}
		fmt.Fprintf(w, "Target throughput ≥ %.0f submissions/s: %s (%.0f/s).\n\n", r.TargetPerSec, verdict, r.SubmitPerSec)
	}
}
