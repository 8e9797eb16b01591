#!/usr/bin/env bash
# Metadata benchmarks (issue 4): listing a page of 100 from a folder of 100,000 items, reading a
# file's metadata, creating a folder, renaming and moving a file, as requests per second with
# p50/p99 latency, each through the gateway and directly against the metadata service (same
# bearer token: the gateway forwards Authorization and metadata verifies it again), so the
# gateway's cost shows as a ratio. Also captures EXPLAIN (ANALYZE, BUFFERS) of the listing
# statements the service issues and writes them into docs/metadata.md.
#
# What it does: builds the five services in release mode (unless --bin-dir), then starts its own
# whole stack with `infra/run --detach` under a temporary CIRRUS_LOCAL in .local/ on free
# 127.0.0.1 ports outside the defaults (a stack on 8080 and the developer's .local are never
# touched; the Python venv with the broker is shared); a trap stops every
# process of that stack by PID and removes the directory on any exit.
#   seed      registers a user (POST /v1/auth/register, /v1/auth/login through the gateway) and
#             moves them to a tier made for the benchmark with the highest request rate the API
#             allows (the gateway answers 429 beyond a tier's requests_per_minute; an administrator
#             bootstrapped with the stack's secret creates the tier), creates through the API the folders `big`, `create-target`, `move-a`, `move-b`, a
#             folder in `big`, two small text files in `big` (POST /v1/files) and a copy of one
#             (POST /v1/files/{id}/copy); then bulk-inserts with SQL, as the API would have made
#             them: BENCH_ITEMS (100,000) − 4 items into `big` (1 in 50 a folder like
#             POST /v1/folders makes, the rest files like POST /v1/files/{id}/copy makes: the
#             shared content, a new content id, version 1, the owner's used_bytes raised, and in
#             blob's database one reference each with the content's ref_count raised), and 1,000
#             such files into `move-a`; `created_at` spread over the past year, names in an order
#             unrelated to insertion. Each seeded row is compared column by column with its
#             API-made model, then VACUUM (ANALYZE) (sets the visibility map too, so autovacuum
#             does not start in the middle of a measurement). Every HTTP status is checked.
#   check     pages through all of `big` with curl (limit 1000, sort name and -created_at): every
#             item exactly once, in order; the cursor after item 50,000 is the "deep" page. One
#             request per measured operation, through each target, must answer as expected.
#   plans     EXPLAIN (ANALYZE, BUFFERS) of the children-listing statement in its four shapes
#             (first page and cursor page; sort name and -created_at) with the real owner,
#             folder and cursors. The statement text is taken from pg_stat_activity right after
#             the service ran it (else rebuilt from Store/Listing.swift, said in the output) and
#             run as a prepared statement with the parameter types PostgresNIO binds (uuid,
#             text), as the service does; second execution shown (cache warm).
#   measure   wrk 4 (-t2 -cBENCH_CONNECTIONS -dBENCH_SECONDS --latency), per run and target:
#               list-50     GET /v1/folders/{small}/children?limit=50 (a folder of 50 items: a
#                           page as people mostly see one)
#               list-first  GET /v1/folders/{big}/children?limit=100
#               list-deep   GET /v1/folders/{big}/children?limit=100&cursor=<after item 50,000>
#               get-file    GET /v1/files/{id}
#               create      POST /v1/folders {name: unique, parent_id: create-target}
#               rename      PATCH /v1/files/{id} {name: unique}, 1,000 files of `big` in turn
#               move        PATCH /v1/files/{id} {parent_id}, 1,000 files between move-a and move-b
#             The listing folder stays at BENCH_ITEMS items (creates go to `create-target`).
#             The order of gateway/direct alternates per run; a new token per run (login). The
#             CPU time that the gateway, metadata and PostgreSQL processes used during each
#             measurement (/proc/<pid>/stat) is shown per request.
# The machine has few cores (2 here) and wrk, the five services and PostgreSQL share them: the
# figures are those of the whole system on one box, not of a service alone. PostgreSQL runs
# with fsync on (writes wait for the disk). Non-2xx answers and socket errors are counted and
# must be zero (the script exits 1 otherwise, after printing the report).
#
# Usage: bench/metadata.sh [--bin-dir DIR] [--runs N]
#        (BENCH_RUNS=3, BENCH_SECONDS=5, BENCH_CONNECTIONS=16, BENCH_ITEMS=100000;
#         BENCH_PLANS_DOC=another file to put the plans in instead of docs/metadata.md, e.g. for trial runs)
#   --bin-dir DIR  use DIR/cirrus-{auth,metadata,blob,thumbnail,gateway} as they are, no build.
#                  Results go to bench/results/<date>-metadata-<commit>.txt only for release
#                  binaries (the default build, or a DIR ending in /release); for any other DIR
#                  the report is printed only: debug figures say nothing about speed. The query
#                  plans (PostgreSQL's, whatever the build) replace the line
#                  `<!-- plans: filled by bench/metadata.sh -->` (or the block a previous run
#                  wrote) in docs/metadata.md; without that line they go to
#                  bench/results/<date>-metadata-plans-<commit>.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib/common.sh"
cd "$CIRRUS_ROOT"

RUNS="${BENCH_RUNS:-3}"
SECONDS_PER="${BENCH_SECONDS:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
ITEMS="${BENCH_ITEMS:-100000}"
BIN_DIR=""
while (($#)); do
  case "$1" in
    --bin-dir) BIN_DIR="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: bench/metadata.sh [--bin-dir DIR] [--runs N])" ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ "$SECONDS_PER" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a positive integer"
[[ "$ITEMS" =~ ^[0-9]+$ ]] && ((ITEMS >= 10000)) || die "BENCH_ITEMS must be at least 10000"

"$CIRRUS_ROOT/infra/lib/prereqs.sh"
if ! command -v wrk >/dev/null; then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "wrk is missing (Debian package wrk)"
  log "installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
command -v wrk >/dev/null || die "wrk did not install"

SERVICES=(auth metadata blob thumbnail gateway)
RELEASE=0
if [[ -z "$BIN_DIR" ]]; then
  for s in "${SERVICES[@]}"; do
    log "building cirrus-$s (release; the first time takes several minutes)"
    swift build -c release --product "cirrus-$s" 2>&1 | grep -E "error|Compiling|Build" | grep -vE "^\[" >&2 || true
  done
  BIN_DIR="$(swift build -c release --show-bin-path)"
  RELEASE=1
else
  BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
  [[ "$BIN_DIR" == */release ]] && RELEASE=1
fi
for s in "${SERVICES[@]}"; do [[ -x "$BIN_DIR/cirrus-$s" ]] || die "$BIN_DIR/cirrus-$s is missing (build failed?)"; done

# ---------------------------------------------------------------------------
# Throw-away stack and its cleanup.
# ---------------------------------------------------------------------------
mkdir -p "$CIRRUS_LOCAL"
TMP="$(mktemp -d "$CIRRUS_LOCAL/bench-metadata.XXXXXX")"
WORK="$TMP/bench"; mkdir -p "$WORK"
WRK_PID=""
cleanup() {
  local status=$? f
  trap - EXIT INT TERM
  [[ -n "$WRK_PID" ]] && stop_pid "$WRK_PID" 2
  bench_stack_stop "$TMP"
  if [[ $status -ne 0 ]]; then
    for f in "$TMP"/logs/{gateway,metadata,auth,blob,thumbnail}.log "$WORK"/last-wrk.txt; do
      [[ -s "$f" ]] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$TMP"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free ports outside the defaults and the ephemeral range: the gateway's and the next four
# (infra/run gives them to auth, metadata, blob, thumbnail), PostgreSQL's and the broker's.
log "starting a private stack in ${TMP#"$CIRRUS_ROOT"/}"
bench_stack_start "$TMP" "$BIN_DIR"   # free ports: GW_PORT and the four after it, PG_PORT, BROKER_PORT
MD_PORT=$((GW_PORT + 2))
GW="http://127.0.0.1:$GW_PORT"; MD="http://127.0.0.1:$MD_PORT"
pid_of() { cat "$TMP/run/$1.pid"; }

# sql DB ... (infra/lib/common.sh) reaches PostgreSQL as the services' role with PG_PORT and PG_PASSWORD.

# ---------------------------------------------------------------------------
# HTTP helpers: every status is checked (call and jget are in infra/lib/common.sh).
# ---------------------------------------------------------------------------
JSON=(-H 'Content-Type: application/json')

USERNAME="bench$(random_secret | head -c 8)"; PASSWORD="Bench-$(random_secret)"
login() {
  call 200 POST "$GW/v1/auth/login" "$WORK/login.json" "${JSON[@]}" \
    -d "{\"login\":\"$USERNAME\",\"password\":\"$PASSWORD\"}"
  TOKEN="$(jget "$WORK/login.json" 'd["access_token"]')"
  AUTH=(-H "Authorization: Bearer $TOKEN")
}

# The gateway limits each user to their tier's requests_per_minute (429 beyond): bench_tier
# (infra/lib/common.sh) makes a tier with the highest rate and moves the user ($OWNER) to it.

# ---------------------------------------------------------------------------
# Seed.
# ---------------------------------------------------------------------------
log "registering $USERNAME"
call 201 POST "$GW/v1/auth/register" "$WORK/register.json" "${JSON[@]}" \
  -d "{\"username\":\"$USERNAME\",\"email\":\"$USERNAME@example.com\",\"password\":\"$PASSWORD\"}"
OWNER="$(jget "$WORK/register.json" 'd["id"].lower()')"
TIER="$(bench_tier '[200]')"
login
# The root exists once metadata consumed user.registered (or is made from the token at once).
for _ in $(seq 1 100); do
  code="$(curl -sS -o "$WORK/root.json" -w '%{http_code}' "${AUTH[@]}" "$GW/v1/folders/root")"
  [[ "$code" == 200 ]] && break
  [[ "$code" == 503 ]] || die "GET /v1/folders/root: HTTP $code: $(head -c 300 "$WORK/root.json")"
  sleep 0.1
done
[[ "$code" == 200 ]] || die "GET /v1/folders/root: still HTTP $code"
ROOT="$(jget "$WORK/root.json" 'd["id"].lower()')"

mkfolder() {  # mkfolder NAME PARENT → id
  call 201 POST "$GW/v1/folders" "$WORK/folder.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"name\":\"$1\",\"parent_id\":\"$2\"}"
  jget "$WORK/folder.json" 'd["id"].lower()'
}
upload() {  # upload FOLDER NAME FILE → id (POST /v1/files, raw body)
  call 201 POST "$GW/v1/files?folder_id=$1&name=$2" "$WORK/upload.json" "${AUTH[@]}" -H 'Content-Type: text/plain' -H 'Expect:' --data-binary "@$3"
  jget "$WORK/upload.json" 'd["id"].lower()'
}
BIG="$(mkfolder big "$ROOT")"
CREATE_TARGET="$(mkfolder create-target "$ROOT")"
MOVE_A="$(mkfolder move-a "$ROOT")"
MOVE_B="$(mkfolder move-b "$ROOT")"
SMALL="$(mkfolder small "$ROOT")"
API_FOLDER="$(mkfolder 'Folder made by the API' "$BIG")"
python3 -c 'import sys; sys.stdout.write(("Cirrus benchmark seed file. " * 80)[:2048])' >"$WORK/seed-a.txt"
python3 -c 'import sys; sys.stdout.write(("Another small text file. " * 80)[:1500])' >"$WORK/seed-b.txt"
API_FILE="$(upload "$BIG" readme.txt "$WORK/seed-a.txt")"
upload "$BIG" notes.txt "$WORK/seed-b.txt" >/dev/null
call 201 POST "$GW/v1/files/$API_FILE/copy" "$WORK/copy.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"parent_id\":\"$BIG\",\"name\":\"readme copy.txt\"}"
API_COPY="$(jget "$WORK/copy.json" 'd["id"].lower()')"
API_MADE=4   # items the API put into `big`
SEED_SHA="$(sql metadata -c "SELECT sha256 FROM items WHERE id = '$API_COPY'")"

# seed PARENT COUNT TAG FOLDER_EVERY: COUNT rows into PARENT, every FOLDER_EVERY-th a folder (0: none).
cat >"$WORK/seed-metadata.sql" <<'SQL'
BEGIN;
CREATE TEMP TABLE seeded AS
  SELECT n, gen_random_uuid() AS id, gen_random_uuid() AS content_id,
         (:every > 0 AND n % :every = 0) AS is_folder,
         now() - make_interval(secs => (:count - n) * 300 + (n % 997) / 997.0) AS at
  FROM generate_series(1, :count) AS n;
-- Folders as POST /v1/folders makes them (Drive.createFolder).
INSERT INTO items (id, owner_id, parent_id, kind, name, state, created_at, updated_at)
  SELECT id, :'owner', :'parent', 'folder', 'Folder ' || substr(md5(:'tag' || n), 1, 10) || ' ' || n, 'ready', at, at
  FROM seeded WHERE is_folder;
-- Files as POST /v1/files/{id}/copy makes them (Drive.copy): the source's content, a new content id.
INSERT INTO items (id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version,
                   created_at, updated_at, thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at)
  SELECT s.id, src.owner_id, :'parent', 'file', substr(md5(:'tag' || s.n), 1, 12) || '-' || s.n || '.txt', 'ready',
         src.size, src.content_type, src.sha256, src.blob_id, s.content_id, 1, s.at, s.at,
         src.thumbnail_status, src.thumbnail_sizes, src.thumbnail_blob_id, src.thumbnail_requested_at
  FROM seeded s JOIN items src ON src.id = :'source' WHERE NOT s.is_folder;
UPDATE users SET used_bytes = used_bytes + (SELECT count(*) FROM seeded WHERE NOT is_folder) * (SELECT size FROM items WHERE id = :'source')
  WHERE id = :'owner';
COMMIT;
-- The new files and their content ids, for blob's references (the only output).
COPY (SELECT id, content_id FROM seeded WHERE NOT is_folder) TO STDOUT;
SQL
# Blob's side of each copy (BlobIndex.addReference): one reference per new content id, ref_count raised.
cat >"$WORK/seed-blob.sql" <<'SQL'
BEGIN;
CREATE TEMP TABLE new_refs (file_id UUID, ref_id UUID);
\copy new_refs FROM pstdin
INSERT INTO blob_refs (owner_id, sha256, file_id, ref_id) SELECT :'owner', :'sha', file_id, ref_id FROM new_refs;
UPDATE blobs SET ref_count = ref_count + (SELECT count(*) FROM new_refs), unreferenced_since = NULL
  WHERE owner_id = :'owner' AND sha256 = :'sha';
COMMIT;
SQL
seed() {
  local parent="$1" count="$2" tag="$3" every="$4"
  log "seeding $count items into $tag with SQL"
  sql metadata -v owner="$OWNER" -v parent="$parent" -v count="$count" -v tag="$tag" -v every="$every" -v source="$API_COPY" \
    -f "$WORK/seed-metadata.sql" >"$WORK/refs-$tag.tsv"
  sql blob -v owner="$OWNER" -v sha="$SEED_SHA" -f "$WORK/seed-blob.sql" <"$WORK/refs-$tag.tsv"
}
SEED_START=$SECONDS
seed "$BIG" $((ITEMS - API_MADE)) big 50
seed "$MOVE_A" 1000 move-a 0
seed "$SMALL" 50 small 10
sql metadata -c "VACUUM (ANALYZE) items" -c "VACUUM (ANALYZE) users"
sql blob -c "VACUUM (ANALYZE) blob_refs" -c "VACUUM (ANALYZE) blobs"
SEED_SECONDS=$((SECONDS - SEED_START))

# Seeded rows must look exactly like the API's: compare every column but identity, name and times.
same_as() {  # same_as API_ID KIND TAG
  local cols="owner_id, parent_id, kind, state, size, content_type, sha256, blob_id, version, trashed_at, trash_root_id,
              original_parent_id, thumbnail_status, thumbnail_sizes, thumbnail_blob_id, thumbnail_requested_at,
              content_id IS NULL, content_id = id, created_at = updated_at"
  local diff
  diff="$(sql metadata -c "
    WITH model AS (SELECT $cols FROM items WHERE id = '$1'),
         seeded AS (SELECT DISTINCT $cols FROM items WHERE parent_id = '$BIG' AND kind = '$2' AND id NOT IN ('$API_FOLDER', '$API_COPY', '$API_FILE')
                    AND name NOT IN ('notes.txt'))
    SELECT count(*) FROM (SELECT * FROM seeded EXCEPT SELECT * FROM model) d")"
  [[ "$diff" == 0 ]] || die "seeded $3 rows differ from the API-made one ($diff distinct variants)"
}
same_as "$API_FOLDER" folder folder
same_as "$API_COPY" file file
read -r n_big n_files <<<"$(sql metadata -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE kind = 'file') FROM items WHERE parent_id = '$BIG' AND trashed_at IS NULL AND state = 'ready'")"
[[ "$n_big" == "$ITEMS" ]] || die "big holds $n_big items, expected $ITEMS"
quota_ok="$(sql metadata -c "SELECT u.used_bytes = (SELECT sum(size) FROM items WHERE owner_id = u.id AND kind = 'file' AND state = 'ready') FROM users u WHERE id = '$OWNER'")"
[[ "$quota_ok" == t ]] || die "used_bytes does not match the files after seeding"
refs_ok="$(sql blob -c "SELECT ref_count = (SELECT count(*) FROM blob_refs r WHERE r.owner_id = b.owner_id AND r.sha256 = b.sha256) FROM blobs b WHERE owner_id = '$OWNER' AND sha256 = '$SEED_SHA'")"
[[ "$refs_ok" == t ]] || die "blob's ref_count does not match its references after seeding"
log "seeded in ${SEED_SECONDS}s: big has $n_big items ($n_files files), used_bytes and blob references consistent"

# ---------------------------------------------------------------------------
# Check: page through everything (curl, limit 1000); the cursor after item DEEP_AT.
# ---------------------------------------------------------------------------
MID_PAGE=$((ITEMS / 2000)); DEEP_AT=$((MID_PAGE * 1000))
walk() {  # walk SORT → prints the cursor after item DEEP_AT; checks every item once and in order
  local sort="$1" cursor="" page=0 middle=""
  rm -f "$WORK"/walk-*.json
  while :; do
    page=$((page + 1))
    call 200 GET "$GW/v1/folders/$BIG/children?limit=1000&sort=$sort${cursor:+&cursor=$cursor}" "$WORK/walk-$page.json" "${AUTH[@]}"
    cursor="$(jget "$WORK/walk-$page.json" 'd.get("next_cursor")')"
    (( page == MID_PAGE )) && middle="$cursor"
    [[ -n "$cursor" ]] || break
    (( page <= ITEMS / 1000 + 2 )) || die "walk $sort: more pages than items"
  done
  python3 - "$WORK" "$page" "$sort" "$ITEMS" <<'PY' || die "walk $sort: the listing is not complete and ordered (see above)"
import json, sys
work, pages, sort, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
items = []
for p in range(1, pages + 1):
    page = json.load(open(f"{work}/walk-{p}.json"))
    if p < pages and len(page["items"]) != 1000: sys.exit(f"walk {sort}: page {p} has {len(page['items'])} items, not 1000")
    items += page["items"]
ids = [i["id"] for i in items]
problems = []
if len(ids) != expected: problems.append(f"{len(ids)} items, expected {expected}")
if len(set(ids)) != len(ids): problems.append(f"{len(ids) - len(set(ids))} duplicates")
if sort == "name":
    keys = [(i["name"].encode(), i["id"]) for i in items]
    if any(a >= b for a, b in zip(keys, keys[1:])): problems.append("not in (name, id) order")
else:  # -created_at: the API shows whole seconds, so ties are allowed here
    keys = [i["created_at"] for i in items]
    if any(a < b for a, b in zip(keys, keys[1:])): problems.append("not in descending created_at order")
if problems:
    print("walk %s: %s" % (sort, "; ".join(problems)), file=sys.stderr); sys.exit(1)
PY
  [[ -n "$middle" ]] || die "walk $sort: no cursor after item $DEEP_AT"
  echo "$middle"
}
log "paging through all $ITEMS items (sort name, then -created_at) and checking them"
DEEP_NAME="$(walk name)"
DEEP_CREATED="$(walk -created_at)"
cursor_field() { python3 -c 'import base64, json, sys; t = sys.argv[1]; print(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))[sys.argv[2]])' "$1" "$2"; }

# The files the rename measure cycles through: 1,000 files of `big`; the move pool: move-a's.
sql metadata -c "SELECT id FROM items WHERE parent_id = '$BIG' AND kind = 'file' AND id <> '$API_FILE' ORDER BY id LIMIT 1000" >"$WORK/rename-ids"
move_state() { sql metadata -F ' ' -c "SELECT id, parent_id FROM items WHERE parent_id IN ('$MOVE_A', '$MOVE_B') AND kind = 'file' ORDER BY created_at, id" >"$WORK/move-state"; }
move_state
[[ "$(wc -l <"$WORK/rename-ids")" == 1000 && "$(wc -l <"$WORK/move-state")" == 1000 ]] || die "rename or move pool is not 1,000 files"

LIST_FIRST="/v1/folders/$BIG/children?limit=100"
LIST_50="/v1/folders/$SMALL/children?limit=50"
LIST_DEEP="/v1/folders/$BIG/children?limit=100&cursor=$DEEP_NAME"
GET_FILE="/v1/files/$API_FILE"
for base in "$GW" "$MD"; do
  call 200 GET "$base$LIST_50" "$WORK/s.json" "${AUTH[@]}"
  [[ "$(jget "$WORK/s.json" 'len(d["items"])')" == 50 && -z "$(jget "$WORK/s.json" 'd.get("next_cursor")')" ]] || die "$base: the folder of 50 is not one page of 50"
  call 200 GET "$base$LIST_FIRST" "$WORK/s.json" "${AUTH[@]}"
  [[ "$(jget "$WORK/s.json" 'len(d["items"])')" == 100 && -n "$(jget "$WORK/s.json" 'd.get("next_cursor")')" ]] || die "$base: first page is not 100 items with a next cursor"
  call 200 GET "$base$LIST_DEEP" "$WORK/s.json" "${AUTH[@]}"
  [[ "$(jget "$WORK/s.json" 'len(d["items"])')" == 100 ]] || die "$base: deep page is not 100 items"
  call 200 GET "$base$GET_FILE" "$WORK/s.json" "${AUTH[@]}"
  [[ "$(jget "$WORK/s.json" 'd["name"]')" == readme.txt ]] || die "$base: GET file returned another file"
  call 201 POST "$base/v1/folders" "$WORK/s.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"name\":\"sanity-$MD_PORT-${base##*:}\",\"parent_id\":\"$CREATE_TARGET\"}"
  id="$(head -n 1 "$WORK/rename-ids")"
  call 200 PATCH "$base/v1/files/$id" "$WORK/s.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"name\":\"sanity-${base##*:}.txt\"}"
  [[ "$(jget "$WORK/s.json" 'd["name"]')" == "sanity-${base##*:}.txt" ]] || die "$base: rename did not rename"
  read -r id parent <"$WORK/move-state"
  target="$MOVE_B"; [[ "$parent" == "$MOVE_B" ]] && target="$MOVE_A"
  call 200 PATCH "$base/v1/files/$id" "$WORK/s.json" "${AUTH[@]}" "${JSON[@]}" -d "{\"parent_id\":\"$target\"}"
  [[ "$(jget "$WORK/s.json" 'd["parent_id"].lower()')" == "$target" ]] || die "$base: move did not move"
  move_state
done
log "sanity checks passed through the gateway and directly"

# ---------------------------------------------------------------------------
# Query plans of the listing statements.
# ---------------------------------------------------------------------------
COLUMNS_SQL="id, owner_id, parent_id, kind, name, state, size, content_type, sha256, blob_id, content_id, version,
created_at, updated_at, trashed_at, thumbnail_status, thumbnail_sizes, thumbnail_failure, thumbnail_failure_detail"
rebuild_sql() {  # rebuild_sql SORT CURSOR?(0/1): Listing.sql's text for a folder's children
  local column key direction cond=""
  if [[ "$1" == name ]]; then column=name key=name direction=ASC
  else column=created_at key="to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')" direction=DESC; fi
  if [[ "$2" == 1 ]]; then
    if [[ "$1" == name ]]; then cond=" AND (name, id) > ((\$3), \$4)"; else cond=" AND (created_at, id) < ((\$3::timestamptz), \$4)"; fi
  fi
  printf '%s\n' "SELECT $COLUMNS_SQL, $key AS cursor_key FROM items" \
    "WHERE owner_id = \$1 AND trashed_at IS NULL AND state = 'ready' AND parent_id = \$2 AND EXISTS (SELECT 1 FROM items f WHERE f.id = \$2 AND f.owner_id = \$1 AND f.kind = 'folder' AND f.state = 'ready' AND f.trashed_at IS NULL)$cond" \
    "ORDER BY items.$column $direction, items.id $direction LIMIT 101"
}
captured_sql() {  # captured_SQL SORT CURSOR?: the text a metadata backend last ran for that shape, if any
  sql metadata -c "SELECT query FROM pg_stat_activity WHERE datname = 'metadata' AND query LIKE '%AS cursor_key FROM items%'" >"$WORK/activity" || true
  python3 - "$WORK/activity" "$1" "$2" <<'PY'
import sys
text = open(sys.argv[1]).read()
sort, cursor = sys.argv[2], sys.argv[3] == "1"
order = "ORDER BY items.name ASC" if sort == "name" else "ORDER BY items.created_at DESC"
for chunk in text.split("SELECT id, ")[1:]:  # the listing's own SELECT (its folder check has an inner one)
    query = "SELECT id, " + chunk.rstrip("\n")
    if order in query and ("$3" in query) == cursor and query.rstrip().endswith("LIMIT 101"):
        print(query); break
PY
}
PLANS="$WORK/plans.md"
PLAN_SUMMARY=()
plan() {  # plan LABEL SORT CURSOR_TOKEN(or "")
  local label="$1" sort="$2" token="$3" has=0 url text source params exec_args
  [[ -n "$token" ]] && has=1
  url="$MD/v1/folders/$BIG/children?limit=100&sort=$sort${token:+&cursor=$token}"
  text=""
  for _ in 1 2 3 4 5; do   # the pool may reuse the connection before we look: ask again
    call 200 GET "$url" "$WORK/p.json" "${AUTH[@]}"
    text="$(captured_sql "$sort" "$has")"
    [[ -n "$text" ]] && break
  done
  if [[ -n "$text" && "$(tr -s ' \n' ' ' <<<"$text")" != "$(rebuild_sql "$sort" "$has" | tr -s ' \n' ' ')" ]]; then
    warn "$label: the service's statement differs from the one rebuilt from Store/Listing.swift (the captured one is used)"
  fi
  if [[ -n "$text" ]]; then source="captured from pg_stat_activity after the service ran it"
  else text="$(rebuild_sql "$sort" "$has")"; source="REBUILT from Store/Listing.swift (not found in pg_stat_activity)"; warn "$label: statement not captured; rebuilt"; fi
  if ((has)); then
    local key id
    key="$(cursor_field "$token" k)"; id="$(cursor_field "$token" i)"
    [[ "$sort" == name ]] || key="${key}Z"
    params="\$1 = '$OWNER' (owner), \$2 = '$BIG' (folder), \$3 = '$key' (cursor key), \$4 = '${id,,}' (cursor id)"
    exec_args="'$OWNER', '$BIG', '$key', '${id,,}'"
    printf 'PREPARE q(uuid, uuid, text, uuid) AS %s;\n' "$text" >"$WORK/plan.sql"
  else
    params="\$1 = '$OWNER' (owner), \$2 = '$BIG' (folder)"
    exec_args="'$OWNER', '$BIG'"
    printf 'PREPARE q(uuid, uuid) AS %s;\n' "$text" >"$WORK/plan.sql"
  fi
  printf '\\o /dev/null\nEXECUTE q(%s);\n\\o\nEXPLAIN (ANALYZE, BUFFERS) EXECUTE q(%s);\n' "$exec_args" "$exec_args" >>"$WORK/plan.sql"
  sql metadata -f "$WORK/plan.sql" >"$WORK/plan.txt"
  grep -q 'Execution Time' "$WORK/plan.txt" || { cat "$WORK/plan.txt" >&2; die "$label: no plan"; }
  {
    echo "#### $label"
    echo
    echo "Parameters: $params. Statement $source:"
    echo
    echo '```sql'; echo "$text"; echo '```'
    echo
    echo '```text'; cat "$WORK/plan.txt"; echo '```'
    echo
  } >>"$PLANS"
  PLAN_SUMMARY+=("$(printf '%-34s %s; %s; %s' "$label:" \
    "$(grep -oE '(Index Scan|Index Only Scan|Bitmap Heap Scan|Seq Scan)( Backward)?( using [a-z_]+)?' "$WORK/plan.txt" | head -n 1)" \
    "$(grep -m1 -oE 'Buffers: shared [a-z=0-9 ]+' "$WORK/plan.txt")" \
    "$(grep -oE 'Execution Time: [0-9.]+ ms' "$WORK/plan.txt")")")
}
log "capturing the listing plans"
{
  echo "<!-- plans: filled by bench/metadata.sh on $(date '+%F') at commit $(git rev-parse --short HEAD); rerun it to refresh this block -->"
  echo
  echo "Query plans of \`GET /v1/folders/{id}/children?limit=100\` on a folder of $ITEMS items ($n_files files, the rest folders; one owner; \`VACUUM (ANALYZE)\` after seeding), PostgreSQL $(sql metadata -c 'SHOW server_version' | cut -d' ' -f1), \`EXPLAIN (ANALYZE, BUFFERS)\` of the prepared statement with the parameter types the service binds (second execution: cache warm). The deep pages start after item $DEEP_AT of the order. Produced by \`bench/metadata.sh\`; do not edit by hand."
  echo
} >"$PLANS"
plan "first page, sort=name" name ""
plan "cursor page, sort=name" name "$DEEP_NAME"
plan "first page, sort=-created_at" -created_at ""
plan "cursor page, sort=-created_at" -created_at "$DEEP_CREATED"
echo "<!-- end of plans -->" >>"$PLANS"

# ---------------------------------------------------------------------------
# Measure.
# ---------------------------------------------------------------------------
OPS=(list-50 list-first list-deep get-file create rename move)
declare -A RPS P50 P99 NON2XX SOCKERR CPU_GW CPU_MD CPU_PG   # [op.target] = space-separated values per run
TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_per() { awk -v t="$1" -v r="$2" -v u="$TICK_US" 'BEGIN { printf "%.0f", (r > 0 ? t * u / r : 0) }'; }   # µs of CPU per request
GW_PID="$(pid_of gateway)"; MD_PID="$(pid_of metadata)"

wrk_run() {  # wrk_run OP TARGET(gateway|direct) RUN
  local op="$1" target="$2" run="$3" base script args=() url line k
  base="$GW"; [[ "$target" == direct ]] && base="$MD"
  case "$op" in
    list-50) script=get.lua; url="$base$LIST_50" ;;
    list-first) script=get.lua; url="$base$LIST_FIRST" ;;
    list-deep) script=get.lua; url="$base$LIST_DEEP" ;;
    get-file) script=get.lua; url="$base$GET_FILE" ;;
    create) script=create.lua; url="$base"; args=(-- "$CREATE_TARGET" "c$run$target") ;;
    rename) script=rename.lua; url="$base"; args=(-- "$WORK/rename-ids" "r$run$target") ;;
    move) move_state; script=move.lua; url="$base"; args=(-- "$WORK/move-state" "$MOVE_A" "$MOVE_B") ;;
  esac
  local pgp; pgp="$(pg_pids "$TMP" | xargs)"
  local g0 m0 p0; g0="$(cpu_ticks "$GW_PID")"; m0="$(cpu_ticks "$MD_PID")"; p0="$(cpu_ticks $pgp)"
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER}s" --timeout 10s --latency "${AUTH[@]}" -s "$CIRRUS_ROOT/bench/wrk/$script" "$url" "${args[@]}" \
    >"$WORK/last-wrk.txt" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || { WRK_PID=""; die "wrk failed for $op via $target"; }
  WRK_PID=""
  local g1 m1 p1; g1="$(cpu_ticks "$GW_PID")"; m1="$(cpu_ticks "$MD_PID")"; p1="$(cpu_ticks $pgp)"
  line="$(grep '^WRK ' "$WORK/last-wrk.txt")" || die "no wrk report for $op via $target"
  local requests duration_us p50_us p99_us non2xx connect read write timeout
  for k in $line; do [[ "$k" == *=* ]] && local "${k%%=*}=${k#*=}"; done
  k="$op.$target"
  RPS[$k]+="$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }') "
  P50[$k]+="$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1000 }') "
  P99[$k]+="$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1000 }') "
  NON2XX[$k]+="$non2xx "
  SOCKERR[$k]+="$((connect + read + write + timeout)) "
  [[ "$target" == gateway ]] && CPU_GW[$k]+="$(cpu_per "$((g1 - g0))" "$requests") "
  CPU_MD[$k]+="$(cpu_per "$((m1 - m0))" "$requests") "
  CPU_PG[$k]+="$(cpu_per "$((p1 - p0))" "$requests") "
  if ((non2xx + connect + read + write + timeout)); then
    warn "$op via $target: $non2xx non-2xx answers, $((connect + read + write + timeout)) socket errors"
    cp "$WORK/last-wrk.txt" "$WORK/failed-$op-$target-$run.txt"
  fi
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "warming up (2 s per target)"
for base in "$GW" "$MD"; do wrk -t2 -c"$CONNECTIONS" -d2s "${AUTH[@]}" "$base$LIST_FIRST" >/dev/null; done
for run in $(seq 1 "$RUNS"); do
  login   # a fresh token per run (they last 15 minutes)
  targets=(gateway direct); ((run % 2 == 0)) && targets=(direct gateway)
  for op in "${OPS[@]}"; do
    for target in "${targets[@]}"; do
      log "run $run/$RUNS: $op via $target"
      wrk_run "$op" "$target" "$run"
    done
  done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${SERVICES[@]}"; do alive "$(pid_of "$s")" || die "cirrus-$s died during the benchmark"; done
N_CREATED="$(sql metadata -c "SELECT count(*) FROM items WHERE parent_id = '$CREATE_TARGET'")"
n_big_after="$(sql metadata -c "SELECT count(*) FROM items WHERE parent_id = '$BIG' AND trashed_at IS NULL")"
[[ "$n_big_after" == "$ITEMS" ]] || warn "big holds $n_big_after items after the measures (expected $ITEMS)"
LOG_COUNTS=""
for s in gateway metadata auth blob thumbnail; do
  e="$(grep -cE '"level":"(error|critical)"' "$TMP/logs/$s.log" || true)"; w="$(grep -c '"level":"warning"' "$TMP/logs/$s.log" || true)"
  LOG_COUNTS+="$s $e/$w, "
done
LOG_MESSAGES="$(cat "$TMP"/logs/{gateway,metadata}.log | grep -E '"level":"(warning|error|critical)"' | grep -oE '"msg":"[^"]*"' | sort | uniq -c | sort -rn | head -n 5 || true)"

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
sum() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
fmt_int() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
declare -A LABEL=([list-50]="list of 50 (limit=50)" [list-first]="list first page (100 of $ITEMS)" [list-deep]="list deep page (cursor at $DEEP_AT)"
                  [get-file]="GET /v1/files/{id}" [create]="POST /v1/folders (create)" [rename]="PATCH rename" [move]="PATCH move")
COMMIT="$(git rev-parse --short HEAD)"
DOC="${BENCH_PLANS_DOC:-$CIRRUS_ROOT/docs/metadata.md}"
REPORT="$WORK/report.txt"
FAILED=0
{
  echo "metadata benchmark, $(date '+%F %H:%M'), commit $COMMIT$(git diff --quiet HEAD -- Services Shared Package.swift 2>/dev/null || echo ' (with uncommitted changes)')"
  if ((RELEASE)); then echo "binaries: $BIN_DIR (release)"
  else echo "binaries: $BIN_DIR (NOT a release build: the figures below say nothing about speed)"; fi
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo); wrk, the five services and PostgreSQL share these cores (the load generator takes part of the CPU it measures); shared and noisy: compare ratios, not absolutes"
  echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER"
  echo "stack: infra/run --detach (log level ${CIRRUS_LOG_LEVEL:-info}), PostgreSQL $(sql metadata -c 'SHOW server_version' | cut -d' ' -f1) with fsync=${PG_FSYNC:-on}, pool of 10 connections per service"
  echo "wrk: -t2 -c$CONNECTIONS -d${SECONDS_PER}s per measure, $RUNS runs (gateway/direct order alternating), loopback; direct = the metadata service's own port, same token"
  echo "data: folder of $ITEMS items ($n_files files, the rest folders; $API_MADE made through the API, the rest by SQL as the API makes them, seeded in ${SEED_SECONDS}s), one user; creates went into another folder ($N_CREATED folders there at the end)"
  echo
  echo "| operation | via | req/s median | req/s spread | p50 ms | p50 spread | p99 ms | p99 spread | non-2xx | socket errors | CPU µs/req gateway | metadata | PostgreSQL |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for op in "${OPS[@]}"; do
    for target in gateway direct; do
      k="$op.$target"
      n="$(sum <<<"${NON2XX[$k]}")"; e="$(sum <<<"${SOCKERR[$k]}")"
      ((n + e)) && FAILED=1
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$op]}" "$target" \
        "$(fmt_int "$(median <<<"${RPS[$k]}")")" "$(spread <<<"${RPS[$k]}")" \
        "$(median <<<"${P50[$k]}")" "$(spread <<<"${P50[$k]}")" "$(median <<<"${P99[$k]}")" "$(spread <<<"${P99[$k]}")" \
        "$n" "$e" "$( [[ $target == gateway ]] && median <<<"${CPU_GW[$k]}" || echo "–")" \
        "$(median <<<"${CPU_MD[$k]}")" "$(median <<<"${CPU_PG[$k]}")"
    done
  done
  echo
  echo "Gateway overhead (medians): throughput ratio gateway/direct, and the latency the extra hop adds"
  echo
  echo "| operation | req/s gateway ÷ direct | p50 gateway − direct (ms) | p99 gateway − direct (ms) |"
  echo "|---|---|---|---|"
  for op in "${OPS[@]}"; do
    g="$op.gateway"; d="$op.direct"
    awk -v l="${LABEL[$op]}" -v rg="$(median <<<"${RPS[$g]}")" -v rd="$(median <<<"${RPS[$d]}")" \
        -v pg="$(median <<<"${P50[$g]}")" -v pd="$(median <<<"${P50[$d]}")" -v qg="$(median <<<"${P99[$g]}")" -v qd="$(median <<<"${P99[$d]}")" \
        'BEGIN { printf "| %s | %.2f | %+.2f | %+.2f |\n", l, (rd > 0 ? rg / rd : 0), pg - pd, qg - qd }'
  done
  echo
  echo "per run (req/s; p50 ms; p99 ms):"
  for op in "${OPS[@]}"; do
    for target in gateway direct; do
      k="$op.$target"
      printf '  %-40s %-8s %s; %s; %s\n' "${LABEL[$op]}" "$target" "$(xargs <<<"${RPS[$k]}")" "$(xargs <<<"${P50[$k]}")" "$(xargs <<<"${P99[$k]}")"
    done
  done
  echo
  echo "listing plans (EXPLAIN ANALYZE, cache warm; the full plans go into ${DOC#"$CIRRUS_ROOT"/} or, without its placeholder, bench/results/):"
  printf '  %s\n' "${PLAN_SUMMARY[@]}"
  echo "service logs (error/warning lines): ${LOG_COUNTS%, }"
  [[ -n "$LOG_MESSAGES" ]] && sed 's/^/  /' <<<"$LOG_MESSAGES"
  ((FAILED)) && echo "FAILED: some requests were answered with non-2xx statuses or had socket errors (see the table)"
  true
} >"$REPORT"

echo
cat "$REPORT"

# Plans into docs/metadata.md (the placeholder line, or the block an earlier run wrote).
if [[ -f "$DOC" ]] && grep -qE '^<!-- plans: filled by bench/metadata.sh' "$DOC"; then
  python3 - "$DOC" "$PLANS" <<'PY'
import re, sys
doc, plans = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
text = open(doc).read()
block = re.compile(r"^<!-- plans: filled by bench/metadata\.sh.*?-->\n(?:.*?^<!-- end of plans -->$)?", re.S | re.M)
new, n = block.subn(lambda m: plans, text, count=1)
assert n == 1
open(doc, "w").write(new)
PY
  log "query plans written into ${DOC#"$CIRRUS_ROOT"/}"
else
  mkdir -p "$CIRRUS_ROOT/bench/results"
  out="$CIRRUS_ROOT/bench/results/$(date +%F)-metadata-plans-$COMMIT.md"
  cp "$PLANS" "$out"
  warn "docs/metadata.md has no '<!-- plans: filled by bench/metadata.sh -->' line: plans written to ${out#"$CIRRUS_ROOT"/}"
fi

if ((FAILED)); then
  warn "non-2xx answers or socket errors: no results file written"
  exit 1
fi
if ((RELEASE)); then
  mkdir -p "$CIRRUS_ROOT/bench/results"
  out="$CIRRUS_ROOT/bench/results/$(date +%F)-metadata-$COMMIT.txt"
  cp "$REPORT" "$out"
  log "written to ${out#"$CIRRUS_ROOT"/}"
else
  log "not a release build: no results file written"
fi
