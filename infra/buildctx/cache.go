package buildctx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// EnvBinaryCache names the environment variable that moves the binary cache
// (default: the user cache folder's motcua/functions; "off" disables it).
const EnvBinaryCache = "MOTCUA_BINARY_CACHE"

// BinaryCache keeps compiled function binaries by the hash of their build
// context, so the local stack, the test packages that start it and the
// benchmarks build each distinct function once per machine instead of once
// per start: twenty functions linked again and again by every whole-stack
// test dominated `make test`. A binary is reused only when every file of
// its build context (handler, shared/, go.mod, go.sum, template) and the Go
// version, OS and architecture are byte-for-byte the same, so a stale
// binary cannot be picked. Safe for concurrent use by several processes:
// entries are written to a temporary file and renamed into place.
type BinaryCache struct {
	dir string
}

// DefaultBinaryCache returns the cache named by EnvBinaryCache, or the user
// cache folder's motcua/functions; nil when disabled or no folder exists.
func DefaultBinaryCache() *BinaryCache {
	dir := os.Getenv(EnvBinaryCache)
	if dir == "off" {
		return nil
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil
		}
		dir = filepath.Join(base, "motcua", "functions")
	}
	return &BinaryCache{dir: dir}
}

// ContextHash is the SHA-256 over every regular file of the build context
// in contextDir (relative path, mode and contents, in path order) plus the
// Go version, OS and architecture the binary is built with.
func ContextHash(contextDir string) (string, error) {
	var files []string
	err := filepath.WalkDir(contextDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash build context %s: %w", contextDir, err)
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, p := range files {
		rel, _ := filepath.Rel(contextDir, p)
		info, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %o %d\n", filepath.ToSlash(rel), info.Mode().Perm(), info.Size())
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BuildCached builds contextDir into outBinary, reusing the binary of an
// identical build context from c (nil c: always build). It reports whether
// the binary came from the cache.
func BuildCached(ctx context.Context, c *BinaryCache, contextDir, outBinary string) (bool, error) {
	if c == nil {
		return false, Build(ctx, contextDir, outBinary)
	}
	sum, err := ContextHash(contextDir)
	if err != nil {
		return false, err
	}
	cached := filepath.Join(c.dir, sum[:2], sum)
	if err := copyExecutable(cached, outBinary); err == nil {
		return true, nil
	}
	if err := Build(ctx, contextDir, outBinary); err != nil {
		return false, err
	}
	// Best effort: a full disk or a read-only cache only costs a rebuild.
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err == nil {
		tmp := fmt.Sprintf("%s.tmp-%d", cached, os.Getpid())
		if copyExecutable(outBinary, tmp) == nil {
			_ = os.Rename(tmp, cached)
		}
		_ = os.Remove(tmp)
	}
	return false, nil
}

// copyExecutable copies src to dst (replacing it) with mode 0755.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".part"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
