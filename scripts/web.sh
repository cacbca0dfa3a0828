#!/usr/bin/env bash
# Builds every front-end project, web/<project>/package.json, into
# web/dist/<project>/ (committed, so `go build` needs no Node). Dependencies
# come from each project's lockfile (npm ci) when node_modules is missing or
# older than the lockfile.
# With --check it then fails if the result differs from what is committed:
# CI's proof that the committed bundles are what the sources and lockfiles
# build.
set -euo pipefail
cd "$(dirname "$0")/.."

for pkg in web/*/package.json; do
  dir=$(dirname "$pkg")
  echo "== build $dir"
  installed="$dir/node_modules/.package-lock.json"
  if grep -q '"node_modules/' "$dir/package-lock.json" 2>/dev/null && { [ ! -f "$installed" ] || [ "$dir/package-lock.json" -nt "$installed" ]; }; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
  (cd "$dir" && npm run --silent build)
done

if [ "${1:-}" = "--check" ]; then
  echo "== web/dist matches the committed bundles"
  if ! git diff --exit-code --stat -- web/dist || [ -n "$(git status --porcelain -- web/dist)" ]; then
    git status --short -- web/dist
    echo "web/dist differs from what the sources and lockfiles build: run make web and commit web/dist" >&2
    exit 1
  fi
fi
