#!/usr/bin/env bash
# `make test`: checks formatting and vet, installs the test dependencies when
# missing, then runs every test, the PostgreSQL ones included.
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

echo "== go test"
mkdir -p artifacts
go test -count=1 -timeout 25m ./... 2>&1 | tee artifacts/go-test.log
