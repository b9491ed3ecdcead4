package gateway_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/infra/gateway"
)

// chunkRecorder keeps every Write separately.
type chunkRecorder struct {
	mu     sync.Mutex
	chunks [][]byte
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chunks = append(c.chunks, bytes.Clone(p))
	return len(p), nil
}

func (c *chunkRecorder) all() (string, [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(bytes.Join(c.chunks, nil)), c.chunks
}

func TestAccessLog_keeps_order_and_writes_whole_lines_in_small_chunks(t *testing.T) {
	rec := &chunkRecorder{}
	l := gateway.NewAccessLog(rec, time.Hour) // only Close flushes
	var want strings.Builder
	for i := range 500 {
		line := fmt.Sprintf("{\"n\":%d,\"pad\":%q}\n", i, strings.Repeat("x", i%90))
		want.WriteString(line)
		if _, err := l.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := rec.all(); got != "" {
		t.Fatalf("written before Close: %d bytes", len(got))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, chunks := rec.all()
	if got != want.String() {
		t.Fatal("lines lost or reordered")
	}
	for i, c := range chunks {
		if len(c) > 4096 || c[len(c)-1] != '\n' {
			t.Fatalf("chunk %d: %d bytes, ends %q", i, len(c), c[len(c)-1])
		}
	}
	if _, err := l.Write([]byte("late\n")); !errors.Is(err, gateway.ErrAccessLogClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestAccessLog_flushes_on_its_own(t *testing.T) {
	rec := &chunkRecorder{}
	l := gateway.NewAccessLog(rec, 5*time.Millisecond)
	defer l.Close()
	_, _ = l.Write([]byte("one\n"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, _ := rec.all(); got == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("line never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAccessLog_writes_a_long_line_whole(t *testing.T) {
	rec := &chunkRecorder{}
	l := gateway.NewAccessLog(rec, time.Hour)
	long := strings.Repeat("y", 10000) + "\n"
	_, _ = l.Write([]byte("a\n" + long + "b\n"))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	got, chunks := rec.all()
	if got != "a\n"+long+"b\n" {
		t.Fatal("content changed")
	}
	for _, c := range chunks {
		if c[len(c)-1] != '\n' {
			t.Fatalf("chunk of %d bytes does not end a line", len(c))
		}
	}
}

func TestGateway_writes_access_lines_to_Options_AccessLog(t *testing.T) {
	rec := &chunkRecorder{}
	al := gateway.NewAccessLog(rec, time.Hour)
	var errs bytes.Buffer
	h := gateway.New(gateway.Options{Logger: slog.New(slog.NewJSONHandler(&errs, nil)),
		AccessLog: slog.New(slog.NewJSONHandler(al, nil))})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	h.Flush()
	if err := al.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := rec.all()
	if !strings.Contains(got, `"msg":"call"`) || !strings.Contains(got, `"route":"healthz"`) || strings.Count(got, "\n") != 1 {
		t.Fatalf("access log %q", got)
	}
	if errs.Len() != 0 {
		t.Fatalf("access line went to Logger too: %s", errs.String())
	}
}
