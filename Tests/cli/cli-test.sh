#!/usr/bin/env bash
# Drives the `cirrus` command-line client through a whole session against a running gateway:
# login (config file 0600), mkdir -p, put of a folder tree and of a 50 MiB file (checksum
# verified by the server), ls, get and a resumed get (Range + If-Range, bit-identical), mv,
# cp, rm, trash, restore, app passwords (create, list, use over WebDAV, revoke), me, link refused for a basic user (exit 4), admin tiers/users
# commands as the bootstrapped admin, then a link that works with curl; every --json output
# must parse, and failures must give the documented exit codes.
#
# Usage: Tests/cli/cli-test.sh GATEWAY_URL BOOTSTRAP_SECRET
#   e.g. Tests/cli/cli-test.sh http://127.0.0.1:8080 "$(cat .local/secrets/bootstrap-secret)"
# The bootstrap secret makes the first admin, so the stack must not have one yet; to run
# again on the same stack set CIRRUS_TEST_ADMIN=username:password of an existing admin.
# Environment: CIRRUS_CLI, the binary (default .build/debug/cirrus of this checkout).
# Needs curl, python3, sha256sum and truncate. Stops at the first failure (exit 1) with a
# message naming it; ends with "N passed, 0 failed".
set -euo pipefail

(($# == 2)) || { echo "usage: $0 GATEWAY_URL BOOTSTRAP_SECRET" >&2; exit 2; }
API="${1%/}"
SECRET="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLI="${CIRRUS_CLI:-$ROOT/.build/debug/cirrus}"
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
post_json() {  # URL BODY [HEADER] -> prints the HTTP status, the body goes to $WORK/answer
  curl -sS -o "$WORK/answer" -w '%{http_code}' -X POST "$API$1" -H 'Content-Type: application/json' ${3:+-H "$3"} -d "$2"
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
    HELD="$(curl -sS -I "$API$LOCATION" -H "Authorization: Bearer $TOKEN" -H 'Tus-Resumable: 1.0.0' | tr -d '\r' \
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
code 2 link /cli/a/big.bin  # --expires-in is required

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
curl -fsS -o "$WORK/dl/linked.bin" "$URL" || fail "the link did not download"
expect "linked sha256" "$(sha "$WORK/dl/linked.bin")" "$BIG_SHA"
okjson link --id "$BIG_ID" --expires-in 300
[[ "$(py 'd["url"]')" == "$API/v1/links/"* ]] || fail "link --json has no url: $OUT"
pass
code 1 link /cli/a/big.bin --expires-in 100000  # beyond the tier's bounds (422)
code 1 link /cli/a/big.bin --expires-in 600 --thumbnail 400  # not an image
code 3 link /cli/a/missing.bin --expires-in 600

step "app passwords (WebDAV)"
okjson app-password create "cli test" --read-only
APP_ID="$(py 'd["id"]')"; APP_PW="$(py 'd["password"]')"
[[ $APP_PW =~ ^[a-z2-9]{5}(-[a-z2-9]{5}){4}$ ]] || fail "app-password create printed no password: $OUT"
pass
ok app-password list
[[ $OUT == *"$APP_ID"*"read-only"*"cli test"* && $OUT != *"$APP_PW"* ]] || fail "app-password list: $OUT"
pass
DAV_STATUS="$(curl -sS -o /dev/null -w '%{http_code}' -X PROPFIND -u "$USERNAME:$APP_PW" -H 'Depth: 0' "$API/dav/cli/")"
expect "PROPFIND with the app password" "$DAV_STATUS" 207
DAV_STATUS="$(curl -sS -o /dev/null -w '%{http_code}' -X MKCOL -u "$USERNAME:$APP_PW" "$API/dav/cli/new")"
expect "MKCOL with the read-only app password" "$DAV_STATUS" 403
ok app-password revoke "$APP_ID"
DAV_STATUS="$(curl -sS -o /dev/null -w '%{http_code}' -X PROPFIND -u "$USERNAME:$APP_PW" -H 'Depth: 0' "$API/dav/cli/")"
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
