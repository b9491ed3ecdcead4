package buildctx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestContextHash_changes_with_any_file(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n")
	writeFile(t, filepath.Join(dir, "shared", "x.go"), "package x\n")
	a, err := ContextHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ContextHash(dir)
	if a != b {
		t.Fatal("hash of the same context differs")
	}
	writeFile(t, filepath.Join(dir, "shared", "x.go"), "package x // changed\n")
	c, _ := ContextHash(dir)
	if c == a {
		t.Fatal("a changed shared file did not change the hash")
	}
	writeFile(t, filepath.Join(dir, "shared", "y.go"), "package x\n")
	d, _ := ContextHash(dir)
	if d == c {
		t.Fatal("an added file did not change the hash")
	}
}

func TestBuildCached_reuses_an_identical_context_only(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module cachetest\n\ngo 1.22\n")
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { println(\"one\") }\n")
	c := &BinaryCache{dir: filepath.Join(t.TempDir(), "cache")}
	ctx := context.Background()
	hit, err := BuildCached(ctx, c, dir, filepath.Join(t.TempDir(), "a"))
	if err != nil || hit {
		t.Fatalf("first build: hit=%v err=%v, want a real build", hit, err)
	}
	out := filepath.Join(t.TempDir(), "b")
	hit, err = BuildCached(ctx, c, dir, out)
	if err != nil || !hit {
		t.Fatalf("second build of the same context: hit=%v err=%v, want the cached binary", hit, err)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Fatalf("cached binary not executable: %v %v", info, err)
	}
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { println(\"two\") }\n")
	hit, err = BuildCached(ctx, c, dir, filepath.Join(t.TempDir(), "c"))
	if err != nil || hit {
		t.Fatalf("changed context: hit=%v err=%v, want a real build", hit, err)
	}
}
