package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"motcua/cmd/motcua-local/app"
	"motcua/infra/stackfile"
)

// Targets for one function process (issue 13).
const (
	targetStartMs  = 50
	targetIdleRSSB = 20 << 20
)

// ProcRow is one function's process: start-to-ready over several starts and
// its resident memory once idle.
type ProcRow struct {
	// Function is the stack.yml name.
	Function string `json:"function"`
	// Start is exec → /_/health 200.
	Start Stat `json:"start"`
	// IdleRSSBytes is VmRSS 300 ms after ready with no call served (the
	// median over the starts); PeakRSSBytes is VmHWM, the process's peak.
	IdleRSSBytes int64 `json:"idle_rss_bytes"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// functionProcesses execs every function's built binary k times on a free
// port with the runner's environment (the stack's S3/SQS, the function's
// secrets) and records start-to-ready and idle RSS.
func functionProcesses(ctx context.Context, root string, cfg app.Config, a *app.App, k int, stderr io.Writer) ([]ProcRow, error) {
	st, err := stackfile.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		return nil, err
	}
	var rows []ProcRow
	for _, name := range st.FunctionNames() {
		fn, _ := st.Function(name)
		fenv, err := st.Env(fn)
		if err != nil {
			return nil, err
		}
		bin := filepath.Join(cfg.BuildDir, name, "handler")
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			"MOTCUA_SECRETS_DIR=" + filepath.Join(cfg.BuildDir, name, "secrets")}
		for k, v := range fenv {
			env = append(env, k+"="+v)
		}
		if es := a.Embedded(); es != nil {
			env = append(env, es.Env()...)
		}
		progress(stderr, "function process %s: %d starts", name, k)
		row := ProcRow{Function: name}
		var starts []time.Duration
		var rss []int64
		for range k {
			d, idle, peak, err := startOnce(ctx, bin, env)
			if err != nil {
				return nil, fmt.Errorf("function %s: %w", name, err)
			}
			starts = append(starts, d)
			rss = append(rss, idle)
			row.PeakRSSBytes = max(row.PeakRSSBytes, peak)
		}
		slices.Sort(rss)
		row.Start, row.IdleRSSBytes = summarize(starts), rss[len(rss)/2]
		rows = append(rows, row)
	}
	return rows, nil
}

// startOnce runs bin once: the time from exec to /_/health 200, then VmRSS
// and VmHWM after 300 ms idle, then SIGTERM.
func startOnce(ctx context.Context, bin string, env []string) (time.Duration, int64, int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(slices.Clone(env), "MOTCUA_FN_ADDR="+addr)
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := client.Get("http://" + addr + "/_/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return 0, 0, 0, fmt.Errorf("exited before ready: %v", err)
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, errors.New("not healthy in 30 s")
		}
	}
	d := time.Since(begin)
	time.Sleep(300 * time.Millisecond)
	idle, peak, err := procRSS(cmd.Process.Pid)
	return d, idle, peak, err
}

// procRSS reads VmRSS and VmHWM (bytes) of a process from /proc.
func procRSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, perr := strconv.ParseInt(f[1], 10, 64)
		if perr != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times (100 on
// every Linux Go supports; sysconf(_SC_CLK_TCK) is not reachable without cgo).
const clockTicks = 100

// procCPU reads a process's CPU time so far (user + system, its own
// threads, not its children) from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, err := parseStatCPU(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return d, nil
}

// parseStatCPU reads utime + stime from the text of /proc/<pid>/stat.
func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses: count fields after its last closing parenthesis (field
	// 3, the state, is the first of them).
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name", len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime (fields 14 and 15)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("CPU time %q", v)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// machineBusy reads the whole machine's busy CPU time so far (every CPU's
// user, nice, system, irq, softirq and steal time) from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %v", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

func printProcesses(w io.Writer, rows []ProcRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "### Function processes (targets: start-to-ready ≤ %d ms, idle RSS ≤ %d MB)\n\n", targetStartMs, targetIdleRSSB>>20)
	fmt.Fprintln(w, "| function | starts | start p50 | start max | idle RSS | peak RSS | within targets |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		ok := "yes"
		if r.Start.P50Ms > targetStartMs || r.IdleRSSBytes > targetIdleRSSB {
			ok = "NO"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %.1f MB | %.1f MB | %s |\n", r.Function, r.Start.N,
			fmtMs(r.Start.P50Ms), fmtMs(r.Start.MaxMs), float64(r.IdleRSSBytes)/(1<<20), float64(r.PeakRSSBytes)/(1<<20), ok)
	}
	fmt.Fprintln(w)
}
