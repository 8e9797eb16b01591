#!/usr/bin/env bash
# Auth benchmarks: logins (bcrypt verifications) and access-token verifications per second
# on one core. Builds the benchmark in release mode, pins it to CPU 0 with taskset, runs it
# BENCH_RUNS times (default 3) and prints each run's table; quote the median.
# Usage: bench/auth.sh   (BENCH_SECONDS=3 per measure; CIRRUS_BENCH_AUTH_BIN=PATH uses a built
# cirrus-bench-auth instead of building, as bench/run does)
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/infra/lib/prereqs.sh"
if [[ -n "${CIRRUS_BENCH_AUTH_BIN:-}" ]]; then
  bin="$CIRRUS_BENCH_AUTH_BIN"
else
  echo "building the benchmark (release; the first time takes several minutes)" >&2
  swift build -c release --product cirrus-bench-auth 2>&1 | grep -E "error|Compiling|Build" | grep -vE "^\[" >&2 || true
  bin="$(swift build -c release --show-bin-path)/cirrus-bench-auth"
fi
[[ -x "$bin" ]] || { echo "build failed" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
for run in $(seq 1 "${BENCH_RUNS:-3}"); do
  echo; echo "run $run"
  taskset -c 0 "$bin"
done
