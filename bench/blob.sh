#!/usr/bin/env bash
# Blob benchmarks: upload and download throughput of the blob service (local disk store) for
# 1 MiB, 100 MiB and 1 GiB files, against the raw limit of the same machine measured in the
# same run, and the service's peak RSS during the 1 GiB transfers (goal: flat, < 64 MiB above idle).
#
# What it does: builds cirrus-blob in release mode (unless --bin-dir), then starts its own
# throw-away PostgreSQL (fsync on, as in production: blob fsyncs too), broker, static file
# server (nginx; else apt-get install nginx-light when root; else python3 -m http.server, said in
# the output) and blob service, all on free 127.0.0.1 ports under one temporary directory in
# .local/; a trap stops them by PID and removes the directory on any exit.
#   upload    PUT /internal/uploads/<id>, body streamed by `curl -T` with `Expect:` removed (blob
#             answers no `100 Continue`: curl would wait 1 s per upload > 1 MiB), a new owner per
#             transfer so every upload really stores (no dedup); raw = a plain copy of the same
#             file onto the same filesystem with fsync (like `dd conv=fsync`; blob also fsyncs the
#             file, then the directory, and commits a PostgreSQL transaction). Both upload sets
#             start after a `sync`, so earlier writeback does not slow one of them only.
#   download  GET /internal/blobs/<blob_id> to /dev/null; raw = curl of the same file from the
#             static server. Both read from the page cache (the files were just written/read).
# Each transfer set (for uploads: each block of up to 10, taking turns with as many raw copies)
# is one curl process reusing its connection (`--next`); 1 MiB repeats
# BENCH_SMALL_COUNT (30) transfers per run, larger sizes one. A set's time is the sum of curl's
# %{time_total} (request start to last byte; curl's own ~20 ms start-up would be a quarter of a
# 1 MiB set) and the copies are timed inside one python3 process (open, write 1 MiB blocks,
# fsync, close). MB/s = 10^6 bytes/s; the table shows the median over the runs and every run.
# Correctness: every transfer's status and byte count and every upload reply (blob_id, sha256,
# size) are checked, and in run 1 one download per size is compared by SHA-256 with its file
# before that size's downloads are timed; any mismatch stops the run. Stored objects are
# deleted from the store directory after each size (the index keeps their rows; nothing reads
# them again) so disk use stays near 3.5 GiB (with the populated store's directories); at least 4 GiB must be free.
# RSS: /proc/<pid>/status VmRSS sampled every ~50 ms during each 1 GiB upload and download.
# Store: BENCH_STORE=populated (default) makes the local store's 65,536 shard directories
# (objects/xx/yy/blobs: blob's keys are blobs/<uuid>) before blob starts, as they are in any
# store past a few hundred thousand objects; BENCH_STORE=empty starts from an empty store, where
# nearly every upload of the run makes new directories (up to three, each fsynced into its
# parent: docs/performance.md).
#
# Usage: bench/blob.sh [--bin-dir DIR] [--runs N]   (BENCH_RUNS=3, BENCH_SMALL_COUNT=30, BENCH_STORE=populated)
#   --bin-dir DIR  use DIR/cirrus-blob as is, no build. Results go to
#                  bench/results/<date>-blob-<commit>.txt only for release binaries (the default
#                  build, or a DIR ending in /release); for any other DIR (e.g. .build/debug)
#                  the report is printed only: debug figures say nothing about speed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

RUNS="${BENCH_RUNS:-3}"
SMALL_COUNT="${BENCH_SMALL_COUNT:-30}"
STORE_STATE="${BENCH_STORE:-populated}"
BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/blob.sh [--bin-dir DIR] [--runs N])" ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ "$SMALL_COUNT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SMALL_COUNT must be a positive integer"
[[ "$STORE_STATE" == populated || "$STORE_STATE" == empty ]] || die "BENCH_STORE must be populated or empty"

# Disk first: test files (1.1 GiB) + one stored copy + one raw copy at a time.
mkdir -p "$CIRRUS_LOCAL"
free_kib="$(df -Pk "$CIRRUS_LOCAL" | awk 'NR==2 {print $4}')"
(( free_kib >= 4 * 1024 * 1024 )) || die "only $((free_kib / 1024)) MiB free on the filesystem of $CIRRUS_LOCAL; the blob benchmark needs 4 GiB"

"$CIRRUS_ROOT/infra/lib/prereqs.sh"

RELEASE=0
if [[ -z "$BIN_DIR" ]]; then
  log "building cirrus-blob (release; the first time takes several minutes)"
  swift build -c release --product cirrus-blob 2>&1 | grep -E "error|Compiling|Build" | grep -vE "^\[" >&2 || true
  BIN_DIR="$(swift build -c release --show-bin-path)"
  RELEASE=1
else
  BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
  [[ "$BIN_DIR" == */release ]] && RELEASE=1
fi
BIN="$BIN_DIR/cirrus-blob"
[[ -x "$BIN" ]] || die "$BIN is missing (build failed?)"

# ---------------------------------------------------------------------------
# Throw-away environment and its cleanup.
# ---------------------------------------------------------------------------
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-blob.XXXXXX")"
PIDS=()          # started by this script, stopped in reverse order
SAMPLER_PID=""
cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  [[ -n "$SAMPLER_PID" ]] && stop_pid "$SAMPLER_PID" 2
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do stop_pid "${PIDS[i]}" 15; done
  pg_stop "$TMP/pg" immediate
  if [[ $status -ne 0 ]]; then
    for f in "$TMP"/blob.log "$TMP"/nginx/error.log; do
      [[ -s "$f" ]] && { echo "--- $f (tail)" >&2; tail -n 30 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Static file server: nginx, else nginx-light from apt (root), else python3 -m http.server.
# ---------------------------------------------------------------------------
FILES="$TMP/files"; STORE="$TMP/store"; COPIES="$TMP/copies"
mkdir -p "$FILES" "$STORE" "$COPIES"
if [[ "$STORE_STATE" == populated ]]; then
  log "making the store's 65,536 shard directories (BENCH_STORE=populated)"
  python3 - "$STORE/objects" <<'PY'
import os, sys
for a in range(256):
    for b in range(256):
        os.makedirs("%s/%02x/%02x/blobs" % (sys.argv[1], a, b), mode=0o750, exist_ok=True)
PY
  sync -f "$STORE"
fi
find_nginx() { command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }
NGINX="$(find_nginx)"
if [[ -z "$NGINX" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing nginx-light (the static file server the raw download figure needs)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null; } \
    || warn "could not install nginx-light"
  NGINX="$(find_nginx)"
fi
STATIC_PORT="$(free_port)"
if [[ -n "$NGINX" ]]; then
  STATIC_SERVER="nginx $("$NGINX" -v 2>&1 | sed 's|.*nginx/||') (sendfile, 1 worker)"
  mkdir -p "$TMP/nginx/temp"
  # The workers may run as another user (nobody) when we are root: let them read the files.
  chmod o+x "$TMP"; chmod o+rx "$FILES"
  cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 64; }
http {
  default_type application/octet-stream;
  access_log $TMP/nginx/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $TMP/nginx/temp/body;
  proxy_temp_path $TMP/nginx/temp/proxy;
  fastcgi_temp_path $TMP/nginx/temp/fastcgi;
  uwsgi_temp_path $TMP/nginx/temp/uwsgi;
  scgi_temp_path $TMP/nginx/temp/scgi;
  server {
    listen 127.0.0.1:$STATIC_PORT;
    root $FILES;
  }
}
EOF
  "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/stdout.log" 2>&1 &
  PIDS+=("$!")
else
  STATIC_SERVER="python3 -m http.server (FALLBACK: nginx not available; this raw download figure is a weak reference)"
  warn "nginx is not available: using python3 -m http.server as the static file server"
  python3 -m http.server --bind 127.0.0.1 --directory "$FILES" "$STATIC_PORT" >"$TMP/static.log" 2>&1 &
  PIDS+=("$!")
fi
wait_for "static file server on 127.0.0.1:$STATIC_PORT" 30 port_open "$STATIC_PORT" || die "the static file server did not start"

# ---------------------------------------------------------------------------
# PostgreSQL (fsync on), broker, blob.
# ---------------------------------------------------------------------------
PG_PORT="$(free_port)"
pg_init "$TMP/pg"
pg_start "$TMP/pg" "$PG_PORT" "$TMP/postgres.log"
PG_PASSWORD="$(random_secret)"
pg_ensure_app "$TMP/pg" "$PG_PORT" "$PG_PASSWORD" blob
log "PostgreSQL on 127.0.0.1:$PG_PORT (fsync=${PG_FSYNC:-on})"

BROKER_PORT="$(free_port)"
broker_start "$BROKER_PORT" "$TMP/broker.log" "$TMP/broker.pid"
PIDS+=("$(cat "$TMP/broker.pid")")

BLOB_PORT="$(free_port)"
INTERNAL_SECRET="$(random_secret)$(random_secret)"
(
  export CIRRUS_HTTP_HOST=127.0.0.1 CIRRUS_HTTP_PORT="$BLOB_PORT"
  export CIRRUS_DATABASE_URL="postgres://cirrus:$PG_PASSWORD@127.0.0.1:$PG_PORT/blob"
  export CIRRUS_KAFKA_BROKERS="127.0.0.1:$BROKER_PORT"
  export CIRRUS_STORAGE_BACKEND=local CIRRUS_STORAGE_PATH="$STORE"
  export CIRRUS_INTERNAL_SECRET="$INTERNAL_SECRET"
  export CIRRUS_LOG_LEVEL="${CIRRUS_LOG_LEVEL:-info}" CIRRUS_LOG_FORMAT=json
  export CIRRUS_SHUTDOWN_TIMEOUT_SECONDS=5
  exec "$BIN"
) >"$TMP/blob.log" 2>&1 &
BLOB_PID=$!
PIDS+=("$BLOB_PID")
blob_ready() { alive "$BLOB_PID" && curl -fsS -m 2 "http://127.0.0.1:$BLOB_PORT/readyz" >/dev/null; }
wait_for "cirrus-blob on 127.0.0.1:$BLOB_PORT" 120 blob_ready \
  || { alive "$BLOB_PID" || warn "cirrus-blob exited"; die "cirrus-blob did not become ready (log tail below)"; }
BLOB_URL="http://127.0.0.1:$BLOB_PORT"

# ---------------------------------------------------------------------------
# Grants, exactly as InternalGrantSigner.sign makes them.
# ---------------------------------------------------------------------------
cat >"$TMP/grants.py" <<'PY'
# grants.py COUNT MAX_BYTES BLOB_ID: per line, a new upload id (lower case) and an upload grant
# and a read grant for a new owner and file. v1.<kid>.<payload>.<mac>, base64url without padding.
import base64, hashlib, hmac, json, os, sys, time, uuid
secret = os.environ["BENCH_INTERNAL_SECRET"].encode()
kid = hashlib.sha256(secret).digest()[:4].hex()
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def sign(claims):
    signed = "v1.%s.%s" % (kid, b64(json.dumps(claims, separators=(",", ":")).encode()))
    return signed + "." + b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())
count, max_bytes, blob_id = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
expires = int(time.time()) + 3 * 3600
for _ in range(count):
    owner, file_id, upload = (str(uuid.uuid4()).upper() for _ in range(3))
    print(upload.lower(),
          sign({"p": "upload", "o": owner, "f": file_id, "u": upload, "m": max_bytes, "e": expires}),
          sign({"p": "read", "o": owner, "b": blob_id, "e": expires}))
PY
mint() { BENCH_INTERNAL_SECRET="$INTERNAL_SECRET" python3 "$TMP/grants.py" "$@"; }

# ---------------------------------------------------------------------------
# Measures.
# ---------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
sample_rss() {  # sample_rss PID FILE: VmRSS (KiB) every ~50 ms until stopped
  local key value rest
  while :; do
    while read -r key value rest; do
      [[ "$key" == VmRSS: ]] && { echo "$value" >>"$2"; break; }
    done <"/proc/$1/status" || return 0
    sleep 0.05
  done
}
rss_start() { : >"$1"; sample_rss "$BLOB_PID" "$1" & SAMPLER_PID=$!; }
rss_stop() { stop_pid "$SAMPLER_PID" 2; SAMPLER_PID=""; }
max_of() { sort -n "$1" | tail -n 1; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# One curl process per transfer set, reusing its connection; prints "code size_up size_down seconds" per transfer.
CURL_COMMON=(-sS -g --max-time 3600 -w '%{http_code} %{size_upload} %{size_download} %{time_total}\n')
curl_ns() { awk '{ s += $4 } END { printf "%.0f", s * 1e9 }' "$1"; }
upload_set() {  # upload_set FILE GRANTS REPLYDIR [FIRST]: replies FIRST.json, FIRST+1.json, …
  local file="$1" args=() i="${4:-0}" id up rd
  while read -r id up rd; do
    ((${#args[@]})) && args+=(--next)
    args+=("${CURL_COMMON[@]}" -H 'Expect:' -H "X-Cirrus-Grant: $up" -T "$file" -o "$3/$i.json" "$BLOB_URL/internal/uploads/$id")
    i=$((i + 1))
  done <"$2"
  curl "${args[@]}"
}
download_set() {  # download_set GRANTS BLOB_ID
  local args=() i=0 id up rd
  while read -r id up rd; do
    ((i)) && args+=(--next)
    args+=("${CURL_COMMON[@]}" -H "X-Cirrus-Grant: $rd" -o /dev/null "$BLOB_URL/internal/blobs/$2")
    i=$((i + 1))
  done <"$1"
  curl "${args[@]}"
}
static_set() {  # static_set NAME COUNT
  local args=() i
  for ((i = 0; i < $2; i++)); do
    ((i)) && args+=(--next)
    args+=("${CURL_COMMON[@]}" -o /dev/null "http://127.0.0.1:$STATIC_PORT/$1")
  done
  curl "${args[@]}"
}
copy_set() {  # copy_set FILE COUNT [FIRST]: copies + fsync onto the same filesystem; prints the nanoseconds taken
  python3 - "$1" "$2" "$COPIES" "${3:-0}" <<'PY'
import os, sys, time
source, count, folder, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
start = time.perf_counter_ns()
for i in range(first, first + count):
    src = os.open(source, os.O_RDONLY)
    dst = os.open(os.path.join(folder, "copy.%d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    while block := os.read(src, 1 << 20):
        view = memoryview(block)
        while view:
            view = view[os.write(dst, view):]
    os.fsync(dst)
    os.close(dst)
    os.close(src)
print(time.perf_counter_ns() - start)
PY
}
check_codes() {  # check_codes WHAT EXPECTED_CODE BYTES FIELD(2=up,3=down) FILE COUNT
  local n bad
  n="$(wc -l <"$5")"
  bad="$(awk -v c="$2" -v b="$3" -v f="$4" '$1 != c || $f != b' "$5" | head -n 3)"
  [[ "$n" -eq "$6" && -z "$bad" ]] || die "$1: expected $6 × HTTP $2 with $3 bytes, got $n transfers; first bad: ${bad:-none}"
}
check_replies() {  # check_replies DIR COUNT SHA SIZE
  python3 - "$@" <<'PY' || die "upload replies do not match the files (see above)"
import json, os, sys
folder, count, sha, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for i in range(count):
    with open(os.path.join(folder, "%d.json" % i)) as f:
        reply = json.load(f)
    if reply.get("blob_id") != "sha256:" + sha or reply.get("sha256") != sha or reply.get("size") != size:
        print("reply %d: %s" % (i, reply), file=sys.stderr)
        sys.exit(1)
PY
}

SIZES=(1M 100M 1G)
declare -A BYTES=([1M]=$((1 << 20)) [100M]=$((100 << 20)) [1G]=$((1 << 30)))
declare -A LABEL=([1M]="1 MiB" [100M]="100 MiB" [1G]="1 GiB")
declare -A COUNT=([1M]=$SMALL_COUNT [100M]=1 [1G]=1)
declare -A SHA
declare -A RESULT   # RESULT[size.op.cirrus|raw] = space-separated MB/s per run
RSS_LINES=()

log "writing test files from /dev/urandom (1 MiB, 100 MiB, 1 GiB)"
for s in "${SIZES[@]}"; do
  dd if=/dev/urandom of="$FILES/$s.bin" bs=1M count=$((BYTES[$s] >> 20)) iflag=fullblock status=none
  chmod o+r "$FILES/$s.bin"
  SHA[$s]="$(sha256sum "$FILES/$s.bin" | cut -d' ' -f1)"
done
RSS_STARTUP="$(rss_kib "$BLOB_PID")"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

for run in $(seq 1 "$RUNS"); do
  for s in "${SIZES[@]}"; do
    file="$FILES/$s.bin"; bytes="${BYTES[$s]}"; n="${COUNT[$s]}"; total=$((bytes * n)); blob_id="sha256:${SHA[$s]}"
    log "run $run/$RUNS, ${LABEL[$s]} × $n"
    mint "$n" "$bytes" "$blob_id" >"$TMP/grants"
    rm -rf "$TMP/replies"; mkdir -p "$TMP/replies"

    # Cirrus uploads and the raw reference (copy + fsync onto the same filesystem) take
    # turns, in blocks of up to 10 transfers: this disk's fsyncs swing by 3× within a minute
    # (online discard of freed blocks, other tenants), and the two sets must meet the same moods.
    sync
    if [[ "$s" == 1G ]]; then sleep 1; idle="$(rss_kib "$BLOB_PID")"; fi
    raw_ns=0; : >"$TMP/codes"
    for ((first = 0; first < n; first += 10)); do
      block=$((n - first < 10 ? n - first : 10))
      raw_ns=$((raw_ns + $(copy_set "$file" "$block" "$first")))
      sed -n "$((first + 1)),$((first + block))p" "$TMP/grants" >"$TMP/grants.block"
      if [[ "$s" == 1G ]]; then rss_start "$TMP/rss.up"; fi  # one block: the 1 GiB upload alone
      upload_set "$file" "$TMP/grants.block" "$TMP/replies" "$first" >>"$TMP/codes"
      if [[ "$s" == 1G ]]; then rss_stop; fi
    done
    rm -f "$COPIES"/copy.*
    RESULT[$s.upload.raw]+="$(mbps "$total" "$raw_ns") "
    if [[ "$s" == 1G ]]; then
      peak="$(max_of "$TMP/rss.up")"; sleep 2; after="$(rss_kib "$BLOB_PID")"
      RSS_LINES+=("run $run, 1 GiB upload:   idle before $(mib "$idle") MiB, peak $(mib "$peak") MiB, peak − idle $(mib $((peak - idle))) MiB, 2 s after $(mib "$after") MiB ($(wc -l <"$TMP/rss.up") samples)")
    fi
    check_codes "${LABEL[$s]} upload" 201 "$bytes" 2 "$TMP/codes" "$n"
    check_replies "$TMP/replies" "$n" "${SHA[$s]}" "$bytes"
    RESULT[$s.upload.cirrus]+="$(mbps "$total" "$(curl_ns "$TMP/codes")") "

    # Correctness before speed: the bytes blob serves are the file's (once per size).
    if [[ "$run" == 1 ]]; then
      read -r _ _ rd <"$TMP/grants"
      got="$(curl -fsS -g -H "X-Cirrus-Grant: $rd" "$BLOB_URL/internal/blobs/$blob_id" | sha256sum | cut -d' ' -f1)"
      [[ "$got" == "${SHA[$s]}" ]] || die "${LABEL[$s]}: downloaded SHA-256 $got differs from the file's ${SHA[$s]}"
      log "${LABEL[$s]}: download verified (sha256 ${SHA[$s]:0:16}…)"
    fi

    # Cirrus download.
    if [[ "$s" == 1G ]]; then sleep 1; idle="$(rss_kib "$BLOB_PID")"; rss_start "$TMP/rss.down"; fi
    download_set "$TMP/grants" "$blob_id" >"$TMP/codes"
    if [[ "$s" == 1G ]]; then
      rss_stop; peak="$(max_of "$TMP/rss.down")"; sleep 2; after="$(rss_kib "$BLOB_PID")"
      RSS_LINES+=("run $run, 1 GiB download: idle before $(mib "$idle") MiB, peak $(mib "$peak") MiB, peak − idle $(mib $((peak - idle))) MiB, 2 s after $(mib "$after") MiB ($(wc -l <"$TMP/rss.down") samples)")
    fi
    check_codes "${LABEL[$s]} download" 200 "$bytes" 3 "$TMP/codes" "$n"
    RESULT[$s.download.cirrus]+="$(mbps "$total" "$(curl_ns "$TMP/codes")") "

    # Raw download reference: the same file from the static server.
    static_set "$s.bin" "$n" >"$TMP/codes"
    check_codes "${LABEL[$s]} static download" 200 "$bytes" 3 "$TMP/codes" "$n"
    RESULT[$s.download.raw]+="$(mbps "$total" "$(curl_ns "$TMP/codes")") "

    # Bound disk use: the measured objects are not read again.
    find "$STORE/objects" -type f -delete
  done
done
RSS_END="$(rss_kib "$BLOB_PID")"
alive "$BLOB_PID" || die "cirrus-blob died during the benchmark"
ERRORS="$(grep -cE '"level":"(error|critical)"' "$TMP/blob.log" || true)"
WARNINGS="$(grep -c '"level":"warning"' "$TMP/blob.log" || true)"
LOG_MESSAGES="$(grep -E '"level":"(warning|error|critical)"' "$TMP/blob.log" | grep -oE '"msg":"[^"]*"' | sort | uniq -c | sort -rn | head -n 5 || true)"

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD)"
REPORT="$TMP/report.txt"
{
  echo "blob benchmark, $(date '+%F %H:%M'), commit $COMMIT$(git diff --quiet HEAD -- Services Shared Package.swift 2>/dev/null || echo ' (with uncommitted changes)')"
  if ((RELEASE)); then echo "binary: $BIN (release)"
  else echo "binary: $BIN (NOT a release build: the figures below say nothing about speed)"; fi
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), $(df -PT "$TMP" | awk 'NR==2 {print $2}') filesystem; shared and noisy (other builds run here): compare ratios, not absolutes"
  echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "runs: $RUNS; 1 MiB = $SMALL_COUNT transfers per run; MB/s = 10^6 bytes/s; time = sum of curl's time_total (start-up excluded); loopback, page cache warm"
  echo "raw upload = file copy + fsync on the same filesystem (1 MiB blocks); raw download = curl from $STATIC_SERVER"
  echo "store: $STORE_STATE (BENCH_STORE); PostgreSQL fsync=${PG_FSYNC:-on}; a new owner per upload (every upload stores: no dedup); SHA-256 of one download per size verified"
  echo
  echo "| size | operation | Cirrus MB/s (median) | raw MB/s (median) | ratio | Cirrus per run | raw per run |"
  echo "|---|---|---|---|---|---|---|"
  for s in "${SIZES[@]}"; do
    for op in upload download; do
      c="$(median 1 <<<"${RESULT[$s.$op.cirrus]}")"; r="$(median 1 <<<"${RESULT[$s.$op.raw]}")"
      ratio="$(awk -v c="$c" -v r="$r" 'BEGIN { printf "%.2f", (r > 0 ? c / r : 0) }')"
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$s]}" "$op" "$c" "$r" "$ratio" \
        "$(xargs <<<"${RESULT[$s.$op.cirrus]}")" "$(xargs <<<"${RESULT[$s.$op.raw]}")"
    done
  done
  echo
  echo "RSS of cirrus-blob (VmRSS, sampled every ~50 ms; goal: flat, peak < 64 MiB above idle):"
  echo "after startup: $(mib "$RSS_STARTUP") MiB; at the end: $(mib "$RSS_END") MiB"
  printf '%s\n' "${RSS_LINES[@]}"
  echo "service log: $ERRORS error/critical lines, $WARNINGS warning lines"
  [[ -n "$LOG_MESSAGES" ]] && sed 's/^/  /' <<<"$LOG_MESSAGES"
  true
} >"$REPORT"

echo
cat "$REPORT"
if ((RELEASE)); then
  mkdir -p "$CIRRUS_ROOT/bench/results"
  out="$CIRRUS_ROOT/bench/results/$(date +%F)-blob-$COMMIT.txt"
  cp "$REPORT" "$out"
  log "written to ${out#"$CIRRUS_ROOT"/}"
else
  log "not a release build: no results file written"
fi
