#!/usr/bin/env bash
# bench/profile.sh — where the CPU goes on the two hottest reads, as `perf` sees it.
#
# Starts a private stack of release binaries (infra/run --detach on free ports, torn down at
# the end), registers a user on a tier with the highest request rate, fills a folder with 50
# files through the API, then for each case loads the gateway with wrk while
# `perf record -g -p PID` samples the gateway and metadata processes:
#
#   list-50    GET /v1/folders/{id}/children?limit=50   (the folder of 50)
#   get-file   GET /v1/files/{id}
#
# (and metadata's PostgreSQL backends, all its pool's connections in one profile: "postgres")
#
# and prints, per case and process, the top frames of `perf report --no-children` (self time,
# symbols only, call chains folded away) with wrk's req/s beside them. The report goes to
# bench/results/<date>-profile-<commit>.txt; docs/performance.md keeps the before and after.
#
# Usage: bench/profile.sh [--bin-dir DIR]   (default: builds and uses .build/release)
# Environment: PROFILE_SECONDS (default 8), PROFILE_CONNECTIONS (16), PROFILE_TOP (frames per process, 25).
# perf is Debian's linux-perf (installed when missing, as root).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

SECONDS_PER="${PROFILE_SECONDS:-8}"
CONNECTIONS="${PROFILE_CONNECTIONS:-16}"
TOP="${PROFILE_TOP:-25}"
BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/profile.sh [--bin-dir DIR])" ;;
  esac
done

"$CIRRUS_ROOT/infra/lib/prereqs.sh"
for tool in wrk:wrk perf:linux-perf; do
  command -v "${tool%%:*}" >/dev/null && continue
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "${tool%%:*} is missing (Debian package ${tool#*:})"
  log "installing ${tool#*:}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null; }
done

SERVICES=(auth metadata blob thumbnail gateway)
if [[ -z "$BIN_DIR" ]]; then
  log "building the services (release)"
  swift build -c release 2>&1 | grep -E "error:|Build complete" >&2 || true
  BIN_DIR="$(swift build -c release --show-bin-path)"
fi
BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
for s in "${SERVICES[@]}"; do [[ -x "$BIN_DIR/cirrus-$s" ]] || die "$BIN_DIR/cirrus-$s is missing (build failed?)"; done
[[ "$BIN_DIR" == */release ]] || warn "$BIN_DIR is not a release build: the profile says little about speed"

mkdir -p "$CIRRUS_LOCAL"
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-profile.XXXXXX")"
WORK="$TMP/bench"; mkdir -p "$WORK"
BG_PIDS=()
cleanup() {
  local status=$? f pid
  trap - EXIT INT TERM
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid" 5; done
  bench_stack_stop "$TMP"
  if [[ $status -ne 0 ]]; then
    for f in "$TMP"/logs/{gateway,metadata}.log; do [[ -s "$f" ]] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }; done
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a private stack in ${TMP#"$CIRRUS_ROOT"/}"
bench_stack_start "$TMP" "$BIN_DIR"
GW="http://127.0.0.1:$GW_PORT"
pid_of() { cat "$TMP/run/$1.pid"; }

JSON=(-H 'Content-Type: application/json')
USERNAME="prof$(random_secret | head -c 8)"; PASSWORD="Profile-$(random_secret)"
call 201 POST "$GW/v1/auth/register" "$WORK/register.json" "${JSON[@]}" \
  -d "{\"username\":\"$USERNAME\",\"email\":\"$USERNAME@example.com\",\"password\":\"$PASSWORD\"}"
OWNER="$(jget "$WORK/register.json" 'd["id"].lower()')"
bench_tier '[200]' >/dev/null
call 200 POST "$GW/v1/auth/login" "$WORK/login.json" "${JSON[@]}" -d "{\"login\":\"$USERNAME\",\"password\":\"$PASSWORD\"}"
AUTH=(-H "Authorization: Bearer $(jget "$WORK/login.json" 'd["access_token"]')")
root_ready() { [[ "$(curl -sS -o "$WORK/root.json" -w '%{http_code}' "${AUTH[@]}" "$GW/v1/folders/root")" == 200 ]]; }
wait_for "the user's root folder" 30 root_ready || die "no root folder"
ROOT="$(jget "$WORK/root.json" 'd["id"]')"
call 201 POST "$GW/v1/folders" "$WORK/folder.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"name\":\"fifty\",\"parent_id\":\"$ROOT\"}"
FOLDER="$(jget "$WORK/folder.json" 'd["id"]')"
log "uploading 50 files"
for i in $(seq 1 50); do
  printf 'file %s of the profile folder\n' "$i" >"$WORK/f.txt"
  call 201 POST "$GW/v1/files?folder_id=$FOLDER&name=file-$i.txt" "$WORK/upload.json" "${AUTH[@]}" -H 'Content-Type: text/plain' \
    -H 'Expect:' --data-binary "@$WORK/f.txt"
done
FILE="$(jget "$WORK/upload.json" 'd["id"]')"

declare -A URL=([list-50]="$GW/v1/folders/$FOLDER/children?limit=50" [get-file]="$GW/v1/files/$FILE")
# Swift symbols, readable (the toolchain's demangler; as they are without it).
demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; else cat; fi; }
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Services Shared Package.swift 2>/dev/null || echo '+changes')"
REPORT="$WORK/report.txt"
{
  echo "profile, $(date '+%F %H:%M'), commit $COMMIT, binaries $BIN_DIR"
  echo "machine: $(nproc) cores; wrk -t2 -c$CONNECTIONS -d${SECONDS_PER}s through the gateway; perf record -g -F 499 -p PID on the gateway and metadata during it"
  echo "frames: perf report --no-children --sort symbol (self: time in the function itself, % of the process's samples), then --children (inclusive: with what it calls; first column inclusive, second self)"
} >"$REPORT"
for case in list-50 get-file; do
  wrk -t2 -c"$CONNECTIONS" -d2s "${AUTH[@]}" "${URL[$case]}" >/dev/null   # warm up
  log "profiling $case (${SECONDS_PER}s)"
  for s in gateway metadata; do
    perf record -q -g -F 499 -o "$WORK/$case-$s.data" -p "$(pid_of "$s")" -- sleep "$SECONDS_PER" >/dev/null 2>&1 &
    BG_PIDS+=($!)
  done
  # And metadata's PostgreSQL backends (its pool's connections, open after the warm-up).
  BACKENDS="$(pgrep -d, -f '^postgres: [^ ]+ metadata ' || true)"
  if [[ -n "$BACKENDS" ]]; then
    perf record -q -g -F 499 -o "$WORK/$case-postgres.data" -p "$BACKENDS" -- sleep "$SECONDS_PER" >/dev/null 2>&1 &
    BG_PIDS+=($!)
  fi
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER}s" --latency "${AUTH[@]}" "${URL[$case]}" >"$WORK/$case-wrk.txt"
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || true; done
  BG_PIDS=()
  {
    echo
    echo "== $case: $(grep -E 'Requests/sec' "$WORK/$case-wrk.txt" | xargs), p50 $(awk '$1 == "50%" {print $2}' "$WORK/$case-wrk.txt"), p99 $(awk '$1 == "99%" {print $2}' "$WORK/$case-wrk.txt"), non-2xx: $(grep -oE 'Non-2xx or 3xx responses: [0-9]+' "$WORK/$case-wrk.txt" | grep -oE '[0-9]+$' || echo 0)"
    for s in gateway metadata postgres; do
      [[ -f "$WORK/$case-$s.data" ]] || continue
      echo "-- $s, self"
      perf report -i "$WORK/$case-$s.data" --no-children --sort symbol --stdio 2>/dev/null | demangle >"$WORK/$case-$s.txt" || true
      grep -E '^ +[0-9.]+%' "$WORK/$case-$s.txt" | sed -E 's/ +\[[.k]\] / /; s/^ +//' | cut -c1-160 | awk -v n="$TOP" 'NR <= n' || true
      echo "-- $s, inclusive (Cirrus's own functions, Foundation's coders and formatters; PostgreSQL's protocol steps)"
      perf report -i "$WORK/$case-$s.data" --children --sort symbol --stdio -g none 2>/dev/null | demangle >"$WORK/$case-$s-children.txt" || true
      grep -E '^ +[0-9.]+%' "$WORK/$case-$s-children.txt" | sed -E 's/ +\[[.k]\] / /; s/^ +//' \
        | grep -E '(Metadata|Gateway|CirrusServiceKit|CirrusContracts|PostgresNIO|AsyncHTTPClient)\.|JSONEncoder|JSONDecoder|[Ff]ormat|NSString|exec_[a-z_]+_message|pg_plan_queries|pg_analyze_and_rewrite|PortalRun|ExecutorRun|printtup|secure_(read|write)' \
        | grep -vE 'closure|thunk|resume' | cut -c1-160 | awk -v n="$TOP" 'NR <= n' || true
    done
  } >>"$REPORT"
done

cat "$REPORT"
mkdir -p "$CIRRUS_ROOT/bench/results"
out="$CIRRUS_ROOT/bench/results/$(date +%F)-profile-${COMMIT/+changes/-with-changes}.txt"
cp "$REPORT" "$out"
log "written to ${out#"$CIRRUS_ROOT"/}"
