#!/usr/bin/env bash
# Makes sure what the tests need is on this machine: Go is assumed; a running
# PostgreSQL is installed (Debian package) and started when missing, and so
# are Chromium, Node.js and the front-end projects' packages for the browser
# tests, and Caddy and buildah for the deployment tests. Prints the PostgreSQL URL the tests should use on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${VEILIG_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"

can_connect() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Browser tests: Debian's Chromium (driven by playwright-core, which never
# downloads a browser), Node.js, and each front-end project's packages from
# its lockfile.
if [ ! -x /usr/bin/chromium ]; then
  echo "test-deps: installing Chromium" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "test-deps: installing Node.js and npm" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
fi
# node_modules older than the lockfile (a package was added since) is
# installed again.
for lock in web/*/package-lock.json; do
  dir=$(dirname "$lock")
  installed="$dir/node_modules/.package-lock.json"
  if grep -q '"node_modules/' "$lock" && { [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; }; then
    echo "test-deps: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund >&2)
  fi
done

# The deployment tests: Caddy runs deploy/compose's Caddyfile in front of
# local processes, buildah builds its images (internal/cluster).
if ! command -v caddy >/dev/null 2>&1 || ! command -v buildah >/dev/null 2>&1; then
  echo "test-deps: installing Caddy and buildah" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy buildah >&2
fi

# The docs' shell examples run as written (docs/telephony-api.md's signing).
if ! command -v xxd >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  echo "test-deps: installing xxd, openssl and curl" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xxd openssl curl >&2
fi

if ! command -v psql >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "test-deps: installing PostgreSQL" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

if ! can_connect "$url"; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    echo "test-deps: starting PostgreSQL $ver" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
  fi
fi

if ! can_connect "$url"; then
  # A fresh Debian cluster asks a password over TCP: give the tests one.
  echo "test-deps: setting a password for the postgres role" >&2
  as_root su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\"" >&2
  url="postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"
fi

if ! can_connect "$url"; then
  echo "test-deps: cannot reach PostgreSQL at 127.0.0.1:5432" >&2
  exit 1
fi
echo "$url"
