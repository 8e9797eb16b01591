#!/usr/bin/env bash
# WebDAV benchmark on a private release stack (bench/webdav.py):
#   1. PROPFIND Depth: 1 of a folder of 1,000 files (BENCH_DAV_ITEMS) with the properties a file
#      manager asks for, wrk -t2 -c16 for 8 s: req/s and latency, against the JSON API's listing
#      of the same 1,000 children (GET /v1/folders/{id}/children?limit=1000); and a Depth: 0
#      PROPFIND of one file, the "stat" clients send most.
#   2. A 1 GiB file (BENCH_DAV_MIB) up and down with rclone (webdav remote) and with the JSON API
#      (one raw POST, one GET), BENCH_RUNS (2) times each: MB/s, medians, and their ratios.
#
# Usage: bench/webdav.sh [--bin-dir DIR]   (default: a release build)
# Results: bench/results/<date>-webdav-<commit>.txt for release binaries; printed only otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/webdav.sh [--bin-dir DIR])" ;;
  esac
done
"$CIRRUS_ROOT/infra/lib/prereqs.sh"
bench_binaries "$BIN_DIR"

mkdir -p "$CIRRUS_LOCAL"
DIR="$(mktemp -d "$CIRRUS_LOCAL/bench-webdav.XXXXXX")"
cleanup() {
  bench_stack_stop "$DIR" || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a private stack of $BIN_DIR"
bench_stack_start "$DIR" "$BIN_DIR"
log "stack up on 127.0.0.1:$GW_PORT"

report="$DIR/report.txt"
"$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/bench/webdav.py" "http://127.0.0.1:$GW_PORT" --stack "$DIR" \
  --items "${BENCH_DAV_ITEMS:-1000}" --mib "${BENCH_DAV_MIB:-1024}" --runs "${BENCH_RUNS:-2}" | tee "$report"

bench_keep_results webdav "$report"
