#!/usr/bin/env bash
# Tracing benchmarks (issue 20): what tracing costs, off and on.
#   off, in the code   cirrus-bench-tracing (bench/TracingBench) times the helpers every request,
#                      call, transaction and event goes through with CIRRUS_TRACING=off against
#                      the same work done directly: nanoseconds per call, one thread (taskset -c 0).
#   off vs on, a stack the release stack under infra/run --detach (its own CIRRUS_LOCAL in .local/,
#                      free 127.0.0.1 ports; a trap stops it by PID), a user on a tier with the
#                      highest request rate, one small file; then, alternating BENCH_RUNS times:
#                      every service restarted with CIRRUS_TRACING=off, or =otlp exporting to the
#                      tests' OTLP receiver (Tests/api/otlp-receiver.py, which decodes every span),
#                      and wrk -t2 -cBENCH_CONNECTIONS -dBENCH_SECONDS against
#                        get-file  GET /v1/files/{id}      (gateway → metadata: 2 server spans,
#                                                           1 client span, 1 transaction span)
#                        upload    POST /v1/files (1 KiB)  (gateway → metadata → blob → metadata,
#                                                           outbox, Kafka, consumers)
#                      req/s and p50/p99 per mode; the ratio on/off is what exporting costs.
# wrk, the five services, PostgreSQL, the broker and the receiver share this machine's cores:
# the figures are the whole system's. Non-2xx answers must be zero (exit 1 otherwise).
#
# Usage: bench/tracing.sh [--bin-dir DIR]   (BENCH_RUNS=2, BENCH_SECONDS=8, BENCH_CONNECTIONS=16,
#        BENCH_ITERATIONS=5000000 for the micro-benchmark)
#   --bin-dir DIR  use DIR's binaries (cirrus-* and cirrus-bench-tracing) without building.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../infra/lib" && pwd)/common.sh"
cd "$CIRRUS_ROOT"
BIN_DIR=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
RUNS="${BENCH_RUNS:-2}" SECONDS_EACH="${BENCH_SECONDS:-8}" CONNECTIONS="${BENCH_CONNECTIONS:-16}"

"$CIRRUS_ROOT/infra/lib/prereqs.sh"
if ! command -v wrk >/dev/null; then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "wrk is missing (Debian package wrk)"
  log "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
if [[ -z "$BIN_DIR" ]]; then
  log "building release binaries (the first time takes many minutes)"
  swift build -c release 2>&1 | grep -E "error:|Build complete" >&2 || true
  BIN_DIR="$(swift build -c release --show-bin-path)"
fi
for b in cirrus-gateway cirrus-auth cirrus-metadata cirrus-blob cirrus-thumbnail cirrus-bench-tracing; do
  [[ -x "$BIN_DIR/$b" ]] || die "$BIN_DIR/$b is missing"
done

echo "# Tracing: cost off and on"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD); binaries $BIN_DIR"
echo
echo "## Off, in the code (one thread)"
taskset -c 0 "$BIN_DIR/cirrus-bench-tracing"

export CIRRUS_VENV  # the main venv (broker, receiver), shared with the throw-away stack below
mkdir -p "$CIRRUS_LOCAL"
STACK="$(mktemp -d "$CIRRUS_LOCAL/bench-tracing.XXXXXX")"
pick_stack_ports
OTLP_PORT="$(free_port)"
export CIRRUS_BIN_DIR="$BIN_DIR"
cleanup() {
  local status=$?
  run_stack stop >/dev/null 2>&1 || true
  stop_pidfile "$STACK/otlp-receiver.pid" 5
  rm -rf "$STACK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/Tests/api/otlp-receiver.py" "$OTLP_PORT" "$STACK/spans.jsonl" >"$STACK/otlp-receiver.log" 2>&1 &
echo $! >"$STACK/otlp-receiver.pid"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT"
CIRRUS_TRACING=off run_stack --detach >/dev/null
API="http://127.0.0.1:$GATEWAY_PORT"
password="Bench-tracing-$(random_secret)"
pair="$(stack_admin_with_tier "$API" "$STACK" benchadmin "$password" '{"name":"bench-tracing","thumbnail_sizes":[200],"original_links":true,
  "expiring_links":true,"link_min_seconds":300,"link_max_seconds":30000,"quota_bytes":107374182400,"max_upload_bytes":104857600,
  "requests_per_minute":1000000}')" || die "could not set up the administrator and the tier"
admin="${pair% *}" tier="${pair#* }"
stack_user_on_tier "$API" "$admin" "$tier" benchtracer "$password" >/dev/null || die "could not set up the user"
token() { post POST /v1/auth/login "{\"login\":\"benchtracer\",\"password\":\"$password\"}" | json 'd["access_token"]'; }
user="$(token)"
root="$(curl -fsS "$API/v1/folders/root" -H "Authorization: Bearer $user" | json 'd["id"]')"
file="$(curl -fsS -X POST "$API/v1/files?folder_id=$root&name=bench.txt" -H "Authorization: Bearer $user" \
  -H 'Content-Type: application/octet-stream' --data-binary 'tracing bench' | json 'd["id"]')"
head -c 1024 /dev/urandom >"$STACK/upload.bin"
upload_script() {  # a wrk script uploading 1 KiB files named uniquely per measurement ($1) and thread
  cat >"$STACK/upload-$1.lua" <<LUA
local common = dofile("$CIRRUS_ROOT/bench/wrk/common.lua")
local f = assert(io.open("$STACK/upload.bin", "rb")); local body = f:read("*a"); f:close()
setup = common.setup
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/files?folder_id=$root&name=u-$1-" .. thread_number .. "-" .. n .. ".bin", nil, body)
end
done = common.report
LUA
  echo "$STACK/upload-$1.lua"
}

restart_all() {
  for s in auth metadata blob thumbnail gateway; do CIRRUS_TRACING="$1" OTEL_BSP_SCHEDULE_DELAY=1000 run_stack restart "$s" >/dev/null; done
}
measure() {  # mode target -> "req/s p50_ms p99_ms"
  local mode="$1" target="$2" out
  user="$(token)"
  if [[ $target == get-file ]]; then
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -H "Authorization: Bearer $user" -s "$CIRRUS_ROOT/bench/wrk/get.lua" "$API/v1/files/$file")"
  else
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -H "Authorization: Bearer $user" \
      -H 'Content-Type: application/octet-stream' -s "$(upload_script "$mode-$RANDOM$RANDOM")" "$API")"
  fi
  python3 - "$mode" "$target" <<PY
import re, sys
line = [l for l in """$out""".splitlines() if l.startswith("WRK ")][0]
v = dict(kv.split("=") for kv in line.split()[1:])
errors = sum(int(v[k]) for k in ("non2xx", "connect", "read", "write", "timeout"))
rate = int(v["requests"]) / (int(v["duration_us"]) / 1e6)
print(f"{sys.argv[1]} {sys.argv[2]} {rate:.0f} {int(v['p50_us'])/1000:.1f} {int(v['p99_us'])/1000:.1f} {errors}")
PY
}

results="$STACK/results.txt"
for run in $(seq 1 "$RUNS"); do
  modes=(off otlp); ((run % 2 == 0)) && modes=(otlp off)
  for mode in "${modes[@]}"; do
    restart_all "$mode"
    for target in get-file upload; do measure "$mode" "$target" | tee -a "$results" >&2; done
  done
done
sleep 2
echo
echo "## Off vs on, a whole stack of $BIN_DIR's binaries (wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s, $RUNS runs each, alternating; medians)"
python3 - "$results" "$STACK/spans.jsonl" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
spans = sum(1 for _ in open(sys.argv[2]))
print("| target | off req/s | off p50 / p99 ms | otlp req/s | otlp p50 / p99 ms | on ÷ off |")
print("|---|---|---|---|---|---|")
bad = 0
for target in ("get-file", "upload"):
    cell = {}
    for mode in ("off", "otlp"):
        mine = [r for r in rows if r[0] == mode and r[1] == target]
        bad += sum(int(r[5]) for r in mine)
        cell[mode] = (statistics.median(float(r[2]) for r in mine), statistics.median(float(r[3]) for r in mine),
                      statistics.median(float(r[4]) for r in mine))
    off, on = cell["off"], cell["otlp"]
    print(f"| {target} | {off[0]:.0f} | {off[1]:.1f} / {off[2]:.1f} | {on[0]:.0f} | {on[1]:.1f} / {on[2]:.1f} | {on[0] / off[0]:.2f} |")
print(f"\nspans the receiver decoded: {spans}; errors (non-2xx, socket): {bad}")
sys.exit(1 if bad else 0)
PY
