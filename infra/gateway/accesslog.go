package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultAccessLogFlush is how long an access-log line may wait in memory
// when NewAccessLog gets every == 0.
const DefaultAccessLogFlush = 50 * time.Millisecond

const (
	// accessLogFull makes Write flush at once when this much is buffered.
	accessLogFull = 64 << 10
	// accessLogChunk bounds one write to the underlying writer: at most
	// PIPE_BUF bytes, ending at a line end, so a chunk written to a pipe or
	// terminal shared with other loggers never interleaves mid-line.
	accessLogChunk = 4096
)

// AccessLog is an io.Writer for the gateway's access log (wrap it with
// slog.NewJSONHandler and pass the logger as Options.AccessLog). Lines are
// appended to an in-memory buffer and written out in line-aligned chunks of
// at most 4 KiB every flush interval, when 64 KiB have gathered, and on
// Flush or Close: a call costs a memory copy instead of a write system call
// on the request path. Lines keep their order and are never dropped while
// the process lives; a crash loses at most one interval's lines (an access
// log, not a ledger). Safe for concurrent use.
type AccessLog struct {
	w io.Writer

	wmu   sync.Mutex // held while writing to w; taken before mu
	spare []byte     // recycled buffer, under wmu
	err   error      // first write error, under wmu

	mu     sync.Mutex // guards buf and closed
	buf    []byte
	closed bool

	stop chan struct{}
	done chan struct{}
}

// NewAccessLog starts an AccessLog writing to w and flushing at least every
// every (0: DefaultAccessLogFlush). Close it to write the rest and stop.
func NewAccessLog(w io.Writer, every time.Duration) *AccessLog {
	if every <= 0 {
		every = DefaultAccessLogFlush
	}
	l := &AccessLog{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop(every)
	return l
}

func (l *AccessLog) loop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.Flush()
		}
	}
}

// ErrAccessLogClosed is returned by Write after Close.
var ErrAccessLogClosed = errors.New("gateway: access log closed")

// Write buffers p (whole lines, as slog handlers write them). When 64 KiB
// are buffered it writes them out before returning.
func (l *AccessLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrAccessLogClosed
	}
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= accessLogFull
	l.mu.Unlock()
	if full {
		_ = l.Flush()
	}
	return len(p), nil
}

// Flush writes out everything buffered and returns the first write error
// seen so far.
func (l *AccessLog) Flush() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	b := l.buf
	l.buf = l.spare[:0]
	l.mu.Unlock()
	for rest := b; len(rest) > 0; {
		n := len(rest)
		if n > accessLogChunk {
			// End the chunk at the last line end within the bound (a
			// longer single line goes out whole).
			if i := bytes.LastIndexByte(rest[:accessLogChunk], '\n'); i >= 0 {
				n = i + 1
			} else if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				n = i + 1
			}
		}
		if _, err := l.w.Write(rest[:n]); err != nil && l.err == nil {
			l.err = err
		}
		rest = rest[n:]
	}
	if cap(b) > 4*accessLogFull { // do not keep a burst's buffer for ever
		b = nil
	}
	l.spare = b[:0]
	return l.err
}

// Close stops the periodic flush, writes out the rest and returns the first
// write error. Later writes fail with ErrAccessLogClosed.
func (l *AccessLog) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if !already {
		close(l.stop)
		<-l.done
	}
	return l.Flush()
}

// accessEntry is one call's access-log line before it is encoded.
type accessEntry struct {
	at       time.Time
	id       string
	route    string
	function string
	method   string
	status   int
	dur      time.Duration
	bytes    int64
}

const (
	// accessQueueDelay is how long a queued line may wait before the
	// queue's goroutine encodes it.
	accessQueueDelay = 5 * time.Millisecond
	// accessQueueIdle is how many empty rounds the goroutine waits before
	// it exits (the next call starts a new one).
	accessQueueIdle = 40
	// accessQueueMax makes the request that finds this many lines queued
	// write them itself, so a stalled log handler slows callers down
	// instead of growing memory without bound.
	accessQueueMax = 4096
)

// accessQueue takes the gateway's access-log lines off the request path: a
// request appends a fixed-size entry under a mutex and returns; one
// goroutine (started on demand, gone after accessQueueIdle quiet rounds)
// encodes the entries through the slog handler every accessQueueDelay,
// in arrival order. Lines are never dropped; drain writes them out at once.
type accessQueue struct {
	h slog.Handler

	mu      sync.Mutex
	pending []accessEntry
	running bool // a loop goroutine is alive

	dmu   sync.Mutex    // serializes drains, so lines keep their order
	spare []accessEntry // recycled batch, under dmu
}

func (q *accessQueue) add(e accessEntry) {
	q.mu.Lock()
	q.pending = append(q.pending, e)
	full := len(q.pending) >= accessQueueMax
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.loop()
	}
	if full {
		q.drain()
	}
}

func (q *accessQueue) loop() {
	for idle := 0; ; {
		time.Sleep(accessQueueDelay)
		if q.drain() > 0 {
			idle = 0
			continue
		}
		if idle++; idle < accessQueueIdle {
			continue
		}
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// drain encodes every queued entry and reports how many there were.
func (q *accessQueue) drain() int {
	q.dmu.Lock()
	defer q.dmu.Unlock()
	q.mu.Lock()
	batch := q.pending
	q.pending = q.spare[:0]
	q.mu.Unlock()
	if len(batch) == 0 {
		q.spare = batch
		return 0
	}
	ctx := context.Background()
	if q.h.Enabled(ctx, slog.LevelInfo) {
		for i := range batch {
			e := &batch[i]
			r := slog.NewRecord(e.at, slog.LevelInfo, "call", 0)
			r.AddAttrs(
				slog.String("call_id", e.id),
				slog.String("route", e.route),
				slog.String("function", e.function),
				slog.String("method", e.method),
				slog.Int("status", e.status),
				slog.Float64("duration_ms", float64(e.dur.Microseconds())/1000),
				slog.Int64("bytes", e.bytes),
			)
			_ = q.h.Handle(ctx, r)
		}
	}
	n := len(batch)
	clear(batch) // let the strings go
	if cap(batch) > accessQueueMax {
		batch = nil // do not keep a burst's backing array for ever
	}
	q.spare = batch[:0]
	return n
}
