package stackfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/infra/stackfile"
)

// repo makes a folder with template/motcua-go/template.yml, shared/ and
// functions/procedures/ and returns it.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"template/motcua-go", "functions/procedures", "shared"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "template/motcua-go/template.yml"), []byte("language: motcua-go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.yml"), []byte("environment:\n  A: from-file\n  B: from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const good = `version: 1.0
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
      B: inline
      exec_timeout: "45"
    secrets: [staff-jwt-secret]
    annotations:
      topic: application-events
    labels:
      com.openfaas.scale.min: "1"
    limits: {memory: 128Mi}
    build_args: {GO111MODULE: "on"}
`

func TestParse_valid_stack(t *testing.T) {
	dir := repo(t)
	st, err := stackfile.Parse([]byte(good), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.FunctionNames(); len(got) != 1 || got[0] != "procedures" {
		t.Fatalf("FunctionNames = %v", got)
	}
	fn, _ := st.Function("procedures")
	if fn.Name != "procedures" || fn.Topic() != "application-events" || fn.Limits.Memory != "128Mi" ||
		fn.Labels["com.openfaas.scale.min"] != "1" || fn.Secrets[0] != "staff-jwt-secret" || fn.BuildArgs["GO111MODULE"] != "on" {
		t.Fatalf("function decoded wrong: %+v", fn)
	}
	env, err := st.Env(fn)
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "from-file" || env["B"] != "inline" {
		t.Fatalf("Env = %v, want inline to win over environment_file", env)
	}
	d, err := stackfile.Timeout(env, "exec_timeout", time.Second)
	if err != nil || d != 45*time.Second {
		t.Fatalf("exec_timeout = %v, %v", d, err)
	}
	if got := st.HandlerDir(fn); got != filepath.Join(dir, "functions", "procedures") {
		t.Fatalf("HandlerDir = %s", got)
	}
}

func TestFunctionNames_sorted(t *testing.T) {
	st := &stackfile.Stack{Functions: map[string]stackfile.Function{"b": {}, "c": {}, "a": {}}}
	if got := strings.Join(st.FunctionNames(), ","); got != "a,b,c" {
		t.Fatalf("FunctionNames = %s", got)
	}
}

func TestParse_invalid_stacks_name_the_field(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown_lang_template_folder", func(s string) string { return strings.Replace(s, "lang: motcua-go", "lang: golang-http", 1) },
			[]string{"functions.procedures.lang", "golang-http"}},
		{"missing_handler_dir", func(s string) string { return strings.Replace(s, "./functions/procedures", "./functions/nope", 1) },
			[]string{"functions.procedures.handler", "./functions/nope"}},
		{"duplicate_function_names", func(s string) string {
			return s + "  procedures:\n    lang: motcua-go\n    handler: ./functions/procedures\n    image: x\n"
		}, []string{"functions.procedures: duplicate"}},
		{"missing_image", func(s string) string { return strings.Replace(s, "    image: motcua/procedures:latest\n", "", 1) },
			[]string{"functions.procedures.image: required"}},
		{"unknown_field_typo", func(s string) string { return strings.Replace(s, "environment:", "enviroment:", 1) },
			[]string{"enviroment"}},
		{"bad_timeout", func(s string) string { return strings.Replace(s, `exec_timeout: "45"`, "exec_timeout: soon", 1) },
			[]string{"functions.procedures.environment.exec_timeout"}},
		{"wrong_provider", func(s string) string { return strings.Replace(s, "name: openfaas", "name: lambda", 1) },
			[]string{"provider.name"}},
		{"missing_copy_path", func(s string) string { return strings.Replace(s, "[./shared]", "[./shared, ./nothere]", 1) },
			[]string{"configuration.copy[1]"}},
		{"copy_path_outside_repo", func(s string) string { return strings.Replace(s, "[./shared]", "[../etc]", 1) },
			[]string{"configuration.copy[0]"}},
		{"bad_function_name", func(s string) string { return strings.Replace(s, "  procedures:\n", "  Procedures_X:\n", 1) },
			[]string{"functions.Procedures_X: name"}},
		{"missing_environment_file", func(s string) string { return strings.Replace(s, "[env.yml]", "[gone.yml]", 1) },
			[]string{"functions.procedures.environment_file[0]"}},
		{"no_functions", func(s string) string { return s[:strings.Index(s, "functions:")] },
			[]string{"functions: at least one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stackfile.Parse([]byte(tc.edit(good)), repo(t))
			if err == nil {
				t.Fatal("Parse accepted an invalid stack")
			}
			if !errors.Is(err, stackfile.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParse_collects_every_problem(t *testing.T) {
	s := strings.Replace(good, "lang: motcua-go", "lang: nope", 1)
	s = strings.Replace(s, "    image: motcua/procedures:latest\n", "", 1)
	_, err := stackfile.Parse([]byte(s), repo(t))
	if err == nil || !strings.Contains(err.Error(), ".lang") || !strings.Contains(err.Error(), ".image") {
		t.Fatalf("want both lang and image named, got %v", err)
	}
}

func TestLoad_repository_stack(t *testing.T) {
	st, err := stackfile.Load("../../stack.yml")
	if err != nil {
		t.Fatalf("the repository's stack.yml is invalid: %v", err)
	}
	for _, name := range st.FunctionNames() {
		fn, _ := st.Function(name)
		if fn.Lang != "motcua-go" {
			t.Errorf("%s: lang %q, want motcua-go", name, fn.Lang)
		}
		if env, _ := st.Env(fn); env["MOTCUA_BUCKET"] == "" {
			t.Errorf("%s: MOTCUA_BUCKET not set", name)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"go_duration", "30s", 30 * time.Second, true},
		{"whole_seconds", "30", 30 * time.Second, true},
		{"negative", "-1s", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stackfile.ParseTimeout(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseTimeout(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}
