# PM Assistant — one binary, one data file.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X github.com/pmassist/pmassist.Version=$(VERSION) -X github.com/pmassist/pmassist.Commit=$(COMMIT)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)

BENCHFLAGS ?=

.PHONY: build run demo test lint clean bench bench-quick bench-full bench-full-quick soak

## build: a static binary at bin/pmassist (the same command the Dockerfile runs)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/pmassist ./cmd/pmassist

## run: build and serve on :8080 with data in ./data
run: build
	./bin/pmassist serve

## demo: build and run the demo — built-in Slack/Linear/GitHub stand-ins with a
## seeded week, data in ./demo-data (never ./data); prints the URL and a login
demo: build
	./bin/pmassist demo

## test: lint, then every test with the race detector
test: lint
	$(GO) test -race -count=1 ./...

## lint: gofmt, go vet and staticcheck must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## fuzz: every fuzz target for FUZZTIME each (default 10s), one after another
## (go test fuzzes one target of one package at a time), on one worker; the
## seeds in each package's testdata/fuzz/ also run in `make test`. A failure
## leaves the input in testdata/fuzz/<target>/: keep it as a seed. Go 1.26's
## coordinator can fail a clean run at its deadline with a bare "context
## deadline exceeded" (go.dev/issue/75804, fixed in Go 1.27): such a run,
## which wrote no input, is reported and passed over.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./integrations/slack:FuzzWebhook ./integrations/linear:FuzzWebhook \
	./integrations/github:FuzzWebhook ./integrations/stripe:FuzzParseWebhook \
	./store/search:FuzzParseQuery ./workflows:FuzzDetect ./workflows:FuzzDetectItem \
	./store:FuzzVaultOpen ./store:FuzzParseKeyring .:FuzzTenantConfig \
	./cmd/pmassist:FuzzServeSettings ./internal/mail:FuzzParse
.PHONY: fuzz
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t#*:}; \
	  echo "$(GO) test -run='^$$' -fuzz='^$$name$$' -fuzztime=$(FUZZTIME) -parallel=1 $$pkg"; \
	  if $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg >$$log 2>&1; then \
	    tail -n 2 $$log; \
	  elif tail -n 4 $$log | grep -qx '    context deadline exceeded' && ! grep -q 'Failing input\|seed corpus entry' $$log; then \
	    tail -n 6 $$log; echo "fuzz: $$name ran its time and found nothing (go.dev/issue/75804)"; \
	  else \
	    cat $$log; exit 1; \
	  fi; \
	done

## bench: the benchmark harness at full size (spec/performance.md), figures 1–6:
## one table on stdout, figures beside their baselines;
## BENCHFLAGS="-json FILE -cpuprofile FILE"
bench:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench $(BENCHFLAGS)

## bench-quick: the same at 1/10 size, in under a minute
bench-quick:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench -quick $(BENCHFLAGS)

## bench-full: every figure, with 7 (growth: figures 1 and 2 at 10k, 100k and
## 1M items; about 9 minutes on 2 cores); bench-full-quick at 1/10
bench-full:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench -figures all $(BENCHFLAGS)

bench-full-quick:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench -quick -figures all $(BENCHFLAGS)

## soak: the soak run (cmd/pmassist-soak): 100 tenants ingesting on a short
## schedule while users search, 2 minutes measured, loopback only; exits 1
## when a rule fails (errors, failed jobs, goroutine or heap growth).
## SOAKFLAGS="-duration 10m -tenants 50 -v"
SOAKFLAGS ?=
soak:
	$(GO) build -o bin/pmassist-soak ./cmd/pmassist-soak
	./bin/pmassist-soak $(SOAKFLAGS)

clean:
	rm -rf bin
