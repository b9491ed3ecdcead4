// Command motcua-bench measures motcua's local stack in one bounded run, on
// loopback only, and prints markdown tables with ratios:
//
//  1. start-to-ready of the whole stack (app.Start: embedded S3/SQS, every
//     function built and started, gateway, connector) with the build cache
//     warm, and of one function process (exec to /_/health 200);
//  2. gateway added latency: a 1 KiB POST to the procedures function's
//     process directly, through a bare httputil.ReverseProxy and through the
//     gateway (access log on), p50/p99, at concurrency 1 and 10, in
//     -gw-rounds rounds (see gateway.go);
//  3. S3 PUT+GET of 1 KiB and SQS send+receive+delete round trips against
//     the embedded stack and, with -localstack URL, against LocalStack in
//     the same run (ratio embedded/LocalStack);
//  4. with -applications (default on), application submissions through the
//     gateway at 50 concurrent clients next to an S3 PUT + SQS send floor
//     (see applications.go).
//
// With -province only the province-year scenario runs (province.go): the
// whole stack as a child process, a year of applications, payments,
// receipts, ratings and feedback through the gateway and the connector,
// checks (exit status 1 on any FAIL) and a report; -chaos SIGKILLs the
// stack twice on the way.
//
// The 1 KiB POST goes to procedures, the cheapest real function path: the
// template reads the whole body and the handler answers 405 (the catalog
// only serves GET) without touching storage, so the hop's cost shows. A
// second pair of rows uses GET ?code=X.HT.001 (an in-memory catalog lookup).
//
// Usage, from the repository:
//
//	go run ./cmd/motcua-bench [-n 2000] [-aws-n 300] [-starts 3] [-fn-starts 5]
//	    [-localstack http://127.0.0.1:4566] [-json bench.json] [-nosync]
//	    [-applications=true] [-app-n 1000] [-app-c 50]
//	go run ./cmd/motcua-bench -province [-province-apps 100000] [-scale 0.1]
//	    [-province-feedback 10000] [-province-c 32] [-chaos] [-seed 1] [-json province.json]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/embedded"
	"motcua/shared/awsx"
)

// benchFunction is the function measured.
const benchFunction = "procedures"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	repo       string
	n          int
	awsN       int
	starts     int
	fnStarts   int
	localstack string
	jsonPath   string
	buildDir   string
	noSync     bool
	timeout    time.Duration
	gwRounds   int
	apps       appOptions
	payments   payOptions
	stats      statsOptions
	receipts   rcptOptions
	province   provOptions
}

// Stat summarises one series of latencies.
type Stat struct {
	// N is the number of samples.
	N int `json:"n"`
	// P50Ms and P99Ms are percentiles in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// MinMs and MaxMs are the extremes in milliseconds.
	MinMs float64 `json:"min_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Pair is one measurement taken two ways (A, B) with ratio B/A at p50 and p99.
type Pair struct {
	// Name says what was measured.
	Name string `json:"name"`
	// LabelA and LabelB name the two ways.
	LabelA string `json:"label_a"`
	LabelB string `json:"label_b"`
	// A and B are the two series; B is nil when not measured.
	A *Stat `json:"a"`
	B *Stat `json:"b,omitempty"`
}

// Report is the whole run's result (the -json output).
type Report struct {
	// When and Host say where and when it ran.
	When string `json:"when"`
	Host string `json:"host"`
	// GoMaxProcs is runtime.GOMAXPROCS at the run.
	CPUs int `json:"cpus"`
	// Fsync tells whether the embedded stack synced every write.
	Fsync bool `json:"fsync"`
	// Startup, Gateway and Storage are the three tables.
	Startup []Pair `json:"startup"`
	Gateway []Pair `json:"gateway,omitempty"`
	// Hops is the gateway table: direct, bare proxy, gateway.
	Hops []HopRow `json:"gateway_hops"`
	// Processes is every function process's start-to-ready and idle RSS.
	Processes []ProcRow `json:"processes"`
	Storage   []Pair    `json:"storage"`
	// Applications is the submission scenario (nil when not run).
	Applications *AppReport `json:"applications,omitempty"`
	// Payments is the payment-callback scenario (nil when not run).
	Payments *PayReport `json:"payments,omitempty"`
	// Stats is the indicators scenario (nil when not run).
	Stats *StatsReport `json:"stats,omitempty"`
	// Receipts is the receipts scenario (-receipts).
	Receipts *RcptReport `json:"receipts,omitempty"`
	// Notes explain the numbers.
	Notes []string `json:"notes"`
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("motcua-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.repo, "repo", ".", "repository folder (searched upwards)")
	fs.IntVar(&o.n, "n", 2000, "requests per gateway series (each way)")
	fs.IntVar(&o.awsN, "aws-n", 300, "round trips per S3/SQS series")
	fs.IntVar(&o.starts, "starts", 3, "warm whole-stack starts to time (after one cold start that builds)")
	fs.IntVar(&o.gwRounds, "gw-rounds", 5, "rounds of the gateway hop measurement (median and spread reported)")
	fs.IntVar(&o.fnStarts, "fn-starts", 5, "starts to time of each function process")
	fs.StringVar(&o.localstack, "localstack", "", "LocalStack endpoint (e.g. http://127.0.0.1:4566) to compare S3/SQS with")
	fs.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.buildDir, "build", "", "functions' build folder (default: <repo>/.build, shared with motcua-local)")
	fs.BoolVar(&o.noSync, "nosync", false, "run the embedded stack without fsync (default: fsync, as make run)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "abort the whole run after this long")
	o.apps.register(fs)
	o.payments.register(fs)
	o.stats.register(fs)
	o.receipts.register(fs)
	o.province.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.province.enabled {
		// The province-year runs alone, on its own stack (province.go).
		if err := o.province.validate(); err != nil {
			fmt.Fprintf(stderr, "motcua-bench: %v\n", err)
			return 2
		}
		timeout := 6 * time.Hour
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "timeout" {
				timeout = o.timeout
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return runProvince(ctx, o, stdout, stderr)
	}
	if o.n < 1 || o.awsN < 1 || o.starts < 1 || o.fnStarts < 1 || o.gwRounds < 1 {
		fmt.Fprintln(stderr, "motcua-bench: -n, -aws-n, -starts, -fn-starts and -gw-rounds must be at least 1")
		return 2
	}
	if err := errors.Join(o.apps.validate(), o.payments.validate(), o.receipts.validate(), o.stats.validate()); err != nil {
		fmt.Fprintf(stderr, "motcua-bench: %v\n", err)
		return 2
	}
	if o.localstack != "" && !isLoopbackURL(o.localstack) {
		fmt.Fprintln(stderr, "motcua-bench: -localstack must be a loopback URL (http://127.0.0.1:PORT)")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	rep, err := bench(ctx, o, log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "motcua-bench: %v\n", err)
		return 1
	}
	printReport(stdout, rep)
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "motcua-bench: %v\n", err)
			return 1
		}
	}
	if rep.Payments != nil && len(rep.Payments.Problems) > 0 {
		// Numbers from a run that double-counted money mean nothing.
		fmt.Fprintln(stderr, "motcua-bench: payments double-count check failed")
		return 1
	}
	if rep.Receipts != nil && len(rep.Receipts.Problems) > 0 {
		fmt.Fprintln(stderr, "motcua-bench: receipts gapless check failed")
		return 1
	}
	return 0
}

func isLoopbackURL(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	host, _, err := net.SplitHostPort(strings.TrimRight(s, "/"))
	if err != nil {
		host = strings.TrimRight(s, "/")
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func progress(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "motcua-bench: "+format+"\n", args...)
}

func bench(ctx context.Context, o options, log *slog.Logger, stderr io.Writer) (*Report, error) {
	root, err := app.FindRepoRoot(o.repo)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "motcua-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	host, _ := os.Hostname()
	if o.buildDir == "" {
		o.buildDir = filepath.Join(root, ".build")
	}
	if o.buildDir, err = filepath.Abs(o.buildDir); err != nil {
		return nil, err
	}
	rep := &Report{When: time.Now().UTC().Format(time.RFC3339), Host: host, CPUs: numCPU(), Fsync: !o.noSync}
	cfg := app.Config{
		RepoRoot:               root,
		EdgeAddr:               "127.0.0.1:0",
		GatewayAddr:            "127.0.0.1:0",
		DataDir:                filepath.Join(tmp, "data"),
		BuildDir:               o.buildDir,
		SecretsDir:             filepath.Join(tmp, "data", "secrets"),
		NoSync:                 o.noSync,
		Logger:                 log,
		ConnectorWaitTime:      time.Second,
		ConnectorShutdownGrace: 5 * time.Second,
		StopGrace:              5 * time.Second,
	}

	// 1. Whole-stack start-to-ready: one cold start (builds), then warm ones.
	progress(stderr, "starting the stack (first start builds every function)")
	var a *app.App
	var cold time.Duration
	var warm []time.Duration
	for i := 0; i <= o.starts; i++ {
		if a != nil {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := a.Stop(sctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("stop: %w", err)
			}
		}
		begin := time.Now()
		a, err = app.Start(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("start: %w", err)
		}
		if d := time.Since(begin); i == 0 {
			cold = d
		} else {
			warm = append(warm, d)
		}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = a.Stop(sctx)
	}()
	coldStat := summarize([]time.Duration{cold})
	rep.Startup = append(rep.Startup, Pair{Name: "whole stack start-to-ready (app.Start)",
		LabelA: "first start of the run", LabelB: "later starts", A: &coldStat, B: ptr(summarize(warm))})

	progress(stderr, "timing %d starts of every function process", o.fnStarts)
	if rep.Processes, err = functionProcesses(ctx, root, cfg, a, o.fnStarts, stderr); err != nil {
		return nil, err
	}
	for _, p := range rep.Processes {
		if p.Function == benchFunction {
			rep.Startup = append(rep.Startup, Pair{Name: "one function process exec to /_/health 200 (" + benchFunction + ")",
				LabelA: "process", A: ptr(p.Start)})
		}
	}

	// 2. Gateway added latency: direct, bare reverse proxy, gateway.
	direct, ok := a.Runner().URL(benchFunction)
	if !ok {
		return nil, fmt.Errorf("function %s not ready", benchFunction)
	}
	if rep.Hops, err = gatewayHops(ctx, a.Runner(), direct, filepath.Join(tmp, "gateway-access.log"), o.n, o.gwRounds, stderr); err != nil {
		return nil, err
	}

	// 3. S3 and SQS round trips.
	s3e, sqse := a.S3(), a.SQS()
	var s3l *s3.Client
	var sqsl *sqs.Client
	if o.localstack != "" {
		s3l, sqsl = localClients(o.localstack)
	}
	for _, m := range []struct {
		name string
		fn   func(context.Context, *s3.Client, *sqs.Client, int) (Stat, error)
	}{
		{"S3 PUT+GET 1 KiB", s3RoundTrips},
		{"SQS send+receive+delete", sqsRoundTrips},
	} {
		progress(stderr, "%s: %d round trips on the embedded stack", m.name, o.awsN)
		e, err := m.fn(ctx, s3e, sqse, o.awsN)
		if err != nil {
			return nil, fmt.Errorf("%s (embedded): %w", m.name, err)
		}
		p := Pair{Name: m.name, LabelA: "LocalStack", LabelB: "embedded", B: &e}
		if s3l != nil {
			progress(stderr, "%s: %d round trips on LocalStack %s", m.name, o.awsN, o.localstack)
			l, err := m.fn(ctx, s3l, sqsl, o.awsN)
			if err != nil {
				return nil, fmt.Errorf("%s (LocalStack): %w", m.name, err)
			}
			p.A = &l
		}
		rep.Storage = append(rep.Storage, p)
	}
	// 4. Application submissions next to their storage floor.
	if o.apps.enabled {
		if rep.Applications, err = benchApplications(ctx, a, o.apps, stderr); err != nil {
			return nil, err
		}
	}
	if o.payments.enabled {
		if rep.Payments, err = benchPayments(ctx, a, cfg.SecretsDir, o.payments, stderr); err != nil {
			return nil, err
		}
	}
	if o.receipts.enabled {
		if rep.Receipts, err = benchReceipts(ctx, a, o.receipts, stderr); err != nil {
			return nil, err
		}
	}
	if o.stats.enabled {
		if rep.Stats, err = benchStats(ctx, a, o.stats, stderr); err != nil {
			return nil, err
		}
	}
	rep.Notes = []string{
		fmt.Sprintf("loopback only, %d CPUs shared with other work; each number is one run of this command", rep.CPUs),
		"every whole-stack start assembles each build context and runs `go build` (incremental: the compile cache is warm)",
		"gateway rows rotate direct, bare-proxy and gateway calls call by call so all see the same machine load; the gateway measured is a second instance over the same runner with its access log on (JSON through gateway.AccessLog to a file, as motcua-local); POST 1 KiB answers 405 without storage",
		fmt.Sprintf("embedded stack fsync per write: %v", rep.Fsync),
	}
	if o.localstack == "" {
		rep.Notes = append(rep.Notes, "LocalStack not measured (pass -localstack http://127.0.0.1:4566)")
	}
	return rep, nil
}

func ptr[T any](v T) *T { return &v }

func numCPU() int {
	n := 0
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return n
}

func summarize(ds []time.Duration) Stat {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return Stat{}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }
	return Stat{N: len(s), P50Ms: ms(pct(0.50)), P99Ms: ms(pct(0.99)), MinMs: ms(s[0]), MaxMs: ms(s[len(s)-1])}
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

func localClients(endpoint string) (*s3.Client, *sqs.Client) {
	cfg := aws.Config{
		Region:       embedded.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		// The race awsx.SafeRequestBody works around would fail a
		// benchmark call now and then.
		APIOptions: []func(*middleware.Stack) error{awsx.SafeRequestBody},
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), sqs.NewFromConfig(cfg)
}

const (
	benchBucket = "motcua-bench"
	benchQueue  = "motcua-bench"
)

// s3RoundTrips times n PUT+GET pairs of a 1 KiB object.
func s3RoundTrips(ctx context.Context, c *s3.Client, _ *sqs.Client, n int) (Stat, error) {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(benchBucket)}); err != nil {
		if _, herr := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(benchBucket)}); herr != nil {
			return Stat{}, fmt.Errorf("create bucket: %w", err)
		}
	}
	payload := bytes.Repeat([]byte("b"), 1024)
	var ds []time.Duration
	for i := range n + 10 {
		key := fmt.Sprintf("bench/%06d", i%50)
		start := time.Now()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(benchBucket), Key: aws.String(key),
			Body: bytes.NewReader(payload), ContentLength: aws.Int64(int64(len(payload)))}); err != nil {
			return Stat{}, err
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(benchBucket), Key: aws.String(key)})
		if err != nil {
			return Stat{}, err
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || len(got) != len(payload) {
			return Stat{}, fmt.Errorf("get %s: %d bytes, %v", key, len(got), err)
		}
		if i >= 10 { // the first ten warm connections
			ds = append(ds, time.Since(start))
		}
	}
	return summarize(ds), nil
}

// sqsRoundTrips times n send, receive, delete cycles of one message.
func sqsRoundTrips(ctx context.Context, _ *s3.Client, c *sqs.Client, n int) (Stat, error) {
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(benchQueue)})
	if err != nil {
		return Stat{}, fmt.Errorf("create queue: %w", err)
	}
	// Best effort: AWS allows one purge a minute; earlier runs delete
	// every message they send anyway.
	_, _ = c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: q.QueueUrl})
	var ds []time.Duration
	for i := range n + 10 {
		body := fmt.Sprintf("bench-%06d", i)
		start := time.Now()
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			return Stat{}, err
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 5})
		if err != nil {
			return Stat{}, err
		}
		if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
			return Stat{}, fmt.Errorf("receive: got %d messages, want %q", len(out.Messages), body)
		}
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			return Stat{}, err
		}
		if i >= 10 {
			ds = append(ds, time.Since(start))
		}
	}
	return summarize(ds), nil
}

func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 1:
		return fmt.Sprintf("%.2f ms", v)
	default:
		return fmt.Sprintf("%.0f µs", v*1000)
	}
}

func ratio(b, a float64) string {
	if a <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", b/a)
}

func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "## motcua-bench %s (%d CPUs, fsync %v)\n\n", r.When, r.CPUs, r.Fsync)
	table := func(title string, rows []Pair, ratioLabel string) {
		fmt.Fprintf(w, "### %s\n\n", title)
		fmt.Fprintf(w, "| measurement | A | B | n | A p50 | A p99 | B p50 | B p99 | %s p50 | %s p99 |\n", ratioLabel, ratioLabel)
		fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range rows {
			cell := func(s *Stat, pct func(Stat) float64) string {
				if s == nil {
					return "—"
				}
				return fmtMs(pct(*s))
			}
			p50 := func(s Stat) float64 { return s.P50Ms }
			p99 := func(s Stat) float64 { return s.P99Ms }
			n := 0
			if p.B != nil {
				n = p.B.N
			} else if p.A != nil {
				n = p.A.N
			}
			r50, r99 := "—", "—"
			if p.A != nil && p.B != nil {
				r50, r99 = ratio(p.B.P50Ms, p.A.P50Ms), ratio(p.B.P99Ms, p.A.P99Ms)
			}
			la, lb := p.LabelA, p.LabelB
			if p.A == nil {
				la = "(" + la + " not run)"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", p.Name, la, lb, n,
				cell(p.A, p50), cell(p.A, p99), cell(p.B, p50), cell(p.B, p99), r50, r99)
		}
		fmt.Fprintln(w)
	}
	table("Start-to-ready", r.Startup, "B/A")
	printProcesses(w, r.Processes)
	printHops(w, r.Hops)
	table("S3 / SQS round trips", r.Storage, "embedded/LocalStack")
	printApplications(w, r.Applications)
	printPayments(w, r.Payments)
	printStats(w, r.Stats)
	printReceipts(w, r.Receipts)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}
