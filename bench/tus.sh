#!/usr/bin/env bash
# Resumable (tus) upload benchmark on a private release stack:
#   1. local disk: a 1 GiB file (BENCH_TUS_MIB) uploaded through the gateway as one request
#      (POST /v1/files, raw body) and as a tus upload in 8 MiB PATCHes (sequential, as tus
#      clients send them), alternating, BENCH_RUNS (2) times each: MB/s (10^6 bytes/s) of each,
#      the median, and tus / single-request.
#   2. S3 (the S3 test server, blob restarted on it): the final step — the 1-byte PATCH that
#      completes an upload whose other bytes are in (remainder part, CompleteMultipartUpload,
#      registration, metadata's completion) — for 100 MiB and 1 GiB uploads, 3 times each:
#      constant whatever the size, because no byte is read back or copied.
#   3. What recomputing the running SHA-256 from staged bytes on resume would cost (hashing the
#      1 GiB file from the page cache), against the 113 bytes blob persists per PATCH instead.
# Every upload is checked (size and SHA-256 of the stored file).
#
# Usage: bench/tus.sh [--bin-dir DIR]   (default: a release build; BENCH_RUNS=2, BENCH_TUS_MIB=1024)
# Results: bench/results/<date>-tus-<commit>.txt for release binaries; printed only otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/tus.sh [--bin-dir DIR])" ;;
  esac
done
"$CIRRUS_ROOT/infra/lib/prereqs.sh"
bench_binaries "$BIN_DIR"

mkdir -p "$CIRRUS_LOCAL"
DIR="$(mktemp -d "$CIRRUS_LOCAL/bench-tus.XXXXXX")"
S3_PID=""
cleanup() {
  bench_stack_stop "$DIR" || true
  [[ -n "$S3_PID" ]] && stop_pid "$S3_PID" 5
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

S3_PORT="$(free_port)"
"$CIRRUS_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$DIR/s3.log" 2>&1 &
S3_PID=$!
wait_for "the S3 test server" 30 port_open "$S3_PORT" || die "moto_server did not start"

log "starting a private stack of $BIN_DIR"
bench_stack_start "$DIR" "$BIN_DIR"
log "stack up on 127.0.0.1:$GW_PORT"

report="$DIR/report.txt"
CIRRUS_LOCAL="$DIR" CIRRUS_LOCAL_GATEWAY_PORT="$GW_PORT" CIRRUS_LOCAL_PG_PORT="$PG_PORT" CIRRUS_LOCAL_BROKER_PORT="$BROKER_PORT" \
  CIRRUS_BIN_DIR="$BIN_DIR" "$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/bench/tus.py" "http://127.0.0.1:$GW_PORT" \
  --stack "$DIR" --infra-run "$CIRRUS_ROOT/infra/run" --s3 "http://127.0.0.1:$S3_PORT" \
  --mib "${BENCH_TUS_MIB:-1024}" --runs "${BENCH_RUNS:-2}" | tee "$report"

bench_keep_results tus "$report"
