package platform

import "sync"

// Lazy returns a function that gives a handler's dependencies, built by
// build from the process's Platform (Get) on the first successful call and
// kept from then on. A failure (of Get or of build) is returned and not
// kept: the next call, i.e. the next request, tries again, so a function
// whose dependencies come up late recovers on its own. The returned
// function is safe for concurrent use; concurrent first calls build once.
//
// A function's handler.go declares it at package level:
//
//	var deps = platform.Lazy(func(p *platform.Platform) (*server, error) { ... })
func Lazy[T any](build func(*Platform) (T, error)) func() (T, error) {
	return lazy(Get, build)
}

// lazy is Lazy with the Platform source injectable for tests.
func lazy[T any](get func() (*Platform, error), build func(*Platform) (T, error)) func() (T, error) {
	var (
		mu    sync.Mutex
		built bool
		value T
	)
	return func() (T, error) {
		mu.Lock()
		defer mu.Unlock()
		if built {
			return value, nil
		}
		var zero T
		p, err := get()
		if err != nil {
			return zero, err
		}
		v, err := build(p)
		if err != nil {
			return zero, err
		}
		value, built = v, true
		return value, nil
	}
}
