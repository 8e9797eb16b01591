#!/usr/bin/env bash
# The durability floor of a small upload (issue 16, item 5): what an acknowledged 1 MiB upload
# must wait for on this machine's disk, whatever the code around it, against bench/blob.sh's
# "raw" (a copy of the file with one fsync).
#
# What it does: starts a throw-away PostgreSQL (fsync on, synchronous_commit on: the settings
# the services run with) under .local/, then times in one python3 process, N times each
# (BENCH_FLOOR_COUNT, default 200; medians printed, in milliseconds):
#   raw      write 1 MiB to a new file, fsync, close (bench/blob.sh's raw upload)
#   store    the local store's commit (Shared/Storage/LocalObjectStore.swift): write 1 MiB to
#            tmp/, fsync, rename into objects/, fsync the directory (the rename durable)
#   commit   one PostgreSQL transaction of two small INSERTs (blob's index row and its outbox
#            event), over a kept connection (psql as a coprocess), waiting for the commit
#   upload   store then commit, in that order (the index may name only durable bytes): the
#            least one blob upload must wait for
#   hash     SHA-256 of the 1 MiB (hashlib: OpenSSL, with the CPU's SHA instructions where it
#            has them), which blob computes of every upload as the bytes arrive
# and prints raw ÷ upload: the best ratio a 1 MiB upload can reach against raw on this disk
# if everything else (HTTP, hashing, the thread-pool hops) cost nothing, and raw ÷ (upload +
# hash): the same with the hash in series instead of overlapping the disk's work. bench/blob.sh's
# measured ratio is to be read against them.
# A trap stops PostgreSQL and removes the directory on any exit.
#
# Usage: bench/durability-floor.sh   (BENCH_FLOOR_COUNT=200)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

COUNT="${BENCH_FLOOR_COUNT:-200}"
[[ "$COUNT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_FLOOR_COUNT must be a positive integer"
"$CIRRUS_ROOT/infra/lib/prereqs.sh"
mkdir -p "$CIRRUS_LOCAL"
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-floor.XXXXXX")"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  pg_stop "$TMP/pg" immediate
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PG_PORT="$(free_port)"
pg_init "$TMP/pg"
PG_FSYNC=on pg_start "$TMP/pg" "$PG_PORT" "$TMP/postgres.log"
pg_sql "$TMP/pg" "$PG_PORT" "CREATE TABLE blobs (id uuid PRIMARY KEY, sha256 text, size bigint); CREATE TABLE outbox (id bigserial PRIMARY KEY, payload bytea)"
log "PostgreSQL on 127.0.0.1:$PG_PORT (fsync=on, synchronous_commit=$(pg_sql "$TMP/pg" "$PG_PORT" "SHOW synchronous_commit"))"
mkdir -p "$TMP/disk/raw" "$TMP/disk/tmp" "$TMP/disk/objects"

python3 - "$TMP" "$PG_PORT" "$COUNT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY'
import hashlib, os, statistics, subprocess, sys, time, uuid

tmp, port, count, commit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = os.urandom(1 << 20)
disk = os.path.join(tmp, "disk")

psql = subprocess.Popen(["psql", "-X", "-q", "-tA", "-h", os.path.join(tmp, "pg", "socket"), "-p", port, "-U", "postgres", "-d", "postgres"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

def commit_once():
    marker = uuid.uuid4().hex
    psql.stdin.write(f"BEGIN; INSERT INTO blobs VALUES ('{uuid.uuid4()}', '{marker}', {len(data)}); "
                     f"INSERT INTO outbox (payload) VALUES ('\\x{marker}'); COMMIT;\n\\echo {marker}\n")
    psql.stdin.flush()
    while psql.stdout.readline().strip() != marker:
        pass

def store_once():
    name = uuid.uuid4().hex
    temp, final = os.path.join(disk, "tmp", name), os.path.join(disk, "objects", name)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.rename(temp, final)
    directory = os.open(os.path.join(disk, "objects"), os.O_RDONLY)
    os.fsync(directory)
    os.close(directory)
    return final

def timed(action):
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result

runs = {"raw": [], "store": [], "commit": [], "upload": [], "hash": []}
for i in range(count):
    # Interleaved, so the disk's moods fall on every kind alike.
    path = os.path.join(disk, "raw", uuid.uuid4().hex)
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data); os.fsync(fd); os.close(fd)
    runs["raw"].append((time.perf_counter() - started) * 1000)
    os.unlink(path)
    ms, final = timed(store_once); runs["store"].append(ms); os.unlink(final)
    ms, _ = timed(commit_once); runs["commit"].append(ms)
    started = time.perf_counter()
    final = store_once(); commit_once()
    runs["upload"].append((time.perf_counter() - started) * 1000)
    os.unlink(final)
    ms, _ = timed(lambda: hashlib.sha256(data).digest()); runs["hash"].append(ms)
psql.stdin.close(); psql.wait(timeout=30)

med = {k: statistics.median(v) for k, v in runs.items()}
q = {k: sorted(v)[int(len(v) * 0.9)] for k, v in runs.items()}
print(f"durability floor of a 1 MiB upload, commit {commit}, {count} of each, interleaved; ms (median, p90)")
print(f"  raw     write 1 MiB + fsync                                   {med['raw']:7.2f}  {q['raw']:7.2f}")
print(f"  store   + rename + fsync of the directory                     {med['store']:7.2f}  {q['store']:7.2f}")
print(f"  commit  a PostgreSQL transaction of two INSERTs (fsync on)    {med['commit']:7.2f}  {q['commit']:7.2f}")
print(f"  upload  store, then commit                                    {med['upload']:7.2f}  {q['upload']:7.2f}")
print(f"  hash    SHA-256 of the 1 MiB                                  {med['hash']:7.2f}  {q['hash']:7.2f}")
print(f"best ratio a 1 MiB upload can reach against raw here: raw / upload = {med['raw'] / med['upload']:.2f} "
      f"(in MB/s: raw {1.048576 / med['raw'] * 1000:.0f}, floor {1.048576 / med['upload'] * 1000:.0f})")
print(f"with the hash in series, not overlapping the disk: raw / (upload + hash) = {med['raw'] / (med['upload'] + med['hash']):.2f}")
PY
