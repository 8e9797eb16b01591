#!/usr/bin/env bash
# Folder ZIP benchmark on a private release stack (bench/zip.py): a folder of BENCH_ZIP_MIB (2048)
# MiB in 8 files (and a few small files and empty folders) downloaded as one ZIP
# (GET /v1/folders/{id}/zip), BENCH_RUNS (2) times: MB/s against downloading the same files one by
# one with GET /v1/files/{id}/content, and the gateway's resident memory before and at its peak
# during the ZIP (sampled every 50 ms from /proc): flat memory means the archive streams. The ZIP
# is checked with `unzip -tq` once.
#
# Usage: bench/zip.sh [--bin-dir DIR]   (default: a release build)
# Results: bench/results/<date>-zip-<commit>.txt for release binaries; printed only otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/zip.sh [--bin-dir DIR])" ;;
  esac
done
"$CIRRUS_ROOT/infra/lib/prereqs.sh"
bench_binaries "$BIN_DIR"

mkdir -p "$CIRRUS_LOCAL"
DIR="$(mktemp -d "$CIRRUS_LOCAL/bench-zip.XXXXXX")"
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
"$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/bench/zip.py" "http://127.0.0.1:$GW_PORT" --stack "$DIR" \
  --mib "${BENCH_ZIP_MIB:-2048}" --runs "${BENCH_RUNS:-2}" | tee "$report"

bench_keep_results zip "$report"
