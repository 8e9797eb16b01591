#!/usr/bin/env bash
# Drives the `cirrus` command-line client through a whole session against a running gateway:
# login (config file 0600), mkdir -p, put of a folder tree and of a 50 MiB file (checksum
# verified by the server), ls, get and a resumed get (Range + If-Range, bit-identical), mv,
# cp, rm, trash, restore, app passwords (create, list, use over WebDAV, revoke), me, link refused for a basic user (exit 4), admin tiers/users
# commands as the bootstrapped admin, then a link that works with curl; get --zip of a folder
# (UTF-8 names, an empty folder; unzip -t, bytes compared); sharing with a second user (share,
# shared, shared:/ paths, get by id, roles, unshare, access gone); public links (password,
# expiry, --list, --revoke, curl); every --json output must parse, and failures must give the
# documented exit codes.
#
# Usage: Tests/cli/cli-test.sh GATEWAY_URL BOOTSTRAP_SECRET
#   e.g. Tests/cli/cli-test.sh http://127.0.0.1:8080 "$(cat .local/secrets/bootstrap-secret)"
# The bootstrap secret makes the first admin, so the stack must not have one yet; to run
# again on the same stack set CIRRUS_TEST_ADMIN=username:password of an existing admin.
# Environment: CIRRUS_CLI, the binary (default .build/debug/cirrus of this checkout).
# Needs curl, python3, sha256sum, truncate and unzip. Stops at the first failure (exit 1) with a
# message naming it; ends with "N passed, 0 failed".
set -euo pipefail

(($# == 2)) || { echo "usage: $0 GATEWAY_URL BOOTSTRAP_SECRET" >&2; exit 2; }
API="${1%/}"
SECRET="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="${CIRRUS_CLI:-$ROOT/.build/debug/cirrus}"
[[ "$CLI" == /* ]] || CLI="$PWD/$CLI"  # steps change directory
[[ -x "$CLI" ]] || { echo "no cirrus binary at $CLI (swift build --product cirrus)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
USER_CONFIG="$WORK/home/.config/cirrus/config.json"
ADMIN_CONFIG="$WORK/admin/config.json"
export CIRRUS_CONFIG="$USER_CONFIG"
PASSED=0

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $* (${SECONDS}s)"; }
pass() { PASSED=$((PASSED + 1)); }

# run ARGS...: runs cirrus; OUT, ERR and RC hold its standard output, standard error, exit code.
run() {
  set +e
  OUT="$("$CLI" "$@" 2>"$WORK/stderr")"
  RC=$?
  set -e
  ERR="$(cat "$WORK/stderr")"
  if [[ $ERR == *rate-limited* ]]; then echo "    (rate-limited: cirrus $*)"; fi
}
# ok ARGS...: cirrus must succeed.
ok() {
  run "$@"
  [[ $RC == 0 ]] || fail "cirrus $* exited $RC: $ERR"
  pass
}
# code N ARGS...: cirrus must exit with N.
code() {
  local want="$1"; shift
  run "$@"
  [[ $RC == "$want" ]] || fail "cirrus $* exited $RC, expected $want (stdout: $OUT; stderr: $ERR)"
  pass
}
# okjson ARGS...: cirrus --json must succeed and print JSON.
okjson() {
  ok "$@" --json
  python3 -m json.tool <<<"$OUT" >/dev/null 2>&1 || fail "cirrus $* --json printed no JSON: $OUT"
}
# py EXPR: EXPR evaluated with `d` bound to the JSON in OUT.
py() { python3 -c 'import json, sys; d = json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$OUT"; }
# expect WHAT ACTUAL WANTED
expect() { [[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"; pass; }
sha() { sha256sum "$1" | cut -c1-64; }
mode() { stat -c %a "$1"; }

# Account set-up through the API (the CLI has no register command).
# Every curl below has --retry 5: like the CLI, it waits out a 429 (curl honours Retry-After), so a
# quick machine that outruns a tier's rate does not fail an expected status.
post_json() {  # URL BODY [HEADER] -> prints the HTTP status, the body goes to $WORK/answer
  curl -sS --retry 5 -o "$WORK/answer" -w '%{http_code}' -X POST "$API$1" -H 'Content-Type: application/json' ${3:+-H "$3"} -d "$2"
}

step "preconditions"
curl -fsS -m 5 "$API/healthz" >/dev/null || fail "no gateway at $API"
SUFFIX="$(date +%s)$RANDOM"
USERNAME="cli$SUFFIX"
PASSWORD="Cli-test-pass-1"
status="$(post_json /v1/auth/register "{\"username\":\"$USERNAME\",\"email\":\"$USERNAME@example.com\",\"password\":\"$PASSWORD\"}")"
[[ $status == 201 ]] || fail "register answered $status: $(cat "$WORK/answer")"
if [[ -n "${CIRRUS_TEST_ADMIN:-}" ]]; then
  ADMIN="${CIRRUS_TEST_ADMIN%%:*}"
  ADMIN_PASSWORD="${CIRRUS_TEST_ADMIN#*:}"
else
  ADMIN="admin$SUFFIX"
  ADMIN_PASSWORD="Cli-admin-pass-1"
  status="$(post_json /v1/auth/bootstrap-admin "{\"username\":\"$ADMIN\",\"email\":\"$ADMIN@example.com\",\"password\":\"$ADMIN_PASSWORD\"}" "X-Bootstrap-Secret: $SECRET")"
  [[ $status == 201 ]] || fail "bootstrap-admin answered $status (an admin exists already? set CIRRUS_TEST_ADMIN): $(cat "$WORK/answer")"
fi
pass

step "login"
code 4 login --server "$API" --user "$USERNAME" --password-stdin <<<"Wrong-password-1"
[[ $ERR == *"cirrus:"* ]] || fail "a failed login printed no error: $ERR"
code 2 login --server "$API" --user "$USERNAME" </dev/null  # no terminal and no --password-stdin
ok login --server "$API" --user "$USERNAME" --password-stdin <<<"$PASSWORD"
[[ -f $USER_CONFIG ]] || fail "login wrote no $USER_CONFIG"
expect "config file mode" "$(mode "$USER_CONFIG")" 600
expect "config directory mode" "$(mode "$(dirname "$USER_CONFIG")")" 700
grep -q '"refresh_token"' "$USER_CONFIG" || fail "the config holds no refresh token"
okjson me
expect "me username" "$(py 'd["username"]')" "$USERNAME"
expect "me tier" "$(py 'd["tier"]["name"]')" basic
ok me
[[ $OUT == *"$USERNAME"* ]] || fail "me does not name the user: $OUT"

step "mkdir"
ok mkdir -p /cli/a/b/c
ok mkdir -p /cli/a/b/c
okjson mkdir -p /cli/a/b
expect "mkdir -p of an existing folder" "$(py 'd["kind"] + ":" + d["name"]')" folder:b
okjson mkdir /cli/new
expect "mkdir --json name" "$(py 'd["name"]')" new
code 5 mkdir /cli/a
code 3 mkdir /missing/x
code 2 mkdir

step "put: a folder tree"
mkdir -p "$WORK/tree/sub/deeper" "$WORK/tree/empty"
echo one >"$WORK/tree/one.txt"
echo two >"$WORK/tree/sub/two.txt"
head -c 100000 /dev/urandom >"$WORK/tree/sub/deeper/three.bin"
echo spaced >"$WORK/tree/name with spaces & ü+%.txt"
: >"$WORK/tree/zero.bin"
ok put "$WORK/tree" /cli
okjson put "$WORK/tree" /cli  # the same again: every file unchanged
expect "files in the tree" "$(py 'len(d["items"])')" 5
okjson ls /cli/tree
expect "ls /cli/tree" "$(py '",".join(sorted(i["name"] for i in d["items"]))')" "empty,name with spaces & ü+%.txt,one.txt,sub,zero.bin"
okjson ls "/cli/tree/sub/deeper/three.bin"
expect "three.bin checksum" "$(py 'd["sha256"]')" "$(sha "$WORK/tree/sub/deeper/three.bin")"
okjson ls "/cli/tree/name with spaces & ü+%.txt"
expect "odd name size" "$(py 'd["size"]')" 7

step "put: 50 MiB, checksum verified by the server"
head -c $((50 << 20)) /dev/urandom >"$WORK/big.bin"
BIG_SHA="$(sha "$WORK/big.bin")"
okjson put "$WORK/big.bin" /cli/a
expect "uploaded sha256" "$(py 'd["sha256"]')" "$BIG_SHA"
expect "uploaded size" "$(py 'd["size"]')" $((50 << 20))
BIG_ID="$(py 'd["id"]')"
ok put "$WORK/big.bin" /cli/a
[[ $OUT == *unchanged* ]] || fail "a second put of the same content was not 'unchanged': $OUT"
echo "other" >"$WORK/one.txt"
code 5 put "$WORK/one.txt" /cli/tree  # the name is taken by other content
okjson put "$WORK/one.txt" /cli/tree --replace
expect "replaced version" "$(py 'd["version"]')" 2
code 3 put "$WORK/big.bin" /cli/nowhere
code 3 put "$WORK/does-not-exist" /cli

step "put: a resumable (tus) upload, killed half-way and resumed"
head -c $((64 << 20)) /dev/urandom >"$WORK/resumable.bin"
RES_SHA="$(sha "$WORK/resumable.bin")"
ok mkdir /cli/tus
"$CLI" put "$WORK/resumable.bin" /cli/tus --resumable-from 1 --chunk-size $((2 << 20)) >"$WORK/resumable.out" 2>&1 &
RES_PID=$!
# Wait until the server holds some of it (the upload is remembered beside the config), then kill -9.
TOKEN="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$USER_CONFIG")"
HELD=0
for _ in $(seq 1 400); do
  STATE="$(ls "$(dirname "$USER_CONFIG")"/uploads/*.json 2>/dev/null | head -1 || true)"
  if [[ -n "$STATE" ]]; then
    LOCATION="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["location"])' "$STATE")"
    HELD="$(curl -sS --retry 5 -I "$API$LOCATION" -H "Authorization: Bearer $TOKEN" -H 'Tus-Resumable: 1.0.0' | tr -d '\r' \
      | awk -F': ' 'tolower($1) == "upload-offset" {print $2}')"
    [[ ${HELD:-0} -ge $((4 << 20)) ]] && break
  fi
  sleep 0.05
done
kill -9 "$RES_PID" 2>/dev/null || true
wait "$RES_PID" 2>/dev/null || true
[[ ${HELD:-0} -ge $((4 << 20)) && ${HELD:-0} -lt $((64 << 20)) ]] || fail "the resumable upload was not caught half-way (server offset ${HELD:-none})"
pass
ok put "$WORK/resumable.bin" /cli/tus --resumable-from 1 --chunk-size $((8 << 20))
[[ $OUT == *"resuming $WORK/resumable.bin at"* ]] || fail "the second put did not resume: $OUT"
okjson ls /cli/tus/resumable.bin
expect "resumed upload's sha256" "$(py 'd["sha256"]')" "$RES_SHA"
expect "resumed upload's size" "$(py 'd["size"]')" $((64 << 20))
[[ -z "$(ls "$(dirname "$USER_CONFIG")"/uploads/ 2>/dev/null)" ]] || fail "the finished upload is still remembered"
pass

step "ls"
ok ls /cli/a
[[ $OUT == *big.bin* && $OUT == *"b/"* ]] || fail "ls /cli/a: $OUT"
okjson ls /cli/a
expect "ls --json /cli/a" "$(py '",".join(i["name"] for i in d["items"])')" "b,big.bin"
okjson ls --id "$BIG_ID"
expect "ls --id" "$(py 'd["name"]')" big.bin
okjson ls /cli/tree
FULL="$OUT"
CIRRUS_PAGE_SIZE=2 okjson ls /cli/tree  # three pages of at most two items
expect "ls across pages" "$OUT" "$FULL"
okjson ls
code 3 ls /cli/does/not/exist

step "get, and a resumed get"
mkdir -p "$WORK/dl"
ok get /cli/a/big.bin "$WORK/dl/"
expect "downloaded sha256" "$(sha "$WORK/dl/big.bin")" "$BIG_SHA"
cp "$WORK/dl/big.bin" "$WORK/dl/resumed.bin.cirrus-part"
truncate -s $((20 << 20)) "$WORK/dl/resumed.bin.cirrus-part"
ok get /cli/a/big.bin "$WORK/dl/resumed.bin"
[[ $ERR == *"resuming big.bin at byte $((20 << 20))"* ]] || fail "the get did not resume: $ERR"
[[ $ERR != *"starting over"* && $ERR != *"from the start"* ]] || fail "the resumed get started over: $ERR"
expect "resumed sha256" "$(sha "$WORK/dl/resumed.bin")" "$BIG_SHA"
[[ ! -e "$WORK/dl/resumed.bin.cirrus-part" ]] || fail "the partial file was left behind"
head -c $((10 << 20)) /dev/urandom >"$WORK/dl/bad.bin.cirrus-part"  # a partial of other bytes
okjson get --id "$BIG_ID" "$WORK/dl/bad.bin"
expect "get --json sha256" "$(py 'd["sha256"]')" "$BIG_SHA"
expect "sha256 after a bad partial" "$(sha "$WORK/dl/bad.bin")" "$BIG_SHA"
code 3 get /cli/a/missing.bin "$WORK/dl/"
code 1 get /cli/a "$WORK/dl/"  # a folder

step "mv, cp"
ok mv /cli/tree/one.txt /cli/tree/uno.txt
okjson mv /cli/tree/uno.txt /cli/a/b
expect "moved into b" "$(py 'd["name"]')" uno.txt
okjson ls /cli/a/b
expect "b after mv" "$(py '",".join(i["name"] for i in d["items"])')" "c,uno.txt"
code 3 mv /cli/tree/one.txt /cli/a
code 5 mv /cli/tree/zero.bin /cli/tree/sub/two.txt  # the destination exists
okjson cp /cli/a/b/uno.txt /cli/tree/copy.txt
COPY_ID="$(py 'd["id"]')"
ok get /cli/tree/copy.txt "$WORK/dl/copy.txt"
expect "copied content" "$(cat "$WORK/dl/copy.txt")" other
code 1 cp /cli/a /cli/new  # folders are not copied

step "rm, trash, restore"
okjson rm /cli/tree/copy.txt
expect "rm --json" "$(py 'd["items"][0]["id"]')" "$COPY_ID"
code 3 ls /cli/tree/copy.txt
okjson trash
expect "trash holds the copy" "$(py 'sum(1 for i in d["items"] if i["id"] == "'"$COPY_ID"'")')" 1
ok trash
[[ $OUT == *copy.txt* ]] || fail "trash does not list copy.txt: $OUT"
okjson restore "$COPY_ID"
expect "restored" "$(py 'd["name"]')" copy.txt
ok ls /cli/tree/copy.txt
ok rm /cli/new
code 3 ls /cli/new
code 3 rm /cli/new
code 3 restore "$COPY_ID"  # no longer in the trash

step "link refused on the basic tier"
code 4 link /cli/a/big.bin --expires-in 600
[[ $ERR == *"cirrus:"* ]] || fail "the refused link printed no reason"
code 4 tiers list  # not an admin
code 4 link /cli/a/big.bin  # a public link: the basic tier has no links to originals
code 2 link  # names nothing
code 2 link /cli/a/big.bin --expires-in 600 --password "Link-pass-1"  # an expiring link has no password

step "admin: tiers and users"
CIRRUS_CONFIG="$ADMIN_CONFIG" ok login --server "$API" --user "$ADMIN" --password-stdin <<<"$ADMIN_PASSWORD"
expect "admin config mode" "$(mode "$ADMIN_CONFIG")" 600
TIER="cli-$SUFFIX"
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson tiers create "$TIER" --thumbnail-sizes 200,400 --original-links \
  --expiring-links --link-min-seconds 60 --link-max-seconds 3600 --quota 2GiB --max-upload 1GiB --rpm 1000
expect "tier quota" "$(py 'd["quota_bytes"]')" $((2 << 30))
expect "tier links" "$(py 'd["expiring_links"] and d["original_links"]')" True
CIRRUS_CONFIG="$ADMIN_CONFIG" code 5 tiers create "$TIER" --thumbnail-sizes 200 --quota 1GiB --max-upload 1MiB --rpm 10
CIRRUS_CONFIG="$ADMIN_CONFIG" code 2 tiers create "$TIER-2"  # settings missing
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson tiers update "$TIER" --rpm 900
expect "updated rpm" "$(py 'd["requests_per_minute"]')" 900
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson tiers list
expect "tier listed" "$(py 'sum(1 for t in d["items"] if t["name"] == "'"$TIER"'")')" 1
CIRRUS_CONFIG="$ADMIN_CONFIG" ok tiers list
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson users set-tier "$USERNAME" "$TIER"
expect "user's tier" "$(py 'd["tier"]["name"]')" "$TIER"
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson users list --tier "$TIER"
expect "users on the tier" "$(py '",".join(u["username"] for u in d["items"])')" "$USERNAME"
CIRRUS_CONFIG="$ADMIN_CONFIG" ok users list --role admin
[[ $OUT == *"$ADMIN"* ]] || fail "users list --role admin does not list $ADMIN"
CIRRUS_CONFIG="$ADMIN_CONFIG" code 3 users set-tier "nobody$SUFFIX" "$TIER"
CIRRUS_CONFIG="$ADMIN_CONFIG" code 3 users set-tier "$USERNAME" "no-such-tier-$SUFFIX"
CIRRUS_CONFIG="$ADMIN_CONFIG" code 5 tiers delete "$TIER"  # a user is on it

step "link on the new tier"
ok link /cli/a/big.bin --expires-in 600
URL="$OUT"
[[ $URL == "$API/v1/links/"* ]] || fail "link printed '$URL'"
curl -fsS --retry 5 -o "$WORK/dl/linked.bin" "$URL" || fail "the link did not download"
expect "linked sha256" "$(sha "$WORK/dl/linked.bin")" "$BIG_SHA"
okjson link --id "$BIG_ID" --expires-in 300
[[ "$(py 'd["url"]')" == "$API/v1/links/"* ]] || fail "link --json has no url: $OUT"
pass
code 1 link /cli/a/big.bin --expires-in 100000  # beyond the tier's bounds (422)
code 1 link /cli/a/big.bin --expires-in 600 --thumbnail 400  # not an image
code 3 link /cli/a/missing.bin --expires-in 600

step "get --zip: a folder as a ZIP archive"
ZIPPED="Ünïcödé ✓"
mkdir -p "$WORK/zipsrc/$ZIPPED/nested/empty"
printf 'grüße\n' >"$WORK/zipsrc/$ZIPPED/grüße.txt"
head -c 300000 /dev/urandom >"$WORK/zipsrc/$ZIPPED/nested/data.bin"
ok put "$WORK/zipsrc/$ZIPPED" /cli
ok get --zip "/cli/$ZIPPED" "$WORK/dl/"
[[ -f "$WORK/dl/$ZIPPED.zip" ]] || fail "get --zip wrote no '$WORK/dl/$ZIPPED.zip': $OUT"
[[ ! -e "$WORK/dl/$ZIPPED.zip.cirrus-part" ]] || fail "get --zip left its partial file behind"
unzip -tq "$WORK/dl/$ZIPPED.zip" >/dev/null || fail "unzip -t found the ZIP broken"
pass
# zip_matches ZIP FOLDER ENTRIES...: the archive holds exactly ENTRIES (stored, UTF-8 names
# flagged), and each file's bytes are those of the same path under the local FOLDER.
zip_matches() {
  python3 -c '
import os, sys, zipfile
archive, source, want = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
with zipfile.ZipFile(archive) as z:
    names = sorted(z.namelist())
    if names != want:
        sys.exit(f"entries {names}, expected {want}")
    for info in z.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            sys.exit(f"{info.filename} is compressed")
        if not info.filename.isascii() and not info.flag_bits & 0x800:
            sys.exit(f"{info.filename} lacks the UTF-8 flag")
        if not info.filename.endswith("/"):
            with open(os.path.join(source, info.filename), "rb") as f:
                if z.read(info) != f.read():
                    sys.exit(f"{info.filename} differs from the uploaded file")
' "$@"
}
zip_matches "$WORK/dl/$ZIPPED.zip" "$WORK/zipsrc/$ZIPPED" "grüße.txt" "nested/" "nested/data.bin" "nested/empty/" \
  || fail "the ZIP of /cli/$ZIPPED does not hold the folder"
pass
pushd "$WORK/dl" >/dev/null  # the default destination: ./<folder name>.zip
ok get --zip /cli/a/b
popd >/dev/null
[[ -f "$WORK/dl/b.zip" ]] || fail "get --zip /cli/a/b wrote no ./b.zip: $OUT"
unzip -tq "$WORK/dl/b.zip" >/dev/null || fail "unzip -t found b.zip broken"
pass
okjson get --zip "/cli/$ZIPPED" "$WORK/dl/again.zip"
expect "get --zip --json" "$(py 'd["kind"] + ":" + d["name"]')" "folder:$ZIPPED"
zip_matches "$WORK/dl/again.zip" "$WORK/zipsrc/$ZIPPED" "grüße.txt" "nested/" "nested/data.bin" "nested/empty/" \
  || fail "get --zip to a file name wrote another archive"
pass
code 1 get --zip /cli/a/big.bin "$WORK/dl/"  # a file
code 3 get --zip /cli/nowhere "$WORK/dl/"

step "share with a second user"
FRIEND="friend$SUFFIX"
FRIEND_CONFIG="$WORK/friend/config.json"
status="$(post_json /v1/auth/register "{\"username\":\"$FRIEND\",\"email\":\"$FRIEND@example.com\",\"password\":\"$PASSWORD\"}")"
[[ $status == 201 ]] || fail "register $FRIEND answered $status: $(cat "$WORK/answer")"
pass
CIRRUS_CONFIG="$FRIEND_CONFIG" ok login --server "$API" --user "$FRIEND" --password-stdin <<<"$PASSWORD"
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson shared
expect "nothing shared yet" "$(py 'len(d["items"])')" 0
okjson share /cli/tree --with "$FRIEND"
expect "share role" "$(py 'd["role"]')" viewer
expect "share recipient" "$(py 'd["recipient"]["username"]')" "$FRIEND"
ok share /cli/tree --with "$FRIEND" --role viewer  # again: the same share (200)
expect "share output" "$OUT" "Shared /cli/tree with $FRIEND as viewer"
code 2 share /cli/tree --with "$FRIEND" --role owner
code 2 share /cli/tree  # --with is required
code 1 share /cli/tree --with "nobody$SUFFIX"  # 422: no such user
code 1 share /cli/tree --with "$USERNAME"  # 422: that is you
code 3 share /cli/nowhere --with "$FRIEND"
code 5 share / --with "$FRIEND"  # the root folder cannot be shared (409)

step "the second user reads what is shared"
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson shared
expect "shared with the friend" \
  "$(py '",".join(s["item"]["name"] + ":" + s["role"] + ":" + s["owner"]["username"] for s in d["items"])')" "tree:viewer:$USERNAME"
expect "the shared folder's parent" "$(py 'd["items"][0]["item"].get("parent_id", "absent")')" absent
TREE_ID="$(py 'd["items"][0]["item"]["id"]')"
CIRRUS_CONFIG="$FRIEND_CONFIG" ok shared
[[ $OUT == *NAME*KIND*OWNER*ROLE*ID* && $OUT == *"tree/"*folder*"$USERNAME"*viewer*"$TREE_ID"* ]] || fail "shared: $OUT"
pass
CIRRUS_CONFIG="$FRIEND_CONFIG" ok ls shared:
[[ $OUT == *"$TREE_ID"* ]] || fail "ls shared: does not list the share: $OUT"
pass
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson ls shared:/tree/sub
expect "ls of a shared folder" "$(py '",".join(i["name"] for i in d["items"])')" "deeper,two.txt"
CIRRUS_CONFIG="$FRIEND_CONFIG" code 3 ls /tree  # not in the friend's own drive
okjson ls /cli/tree/sub/deeper/three.bin
THREE_ID="$(py 'd["id"]')"
THREE_SHA="$(sha "$WORK/tree/sub/deeper/three.bin")"
CIRRUS_CONFIG="$FRIEND_CONFIG" ok get shared:/tree/sub/deeper/three.bin "$WORK/dl/friend-path.bin"
expect "the friend's download by path" "$(sha "$WORK/dl/friend-path.bin")" "$THREE_SHA"
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson get --id "$THREE_ID" "$WORK/dl/friend-id.bin"
expect "the friend's download by id" "$(sha "$WORK/dl/friend-id.bin")" "$THREE_SHA"
mkdir -p "$WORK/dl/friend"
CIRRUS_CONFIG="$FRIEND_CONFIG" ok get --zip shared:/tree/sub "$WORK/dl/friend/"
zip_matches "$WORK/dl/friend/sub.zip" "$WORK/tree/sub" "deeper/" "deeper/three.bin" "two.txt" \
  || fail "the friend's ZIP of shared:/tree/sub does not hold the folder"
pass
CIRRUS_CONFIG="$FRIEND_CONFIG" ok get --zip --id "$TREE_ID" "$WORK/dl/friend/tree.zip"
unzip -tq "$WORK/dl/friend/tree.zip" >/dev/null || fail "unzip -t found the friend's ZIP of the tree broken"
pass
CIRRUS_CONFIG="$FRIEND_CONFIG" code 4 mkdir shared:/tree/new  # a viewer does not write (403)
CIRRUS_CONFIG="$FRIEND_CONFIG" code 4 unshare shared:/tree --with "$FRIEND"  # only the owner sees the shares

step "an editor writes inside the share"
ok share /cli/tree --with "$FRIEND" --role editor
expect "share output" "$OUT" "Shared /cli/tree with $FRIEND as editor"
echo "from the friend" >"$WORK/friend.txt"
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson put "$WORK/friend.txt" shared:/tree/
FRIEND_FILE="$(py 'd["id"]')"
okjson ls /cli/tree/friend.txt
expect "the editor's upload is in the owner's drive" "$(py 'd["id"]')" "$FRIEND_FILE"
CIRRUS_CONFIG="$FRIEND_CONFIG" code 4 rm shared:/tree  # not the shared item itself
CIRRUS_CONFIG="$FRIEND_CONFIG" ok rm shared:/tree/friend.txt
code 3 ls /cli/tree/friend.txt

step "unshare: access ends at once"
code 3 unshare /cli/tree --with "nobody$SUFFIX"
ok unshare /cli/tree --with "${FRIEND^^}"  # the username in any case
expect "unshare output" "$OUT" "Unshared /cli/tree with $FRIEND"
CIRRUS_CONFIG="$FRIEND_CONFIG" code 3 get --id "$THREE_ID" "$WORK/dl/friend-after.bin"
[[ ! -e "$WORK/dl/friend-after.bin" ]] || fail "a download after unshare left a file"
CIRRUS_CONFIG="$FRIEND_CONFIG" code 3 ls shared:/tree
CIRRUS_CONFIG="$FRIEND_CONFIG" code 3 get --zip --id "$TREE_ID" "$WORK/dl/friend/after.zip"
CIRRUS_CONFIG="$FRIEND_CONFIG" okjson shared
expect "nothing shared any more" "$(py 'len(d["items"])')" 0
code 3 unshare /cli/tree --with "$FRIEND"  # no share left
ok share /cli/tree --with "$FRIEND"
okjson unshare /cli/tree --all
expect "unshare --all" "$(py '",".join(s["recipient"]["username"] for s in d["items"])')" "$FRIEND"
CIRRUS_CONFIG="$FRIEND_CONFIG" code 3 ls shared:/tree
ok unshare /cli/tree --all  # nothing left: not an error
code 2 unshare /cli/tree  # neither --with nor --all
code 2 unshare /cli/tree --with "$FRIEND" --all
CIRRUS_CONFIG="$FRIEND_CONFIG" ok logout

step "public links"
okjson link /cli/tree --password "Link-pass-1" --expires 600
PUBLIC_URL="$(py 'd["url"]')"
PUBLIC_ID="$(py 'd["id"]')"
[[ $PUBLIC_URL == "$API/v1/public/"* ]] || fail "link --json has no public url: $OUT"
pass
expect "has_password" "$(py 'd["has_password"]')" True
[[ "$(py 'd["expires_at"]')" != None ]] || fail "link --expires 600 has no expiry: $OUT"
pass
LINK_STATUS="$(curl -sS --retry 5 -o "$WORK/answer" -w '%{http_code}' -H 'X-Link-Password: Link-pass-1' "$PUBLIC_URL")"
expect "the public link with its password" "$LINK_STATUS" 200
expect "the public link's item" "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["item"]["name"])' "$WORK/answer")" tree
LINK_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' "$PUBLIC_URL")"
expect "the public link without its password" "$LINK_STATUS" 401
LINK_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -H 'X-Link-Password: Wrong-pass-1' "$PUBLIC_URL")"
expect "the public link with a wrong password" "$LINK_STATUS" 403
ok link /cli/tree/zero.bin --password - <<<"Link-pass-2"
[[ $OUT == "$API/v1/public/"* ]] || fail "link printed '$OUT'"
LINK_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -H 'X-Link-Password: Link-pass-2' "$OUT")"
expect "a password read from standard input" "$LINK_STATUS" 200
ok link /cli/tree/sub/two.txt  # no password, no expiry
PLAIN_URL="$OUT"
curl -fsS --retry 5 -o "$WORK/answer" "$PLAIN_URL" || fail "the plain public link did not answer"
TWO_ID="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["item"]["id"])' "$WORK/answer")"
curl -fsS --retry 5 -o "$WORK/dl/public-two.txt" "$PLAIN_URL/files/$TWO_ID/content" || fail "the plain public link did not download"
expect "bytes through the public link" "$(sha "$WORK/dl/public-two.txt")" "$(sha "$WORK/tree/sub/two.txt")"
okjson link --list
expect "public link listed" "$(py 'sum(1 for l in d["items"] if l["id"] == "'"$PUBLIC_ID"'" and l["has_password"])')" 1
expect "downloads counted" "$(py '[l["downloads"] for l in d["items"] if l["url"] == "'"$PLAIN_URL"'"][0]')" 1
ok link --list
[[ $OUT == *ID*URL*PASSWORD*EXPIRES*DOWNLOADS*NAME* && $OUT == *"$PUBLIC_ID"*"$PUBLIC_URL"*yes*"tree/"* ]] || fail "link --list: $OUT"
pass
ok link --revoke "$PUBLIC_ID"
LINK_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -H 'X-Link-Password: Link-pass-1' "$PUBLIC_URL")"
expect "a revoked public link" "$LINK_STATUS" 404
code 3 link --revoke "$PUBLIC_ID"
code 1 link /cli/tree --password short  # 422: 8 bytes at least
code 1 link /cli/tree --expires 10  # 422: below the tier's 60 s
code 5 link /  # the root folder (409)
code 3 link /cli/nowhere
code 2 link --list /cli/tree
code 2 link /cli/tree --thumbnail 200  # --thumbnail needs --expires-in

step "app passwords (WebDAV)"
okjson app-password create "cli test" --read-only
APP_ID="$(py 'd["id"]')"; APP_PW="$(py 'd["password"]')"
[[ $APP_PW =~ ^[a-z2-9]{5}(-[a-z2-9]{5}){4}$ ]] || fail "app-password create printed no password: $OUT"
pass
ok app-password list
[[ $OUT == *"$APP_ID"*"read-only"*"cli test"* && $OUT != *"$APP_PW"* ]] || fail "app-password list: $OUT"
pass
DAV_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -X PROPFIND -u "$USERNAME:$APP_PW" -H 'Depth: 0' "$API/dav/cli/")"
expect "PROPFIND with the app password" "$DAV_STATUS" 207
DAV_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -X MKCOL -u "$USERNAME:$APP_PW" "$API/dav/cli/new")"
expect "MKCOL with the read-only app password" "$DAV_STATUS" 403
ok app-password revoke "$APP_ID"
DAV_STATUS="$(curl -sS --retry 5 -o /dev/null -w '%{http_code}' -X PROPFIND -u "$USERNAME:$APP_PW" -H 'Depth: 0' "$API/dav/cli/")"
expect "PROPFIND once revoked" "$DAV_STATUS" 401
code 3 app-password revoke "$APP_ID"

step "server unavailable, logout"
python3 - "$USER_CONFIG" "$WORK/down.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["server"] = "http://127.0.0.1:9"
json.dump(config, open(sys.argv[2], "w"))
PY
CIRRUS_CONFIG="$WORK/down.json" code 6 ls /
okjson logout
code 4 me
[[ $ERR == *"cirrus login"* ]] || fail "me after logout does not say to log in: $ERR"
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson users set-tier "$USERNAME" basic
CIRRUS_CONFIG="$ADMIN_CONFIG" okjson tiers delete "$TIER"
CIRRUS_CONFIG="$ADMIN_CONFIG" ok logout

echo "cli-test: every check passed"
echo "$PASSED passed, 0 failed"
