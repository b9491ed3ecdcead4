package buildctx_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua/infra/buildctx"
	"motcua/infra/buildctx/buildctxtest"
	"motcua/infra/stackfile"
)

func TestAssemble_layout_matches_faas_cli(t *testing.T) {
	stackPath := buildctxtest.NewRepo(t, buildctxtest.Func{Name: "tiny"})
	st, err := stackfile.Load(stackPath)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "ctx")
	// A stale file from an earlier build must disappear.
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "stale.go"), []byte("package main\nbroken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := buildctx.Assemble(filepath.Dir(stackPath), st, "tiny", dst); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"main.go", "Dockerfile", "template.yml", "function/handler.go", "go.sum"} {
		if _, err := os.Stat(filepath.Join(dst, p)); err != nil {
			t.Errorf("build context lacks %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "stale.go")); !os.IsNotExist(err) {
		t.Errorf("stale file kept in build context: %v", err)
	}
	gomod, err := os.ReadFile(filepath.Join(dst, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(filepath.Join(filepath.Dir(stackPath), "go.mod")); string(gomod) != string(want) {
		t.Errorf("go.mod in context is not the repository's (copy must overwrite the template placeholder)")
	}
}

func TestAssemble_errors(t *testing.T) {
	stackPath := buildctxtest.NewRepo(t, buildctxtest.Func{Name: "tiny"})
	st, err := stackfile.Load(stackPath)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(stackPath)
	cases := []struct {
		name string
		fn   string
		dst  string
	}{
		{"unknown_function", "nope", filepath.Join(t.TempDir(), "x")},
		{"dst_is_repo_root", "tiny", root},
		{"dst_contains_repo", "tiny", filepath.Dir(root)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := buildctx.Assemble(root, st, tc.fn, tc.dst); err == nil {
				t.Fatal("Assemble succeeded")
			}
			if _, err := os.Stat(stackPath); err != nil {
				t.Fatalf("repository damaged: %v", err)
			}
		})
	}
}

func TestBuild_reports_compile_errors(t *testing.T) {
	stackPath := buildctxtest.NewRepo(t, buildctxtest.Func{Name: "broken", Source: "package function\n\nfunc Handle( {\n"})
	st, err := stackfile.Load(stackPath)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "ctx")
	if err := buildctx.Assemble("", st, "broken", dst); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := buildctx.Build(ctx, dst, filepath.Join(t.TempDir(), "bin")); err == nil {
		t.Fatal("Build of a broken handler succeeded")
	}
}

// TestRepositoryStack_every_function_builds is the proof that `faas-cli build`
// would work: every function of the repository's stack.yml is assembled like
// faas-cli does and compiled. A function whose folder is missing fails.
func TestRepositoryStack_every_function_builds(t *testing.T) {
	root := buildctxtest.RepoRoot(t)
	st, err := stackfile.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		t.Fatalf("stack.yml: %v", err)
	}
	for _, name := range st.FunctionNames() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := buildctx.Assemble(root, st, name, filepath.Join(dir, "ctx")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := buildctx.Build(ctx, filepath.Join(dir, "ctx"), filepath.Join(dir, "handler")); err != nil {
				t.Fatal(err)
			}
		})
	}
}
