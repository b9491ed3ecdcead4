package platform

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// fakeGet is a Platform source that fails while err is set and counts calls.
type fakeGet struct {
	p     *Platform
	err   error
	calls int
}

func (f *fakeGet) get() (*Platform, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return f.p, nil
}

func TestLazy_success_is_cached(t *testing.T) {
	src := &fakeGet{p: &Platform{}}
	builds := 0
	deps := lazy(src.get, func(p *Platform) (*int, error) {
		if p != src.p {
			t.Errorf("build got %p, want the platform %p", p, src.p)
		}
		builds++
		v := builds
		return &v, nil
	})
	first, err := deps()
	if err != nil || first == nil || *first != 1 {
		t.Fatalf("first call = %v, %v; want the built value", first, err)
	}
	for range 3 {
		got, err := deps()
		if err != nil || got != first {
			t.Fatalf("later call = %p, %v; want the cached %p", got, err, first)
		}
	}
	if builds != 1 || src.calls != 1 {
		t.Fatalf("built %d times from %d platform look-ups, want 1 and 1", builds, src.calls)
	}
}

func TestLazy_failure_is_retried(t *testing.T) {
	errPlatform := errors.New("platform down")
	errBuild := errors.New("build failed")
	src := &fakeGet{p: &Platform{}, err: errPlatform}
	var buildErr error
	builds := 0
	deps := lazy(src.get, func(*Platform) (string, error) {
		builds++
		if buildErr != nil {
			return "partial", buildErr
		}
		return "ready", nil
	})

	if v, err := deps(); !errors.Is(err, errPlatform) || v != "" || builds != 0 {
		t.Fatalf("platform failure: %q, %v after %d builds; want the error, zero value, no build", v, err, builds)
	}
	src.err, buildErr = nil, errBuild
	if v, err := deps(); !errors.Is(err, errBuild) || v != "" {
		t.Fatalf("build failure: %q, %v; want the error and the zero value", v, err)
	}
	buildErr = nil
	if v, err := deps(); err != nil || v != "ready" {
		t.Fatalf("after recovery: %q, %v; want ready", v, err)
	}
	if v, err := deps(); err != nil || v != "ready" || builds != 2 || src.calls != 3 {
		t.Fatalf("cached: %q, %v after %d builds and %d look-ups; want ready, 2, 3", v, err, builds, src.calls)
	}
}

func TestLazy_concurrent_first_calls_build_once(t *testing.T) {
	src := &fakeGet{p: &Platform{}}
	var builds int // guarded by lazy's own lock: a data race here fails -race
	deps := lazy(src.get, func(*Platform) (*int, error) {
		builds++
		v := builds
		return &v, nil
	})
	const callers = 32
	start := make(chan struct{})
	got := make([]*int, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = deps()
		}()
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("caller %d got %p, %v; want the one value %p", i, got[i], errs[i], got[0])
		}
	}
	if builds != 1 {
		t.Fatalf("built %d times, want 1", builds)
	}
}

func TestLazy_uses_Get(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("MOTCUA_BUCKET", "")
	reset := func() { mu.Lock(); cached = nil; mu.Unlock() }
	reset()
	t.Cleanup(reset)

	_, want := Get() // fails: no bucket configured
	if want == nil {
		t.Fatal("Get succeeded without MOTCUA_BUCKET")
	}
	builds := 0
	deps := Lazy(func(*Platform) (int, error) { builds++; return 1, nil })
	if _, err := deps(); err == nil || err.Error() != want.Error() || builds != 0 {
		t.Fatalf("Lazy with Get failing: %v after %d builds; want Get's error %v and no build", err, builds, want)
	}
}
