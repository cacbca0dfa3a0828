#!/usr/bin/env bash
# `make test`: checks formatting and vet, installs the test dependencies when
# missing, checks the committed web bundles, then runs every test, the
# PostgreSQL and browser ones included.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
out=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$out" ]; then echo "gofmt wants to change:"; echo "$out"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== test dependencies"
VEILIG_TEST_POSTGRES_URL=$(./scripts/test-deps.sh | tail -n1)
export VEILIG_TEST_POSTGRES_URL

# The committed front-end bundles must be what the sources and lockfiles
# build (go build embeds them; nobody reviews minified code).
echo "== web bundles"
./scripts/web.sh --check

echo "== go test"
mkdir -p artifacts
go test -count=1 -timeout 25m ./... 2>&1 | tee artifacts/go-test.log

# The benchmark in its short mode (seconds, no thresholds), so the tool
# keeps working; its report is an artifact, docs/benchmarks.md is not touched.
echo "== benchmark (short)"
go run ./cmd/veilig-bench -short -out artifacts/benchmarks-short.md > /dev/null
