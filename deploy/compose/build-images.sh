#!/usr/bin/env bash
# Builds the two images compose.yaml runs, without pulling anything: the
# binaries are built here, static, and copied onto scratch.
#
#   deploy/compose/build-images.sh                 # with docker
#   BUILDER=buildah deploy/compose/build-images.sh # or podman
#
# Images: localhost/veilig:latest and localhost/veilig-yivi:latest.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/deploy/compose/image/out"
builder=${BUILDER:-docker}
mkdir -p "$out"

cd "$root"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/veilig" ./cmd/veilig
# irmago's server CLI at the version this module pins, built in its own
# module (its dependencies are not ours).
irmago=$(go list -m -f '{{.Version}}' github.com/privacybydesign/irmago)
if [ ! -x "$out/yivi" ] || [ "$(cat "$out/yivi.version" 2>/dev/null)" != "$irmago" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && CGO_ENABLED=0 GOBIN="$out" GOFLAGS=-trimpath go install "github.com/privacybydesign/irmago/yivi@$irmago")
  rm -rf "$tmp"
  echo "$irmago" > "$out/yivi.version"
fi
cp /etc/ssl/certs/ca-certificates.crt "$out/ca-certificates.crt"

case "$builder" in
  buildah) build=(buildah ${BUILDAH_FLAGS:-} bud --isolation "${BUILDAH_ISOLATION:-chroot}") ;;
  *) build=("$builder" build) ;;
esac
"${build[@]}" -f deploy/compose/Dockerfile --target yivi -t localhost/veilig-yivi:latest .
"${build[@]}" -f deploy/compose/Dockerfile -t localhost/veilig:latest .
