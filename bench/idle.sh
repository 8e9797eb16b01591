#!/usr/bin/env bash
# bench/idle.sh — what an idle stack costs: CPU of each service (and PostgreSQL) over a
# quiet minute, as a percentage of one core.
#
# An idle stack still works: outbox relays poll for events they were not told about
# (CIRRUS_OUTBOX_POLL_INTERVAL_MS), consumers long-poll the broker (fetch.wait.max.ms),
# reconcilers, collectors and samplers wake on their timers. This measures that floor, so a
# setting that buys latency with polling shows its price.
#
# Usage: bench/idle.sh [--bin-dir DIR] [--seconds N]   (default: release build, 60 s)
# Environment is passed to the stack, so a setting can be compared:
#   CIRRUS_OUTBOX_POLL_INTERVAL_MS=100 bench/idle.sh --bin-dir .build/release
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

SECONDS_IDLE=60
BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --seconds) SECONDS_IDLE="${2:?--seconds needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/idle.sh [--bin-dir DIR] [--seconds N])" ;;
  esac
done
[[ "$SECONDS_IDLE" =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer"

"$CIRRUS_ROOT/infra/lib/prereqs.sh"
if [[ -z "$BIN_DIR" ]]; then
  log "building the services (release)"
  swift build -c release 2>&1 | grep -E "error:|Build complete" >&2 || true
  BIN_DIR="$(swift build -c release --show-bin-path)"
fi
BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"

mkdir -p "$CIRRUS_LOCAL"
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-idle.XXXXXX")"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  bench_stack_stop "$TMP"
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a private stack in ${TMP#"$CIRRUS_ROOT"/}"
bench_stack_start "$TMP" "$BIN_DIR"

TICK_US=$((1000000 / $(getconf CLK_TCK)))
log "settling 10 s (start-up work), then measuring ${SECONDS_IDLE} s of idleness"
sleep 10
declare -A BEFORE
for s in auth metadata blob thumbnail gateway broker; do BEFORE[$s]="$(cpu_ticks "$(cat "$TMP/run/$s.pid")")"; done
BEFORE[postgres]="$(cpu_ticks $(pg_pids "$TMP"))"
sleep "$SECONDS_IDLE"
echo "idle stack, $(date '+%F %H:%M'), commit $(git rev-parse --short HEAD), binaries $BIN_DIR"
echo "settings: CIRRUS_OUTBOX_POLL_INTERVAL_MS=${CIRRUS_OUTBOX_POLL_INTERVAL_MS:-default}; CPU over ${SECONDS_IDLE} s, % of one core"
total=0
for s in auth metadata blob thumbnail gateway broker postgres; do
  if [[ $s == postgres ]]; then now="$(cpu_ticks $(pg_pids "$TMP"))"; else now="$(cpu_ticks "$(cat "$TMP/run/$s.pid")")"; fi
  used=$(( (now - BEFORE[$s]) * TICK_US ))
  total=$((total + used))
  awk -v s="$s" -v u="$used" -v d="$SECONDS_IDLE" 'BEGIN { printf "  %-10s %5.2f %%\n", s, u / (d * 1e6) * 100 }'
done
awk -v u="$total" -v d="$SECONDS_IDLE" 'BEGIN { printf "  %-10s %5.2f %%\n", "all", u / (d * 1e6) * 100 }'
