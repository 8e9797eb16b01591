#!/usr/bin/env bash
# Checks a running gateway against its own OpenAPI document with schemathesis:
#   - not_a_server_error          no request, however odd, gets a 5xx
#   - status_code_conformance     every status answered is documented for its operation
#   - response_schema_conformance every JSON body matches the documented schema
#
# Usage: Tests/api/schemathesis.sh BASE_URL ACCESS_TOKEN [schemathesis run options...]
#   e.g. Tests/api/schemathesis.sh http://127.0.0.1:8080 "$TOKEN" --seed 1
#
# The token is a normal user's access token (an enterprise-tier user exercises the most:
# expiring links, links to originals, a high request rate). Before fuzzing, the script puts
# a few items in that user's drive (a folder with sub-folders, an image with a version, text
# files, two trashed folders) and hands their ids to schemathesis as likely values, so the
# operations on existing items are tested too and not only their 404s. Leftovers stay in a
# folder named `schemathesis-<time>` (and in the trash).
#
# Not fuzzed: logout (it would revoke sessions), the admin routes and the bootstrap (they
# need the admin role or a secret). Everything else is, including login (failed logins
# count towards the per-address lockout of the machine running this).
#
# Environment:
#   CIRRUS_OPENAPI             where to read the document (default BASE_URL/openapi.json; a file works)
#   CIRRUS_ST_MAX_EXAMPLES     test cases per operation and phase (default 25)
#   CIRRUS_ST_PHASES           default examples,coverage,fuzzing,stateful
#   CIRRUS_ST_WORKERS          concurrent workers (default 1: schemathesis's workers are threads, and
#                              Debian's Python 3.11 can fail hypothesis's ast.parse in a thread
#                              with a spurious "AST constructor recursion depth mismatch"
#                              SystemError, CPython gh-106905, seen as a run error here)
#   CIRRUS_ST_SEED_DATA=0      skip creating the items above
#   CIRRUS_ST_REPORT_DIR       also write a JUnit report there
# Requests are paced at 90 % of the user's own rate (their tier's `requests_per_minute`) so
# the run is not mostly 429s; `--rate-limit N/m` overrides that. A 507 (quota or store full)
# is documented and not counted as a server error. Extra arguments go to `schemathesis run`
# (--seed, --max-time, --include-tag Files, --exclude-operation-id login …). Exit status: 0
# when every check passed, non-zero otherwise; each failure is printed with a curl command
# that reproduces it.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../infra/lib" && pwd)/common.sh"

(($# >= 2)) || die "usage: $0 BASE_URL ACCESS_TOKEN [schemathesis run options...]"
base="${1%/}"
token="$2"
shift 2
schemathesis="$CIRRUS_VENV/bin/schemathesis"
[[ -x "$schemathesis" ]] || die "schemathesis is not installed in $CIRRUS_VENV: run infra/lib/prereqs.sh"
schema="${CIRRUS_OPENAPI:-$base/openapi.json}"

work="$(mktemp -d "${TMPDIR:-/tmp}/cirrus-schemathesis.XXXXXX")"
trap 'rm -rf "$work"' EXIT
config="$work/schemathesis.toml"
# 507 is how a full quota (or a full store) is answered; documented, so not a server fault here.
# Failures found earlier are replayed first; that memory lives under .local/, not in the tree.
cat >"$config" <<TOML
[cache]
directory = "$CIRRUS_LOCAL/schemathesis"

[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "507"]

TOML

# Prints the user's request rate (their tier's), then creates the test data unless told not to.
rpm="$("$CIRRUS_VENV/bin/python" - "$base" "$token" "$config" "${CIRRUS_ST_SEED_DATA:-1}" <<'PY'
import json, struct, sys, time, urllib.error, urllib.parse, urllib.request, zlib

base, token, config, seed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] != "0"

def call(method, path, body=None, content_type="application/json", expect=(200, 201, 204)):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Authorization": "Bearer " + token})
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if status not in expect:
        sys.exit(f"test data: {method} {path} answered {status}: {raw[:300].decode(errors='replace')}")
    return json.loads(raw) if raw else None

def png(width, height, rgb):
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

def upload(folder, name, content):
    query = urllib.parse.urlencode({"folder_id": folder, "name": name})
    return call("POST", "/v1/files?" + query, content, "application/octet-stream")["id"]

def folder(parent, name):
    return call("POST", "/v1/folders", {"name": name, "parent_id": parent})["id"]

print(call("GET", "/v1/me")["tier"]["requests_per_minute"])
if not seed:
    sys.exit(0)
print("creating test data in the user's drive", file=sys.stderr)
root = call("GET", "/v1/folders/root")["id"]
top = folder(root, time.strftime("schemathesis-%Y%m%d-%H%M%S"))
browse = folder(top, "browse")
doomed = folder(top, "to-trash")
image = upload(browse, "image.png", png(64, 48, (200, 60, 30)))
call("PUT", f"/v1/files/{image}/content", png(80, 60, (30, 120, 200)), "application/octet-stream")  # a version
text = upload(browse, "notes.txt", b"Hello from schemathesis.\n")
replaced = upload(top, "replace-me.txt", b"to be replaced\n")
trashed_file = upload(top, "trash-me.txt", b"to be trashed\n")
to_restore, to_purge = folder(top, "restore-me"), folder(top, "purge-me")
for item in (to_restore, to_purge):
    call("DELETE", f"/v1/folders/{item}")

def dictionary(name, values):
    return f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"

def operation(name, bindings):
    entries = ", ".join(f'"{key}" = {{ dictionary = "{value}", probability = 0.8 }}' for key, value in bindings.items())
    return f'[[operations]]\ninclude-name = "{name}"\nparameters = {{ {entries} }}\n'

out = [
    dictionary("folder", [browse, top]), dictionary("doomed_folder", [doomed]), dictionary("image", [image]),
    dictionary("file", [image, text]), dictionary("replaced", [replaced]), dictionary("trashed_file", [trashed_file]),
    dictionary("restore", [to_restore]), dictionary("purge", [to_purge]), dictionary("size", [200]),
]
for name in ("GET /v1/folders/{id}", "GET /v1/folders/{id}/children"):
    out.append(operation(name, {"path.id": "folder"}))
out.append(operation("PATCH /v1/folders/{id}", {"path.id": "folder", "body.parent_id": "folder"}))
out.append(operation("DELETE /v1/folders/{id}", {"path.id": "doomed_folder"}))
out.append(operation("POST /v1/folders", {"body.parent_id": "folder"}))
out.append(operation("POST /v1/files", {"query.folder_id": "folder", "body.folder_id": "folder"}))
for name in ("GET /v1/files/{id}", "GET /v1/files/{id}/versions", "GET /v1/files/{id}/content", "HEAD /v1/files/{id}/content"):
    out.append(operation(name, {"path.id": "file"}))
out.append(operation("GET /v1/files/{id}/thumbnails/{size}", {"path.id": "image", "path.size": "size"}))
out.append(operation("POST /v1/files/{id}/links", {"path.id": "file", "body.size": "size"}))
out.append(operation("POST /v1/files/{id}/copy", {"path.id": "file", "body.parent_id": "folder"}))
out.append(operation("PUT /v1/files/{id}/content", {"path.id": "replaced"}))
out.append(operation("PATCH /v1/files/{id}", {"path.id": "replaced", "body.parent_id": "folder"}))
out.append(operation("DELETE /v1/files/{id}", {"path.id": "trashed_file"}))
out.append(operation("POST /v1/trash/{id}/restore", {"path.id": "restore"}))
out.append(operation("DELETE /v1/trash/{id}", {"path.id": "purge"}))
with open(config, "a") as handle:
    handle.write("\n".join(out))
print(f"test data in folder {top}", file=sys.stderr)
PY
)" || die "could not prepare the run (is $base up, and the token valid?)"

args=(
  --url "$base"
  --checks not_a_server_error,status_code_conformance,response_schema_conformance
  --max-examples "${CIRRUS_ST_MAX_EXAMPLES:-25}"
  --phases "${CIRRUS_ST_PHASES:-examples,coverage,fuzzing,stateful}"
  --workers "${CIRRUS_ST_WORKERS:-1}"
  --request-timeout 60
  --header "Authorization: Bearer $token"
  --generation-with-security-parameters false
  --generation-database none
  --exclude-operation-id logout
  --exclude-operation-id bootstrapAdmin
  --exclude-path-regex '^/v1/admin/'
)
[[ -t 1 ]] || args+=(--no-color)
# Stay under the user's own rate (90 % of their tier's), unless told otherwise: a run that
# mostly meets 429 tests little else. Register, login and refresh have a lower per-address rate.
[[ " $* " == *" --rate-limit"* ]] || args+=(--rate-limit "$((rpm * 9 / 10 > 0 ? rpm * 9 / 10 : 1))/m")
if [[ -n "${CIRRUS_ST_REPORT_DIR:-}" ]]; then
  mkdir -p "$CIRRUS_ST_REPORT_DIR"
  args+=(--report junit --report-dir "$CIRRUS_ST_REPORT_DIR")
fi

log "schemathesis against $base (document: $schema)"
status=0
# Tests/api/schemathesis_hooks.py: how to send tus bodies (application/offset+octet-stream).
PYTHONPATH="$CIRRUS_ROOT/Tests/api${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$schemathesis" --config-file "$config" run "$schema" "${args[@]}" "$@" || status=$?
if ((status == 0)); then
  log "schemathesis: every check passed"
else
  warn "schemathesis: FAILED (exit $status); each failure above shows a curl command that reproduces it"
fi
exit "$status"
