#!/usr/bin/env bash
# Thumbnail benchmarks (issue 6): thumbnails per second and per-image latency of the service's
# render for a 12-megapixel JPEG and a large PNG at heights 200 and 400, against `vipsthumbnail`
# (Debian's libvips-tools) on the same files as the limit; and the end-to-end time from an upload
# accepted (the 201 of POST /v1/files through the gateway) to its thumbnails ready on the local
# stack (p50, p95), with where that time goes.
#
# What it does: builds cirrus-bench-thumbnail and the five services in release mode (unless
# --bin-dir), makes the test images with the vips CLI in a temporary directory under .local/, runs
# the render benchmarks with nothing else of Cirrus running, then starts its own whole stack with
# `infra/run --detach` under that directory (free 127.0.0.1 ports outside the defaults; a stack
# on 8080 and the developer's .local are never touched; the Python venv with the broker is
# shared). A trap stops every process it started by PID and removes the directory.
#   images    photo.jpg: 4000x3000 (12 MP) photo-like content (three octaves of Perlin noise for
#             smooth colour fields plus Gaussian sensor-like grain), JPEG quality 90 (~5 MB, like
#             a camera's); photo.png: the same pixels as an 8-bit RGB PNG (~30 MB); 1600x1200
#             JPEG crops (quality 85, each from another place, so every upload is new content)
#             for the uploads.
#   render    per image, height (200, 400) and run:
#               cirrus, 1 thread    bench/ThumbnailBench (cirrus-bench-thumbnail): the service's
#                                   render (header read + pixel limit + Vips.thumbnail with
#                                   maxWidth 4×height, JPEG Q80, libvips initialised as the
#                                   service does: one libvips thread per render); p50/p95 per image
#               cirrus, C threads   the same on C = nproc threads (the service's default pool)
#               vipsthumbnail, process per image   `vipsthumbnail FILE --size (4H)xH -o OUT[Q=80,strip]`
#                                   once per image, timed around the process (includes its start)
#               vipsthumbnail, one process         all files in one process (default libvips
#                                   threads): wall time ÷ images (one start-up spread over them)
#               vipsthumbnail, one process, 1 thread   the same with VIPS_CONCURRENCY=1 (the
#                                   service's setting): the like-for-like latency limit
#               vipsthumbnail, C processes         C processes in parallel (as xargs -P C), each
#                                   VIPS_CONCURRENCY=1 and one C-th of the files: the throughput limit
#             Every file a render opens is its own hard link (libvips' cache never answers; the
#             service also renders a new scratch file each time); the bytes are in the page cache.
#   end-to-end  a user on a tier made for the benchmark (heights 200 and 400 like premium, and the
#             highest request rate, since polling every 10 ms exceeds premium's 600 per minute at the
#             gateway; an administrator bootstrapped with the stack's secret creates it and moves
#             the user) uploads BENCH_UPLOADS (30) crops per run one after another through the
#             gateway (POST /v1/files, raw body); after each 201 the script polls GET /v1/files/{id}
#             every 10 ms until thumbnails.status is "ready". Reported: 201 → ready as polled, and
#             as the databases recorded it (201 → metadata's inbox row for thumbnail.generated),
#             split into stages with the outbox, inbox and thumbnail rows' timestamps (each the start
#             of the transaction that wrote it; the same clock as the client's).
# The machine has few cores (2 here) shared by everything: the figures are of the whole box.
#
# Usage: bench/thumbnail.sh [--bin-dir DIR] [--runs N]
#        (BENCH_RUNS=3, BENCH_JPEG_ITERATIONS=30, BENCH_PNG_ITERATIONS=6, BENCH_UPLOADS=30)
#   --bin-dir DIR  use DIR/cirrus-bench-thumbnail and DIR/cirrus-{auth,metadata,blob,thumbnail,gateway}
#                  as they are, no build. Results go to bench/results/<date>-thumbnail-<commit>.txt
#                  only for release binaries (the default build, or a DIR ending in /release); for
#                  any other DIR the report is printed only: debug figures say nothing about speed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

RUNS="${BENCH_RUNS:-3}"
JPEG_ITERATIONS="${BENCH_JPEG_ITERATIONS:-30}"
PNG_ITERATIONS="${BENCH_PNG_ITERATIONS:-6}"
UPLOADS="${BENCH_UPLOADS:-30}"
BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/thumbnail.sh [--bin-dir DIR] [--runs N])" ;;
  esac
done
for v in RUNS JPEG_ITERATIONS PNG_ITERATIONS UPLOADS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
CORES="$(nproc)"
HEIGHTS=(200 400)

"$CIRRUS_ROOT/infra/lib/prereqs.sh"
if ! command -v vipsthumbnail >/dev/null || ! command -v vips >/dev/null; then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "vips and vipsthumbnail are missing (Debian package libvips-tools)"
  log "installing libvips-tools"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null
fi
command -v vipsthumbnail >/dev/null || die "vipsthumbnail did not install"

SERVICES=(auth metadata blob thumbnail gateway)
RELEASE=0
if [[ -z "$BIN_DIR" ]]; then
  for p in cirrus-bench-thumbnail "${SERVICES[@]/#/cirrus-}"; do
    log "building $p (release; the first time takes several minutes)"
    swift build -c release --product "$p" 2>&1 | grep -E "error|Compiling|Build" | grep -vE "^\[" >&2 || true
  done
  BIN_DIR="$(swift build -c release --show-bin-path)"
  RELEASE=1
else
  BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
  [[ "$BIN_DIR" == */release ]] && RELEASE=1
fi
BENCH="$BIN_DIR/cirrus-bench-thumbnail"
for p in cirrus-bench-thumbnail "${SERVICES[@]/#/cirrus-}"; do
  [[ -x "$BIN_DIR/$p" ]] || die "$BIN_DIR/$p is missing (build failed? swift build [-c release] --product $p puts it in .build/<config>/)"
done

# ---------------------------------------------------------------------------
# Temporary directory, the stack started later, and their cleanup.
# ---------------------------------------------------------------------------
mkdir -p "$CIRRUS_LOCAL"
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-thumbnail.XXXXXX")"
WORK="$TMP/bench"; IMAGES="$WORK/images"; mkdir -p "$IMAGES"
CHILD_PID=""     # a measuring child of ours (benchmark or timing helper), stopped first
cleanup() {
  local status=$? f
  trap - EXIT INT TERM
  [[ -n "$CHILD_PID" ]] && stop_pid "$CHILD_PID" 5
  bench_stack_stop "$TMP"
  if [[ $status -ne 0 ]]; then
    for f in "$TMP"/logs/{gateway,metadata,thumbnail,blob}.log; do
      [[ -s "$f" ]] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM
run_child() {  # run_child OUT COMMAND...: runs COMMAND in the background (stoppable by the trap), stdout to OUT
  local out="$1"; shift
  "$@" >"$out" 2>>"$WORK/stderr.log" &
  CHILD_PID=$!
  wait "$CHILD_PID" || { CHILD_PID=""; tail -n 5 "$WORK/stderr.log" >&2; die "failed: $*"; }
  CHILD_PID=""
}

# ---------------------------------------------------------------------------
# Test images.
# ---------------------------------------------------------------------------
log "making the test images (vips $(vips --version | sed 's/vips-//'))"
(
  cd "$WORK"
  vips perlin r.v 4000 3000 --cell-size 512
  vips perlin g.v 4000 3000 --cell-size 160
  vips perlin b.v 4000 3000 --cell-size 48
  vips bandjoin "r.v g.v b.v" rgb.v
  vips linear rgb.v lin.v "110 95 85" "120 125 105"
  vips gaussnoise noise.v 4000 3000 --sigma 10 --mean 0
  vips add lin.v noise.v sum.v
  vips cast sum.v pixels.v uchar
  vips copy pixels.v "$IMAGES/photo.jpg[Q=90]" --interpretation srgb
  vips copy pixels.v "$IMAGES/photo.png" --interpretation srgb
  vips black "$IMAGES/tiny.v" 64 48 --bands 3
  vips copy "$IMAGES/tiny.v" "$IMAGES/tiny.jpg" --interpretation srgb
  for i in $(seq 1 "$UPLOADS"); do
    vips crop pixels.v "$IMAGES/upload-$i.jpg[Q=85]" $(( (i * 97) % 2400 )) $(( (i * 61) % 1800 )) 1600 1200
  done
  rm -f r.v g.v b.v rgb.v lin.v noise.v sum.v pixels.v "$IMAGES/tiny.v"
) 2>>"$WORK/stderr.log" || die "could not make the test images (vips failed; see above)"
size_of() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
declare -A FILE_LABEL=(
  [jpg]="12 MP JPEG (4000x3000, Q90, $(mb "$(size_of "$IMAGES/photo.jpg")"))"
  [png]="large PNG (4000x3000 RGB, $(mb "$(size_of "$IMAGES/photo.png")"))"
)
declare -A ITER=([jpg]=$JPEG_ITERATIONS [png]=$PNG_ITERATIONS)

# ---------------------------------------------------------------------------
# vipsthumbnail timings: one helper prints the same JSON line as cirrus-bench-thumbnail.
# ---------------------------------------------------------------------------
cat >"$WORK/vt.py" <<'PY'
# vt.py MODE FILE HEIGHT N C OUTDIR: time vipsthumbnail on N hard links of FILE.
#   proc      one process per image (default libvips threads), timed around each process
#   batch     one process for all N (default threads): mean per image
#   batch1    the same with VIPS_CONCURRENCY=1
#   parallel  C processes at once (as xargs -P C -n N/C), VIPS_CONCURRENCY=1 each
# Prints {"images_per_second", "p50_ms", "p95_ms"} (p50/p95 only for proc; else the mean per
# image as p50 and null p95), then checks one output's size against the service's.
import json, math, os, shutil, subprocess, sys, tempfile, time
mode, source, height, n, c, outdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
ext = os.path.splitext(source)[1]
links = tempfile.mkdtemp(prefix="vt-", dir=outdir)
files = []
for i in range(n):
    path = os.path.join(links, "%d%s" % (i, ext))
    try: os.link(source, path)
    except OSError: shutil.copyfile(source, path)
    files.append(path)
out = os.path.join(links, "out"); os.mkdir(out)
base = ["vipsthumbnail", "--size", "%dx%d" % (4 * height, height), "-o", out + "/%s.jpg[Q=80,strip]"]
one = dict(os.environ, VIPS_CONCURRENCY="1")
def rank(values, p): return sorted(values)[max(0, math.ceil(p / 100 * len(values)) - 1)]
latencies = []
start = time.perf_counter()
if mode == "proc":
    for f in files:
        t = time.perf_counter(); subprocess.run(base + [f], check=True); latencies.append((time.perf_counter() - t) * 1000)
elif mode in ("batch", "batch1"):
    subprocess.run(base + files, check=True, env=one if mode == "batch1" else None)
elif mode == "parallel":
    chunks = [files[i::c] for i in range(c)]
    procs = [subprocess.Popen(base + chunk, env=one) for chunk in chunks if chunk]
    if any(p.wait() != 0 for p in procs): sys.exit("vipsthumbnail failed")
else:
    sys.exit("unknown mode " + mode)
wall = time.perf_counter() - start
got = subprocess.run(["vipsheader", "-f", "width", os.path.join(out, "0.jpg")], capture_output=True, text=True, check=True).stdout.strip() + "x" + \
      subprocess.run(["vipsheader", "-f", "height", os.path.join(out, "0.jpg")], capture_output=True, text=True, check=True).stdout.strip()
produced = len(os.listdir(out))
shutil.rmtree(links)
if produced != n: sys.exit("vipsthumbnail produced %d of %d thumbnails" % (produced, n))
result = {"images_per_second": round(n / wall, 2),
          "p50_ms": round(rank(latencies, 50) if latencies else wall * 1000 / n, 2),
          "p95_ms": round(rank(latencies, 95), 2) if latencies else None}
print(json.dumps(result)); print("size " + got, file=sys.stderr)
PY
field() { python3 -c 'import json, sys; v = json.loads(sys.stdin.readline()).get(sys.argv[1]); print("-" if v is None else v)' "$1"; }
expected_size() {  # expected_size FILE HEIGHT: the service's output size (fits 4H x H, never upscaled)
  python3 - "$(vipsheader -f width "$1")" "$(vipsheader -f height "$1")" "$2" <<'PY'
import sys
w, h, height = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = min(1, 4 * height / w, height / h)
print("%dx%d" % (round(w * s), round(h * s)))
PY
}

METHODS=(bench1 benchC proc batch batch1 parallel)
declare -A METHOD_LABEL=(
  [bench1]="cirrus render, 1 thread"
  [benchC]="cirrus render, $CORES threads"
  [proc]="vipsthumbnail, a process per image"
  [batch]="vipsthumbnail, one process (default threads)"
  [batch1]="vipsthumbnail, one process, 1 thread"
  [parallel]="vipsthumbnail, $CORES processes × 1 thread"
)
declare -A IPS P50 P95   # [file.height.method] = space-separated values per run

measure() {  # measure FILE_KEY HEIGHT METHOD
  local key="$1" h="$2" m="$3" file="$IMAGES/photo.$1" n="${ITER[$1]}" out="$WORK/result.json" k="$1.$2.$3"
  case "$m" in
    bench1) run_child "$out" "$BENCH" --height "$h" --iterations "$n" --concurrency 1 "$file" ;;
    benchC) run_child "$out" "$BENCH" --height "$h" --iterations "$n" --concurrency "$CORES" "$file" ;;
    *) run_child "$out" python3 "$WORK/vt.py" "$m" "$file" "$h" "$n" "$CORES" "$WORK" ;;
  esac
  IPS[$k]+="$(field images_per_second <"$out") "
  P50[$k]+="$(field p50_ms <"$out") "
  P95[$k]+="$(field p95_ms <"$out") "
}

# Sizes first: cirrus-bench-thumbnail checks its own; vipsthumbnail's must be the same.
for f in jpg png; do
  for h in "${HEIGHTS[@]}"; do
    want="$(expected_size "$IMAGES/photo.$f" "$h")"
    run_child "$WORK/check.json" python3 "$WORK/vt.py" batch "$IMAGES/photo.$f" "$h" 1 1 "$WORK"
    got="$(grep '^size ' "$WORK/stderr.log" | tail -n 1 | cut -d' ' -f2)"
    [[ "$got" == "$want" ]] || die "vipsthumbnail made $got from photo.$f at height $h; the service makes $want"
    run_child "$WORK/check.json" "$BENCH" --height "$h" --iterations 1 --concurrency 1 "$IMAGES/photo.$f"
  done
done
STARTUP_MS="$(python3 "$WORK/vt.py" proc "$IMAGES/tiny.jpg" 16 20 1 "$WORK" 2>/dev/null | field p50_ms)"
log "vipsthumbnail start-up (64x48 image, p50 of 20): $STARTUP_MS ms"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  for f in jpg png; do
    for h in "${HEIGHTS[@]}"; do
      log "run $run/$RUNS: photo.$f at height $h (${ITER[$f]} images per method)"
      order=("${METHODS[@]}")
      ((run % 2 == 0)) && order=(parallel batch1 batch proc benchC bench1)   # alternate the order
      for m in "${order[@]}"; do measure "$f" "$h" "$m"; done
    done
  done
done
LOAD_AFTER_RENDER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# End to end on the local stack.
# ---------------------------------------------------------------------------
log "starting a private stack in ${TMP#"$CIRRUS_ROOT"/}"
bench_stack_start "$TMP" "$BIN_DIR"   # free ports outside the defaults and the ephemeral range
GW="http://127.0.0.1:$GW_PORT"; TH_PORT=$((GW_PORT + 4))
JSON=(-H 'Content-Type: application/json')

# The gateway limits each user to their tier's requests_per_minute (429 beyond): bench_tier
# (infra/lib/common.sh) makes a tier with the highest rate and moves the user ($OWNER) to it.

USERNAME="bench$(random_secret | head -c 8)"; PASSWORD="Bench-$(random_secret)"
call 201 POST "$GW/v1/auth/register" "$WORK/register.json" "${JSON[@]}" \
  -d "{\"username\":\"$USERNAME\",\"email\":\"$USERNAME@example.com\",\"password\":\"$PASSWORD\"}"
OWNER="$(jget "$WORK/register.json" 'd["id"].lower()')"
TIER="$(bench_tier '[200,400]')"
SIZES=200,400
call 200 POST "$GW/v1/auth/login" "$WORK/login.json" "${JSON[@]}" -d "{\"login\":\"$USERNAME\",\"password\":\"$PASSWORD\"}"
TOKEN="$(jget "$WORK/login.json" 'd["access_token"]')"
call 200 GET "$GW/v1/folders/root" "$WORK/root.json" -H "Authorization: Bearer $TOKEN"
ROOT="$(jget "$WORK/root.json" 'd["id"].lower()')"

cat >"$WORK/e2e.py" <<'PY'
# e2e.py HOST PORT TOKEN FOLDER RUN FILE...: per file, upload (POST /v1/files, raw body), then poll
# GET /v1/files/{id} every 10 ms until thumbnails.status is "ready". One line per file:
#   file_id  t_accepted(epoch s, when the 201 was read)  t_ready(epoch s, the poll that saw ready)  polls
import http.client, json, os, sys, time
host, port, token, folder, run = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection(host, port, timeout=60)
auth = {"Authorization": "Bearer " + token}
for path in sys.argv[6:]:
    body = open(path, "rb").read()
    name = "r%s-%s" % (run, os.path.basename(path))
    conn.request("POST", "/v1/files?folder_id=%s&name=%s" % (folder, name), body=body, headers=dict(auth, **{"Content-Type": "image/jpeg"}))
    response = conn.getresponse(); reply = response.read()
    accepted = time.time()
    if response.status != 201: sys.exit("upload %s: HTTP %d %s" % (name, response.status, reply[:300]))
    file_id = json.loads(reply)["id"]
    polls, deadline = 0, accepted + 60
    while True:
        conn.request("GET", "/v1/files/" + file_id, headers=auth)
        response = conn.getresponse(); reply = response.read(); polls += 1
        now = time.time()
        if response.status != 200: sys.exit("GET %s: HTTP %d %s" % (file_id, response.status, reply[:300]))
        status = json.loads(reply)["thumbnails"]["status"]
        if status == "ready": break
        if status not in ("pending", "none"): sys.exit("file %s: thumbnails %s" % (file_id, status))
        if now > deadline: sys.exit("file %s: thumbnails not ready after 60 s" % file_id)
        time.sleep(0.01)
    print(file_id.lower(), "%.6f" % accepted, "%.6f" % now, polls, flush=True)
PY
uploads=()
for i in $(seq 1 "$UPLOADS"); do uploads+=("$IMAGES/upload-$i.jpg"); done
: >"$WORK/e2e.tsv"
for run in $(seq 1 "$RUNS"); do
  log "end to end, run $run/$RUNS: $UPLOADS uploads of $(mb "$(size_of "$IMAGES/upload-1.jpg")")-ish 1600x1200 JPEGs, one after another"
  run_child "$WORK/e2e-$run.tsv" python3 "$WORK/e2e.py" 127.0.0.1 "$GW_PORT" "$TOKEN" "$ROOT" "$run" "${uploads[@]}"
  sed "s/^/$run /" "$WORK/e2e-$run.tsv" >>"$WORK/e2e.tsv"
done
for s in "${SERVICES[@]}"; do alive "$(cat "$TMP/run/$s.pid")" || die "cirrus-$s died during the benchmark"; done

# The databases' view: outbox and inbox rows of both hops, and the stored thumbnails.
sql metadata -F $'\t' -c "
  SELECT 'req', lower(convert_from(payload, 'UTF8')::jsonb #>> '{payload,file_id}'), event_id::text, extract(epoch FROM created_at), extract(epoch FROM published_at)
  FROM cirrus_outbox WHERE event_type = 'thumbnail.requested'
  UNION ALL
  SELECT 'applied', '', event_id::text, extract(epoch FROM processed_at), NULL FROM cirrus_inbox WHERE topic = 'thumbnail.generated'" >"$WORK/db-metadata.tsv"
sql thumbnail -F $'\t' -c "
  SELECT 'gen', lower(convert_from(payload, 'UTF8')::jsonb #>> '{payload,file_id}'), event_id::text, extract(epoch FROM created_at), extract(epoch FROM published_at)
  FROM cirrus_outbox WHERE event_type = 'thumbnail.generated'
  UNION ALL
  SELECT 'thumb', lower(file_id::text), size::text, extract(epoch FROM created_at), NULL FROM thumbnails" >"$WORK/db-thumbnail.tsv"
curl -fsS "http://127.0.0.1:$TH_PORT/metrics" >"$WORK/thumbnail-metrics.txt" || true
LOG_COUNTS=""
for s in gateway metadata auth blob thumbnail; do
  e="$(grep -cE '"level":"(error|critical)"' "$TMP/logs/$s.log" || true)"; w="$(grep -c '"level":"warning"' "$TMP/logs/$s.log" || true)"
  LOG_COUNTS+="$s $e/$w, "
done

python3 - "$WORK" "$RUNS" "$SIZES" >"$WORK/e2e-report.txt" <<'PY' || die "end-to-end analysis failed (see above)"
import math, re, statistics, sys
work, runs, sizes = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")]
def rank(values, p): return sorted(values)[max(0, math.ceil(p / 100 * len(values)) - 1)]
uploads = [line.split() for line in open(work + "/e2e.tsv")]
req, applied, gen, thumbs = {}, {}, {}, {}
for line in open(work + "/db-metadata.tsv"):
    kind, file_id, event_id, at, published = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    if kind == "req": req.setdefault(file_id, []).append((float(at), float(published) if published else None))
    elif kind == "applied": applied[event_id] = float(at)
for line in open(work + "/db-thumbnail.tsv"):
    kind, file_id, key, at, published = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    if kind == "gen": gen[file_id] = (key, float(at), float(published) if published else None)
    elif kind == "thumb": thumbs.setdefault(file_id, {})[int(key)] = float(at)
rows, problems = [], []
for run, file_id, accepted, ready, polls in uploads:
    accepted, ready = float(accepted), float(ready)
    if len(req.get(file_id, [])) != 1: problems.append("%s: %d thumbnail.requested events" % (file_id, len(req.get(file_id, [])))); continue
    if file_id not in gen: problems.append(file_id + ": no thumbnail.generated"); continue
    if sorted(thumbs.get(file_id, {})) != sizes: problems.append("%s: thumbnails %s, expected %s" % (file_id, sorted(thumbs.get(file_id, {})), sizes)); continue
    event_id, gen_at, gen_pub = gen[file_id]
    if event_id not in applied or gen_pub is None or req[file_id][0][1] is None: problems.append(file_id + ": an event not published or not applied"); continue
    req_at, req_pub = req[file_id][0]
    t = thumbs[file_id]
    rows.append(dict(run=int(run), polls=int(polls), poll=(ready - accepted) * 1000, db=(applied[event_id] - accepted) * 1000,
                     relay1=(req_pub - accepted) * 1000, render_first=(t[sizes[0]] - req_pub) * 1000,
                     render_rest=(max(t.values()) - t[sizes[0]]) * 1000, relay2=(gen_pub - max(t.values())) * 1000,
                     apply=(applied[event_id] - gen_pub) * 1000, committed_before=(accepted - req_at) * 1000))
if problems:
    print("\n".join(problems[:10]), file=sys.stderr); sys.exit(1)
def line(label, key, note=""):
    values = [r[key] for r in rows]
    per_run = ["%.0f/%.0f" % (rank([r[key] for r in rows if r["run"] == k], 50), rank([r[key] for r in rows if r["run"] == k], 95)) for k in range(1, runs + 1)]
    print("| %s | %.0f | %.0f | %.0f–%.0f | %s | %s |" % (label, rank(values, 50), rank(values, 95), min(values), max(values), " ".join(per_run), note))
print("| measure (ms) | p50 | p95 | min–max | per run p50/p95 | what |")
print("|---|---|---|---|---|---|")
line("**201 → ready, polled**", "poll", "the GET every 10 ms that first shows thumbnails.status = ready (up to ~10 ms late)")
line("**201 → ready, database**", "db", "metadata's inbox row of thumbnail.generated (its transaction start)")
line("  201 → thumbnail.requested picked up", "relay1", "until metadata's outbox relay (polling every 100 ms) takes the row (published_at = its transaction start)")
line("  picked up → size %d stored" % sizes[0], "render_first", "produce, broker, thumbnail's consumer, original fetched from blob, header, render, store, index")
line("  size %d → %s stored" % (sizes[0], "/".join(map(str, sizes[1:]))), "render_rest", "the other sizes, one after another")
line("  stored → thumbnail.generated picked up", "relay2", "thumbnail's inbox transaction, then its outbox relay (100 ms polls) takes the row")
line("  picked up → applied by metadata", "apply", "produce, broker, metadata's consumer, its inbox transaction")
print()
print("%d uploads in %d runs (every one: one thumbnail.requested, sizes %s stored, thumbnail.generated applied); polls per upload: median %d" %
      (len(rows), runs, sizes, statistics.median(r["polls"] for r in rows)))
print("the 201 came %.0f ms (median) after the transaction that requested the thumbnails began" % statistics.median(r["committed_before"] for r in rows))
metrics = open(work + "/thumbnail-metrics.txt").read()
s = re.search(r'^cirrus_thumbnail_render_seconds_sum(?:\{[^}]*\})? ([0-9.e+-]+)', metrics, re.M)
c = re.search(r'^cirrus_thumbnail_render_seconds_count(?:\{[^}]*\})? ([0-9.e+-]+)', metrics, re.M)
if s and c and float(c.group(1)) > 0:
    print("in-service render time (libvips only, from /metrics): mean %.1f ms over %d renders" % (float(s.group(1)) / float(c.group(1)) * 1000, float(c.group(1))))
else:
    names = sorted(set(re.findall(r"^(cirrus_[a-z_]+)", metrics, re.M)))
    print("thumbnail's /metrics has no cirrus_thumbnail_render_seconds (cirrus_* series it has: %s)" % (", ".join(names) or "none"))
PY

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD)"
REPORT="$WORK/report.txt"
{
  echo "thumbnail benchmark, $(date '+%F %H:%M'), commit $COMMIT$(git diff --quiet HEAD -- Services Shared Package.swift bench/ThumbnailBench 2>/dev/null || echo ' (with uncommitted changes)')"
  if ((RELEASE)); then echo "binaries: $BIN_DIR (release)"
  else echo "binaries: $BIN_DIR (NOT a release build: the figures below say nothing about speed)"; fi
  echo "machine: $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo); shared and noisy: compare ratios, not absolutes"
  echo "load average before: $LOAD_BEFORE, after the renders: $LOAD_AFTER_RENDER, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "libvips $(vips --version | sed 's/vips-//'); runs: $RUNS; images per method and run: JPEG $JPEG_ITERATIONS, PNG $PNG_ITERATIONS (+1 untimed warm-up for cirrus); output JPEG Q80, box (4×H)×H"
  echo "vipsthumbnail process start-up alone (64x48 image): $STARTUP_MS ms (p50); a 'process per image' row pays it every image, the 'one process' and 'processes' rows once per process (spread over their images); their p50 is the mean per image (wall ÷ images)"
  echo
  echo "| image | height | method | images/s median | spread | p50 ms | spread | p95 ms | spread |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for f in jpg png; do
    for h in "${HEIGHTS[@]}"; do
      for m in "${METHODS[@]}"; do
        k="$f.$h.$m"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${FILE_LABEL[$f]}" "$h" "${METHOD_LABEL[$m]}" \
          "$(median <<<"${IPS[$k]}")" "$(spread <<<"${IPS[$k]}")" "$(median <<<"${P50[$k]}")" "$(spread <<<"${P50[$k]}")" \
          "$(median <<<"${P95[$k]}")" "$(spread <<<"${P95[$k]}")"
      done
    done
  done
  echo
  echo "Against the limit (medians): throughput = cirrus on $CORES threads ÷ $CORES vipsthumbnail processes; latency = cirrus 1-thread p50 ÷ vipsthumbnail one process, 1 thread (mean)"
  echo
  echo "| image | height | throughput ratio | latency ratio |"
  echo "|---|---|---|---|"
  for f in jpg png; do
    for h in "${HEIGHTS[@]}"; do
      awk -v l="${FILE_LABEL[$f]}" -v h="$h" -v a="$(median <<<"${IPS[$f.$h.benchC]}")" -v b="$(median <<<"${IPS[$f.$h.parallel]}")" \
          -v c="$(median <<<"${P50[$f.$h.bench1]}")" -v d="$(median <<<"${P50[$f.$h.batch1]}")" \
          'BEGIN { printf "| %s | %s | %.2f | %.2f |\n", l, h, (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
    done
  done
  echo
  echo "End to end on the local stack: upload accepted (201 of POST /v1/files via the gateway) → thumbnails ready"
  echo "(benchmark tier: heights $SIZES, no practical rate limit; $UPLOADS uploads per run of 1600x1200 JPEG crops, one at a time; thumbnail concurrency = $CORES)"
  echo
  cat "$WORK/e2e-report.txt"
  echo "service logs (error/warning lines): ${LOG_COUNTS%, }"
  true
} >"$REPORT"

echo
cat "$REPORT"
if ((RELEASE)); then
  mkdir -p "$CIRRUS_ROOT/bench/results"
  out="$CIRRUS_ROOT/bench/results/$(date +%F)-thumbnail-$COMMIT.txt"
  cp "$REPORT" "$out"
  log "written to ${out#"$CIRRUS_ROOT"/}"
else
  log "not a release build: no results file written"
fi
