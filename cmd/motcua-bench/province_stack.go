package main

// The province scenario's stack: cmd/motcua-local built once and run as a
// child process in its own process group on a fresh data folder, exactly
// what `make run` starts (embedded S3/SQS, every function of stack.yml as
// its own process, gateway, connector). Running it as a child is what lets
// -chaos SIGKILL the whole stack at once (kill(-pgid)) and start it again
// on the same data folder and ports, as a host reboot would.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childStack is motcua-local running as a child process group.
type childStack struct {
	bin, root, dataDir, buildDir string
	edgeAddr, gwAddr             string
	logPath                      string
	startTimeout                 time.Duration

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	pids map[string]int   // function → current pid
	peak map[string]int64 // function → highest VmHWM seen (bytes)
	// cpu is the CPU time each process name used while sampled: the sum
	// over its pids (a restarted function is a new pid) of the last CPU
	// time read; seen holds that last read per pid.
	cpu   map[string]time.Duration
	seen  map[int]time.Duration
	lives int // starts so far
	// Starts holds each start-to-ready.
	starts []time.Duration
}

// stackPeakName is the row of the motcua-local process itself (embedded
// S3/SQS, gateway, runner, connector share it).
const stackPeakName = "motcua-local (S3/SQS, gateway, runner, connector)"

// buildLocal builds cmd/motcua-local into dir and returns the binary.
func buildLocal(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "motcua-local")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/motcua-local")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build motcua-local: %v\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func newChildStack(bin, root, dataDir, buildDir, logPath string, startTimeout time.Duration) (*childStack, error) {
	edge, err := freeAddr()
	if err != nil {
		return nil, err
	}
	gw, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return &childStack{bin: bin, root: root, dataDir: dataDir, buildDir: buildDir, edgeAddr: edge, gwAddr: gw,
		logPath: logPath, startTimeout: startTimeout, pids: map[string]int{}, peak: map[string]int64{},
		cpu: map[string]time.Duration{}, seen: map[int]time.Duration{}}, nil
}

// GatewayURL and EdgeURL are where the stack listens (the same across
// restarts).
func (s *childStack) GatewayURL() string { return "http://" + s.gwAddr }

// EdgeURL is the embedded S3/SQS endpoint.
func (s *childStack) EdgeURL() string { return "http://" + s.edgeAddr }

// SecretsDir is the dev secrets folder motcua-local generates.
func (s *childStack) SecretsDir() string { return filepath.Join(s.dataDir, "secrets") }

// Start runs motcua-local and waits for its banner ("ready").
func (s *childStack) Start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-repo", s.root, "-data", s.dataDir, "-edge-addr", s.edgeAddr, "-gateway-addr", s.gwAddr,
		"-start-timeout", s.startTimeout.String(), "-log-level", "info"}
	if s.buildDir != "" {
		args = append(args, "-build", s.buildDir)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // banner
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "motcua local stack ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { // JSON logs: keep them, learn the function pids
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logf.Write(append(line, '\n'))
			if strings.Contains(string(line), "function process started") {
				var e struct {
					Function string `json:"function"`
					PID      int    `json:"pid"`
				}
				if json.Unmarshal(line, &e) == nil && e.Function != "" && e.PID > 0 {
					s.mu.Lock()
					s.pids[e.Function] = e.PID
					s.mu.Unlock()
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.lives++
	s.mu.Unlock()
	select {
	case <-ready:
	case <-done:
		return fmt.Errorf("motcua-local exited before ready (logs: %s)", s.logPath)
	case <-ctx.Done():
		s.Kill()
		return ctx.Err()
	case <-time.After(s.startTimeout + 10*time.Second):
		s.Kill()
		return fmt.Errorf("motcua-local not ready after %s (logs: %s)", s.startTimeout, s.logPath)
	}
	s.mu.Lock()
	s.starts = append(s.starts, time.Since(begin))
	s.mu.Unlock()
	return nil
}

// SamplePeaks reads VmHWM of every known process into the peaks, and its
// CPU time into the CPU totals. What a process uses after its last sample
// before it exits is not counted (at most the sampling interval; a
// function process is replaced only by a crash or a chaos kill, and the
// stack is sampled just before each kill).
func (s *childStack) SamplePeaks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	read := func(name string, pid int) {
		if _, hwm, err := procRSS(pid); err == nil && hwm > s.peak[name] {
			s.peak[name] = hwm
		}
		if c, err := procCPU(pid); err == nil && c >= s.seen[pid] {
			s.cpu[name] += c - s.seen[pid]
			s.seen[pid] = c
		}
	}
	for fn, pid := range s.pids {
		read(fn, pid)
	}
	if s.cmd != nil && s.cmd.Process != nil {
		read(stackPeakName, s.cmd.Process.Pid)
	}
}

// Peaks returns the highest VmHWM seen per process.
func (s *childStack) Peaks() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.peak))
	for k, v := range s.peak {
		out[k] = v
	}
	return out
}

// CPU returns the CPU time used per process (see SamplePeaks).
func (s *childStack) CPU() map[string]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Duration, len(s.cpu))
	for k, v := range s.cpu {
		out[k] = v
	}
	return out
}

// Kill SIGKILLs the whole process group (motcua-local and every function
// process) and waits for motcua-local to be gone.
func (s *childStack) Kill() {
	s.SamplePeaks()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.pids = map[string]int{}
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop asks motcua-local to stop gracefully (SIGTERM) and kills the group
// if it has not stopped within grace.
func (s *childStack) Stop(grace time.Duration) error {
	s.SamplePeaks()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return errors.New("motcua-local did not stop in time: killed")
	}
}

// healthy reports whether the gateway answers /healthz.
func (s *childStack) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.GatewayURL()+"/healthz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// diskBytes is the size of every regular file under dir.
func diskBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
