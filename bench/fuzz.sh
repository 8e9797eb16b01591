#!/usr/bin/env bash
# A longer fuzzing run of the public API: the schemathesis check of Tests/api/schemathesis.sh
# (no 5xx, every status documented, every JSON body matching the OpenAPI document) at 500
# examples per operation and phase instead of the test suite's 25, against a throw-away stack
# started by Tests/api/run-on-stack.sh (the five services from prebuilt binaries, their own
# PostgreSQL and broker on free ports under .local/, an "api-check" user; all removed on exit).
# The CLI test, the journeys, the security checks and bad-input are skipped (run-on-stack.sh runs them every time).
#
# Usage: bench/fuzz.sh [--bin-dir DIR] [--max-examples N] [schemathesis run options...]
#   --bin-dir DIR      the cirrus-* binaries (default: $CIRRUS_BIN_DIR; without either, this
#                      builds them in release mode first, like the other benchmarks)
#   --max-examples N   test cases per operation and phase (default 500; CIRRUS_ST_MAX_EXAMPLES)
#   anything else goes to `schemathesis run`, e.g. --seed 1, --max-time 1800,
#   --include-tag Files, --exclude-operation-id login
# e.g. bench/fuzz.sh --bin-dir .build/debug --max-examples 200 --seed 7 --max-time 1200
#
# Access tokens live 24 h on this stack (CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS): a run this
# long outlasts the default 15 minutes, after which every request would only meet 401s.
# Environment of schemathesis.sh applies too (CIRRUS_ST_PHASES, CIRRUS_ST_WORKERS,
# CIRRUS_ST_REPORT_DIR for a JUnit report). Exit status: 0 when every check passed; each
# failure is printed with a curl command that reproduces it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

BIN_DIR="${CIRRUS_BIN_DIR:-}"
MAX_EXAMPLES="${CIRRUS_ST_MAX_EXAMPLES:-500}"
passthrough=()
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --max-examples|-n) MAX_EXAMPLES="${2:?--max-examples needs a number}"; shift 2 ;;
    --max-examples=*) MAX_EXAMPLES="${1#*=}"; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done
[[ "$MAX_EXAMPLES" =~ ^[1-9][0-9]*$ ]] || die "--max-examples wants a positive number, not $MAX_EXAMPLES"

if [[ -z "$BIN_DIR" ]]; then
  log "building the services and the client (release)"
  swift build -c release 2>&1 | grep -E "error|Compiling|Build" | grep -vE "^\[" >&2 || true
  BIN_DIR="$(swift build -c release --show-bin-path)"
fi
BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
for s in gateway auth metadata blob thumbnail; do [[ -x "$BIN_DIR/cirrus-$s" ]] || die "$BIN_DIR/cirrus-$s is missing (build failed?)"; done

log "fuzzing with schemathesis at $MAX_EXAMPLES examples per operation and phase (binaries: $BIN_DIR)"
started=$SECONDS
status=0
CIRRUS_BIN_DIR="$BIN_DIR" CIRRUS_ST_MAX_EXAMPLES="$MAX_EXAMPLES" CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS=86400 \
  CIRRUS_SKIP_CLI_TEST=1 CIRRUS_SKIP_JOURNEY=1 CIRRUS_SKIP_BAD_INPUT=1 CIRRUS_SKIP_SECURITY=1 \
  "$CIRRUS_ROOT/Tests/api/run-on-stack.sh" ${passthrough[@]+"${passthrough[@]}"} || status=$?
log "fuzzing took $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s; exit $status"
exit "$status"
