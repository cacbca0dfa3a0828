#!/usr/bin/env bash
# Runs each fuzzer of the network-facing parsers for $1 (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-10s}"
for target in \
  "./telephony FuzzVerify" \
  "./telephony/twilio FuzzSignature" \
  "./telephony/asterisk FuzzSession" \
  "./telephony/asterisk FuzzParseReply" \
  "./httpapi FuzzDecodeIncomingCall" \
  "./httpapi FuzzLastEventID" \
  "./httpapi FuzzAuditFilter" \
  "./oidc FuzzFlowCookie" \
  ". FuzzCodeWellFormed" \
  "./demo FuzzParseSessionPointer" \
  "./demo FuzzParseDial"; do
  set -- $target
  echo "== $2 ($1, $t)"
  go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$t"
done
