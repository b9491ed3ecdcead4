package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/config"
	"motcua/shared/httpx"
	"motcua/shared/logx"
)

// Adapter is a domain's HTTP adapter (application.HTTP, payment.PayHTTP…):
// the one place where a domain's requests are decoded and its errors
// mapped to problems (through httpx.FromError).
type Adapter interface {
	// Serve answers one request; failures are problem responses.
	Serve(ctx context.Context, req handler.Request) handler.Response
}

// AdapterFunc lets a plain function be an Adapter.
type AdapterFunc func(ctx context.Context, req handler.Request) handler.Response

// Serve calls f.
func (f AdapterFunc) Serve(ctx context.Context, req handler.Request) handler.Response {
	return f(ctx, req)
}

// Serve is the function kit: it returns the Handle of a golang-http
// function whose HTTP adapter build makes from the process's Platform. A
// function's handler.go is then wiring only:
//
//	var Handle = platform.Serve(func(p *platform.Platform) (*payment.PayHTTP, error) {
//		…build the service from p…
//		return payment.NewPayHTTP(svc, keeper, p.Log), nil
//	}, http.MethodPost, http.MethodGet)
//
// Each call of the returned function:
//
//   - builds the request context (call id for logs and problems; safe when
//     the request carries no context, as the upstream SDK allows);
//   - answers 405 with Allow for a method not in methods (none: any);
//   - builds the adapter once per process (Lazy: a failure is answered
//     503/500 as a problem and retried on the next request);
//   - recovers a panic into the generic 500 problem, logged with its stack,
//     so the warm process and its other requests live on;
//   - never returns a non-nil error (the template would answer a bare 500).
//
// Serve also makes the masking logger (shared/logx) the process's default
// slog logger, so nothing a function logs, even through slog.Default(),
// bypasses the masking of citizen IDs, phone numbers and secrets.
func Serve[A Adapter](build func(*Platform) (A, error), methods ...string) func(handler.Request) (handler.Response, error) {
	InstallLogger()
	deps := Lazy(build)
	return serve(deps, methods)
}

// ServeRouted is Serve for a function whose operations (sub-paths or
// ?action=) allow different methods: allow names the methods of the
// operation a request asks for, from the request alone. A method outside
// them is answered 405 before any dependency is built, with an Allow header
// naming exactly that operation's methods (as the API document lists them).
func ServeRouted[A Adapter](build func(*Platform) (A, error), allow func(handler.Request) []string) func(handler.Request) (handler.Response, error) {
	InstallLogger()
	return serveAllow(Lazy(build), allow)
}

// serve is Serve with the dependency source injectable for tests.
func serve[A Adapter](deps func() (A, error), methods []string) func(handler.Request) (handler.Response, error) {
	return serveAllow(deps, func(handler.Request) []string { return methods })
}

// serveAllow is ServeRouted with the dependency source injectable for tests.
func serveAllow[A Adapter](deps func() (A, error), allow func(handler.Request) []string) func(handler.Request) (handler.Response, error) {
	return func(req handler.Request) (resp handler.Response, err error) {
		ctx := httpx.RequestContext(req)
		defer func() {
			if r := recover(); r != nil {
				resp, err = httpx.FromError(ctx, slog.Default(), fmt.Errorf("panic: %v\n%s", r, debug.Stack())), nil
			}
		}()
		if methods := allow(req); len(methods) > 0 {
			if p := httpx.AllowMethods(req, methods...); p != nil {
				return httpx.ProblemResponse(p), nil
			}
		}
		a, err := deps()
		if err != nil {
			return httpx.FromError(ctx, slog.Default(), fmt.Errorf("building the function's dependencies: %w", err)), nil
		}
		return a.Serve(ctx, req), nil
	}
}

var (
	installOnce sync.Once
	// logOutput is where the default logger writes (tests replace it).
	logOutput io.Writer = os.Stderr
)

// InstallLogger makes the masking JSON logger (logx.New on stderr, level
// from MOTCUA_LOG_LEVEL) the default slog logger of the process, once.
// Serve and Get call it; commands may too.
func InstallLogger() {
	installOnce.Do(func() {
		level, _ := config.FromEnviron(os.Environ()).Lookup(config.KeyLogLevel)
		slog.SetDefault(logx.New(logOutput, level))
	})
}
