SHELL := /bin/bash
# motcua — the two commands a newcomer needs: `make run` and `make test`.
# Both need nothing but Go (no Docker, no LocalStack, no network beyond the Go
# module proxy for the first build).
GO        ?= go
PKGS      ?= ./...
TEST_FLAGS ?= -count=1 -timeout 15m
FUZZTIME ?= 20s
export GOFLAGS ?= -buildvcs=false

.PHONY: run test test-race vet fmt-check test-localstack localstack-up localstack-down bench fuzz provision tidy-check test-clients test-schemathesis

## run: start the whole local stack (embedded S3+SQS, functions, gateway, connector) in the foreground
run:
	$(GO) mod download
	$(GO) run ./cmd/motcua-local

## test: unit, contract and end-to-end tests against the embedded servers
test: fmt-check vet
	$(GO) test $(TEST_FLAGS) $(PKGS)

## test-race: the same with the race detector (slower)
test-race:
	$(GO) test -race $(TEST_FLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

## fmt-check: gofmt, as the function image build enforces it
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.build/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## localstack-up / localstack-down: LocalStack on the host from PyPI (needs Python >= 3.13)
localstack-up:
	bash localstack/start-host.sh
localstack-down:
	bash localstack/stop-host.sh

## test-localstack: the same contract suites against LocalStack (started here if not running)
## LOCALSTACK_ADDR moves it off 127.0.0.1:4566 (the start scripts honour it too).
export LOCALSTACK_ADDR ?= 127.0.0.1:4566
LOCALSTACK_ENV = AWS_ENDPOINT_URL=http://$(LOCALSTACK_ADDR) AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
test-localstack:
	@started=0; \
	if ! curl -sf http://$(LOCALSTACK_ADDR)/_localstack/health 2>/dev/null | grep -q "\"version\""; then \
	  bash localstack/start-host.sh; rc=$$?; \
	  if [ $$rc = 3 ]; then bash localstack/start-moto.sh || exit 1; elif [ $$rc != 0 ]; then exit $$rc; fi; started=1; \
	fi; \
	$(LOCALSTACK_ENV) $(GO) test -tags localstack -count=1 -run 'LocalStack|localstack' -v ./shared/... ./infra/... 2>&1 | tee .localstack-test.log | grep -E '^(=== RUN|--- |ok|FAIL|PASS)' ; \
	rc=$${PIPESTATUS[0]}; [ $$started = 1 ] && bash localstack/stop-host.sh; exit $$rc

## bench: the measurements quoted in the README (one run, ratios against baselines in the same run)
bench:
	$(GO) run ./cmd/motcua-bench

## fuzz: a short run of every fuzz target
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## provision: create buckets and queues on whatever AWS_ENDPOINT_URL / AWS account the environment names
provision:
	$(GO) run ./cmd/motcua-provision

## test-clients: a non-Go client (boto3, as in the AWS CLI) against the embedded edge
## MOTCUA_CLIENTS_EDGE_ADDR / MOTCUA_CLIENTS_GATEWAY_ADDR move it (default 127.0.0.1:4599 / 127.0.0.1:8099).
test-clients:
	bash tests/clients/run.sh

## test-schemathesis: fuzz every operation of api/openapi.yaml against the local stack (PyPI schemathesis, all checks)
test-schemathesis:
	bash tests/schemathesis/run.sh
