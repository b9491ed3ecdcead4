package stackfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"motcua/infra/stackfile"
)

// fuzzRepo makes a folder with the template, handler and env file a valid
// stack refers to.
func fuzzRepo(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{"template/motcua-go", "functions/procedures", "functions/pay-fee", "shared"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	files := map[string]string{
		"template/motcua-go/template.yml": "language: motcua-go\n",
		"env.yml":                         "environment:\n  A: from-file\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

const fuzzGoodStack = `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
configuration:
  templates:
    - name: motcua-go
  copy: [./shared]
functions:
  procedures:
    lang: motcua-go
    handler: ./functions/procedures
    image: motcua/procedures:latest
    environment_file: [env.yml]
    environment:
      exec_timeout: "45"
      write_timeout: 10s
    secrets: [staff-jwt-secret]
    annotations:
      topic: application-events
    limits: {memory: 128Mi}
  pay-fee:
    lang: motcua-go
    handler: ./functions/pay-fee
    image: motcua/pay-fee:latest
`

var fuzzDNSName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// FuzzParse feeds arbitrary YAML to Parse: it never panics, every error
// wraps ErrInvalid (YAML syntax errors included), and an accepted stack has
// the invariants the build and the runner rely on.
func FuzzParse(f *testing.F) {
	dir := fuzzRepo(f)
	for _, s := range []string{
		fuzzGoodStack,
		"",
		"---\n",
		"version: 1.0\n",
		"version: '1.0'\nprovider: {name: openfaas, gateway: http://x}\nfunctions: {}\n",
		"version: 1.0\nprovider: {name: openfaas, gateway: http://x}\nfunctions:\n  a: {lang: motcua-go, handler: ./functions/procedures, image: i}\n  a: {lang: motcua-go, handler: ./functions/procedures, image: i}\n",
		"version: 1.0\nprovider: {name: openfaas, gateway: http://x}\nfunctions:\n  Bad_Name: {lang: motcua-go, handler: ./functions/procedures, image: i}\n",
		"version: 1.0\nprovider: {name: openfaas, gateway: http://x}\nfunctions:\n  a: {lang: nope, handler: ../../etc, image: i, environment_file: [/etc/passwd], secrets: [X]}\n",
		"version: 1.0\nprovider: {name: openfaas, gateway: http://x}\nfunctions:\n  a: {lang: motcua-go, handler: ./functions/procedures, image: i, environment: {exec_timeout: forever}}\n",
		"version: 1.0\nprovider: {name: openfaas, gateway: http://x}\nconfiguration: {copy: [/abs, ../up, '']}\nfunctions:\n  a: {lang: motcua-go, handler: ./functions/procedures, image: i, unknown: 1}\n",
		"a: &a [*a]\n",
		"a: &a ['x','x']\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n",
		"functions: [1, 2]\n",
		"functions:\n  ? [a]\n  : b\n",
		"version: {1: 2}\n",
		"\t- :\n",
		"{{{{",
		"%YAML 1.1\n---\nversion: 1.0\n",
	} {
		f.Add([]byte(s))
	}
	if _, err := stackfile.Parse([]byte(fuzzGoodStack), dir); err != nil {
		f.Fatalf("seed stack refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := stackfile.Parse(b, dir)
		if err != nil {
			if !errors.Is(err, stackfile.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if st != nil {
				t.Fatalf("Parse returned a stack with error %v", err)
			}
			return
		}
		if st == nil {
			t.Fatal("Parse returned nil stack and nil error")
		}
		if st.Version != "1.0" || st.Provider.Name != "openfaas" || st.Provider.Gateway == "" || st.Dir != dir {
			t.Fatalf("accepted stack has bad header: %+v", st)
		}
		names := st.FunctionNames()
		if len(names) == 0 {
			t.Fatal("accepted stack has no functions")
		}
		for _, name := range names {
			fn, ok := st.Function(name)
			if !ok || fn.Name != name {
				t.Fatalf("Function(%q) = %+v, %v", name, fn, ok)
			}
			if !fuzzDNSName.MatchString(name) || fn.Image == "" || fn.Lang == "" || fn.Handler == "" {
				t.Fatalf("accepted function %q is incomplete: %+v", name, fn)
			}
			if fi, err := os.Stat(st.HandlerDir(fn)); err != nil || !fi.IsDir() {
				t.Fatalf("accepted function %q has no handler folder %s", name, st.HandlerDir(fn))
			}
			for _, k := range []string{"read_timeout", "write_timeout", "exec_timeout"} {
				if _, err := stackfile.Timeout(fn.Environment, k, 0); err != nil {
					t.Fatalf("accepted function %q has bad %s: %v", name, k, err)
				}
			}
		}
	})
}
