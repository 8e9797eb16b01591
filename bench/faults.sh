#!/usr/bin/env bash
# Fault injection with invariants (issue 9, item 3). Starts its own throw-away stack (the five
# services from prebuilt binaries, their PostgreSQL cluster and broker in a temporary directory
# under .local/, on free 127.0.0.1 ports), creates users on a tier with every right, runs
# bench/load.py in the background, and injects, one after another while the load runs:
#   kill -9 of each service in turn (auth, metadata, blob, thumbnail, gateway), restarted after
#             FAULT_DOWN seconds with `infra/run restart NAME`
#   broker-pause    the broker frozen (SIGSTOP) for BROKER_DOWN seconds, then SIGCONT: an outage
#                   without data loss (what a network partition or a stalled broker looks like)
#   broker-restart  the broker killed (SIGKILL) and started again after BROKER_DOWN seconds: the
#                   local broker keeps everything in memory, so topics, unconsumed messages and
#                   committed offsets are LOST; the system must converge through its outboxes,
#                   the upload receipts and the reconcilers
#   postgres        PostgreSQL stopped (fast shutdown: sessions cut), started again after PG_DOWN s
#   blob-ro         blob's store made read-only for RO_SECONDS (a read-only bind mount of
#                   data/blob over itself: works as root, where chmod would not stop writes);
#                   checks that an upload is refused with 503/507 and blob leaves readiness, then
#                   that both recover after the unmount
# then stops the load, waits for recovery and checks the invariants with bench/invariants.py
# (PASS/FAIL per invariant (a)-(e); then (f) no 500 answers, (g) the read-only store refused
# with 503/507 and recovered, (h) no service crashed; exit 1 on any FAIL). See docs/resilience.md.
#
# Usage: bench/faults.sh [--quick] [--faults LIST] [--users N] [--threads N] [--keep] [--out DIR]
#   --quick       shorter phases (full suite: about 7-8 minutes when every invariant holds, at most
#                 about 9.5 when (c) and (d) wait out their bounds; --quick about 2 minutes less)
#   --faults LIST comma-separated subset of: services,auth,metadata,blob,thumbnail,gateway,
#                 broker-pause,broker-restart,postgres,blob-ro (default "all": every one; "none" =
#                 load only)
#   --users N     load users (default 3), --threads N threads per user (default 2)
#   --keep        leave the stack running at the end (prints how to stop it)
#   --out DIR     where the ledger, reports and logs are kept (default .local/faults-<time>)
# Environment: CIRRUS_BIN_DIR (default .build/debug), and the phase lengths BASELINE, FAULT_DOWN,
# SETTLE, BROKER_DOWN, PG_DOWN, RO_SECONDS, THUMB_TIMEOUT, GC_TIMEOUT (seconds).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../infra/lib" && pwd)/common.sh"
cd "$CIRRUS_ROOT"

QUICK=0; FAULTS="all"; USERS=3; THREADS=2; KEEP=0; OUT=""
while (($#)); do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --faults) FAULTS="${2:?}"; shift 2 ;;
    --users) USERS="${2:?}"; shift 2 ;;
    --threads) THREADS="${2:?}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --out) OUT="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if [[ $QUICK == 1 ]]; then d_base=10 d_down=2 d_settle=6 d_broker=15 d_pg=3 d_ro=10
else d_base=20 d_down=3 d_settle=10 d_broker=30 d_pg=5 d_ro=20; fi
BASELINE="${BASELINE:-$d_base}"; FAULT_DOWN="${FAULT_DOWN:-$d_down}"; SETTLE="${SETTLE:-$d_settle}"
BROKER_DOWN="${BROKER_DOWN:-$d_broker}"; PG_DOWN="${PG_DOWN:-$d_pg}"; RO_SECONDS="${RO_SECONDS:-$d_ro}"
THUMB_TIMEOUT="${THUMB_TIMEOUT:-90}"; GC_TIMEOUT="${GC_TIMEOUT:-90}"
# broker-restart is in "all": the local broker (Tansu) keeps everything in memory, so a kill
# loses topics, messages and offsets; blob's and thumbnail's reconcilers clean up what the lost
# file.deleted events would have, metadata's asks again for lost thumbnail requests
# (docs/resilience.md).
[[ "$FAULTS" == all ]] && FAULTS="services,broker-pause,broker-restart,postgres,blob-ro"
FAULTS="${FAULTS//services/auth,metadata,blob,thumbnail,gateway}"
IFS=',' read -r -a FAULT_LIST <<<"$FAULTS"
for f in "${FAULT_LIST[@]}"; do
  case "$f" in auth|metadata|blob|thumbnail|gateway|broker-pause|broker-restart|postgres|blob-ro|none) ;; *) die "unknown fault: $f" ;; esac
done

export CIRRUS_BIN_DIR="${CIRRUS_BIN_DIR:-$CIRRUS_ROOT/.build/debug}"
for s in auth metadata blob thumbnail gateway; do
  [[ -x "$CIRRUS_BIN_DIR/cirrus-$s" ]] || die "$CIRRUS_BIN_DIR/cirrus-$s is missing (set CIRRUS_BIN_DIR)"
done
PY=/usr/bin/python3; [[ -x "$PY" ]] || PY="$CIRRUS_VENV/bin/python"
command -v psql >/dev/null || die "psql is missing (Debian package postgresql-client)"

# Settings the services read (exported variables reach them through infra/run): a short GC
# grace and interval so "after GC" comes within a minute, a short thumbnail grace and
# reconcile interval so lost requests are asked again quickly, the shortest reservation TTL,
# and rate limits that measure the system rather than the limiter (all users share 127.0.0.1).
export CIRRUS_BLOB_GC_INTERVAL_SECONDS="${CIRRUS_BLOB_GC_INTERVAL_SECONDS:-5}"
export CIRRUS_BLOB_GC_GRACE_SECONDS="${CIRRUS_BLOB_GC_GRACE_SECONDS:-30}"
# Reconciliation with metadata (what lost events left): every 5 s, for what is 20 s old.
export CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS="${CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS:-5}"
export CIRRUS_BLOB_RECONCILE_GRACE_SECONDS="${CIRRUS_BLOB_RECONCILE_GRACE_SECONDS:-20}"
export CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS="${CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS:-5}"
export CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS="${CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS:-20}"
export CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS="${CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS:-30}"  # also the age before an unindexed rendition object is swept
export CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS="${CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS:-15}"
export CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS="${CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS:-5}"
export CIRRUS_METADATA_UPLOAD_TTL_SECONDS="${CIRRUS_METADATA_UPLOAD_TTL_SECONDS:-60}"
export CIRRUS_GATEWAY_ANONYMOUS_RPM="${CIRRUS_GATEWAY_ANONYMOUS_RPM:-1000000}"
export CIRRUS_GATEWAY_AUTH_RPM="${CIRRUS_GATEWAY_AUTH_RPM:-100000}"
export CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS="${CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS:-100000}"

export CIRRUS_VENV
mkdir -p "$CIRRUS_LOCAL"
STACK="$(mktemp -d "$CIRRUS_LOCAL/faults.XXXXXX")"
[[ -n "$OUT" ]] || OUT="$CIRRUS_LOCAL/faults-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
LOAD_PID=""; MOUNTED=""; T0=$SECONDS; GATEWAY_PORT=0; PG_PORT=0; BROKER_PORT=0
say() { printf '\033[1;35m[faults +%3ds]\033[0m %s\n' "$((SECONDS - T0))" "$*" | tee -a "$OUT/faults.log" >&2; }
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n "$MOUNTED" ]] && { umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null || true; }
  [[ -n "$LOAD_PID" ]] && stop_pid "$LOAD_PID" 10
  # a frozen broker cannot die of TERM
  [[ -f "$STACK/run/broker.pid" ]] && kill -CONT "$(cat "$STACK/run/broker.pid")" 2>/dev/null || true
  if [[ -d "$STACK/logs" ]]; then mkdir -p "$OUT/logs"; cp "$STACK"/logs/*.log "$OUT/logs/" 2>/dev/null || true; fi
  if [[ $KEEP == 1 && -n "${STACK_UP:-}" ]]; then
    say "stack left running in $STACK; stop it with: CIRRUS_LOCAL=$STACK CIRRUS_LOCAL_GATEWAY_PORT=$GATEWAY_PORT CIRRUS_LOCAL_PG_PORT=$PG_PORT CIRRUS_LOCAL_BROKER_PORT=$BROKER_PORT infra/run stop; rm -rf $STACK"
  else
    run_stack stop >/dev/null 2>&1 || true
    rm -rf "$STACK"
  fi
  say "results in $OUT (exit $status)"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A private copy of the binaries: a build running meanwhile must not change them under a restart.
mkdir -p "$STACK/bin"
for s in auth metadata blob thumbnail gateway; do cp "$CIRRUS_BIN_DIR/cirrus-$s" "$STACK/bin/"; done
ls -l --time-style=+%FT%T "$CIRRUS_BIN_DIR"/cirrus-{auth,metadata,blob,thumbnail,gateway} | awk '{print $6, $7}' >"$OUT/binaries.txt"
(cd "$CIRRUS_ROOT" && echo "commit $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (working tree modified)')") >>"$OUT/binaries.txt"
export CIRRUS_BIN_DIR="$STACK/bin"

# Five consecutive free ports for the services, and two more. Other stacks on the machine may
# take a port between the check and the bind: then the start fails and is tried again on others.
for attempt in 1 2 3; do
  pick_stack_ports
  say "stack in $STACK: gateway $GATEWAY_PORT (services up to $((GATEWAY_PORT + 4))), PostgreSQL $PG_PORT, broker $BROKER_PORT; binaries $CIRRUS_BIN_DIR"
  if (run_stack --detach 2>>"$OUT/faults.log"); then break; fi
  [[ $attempt == 3 ]] && die "the stack did not start (see $OUT/faults.log)"
  say "the stack did not start (a port taken meanwhile?); trying other ports"
done
STACK_UP=1
API="http://127.0.0.1:$GATEWAY_PORT"

# ---------------------------------------------------------------------------------------------
# An administrator, a tier with every right, and the load's users on it.
# ---------------------------------------------------------------------------------------------
password="Faults-$(random_secret)"
pair="$(stack_admin_with_tier "$API" "$STACK" faultadmin "$password" '{"name":"faults","thumbnail_sizes":[200,400],"original_links":true,
  "expiring_links":true,"link_min_seconds":300,"link_max_seconds":30000,"quota_bytes":107374182400,"max_upload_bytes":104857600,
  "requests_per_minute":1000000}')" || die "could not set up the administrator and the faults tier"
admin="${pair% *}" tier="${pair#* }"
users_json="["
for i in $(seq 1 "$USERS"); do
  u="load$i"
  stack_user_on_tier "$API" "$admin" "$tier" "$u" "$password" >/dev/null || die "could not set up $u"
  [[ $i -gt 1 ]] && users_json+=","
  users_json+="{\"username\":\"$u\",\"password\":\"$password\"}"
done
echo "$users_json]" >"$OUT/users.json"
say "$USERS users on tier 'faults' (thumbnails 200 and 400, links, 100 GiB, 1,000,000 requests/min)"

# ---------------------------------------------------------------------------------------------
# The load, in the background until the stop file appears.
# ---------------------------------------------------------------------------------------------
rm -f "$OUT/ledger.jsonl" "$OUT/errors.jsonl" "$OUT/phases.jsonl"
"$PY" "$CIRRUS_ROOT/bench/load.py" --api "$API" --users "$OUT/users.json" --duration 3600 --threads-per-user "$THREADS" \
  --ledger "$OUT/ledger.jsonl" --errors "$OUT/errors.jsonl" --report "$OUT/load-report.json" --stop-file "$STACK/stop-load" \
  >"$OUT/load.txt" 2>&1 &
LOAD_PID=$!
phase() {  # phase NAME START END
  printf '{"phase":"%s","start":%s,"end":%s}\n' "$1" "$2" "$3" >>"$OUT/phases.jsonl"
}
now() { date +%s.%N; }
load_alive() { kill -0 "$LOAD_PID" 2>/dev/null || { tail -20 "$OUT/load.txt" >&2; die "the load stopped early"; }; }
pidof_part() { cat "$STACK/run/$1.pid"; }
status_line() { curl -s -m 3 "$API/v1/status" | tr -d '\n' | cut -c1-300 || true; }

# A service that dies without being killed by this script crashed: it is recorded (a FAIL at
# the end), and restarted so that the run and its checks can go on.
user_token() { post POST /v1/auth/login "{\"login\":\"load1\",\"password\":\"$password\"}" 2>/dev/null | json 'd["access_token"]' 2>/dev/null || true; }
root_of() { curl -fsS "$API/v1/folders/root" -H "Authorization: Bearer $1" 2>/dev/null | json 'd["id"]' 2>/dev/null || true; }
check_crashes() {
  local s pid
  for s in auth metadata blob thumbnail gateway; do
    pid="$(cat "$STACK/run/$s.pid" 2>/dev/null || true)"
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
      say "CRASH: $s (pid ${pid:-?}) is not running; its log: $(grep -m1 -h 'Fatal error\|Program crashed' "$STACK/logs/$s.log" | cut -c1-200)"
      echo "{\"service\":\"$s\",\"t\":$(now)}" >>"$OUT/crashes.jsonl"
      run_stack restart "$s" 2>>"$OUT/faults.log" || say "$s did not restart"
    fi
  done
}
rm -f "$OUT/crashes.jsonl"
say "load running (pid $LOAD_PID); baseline for $BASELINE s"
t=$(now); sleep "$BASELINE"; load_alive; phase baseline "$t" "$(now)"

for f in "${FAULT_LIST[@]}"; do
  t=$(now)
  case "$f" in
    none) ;;
    auth|metadata|blob|thumbnail|gateway)
      pid="$(pidof_part "$f")"
      say "kill -9 $f (pid $pid); restart after $FAULT_DOWN s"
      kill -KILL "$pid"
      sleep "$FAULT_DOWN"
      t_restart=$SECONDS
      run_stack restart "$f" 2>>"$OUT/faults.log"
      say "$f ready again after $((SECONDS - t_restart)) s"
      ;;
    broker-pause)
      pid="$(pidof_part broker)"
      say "broker frozen (SIGSTOP, pid $pid) for $BROKER_DOWN s"
      kill -STOP "$pid"; sleep "$BROKER_DOWN"; say "status while frozen: $(status_line)"
      kill -CONT "$pid"; say "broker resumed (SIGCONT)"
      ;;
    broker-restart)
      pid="$(pidof_part broker)"
      say "broker killed (SIGKILL, pid $pid; its topics, messages and offsets are gone); restart after $BROKER_DOWN s"
      kill -KILL "$pid"; sleep "$BROKER_DOWN"; say "status while down: $(status_line)"
      run_stack restart broker 2>>"$OUT/faults.log"; say "broker started again (empty)"
      ;;
    postgres)
      say "PostgreSQL stopped (fast shutdown) for $PG_DOWN s"
      pg_stop "$STACK/pg" fast; sleep "$PG_DOWN"; say "status while down: $(status_line)"
      run_stack restart postgres 2>>"$OUT/faults.log"; say "PostgreSQL started again"
      ;;
    blob-ro)
      dir="$STACK/data/blob"
      mount --bind "$dir" "$dir" || die "mount --bind is not permitted here: cannot make the store read-only"
      MOUNTED="$dir"
      # A file open for writing (an upload in flight) makes the remount busy: try until a gap.
      ro=0
      for _ in $(seq 1 100); do mount -o remount,bind,ro "$dir" 2>/dev/null && { ro=1; break; }; sleep 0.1; done
      ((ro)) || die "cannot remount the store read-only (busy for 10 s)"
      say "blob's store is read-only (bind mount) for $RO_SECONDS s"
      sleep 2
      tok="$(user_token)"
      probe="$(head -c 1000 /dev/urandom | curl -s -o "$OUT/ro-upload.json" -w '%{http_code}' -X POST \
        "$API/v1/files?folder_id=$(root_of "$tok")&name=ro-probe-$RANDOM.bin" \
        -H "Authorization: Bearer $tok" -H 'Content-Type: application/octet-stream' --data-binary @- || true)"
      ready="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((GATEWAY_PORT + 3))/readyz" || true)"
      say "while read-only: an upload got $probe ($(head -c 200 "$OUT/ro-upload.json")), blob /readyz $ready"
      sleep "$((RO_SECONDS > 2 ? RO_SECONDS - 2 : 0))"
      # blob may hold objects open for reading (downloads in flight): retry, then detach lazily
      # (open files finish on the read-only mount, every new open sees the writable directory)
      for _ in $(seq 1 10); do umount "$dir" 2>/dev/null && break; sleep 0.5; done
      if mountpoint -q "$dir"; then umount -l "$dir"; say "store busy: unmounted lazily"; fi
      MOUNTED=""
      wait_for "blob ready again" 60 curl -fsS -o /dev/null "http://127.0.0.1:$((GATEWAY_PORT + 3))/readyz" || say "blob not ready 60 s after the store became writable"
      check_crashes
      tok="$(user_token)"
      after="$(head -c 1000 /dev/urandom | curl -s -o /dev/null -w '%{http_code}' -X POST \
        "$API/v1/files?folder_id=$(root_of "$tok")&name=ro-after-$RANDOM.bin" \
        -H "Authorization: Bearer $tok" -H 'Content-Type: application/octet-stream' --data-binary @- || true)"
      ready_after="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((GATEWAY_PORT + 3))/readyz" || true)"
      say "store writable again: an upload got $after, blob /readyz $ready_after"
      echo "{\"upload_status\":$probe,\"blob_readyz\":$ready,\"upload_after\":$after,\"blob_readyz_after\":$ready_after}" >"$OUT/ro-probe.json"
      ;;
  esac
  phase "$f" "$t" "$(now)"
  check_crashes
  load_alive
  settle="$SETTLE"
  # after a long broker outage the consumer groups re-form (seen: > 10 s); let them drain the
  # backlog before the next fault, so that a later broker kill does not also count this one
  [[ "$f" == broker-* ]] && settle="${BROKER_SETTLE:-$((SETTLE > 25 ? SETTLE : 25))}"
  t=$(now); sleep "$settle"; phase "$f-settle" "$t" "$(now)"
  check_crashes
done

say "stopping the load"
touch "$STACK/stop-load"
wait "$LOAD_PID" || true
LOAD_PID=""
cat "$OUT/load.txt"

say "waiting for every service to be ready"
for s in 0 1 2 3 4; do
  wait_for "port $((GATEWAY_PORT + s))" 120 curl -fsS -o /dev/null "http://127.0.0.1:$((GATEWAY_PORT + s))/readyz" \
    || say "127.0.0.1:$((GATEWAY_PORT + s)) is not ready"
done

# Server errors of the load, by phase.
"$PY" - "$OUT" <<'PY' | tee "$OUT/errors-by-phase.txt"
import json, sys, collections
out = sys.argv[1]
phases = [json.loads(l) for l in open(f"{out}/phases.jsonl")]
errors = [json.loads(l) for l in open(f"{out}/errors.jsonl")] if __import__("os").path.exists(f"{out}/errors.jsonl") else []
print("server errors of the load by phase (phase: count, by operation and answer):")
for p in phases:
    inside = [e for e in errors if p["start"] <= e["t"] < p["end"]]
    kinds = collections.Counter(f"{e['op']}:{e['status'] if e['status'] is not None else 'conn'}" for e in inside)
    print(f"  {p['phase']:<22} {p['end'] - p['start']:6.1f} s  {len(inside):5d}  {dict(kinds.most_common(8)) if kinds else ''}")
after = [e for e in errors if e["t"] >= phases[-1]["end"]] if phases else errors
if after:
    print(f"  {'after the last phase':<22}          {len(after):5d}")
PY

say "checking the invariants (thumbnails within $THUMB_TIMEOUT s, GC within $GC_TIMEOUT s)"
set +e
"$PY" "$CIRRUS_ROOT/bench/invariants.py" --api "$API" --users "$OUT/users.json" --ledger "$OUT/ledger.jsonl" \
  --stack "$STACK" --pg-port "$PG_PORT" --phases "$OUT/phases.jsonl" --details "$OUT/invariants-details.json" --thumb-timeout "$THUMB_TIMEOUT" --gc-timeout "$GC_TIMEOUT" | tee "$OUT/invariants.txt"
verdict=${PIPESTATUS[0]}
set -e
# Two checks of the answers themselves (not of the data): an outage must be answered 503 (or
# 507), never 500; and the read-only store must be refused clearly and recover.
n500="$(grep -c '"status": 500' "$OUT/errors.jsonl" 2>/dev/null || true)"
if [[ "${n500:-0}" == 0 ]]; then line="PASS  (f) no 500 answers during the faults: outages were answered 503/507 or not at all"
else line="FAIL  (f) no 500 answers during the faults: ${n500} answers were 500 ($("$PY" -c '
import json, sys, collections
phases = [json.loads(l) for l in open(sys.argv[1] + "/phases.jsonl")]
c = collections.Counter()
for l in open(sys.argv[1] + "/errors.jsonl"):
    e = json.loads(l)
    if e["status"] == 500:
        c[next((p["phase"] for p in phases if p["start"] <= e["t"] < p["end"]), "outside")] += 1
print(", ".join(f"{k}: {v}" for k, v in c.items()))' "$OUT"))"; verdict=1; fi
echo "$line" | tee -a "$OUT/invariants.txt"
if [[ -f "$OUT/ro-probe.json" ]]; then
  if "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["upload_status"] in (503, 507) and d["blob_readyz"] == 503 and d["upload_after"] == 201 and d["blob_readyz_after"] == 200 else 1)' "$OUT/ro-probe.json"; then
    line="PASS  (g) read-only blob store: $(cat "$OUT/ro-probe.json") (refused with 503/507 and unready while read-only; ready and 201 after)"
  else line="FAIL  (g) read-only blob store: $(cat "$OUT/ro-probe.json") (expected 503/507 and unready while read-only, 201 and ready after)"; verdict=1; fi
  echo "$line" | tee -a "$OUT/invariants.txt"
fi
crashed="$(grep -l 'Program crashed\|Fatal error' "$STACK"/logs/{gateway,auth,metadata,blob,thumbnail}.log 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ' || true)"
if [[ -z "$crashed" ]]; then line="PASS  (h) no service crashed (no 'Fatal error' or 'Program crashed' in the service logs)"
else
  line="FAIL  (h) no service crashed: crashed: $crashed— $(grep -h 'Fatal error' "$STACK"/logs/*.log | sort | uniq -c | tr -s ' ' | cut -c1-300 | tr '\n' ';' || true)"
  verdict=1
fi
echo "$line" | tee -a "$OUT/invariants.txt"
for s in gateway auth metadata blob thumbnail; do
  n_err="$(grep -c '"level":"error"' "$STACK/logs/$s.log" 2>/dev/null || true)"
  n_crit="$(grep -c '"level":"critical"\|Fatal error' "$STACK/logs/$s.log" 2>/dev/null || true)"
  say "log $s: ${n_err:-0} error lines, ${n_crit:-0} critical/fatal"
done
say "total $((SECONDS - T0)) s; invariants $([[ $verdict == 0 ]] && echo PASS || echo FAIL)"
exit "$verdict"
