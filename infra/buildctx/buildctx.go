// Package buildctx assembles a function's build context exactly as faas-cli
// does and compiles it with the local Go toolchain, so that "faas-cli build"
// working is proven by a plain go test, without Docker.
//
// A build context is: the files of template/<lang>/, then the handler folder
// copied to function/, then each configuration.copy path of the stack file
// copied at its relative path (later copies overwrite earlier files, so the
// repository's go.mod replaces the template's placeholder).
package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"motcua/infra/stackfile"
)

// ErrUnknownFunction means the function is not in the stack file.
var ErrUnknownFunction = errors.New("buildctx: unknown function")

// Assemble writes the build context of function fn into dst (which is
// emptied first). Template, handler and copy paths resolve against repoRoot
// (the folder faas-cli would run in); an empty repoRoot means st.Dir.
func Assemble(repoRoot string, st *stackfile.Stack, fn string, dst string) error {
	f, ok := st.Function(fn)
	if !ok {
		return fmt.Errorf("assemble %q: %w", fn, ErrUnknownFunction)
	}
	if repoRoot == "" {
		repoRoot = st.Dir
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return fmt.Errorf("assemble %s: %w", fn, err)
	}
	dst, err = filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("assemble %s: %w", fn, err)
	}
	if err := checkDst(root, dst); err != nil {
		return fmt.Errorf("assemble %s: %w", fn, err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("assemble %s: clean %s: %w", fn, dst, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("assemble %s: %w", fn, err)
	}
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, filepath.FromSlash(p))
	}
	tmpl := filepath.Join(root, "template", f.Lang)
	if err := copyTree(tmpl, dst); err != nil {
		return fmt.Errorf("assemble %s: template %s: %w", fn, f.Lang, err)
	}
	if err := copyTree(rel(f.Handler), filepath.Join(dst, "function")); err != nil {
		return fmt.Errorf("assemble %s: handler %s: %w", fn, f.Handler, err)
	}
	for _, c := range st.Configuration.Copy {
		clean := filepath.Clean(filepath.FromSlash(c))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return fmt.Errorf("assemble %s: copy path %q leaves the repository", fn, c)
		}
		if err := copyPath(rel(c), filepath.Join(dst, clean)); err != nil {
			return fmt.Errorf("assemble %s: copy %s: %w", fn, c, err)
		}
	}
	return nil
}

// checkDst refuses destinations that would wipe the repository.
func checkDst(root, dst string) error {
	if dst == string(filepath.Separator) || dst == root {
		return fmt.Errorf("refusing build context at %s", dst)
	}
	if r, err := filepath.Rel(dst, root); err == nil && !strings.HasPrefix(r, "..") {
		return fmt.Errorf("refusing build context at %s: it contains the repository", dst)
	}
	return nil
}

// copyPath copies a file or a folder to dst.
func copyPath(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return copyTree(src, dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyFile(src, dst, fi.Mode().Perm())
}

// copyTree copies the folder src into dst, following symbolic links.
func copyTree(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", src)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, r)
		info, err := os.Stat(p) // follow links
		if err != nil {
			return err
		}
		if info.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 {
				return copyTree(p, target)
			}
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil // sockets, devices: never part of a build context
		}
		return copyFile(p, target, info.Mode().Perm())
	})
}

func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm|0o200)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// goEnv is the environment of the go command: the caller's (so GOPROXY and
// the module cache are the user's: a warm cache builds offline, a fresh
// machine fetches what go.sum pins, as the image build would), plus
// settings that keep the build reproducible.
func goEnv() []string {
	return append(os.Environ(),
		"GOFLAGS=-mod=mod -buildvcs=false",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"CGO_ENABLED=0",
	)
}

// Build compiles the build context in contextDir into outBinary with
// `go build` (the Dockerfile's build step), using only the module cache.
// The error carries the compiler's output.
func Build(ctx context.Context, contextDir, outBinary string) error {
	out, err := filepath.Abs(outBinary)
	if err != nil {
		return fmt.Errorf("build %s: %w", contextDir, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("build %s: %w", contextDir, err)
	}
	return runGo(ctx, contextDir, "build", "-trimpath", "-o", out, ".")
}

// Test runs the function's own tests in the build context (the Dockerfile's
// `go test ./function/...` step).
func Test(ctx context.Context, contextDir string) error {
	return runGo(ctx, contextDir, "test", "./function/...")
}

func runGo(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, output)
	}
	return nil
}
