# PM Assistant — one binary, one data file.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X github.com/pmassist/pmassist.Version=$(VERSION) -X github.com/pmassist/pmassist.Commit=$(COMMIT)
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/staticcheck)

BENCHFLAGS ?=

.PHONY: build run demo test lint clean bench bench-quick

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

## bench: the benchmark harness at full size (spec/performance.md): one table on
## stdout, figures beside their baselines; BENCHFLAGS="-json FILE -cpuprofile FILE"
bench:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench $(BENCHFLAGS)

## bench-quick: the same at 1/10 size, in under a minute
bench-quick:
	$(GO) build -o bin/pmassist-bench ./cmd/pmassist-bench
	./bin/pmassist-bench -quick $(BENCHFLAGS)

clean:
	rm -rf bin
