// Package buildctxtest builds throw-away repositories with tiny functions on
// the real motcua-go template, for tests of the template, the build context,
// the runner and the gateway.
package buildctxtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"motcua/infra/buildctx"
	"motcua/infra/stackfile"
)

// EchoHandler is a function (package function) for tests. It answers
// "METHOD QUERY BODY" with status 200 and header X-Echo: yes, and obeys these
// queries: fail=1 returns an error, panic=1 panics, exit=1 exits the process
// with status 3 (a crash), env=KEY answers the variable's value, secret=NAME
// answers the length of the secret file under MOTCUA_SECRETS_DIR, status=N
// answers with status N, sleep=DURATION prints "echo: sleeping CALLID" on stderr and waits (or until
// the context ends),
// deadline=1 answers "yes" if the request context has a deadline.
const EchoHandler = `package function

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Handle echoes the request.
func Handle(req handler.Request) (handler.Response, error) {
	q, _ := url.ParseQuery(req.QueryString)
	switch {
	case q.Get("fail") == "1":
		return handler.Response{}, errors.New("secret internal detail")
	case q.Get("panic") == "1":
		panic("boom")
	case q.Get("exit") == "1":
		os.Exit(3)
	case q.Get("env") != "":
		return handler.Response{Body: []byte(os.Getenv(q.Get("env")))}, nil
	case q.Get("secret") != "":
		b, err := os.ReadFile(filepath.Join(os.Getenv("MOTCUA_SECRETS_DIR"), q.Get("secret")))
		if err != nil {
			return handler.Response{StatusCode: http.StatusNotFound}, nil
		}
		return handler.Response{Body: []byte(strconv.Itoa(len(b)))}, nil
	case q.Get("deadline") == "1":
		_, ok := req.Context().Deadline()
		return handler.Response{Body: []byte(fmt.Sprint(ok))}, nil
	case q.Get("sleep") != "":
		d, _ := time.ParseDuration(q.Get("sleep"))
		fmt.Fprintln(os.Stderr, "echo: sleeping "+req.Header.Get("X-Call-Id"))
		select {
		case <-time.After(d):
		case <-req.Context().Done():
		}
	}
	status, _ := strconv.Atoi(q.Get("status"))
	h := http.Header{}
	h.Set("X-Echo", "yes")
	h.Set("X-Seen-Call-Id", req.Header.Get("X-Call-Id"))
	body := []byte(req.Method + " " + req.QueryString + " ")
	body = append(body, req.Body...)
	return handler.Response{StatusCode: status, Header: h, Body: body}, nil
}
`

// Func describes one function of a throw-away repository.
type Func struct {
	// Name is the function name.
	Name string
	// Source is handler.go's content (package function); EchoHandler if "".
	Source string
	// Environment, Secrets and Annotations go to the stack file.
	Environment map[string]string
	Secrets     []string
	Annotations map[string]string
}

// RepoRoot returns the motcua repository root (the folder of the go.mod
// declaring module motcua), searching upwards from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module motcua\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("buildctxtest: repository root (module motcua) not found")
		}
		dir = parent
	}
}

// NewRepo makes a temporary repository with the real template, go.mod
// and go.sum, a stack.yml and one handler folder per function, and returns
// the stack file's path.
func NewRepo(t testing.TB, fns ...Func) string {
	t.Helper()
	root := RepoRoot(t)
	dir := t.TempDir()
	st := stackfile.Stack{
		Version:  "1.0",
		Provider: stackfile.Provider{Name: "openfaas", Gateway: "http://127.0.0.1:8080"},
		Configuration: stackfile.Configuration{
			Templates: []stackfile.Template{{Name: "motcua-go"}},
			Copy:      []string{"./go.mod", "./go.sum"},
		},
		Functions: map[string]stackfile.Function{},
	}
	for _, f := range fns {
		src := f.Source
		if src == "" {
			src = EchoHandler
		}
		hdir := filepath.Join(dir, "functions", f.Name)
		if err := os.MkdirAll(hdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hdir, "handler.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		st.Functions[f.Name] = stackfile.Function{
			Lang: "motcua-go", Handler: "./functions/" + f.Name, Image: "motcua/" + f.Name + ":test",
			Environment: f.Environment, Secrets: f.Secrets, Annotations: f.Annotations,
		}
	}
	b, err := yaml.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"template/motcua-go", "go.mod", "go.sum"} {
		if err := copyIn(filepath.Join(root, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "stack.yml")
}

// copyIn copies a file or folder by assembling through a one-off stack-free
// walk (kept small: template and go files only).
func copyIn(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyIn(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

var (
	echoOnce sync.Once
	echoBin  string
	echoErr  error
)

// EchoBinary builds EchoHandler on the template once per test process and
// returns the binary's path (kept in a process-wide temporary folder).
func EchoBinary(t testing.TB) string {
	t.Helper()
	echoOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "motcua-echo-")
		if err != nil {
			echoErr = err
			return
		}
		stackPath := NewRepoIn(t, tmp, Func{Name: "echo"})
		st, err := stackfile.Load(stackPath)
		if err != nil {
			echoErr = err
			return
		}
		ctxDir := filepath.Join(tmp, "build", "echo")
		if err := buildctx.Assemble("", st, "echo", ctxDir); err != nil {
			echoErr = err
			return
		}
		echoBin = filepath.Join(tmp, "bin", "echo")
		echoErr = buildctx.Build(context.Background(), ctxDir, echoBin)
	})
	if echoErr != nil {
		t.Fatalf("building echo function: %v", echoErr)
	}
	return echoBin
}

// NewRepoIn is NewRepo into a given folder that outlives the test.
func NewRepoIn(t testing.TB, dir string, fns ...Func) string {
	t.Helper()
	tmp := NewRepo(t, fns...)
	if err := copyIn(filepath.Dir(tmp), dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "stack.yml")
}

// SyncBuffer is a goroutine-safe log sink for tests: processes and servers
// write to it while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
