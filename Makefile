# Veilig Contact. `make run` starts everything on embedded defaults;
# `make test` installs what the tests need when missing and runs them all.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build run test test-deps vet fmt-check fuzz bench web clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/veilig ./cmd/veilig

run: build
	./bin/veilig serve

test:
	./scripts/test.sh

test-deps:
	./scripts/test-deps.sh

# Builds every front-end project (web/*/package.json) from its lockfile into
# web/dist/<project>/, which is committed: `go build` needs no Node.
web:
	./scripts/web.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi

# Measures a local three-replica cluster and rewrites docs/benchmarks.md
# (a few minutes; run it on a quiet machine), keeping its hand-written part.
# Production-size (2048-bit) issuer keys: the first run generates them
# (a minute or a few) into the user cache. BENCHFLAGS=-short for seconds.
BENCHFLAGS ?= -key-bits 2048
bench:
	$(GO) run ./cmd/veilig-bench -out docs/benchmarks.md $(BENCHFLAGS)

# A short run of every fuzzer; FUZZTIME=5m for a longer one.
FUZZTIME ?= 10s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
