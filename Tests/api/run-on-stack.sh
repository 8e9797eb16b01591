#!/usr/bin/env bash
# Runs the client test (Tests/cli/cli-test.sh, the `cirrus` binary end to end), the user
# journeys (Tests/journey/journey.py: API + CLI, tiers, GC, a 1 GiB round trip), the attacker
# checks (Tests/api/security.py: rate-limit dodges, CSRF, lockout, links, secrets, headers), the
# bad-input check (Tests/api/bad-input.py: oversize, malformed and slow requests, bad names, broken
# images) and the schemathesis check of the public API (Tests/api/schemathesis.sh) against a throw-away
# local stack: the five services from prebuilt binaries (CIRRUS_BIN_DIR, as
# infra/test builds them), their own PostgreSQL cluster and broker under a temporary
# directory, on free loopback ports. A user on an "api-check" tier (every right, a high
# request rate so the fuzzer measures the API and not the limiter) is created through the
# admin API. Everything is stopped and removed on exit, also on failure.
#
# First of all, on the fresh stack: a new user's first request the moment /v1/status is ready
# (Tests/api/cold-start.py; CIRRUS_SKIP_COLD_START=1 skips it).
#
# Usage: CIRRUS_BIN_DIR=.build/debug Tests/api/run-on-stack.sh [schemathesis run options...]
# Skip parts with CIRRUS_SKIP_CLI_TEST=1 / CIRRUS_SKIP_JOURNEY=1 / CIRRUS_SKIP_SECURITY=1 /
# CIRRUS_SKIP_BAD_INPUT=1 / CIRRUS_SKIP_OPERATIONS=1 / CIRRUS_SKIP_RESUMABLE=1 / CIRRUS_SKIP_WEBDAV=1 / CIRRUS_SKIP_SHARING=1 /
# CIRRUS_SKIP_SCHEMATHESIS=1;
# CIRRUS_RESUMABLE_MIB=N shrinks the tus uploads' 300 MiB; CIRRUS_JOURNEY_BIG_MIB=N shrinks the
# journey's 1 GiB round trip while iterating; CIRRUS_BAD_INPUT_ARGS / CIRRUS_SECURITY_ARGS add
# options to bad-input.py (e.g. "--skip slow") / security.py (e.g. "--skip secrets").
# A failing security or bad-input check does not stop schemathesis; the exit status says if any failed.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../infra/lib" && pwd)/common.sh"
: "${CIRRUS_BIN_DIR:?set CIRRUS_BIN_DIR to the directory with the cirrus-* binaries}"
export CIRRUS_BIN_DIR

export CIRRUS_VENV  # the main venv, shared with the throw-away directory below
mkdir -p "$CIRRUS_LOCAL"
STACK="$(mktemp -d "$CIRRUS_LOCAL/api.XXXXXX")"
cleanup() {
  local status=$?
  run_stack stop >/dev/null 2>&1 || true
  stop_pidfile "$STACK/otlp-receiver.pid" 5
  if [[ $status -ne 0 ]]; then
    grep -h -B2 -A8 "Fatal error" "$STACK"/logs/*.log 2>/dev/null | head -40 || true
    for f in "$STACK"/logs/*.log; do [[ -f "$f" ]] && { echo "--- $f (tail)"; tail -n 25 "$f" | cut -c1-400; }; done
  fi
  rm -rf "$STACK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pick_stack_ports
# The journey test watches purged content leave the stores: collect every few seconds, after a
# grace well above the time between an object's write and its index row.
export CIRRUS_BLOB_GC_INTERVAL_SECONDS="${CIRRUS_BLOB_GC_INTERVAL_SECONDS:-3}" CIRRUS_BLOB_GC_GRACE_SECONDS="${CIRRUS_BLOB_GC_GRACE_SECONDS:-20}"
# The security check poses as many clients (X-Forwarded-For: 203.0.113.x, 198.51.100.x), each
# with its own per-address budget and lockout; the others still count as 127.0.0.1. infra/run
# starts the services with this environment, so the gateway sees the setting.
export CIRRUS_GATEWAY_TRUSTED_PROXIES="${CIRRUS_GATEWAY_TRUSTED_PROXIES:-127.0.0.1}"
# The operations check watches metadata's content audit find what blob lacks: every few seconds.
export CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS="${CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS:-3}" \
  CIRRUS_METADATA_CONTENT_AUDIT_GRACE_SECONDS="${CIRRUS_METADATA_CONTENT_AUDIT_GRACE_SECONDS:-1}"
# The stack runs traced (CIRRUS_TRACING=otlp, spans batched every 500 ms) into a small OTLP/HTTP
# receiver (Tests/api/otlp-receiver.py, opentelemetry-proto from the venv) that writes every span it
# gets to $STACK/spans.jsonl; the operations check reads one upload's trace there. Every other check
# thus runs with tracing on too. CIRRUS_SKIP_TRACING=1 runs the stack untraced.
if [[ -z "${CIRRUS_SKIP_TRACING:-}" ]]; then
  OTLP_PORT="$(free_port)"
  "$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/Tests/api/otlp-receiver.py" "$OTLP_PORT" "$STACK/spans.jsonl" \
    >"$STACK/otlp-receiver.log" 2>&1 &
  echo $! >"$STACK/otlp-receiver.pid"
  wait_for "the OTLP receiver" 30 port_open "$OTLP_PORT" || die "the OTLP receiver did not start: $(cat "$STACK/otlp-receiver.log")"
  export CIRRUS_TRACING=otlp OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_BSP_SCHEDULE_DELAY=500
fi
# A port chosen free can still be taken before a service binds it: one more try on other ports.
if ! run_stack --detach; then
  warn "the stack did not start; once more on other ports"
  run_stack stop >/dev/null 2>&1 || true
  pick_stack_ports
  run_stack --detach
fi
API="http://127.0.0.1:$GATEWAY_PORT"

# First, on the stack that has just started: a new user's first steps work the moment
# /v1/status is ready (Tests/api/cold-start.py). A failure does not stop the rest.
cold_status=0
if [[ -z "${CIRRUS_SKIP_COLD_START:-}" ]]; then
  log "a new user's first request on the cold stack at $API"
  python3 "$CIRRUS_ROOT/Tests/api/cold-start.py" "$API" || cold_status=$?
fi

password="Api-check-$(random_secret)"
pair="$(stack_admin_with_tier "$API" "$STACK" apiadmin "$password" '{"name":"api-check","thumbnail_sizes":[200,400],"original_links":true,
  "expiring_links":true,"link_min_seconds":300,"link_max_seconds":30000,"quota_bytes":10737418240,"max_upload_bytes":104857600,
  "requests_per_minute":1000000}')" || die "could not set up the administrator and the api-check tier"
admin="${pair% *}" tier="${pair#* }"
user="$(stack_user_on_tier "$API" "$admin" "$tier" apicheck "$password")" || die "could not set up the api-check user"

if [[ -x "$CIRRUS_BIN_DIR/cirrus" && -z "${CIRRUS_SKIP_CLI_TEST:-}" ]]; then
  # First, while the account routes' per-address budget is untouched by the fuzzer.
  log "the cirrus client against $API"
  CIRRUS_CLI="$CIRRUS_BIN_DIR/cirrus" CIRRUS_TEST_ADMIN="apiadmin:$password" "$CIRRUS_ROOT/Tests/cli/cli-test.sh" "$API" unused
fi

if [[ -z "${CIRRUS_SKIP_JOURNEY:-}" ]]; then
  # A user's whole journeys through the API and the CLI (it reads the stores to see the
  # blob collector's work, hence the short collection settings above).
  log "the user journeys against $API"
  "$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/Tests/journey/journey.py" "$API" --admin "apiadmin:$password" \
    --cli "$CIRRUS_BIN_DIR/cirrus" --data "$STACK/data" ${CIRRUS_JOURNEY_BIG_MIB:+--big-mib "$CIRRUS_JOURNEY_BIG_MIB"}
fi

status=$cold_status
services=()
for s in auth:1 metadata:2 blob:3 thumbnail:4; do services+=(--service "${s%%:*}=http://127.0.0.1:$((GATEWAY_PORT + ${s##*:}))"); done

# The attacker's view (Tests/api/security.py): path tricks against the account routes' limit,
# the multipart preamble bound, status caching and /metrics, cookie-only writes (CSRF), login
# lockout per account and address, link tokens (owner id, replaced content, disabled and
# deleted owners), security headers, and the gateway's refusal of weak internal secrets.
if [[ -z "${CIRRUS_SKIP_SECURITY:-}" ]]; then
  log "security checks against $API"
  python3 "$CIRRUS_ROOT/Tests/api/security.py" "$API" --admin "apiadmin:$password" --tier "$tier" "${services[@]}" \
    --logs "$STACK/logs" --bin-dir "$CIRRUS_BIN_DIR" ${CIRRUS_SECURITY_ARGS:-} || status=$?
fi

# Then bad input (Tests/api/bad-input.py): oversize and malformed requests, bad names, broken
# images, slow clients; every service's /readyz must stay 200 and nothing may be half-written.
# A fresh token when the login budget allows: the steps above can outlast an access token's 15 minutes.
if fresh="$(post POST /v1/auth/login "{\"login\":\"apicheck\",\"password\":\"$password\"}" 2>/dev/null | json 'd["access_token"]' 2>/dev/null)"; then user="$fresh"; fi
if [[ -z "${CIRRUS_SKIP_BAD_INPUT:-}" ]]; then
  log "bad input against $API"
  python3 "$CIRRUS_ROOT/Tests/api/bad-input.py" "$API" "$user" "${services[@]}" --logs "$STACK/logs" \
    --empty-dir "$STACK/data/blob/tmp" --empty-dir "$STACK/data/thumbnail/tmp" --empty-dir "$STACK/data/thumbnail-scratch" \
    ${CIRRUS_BAD_INPUT_ARGS:-} || status=$?
fi

# Operations (Tests/api/operations.py): dead letters made for real (thumbnail and blob stopped and
# started again: the one check here that takes services down, so it comes after those that need
# them all up), listed, shown, discarded and replayed with the admin API and `cirrus admin dlq`;
# an owner's retry of failed thumbnails; the content audit (a blob reference removed behind
# blob's back is reported); every service's /metrics linted (HELP, names, promtool); one upload's
# trace, from the receiver's spans, connected from the gateway to thumbnail and back to metadata.
if [[ -z "${CIRRUS_SKIP_OPERATIONS:-}" ]]; then
  log "operations (dead letters, thumbnail retry, content audit, metrics) against $API"
  CIRRUS_LOCAL="$STACK" CIRRUS_LOCAL_GATEWAY_PORT="$GATEWAY_PORT" CIRRUS_LOCAL_PG_PORT="$PG_PORT" CIRRUS_LOCAL_BROKER_PORT="$BROKER_PORT" \
    python3 "$CIRRUS_ROOT/Tests/api/operations.py" "$API" --admin "apiadmin:$password" --user "apicheck:$password" \
    --infra-run "$CIRRUS_ROOT/infra/run" --cli "$CIRRUS_BIN_DIR/cirrus" "${services[@]}" --logs "$STACK/logs" \
    --blob-db "postgres://cirrus:$(cat "$STACK/secrets/postgres-password")@127.0.0.1:$PG_PORT/blob" \
    ${CIRRUS_TRACING:+--spans "$STACK/spans.jsonl"} || status=$?
fi

# Resumable uploads (Tests/api/resumable.py): tus 1.0 with tuspy, 300 MiB through a proxy that cuts a
# chunk, checksums, termination, kill -9 of blob between PATCHes, expiration; then the same on the S3
# test server (when infra/test runs one: CIRRUS_TEST_S3_ENDPOINT) with blob restarted on it. It
# restarts metadata and blob and leaves them as they were.
if [[ -z "${CIRRUS_SKIP_RESUMABLE:-}" ]]; then
  log "resumable uploads (tus, tuspy) against $API"
  CIRRUS_LOCAL="$STACK" CIRRUS_LOCAL_GATEWAY_PORT="$GATEWAY_PORT" CIRRUS_LOCAL_PG_PORT="$PG_PORT" CIRRUS_LOCAL_BROKER_PORT="$BROKER_PORT" \
    "$CIRRUS_VENV/bin/python" "$CIRRUS_ROOT/Tests/api/resumable.py" "$API" --admin "apiadmin:$password" \
    --infra-run "$CIRRUS_ROOT/infra/run" --stack "$STACK" ${CIRRUS_TEST_S3_ENDPOINT:+--s3 "$CIRRUS_TEST_S3_ENDPOINT"} \
    ${CIRRUS_RESUMABLE_MIB:+--mib "$CIRRUS_RESUMABLE_MIB"} || status=$?
fi

# WebDAV and app passwords (Tests/api/webdav.py): litmus, rclone (a tree with non-ASCII names and a
# large file, CIRRUS_WEBDAV_MIB, default 300, up and back), a cadaver session, app-password
# revocation, read-only app passwords, and the JSON API and WebDAV seeing the same drive.
if [[ -z "${CIRRUS_SKIP_WEBDAV:-}" ]]; then
  log "WebDAV (litmus, rclone, cadaver) against $API"
  (cd "$CIRRUS_ROOT/Tests/api" && "$CIRRUS_VENV/bin/python" webdav.py "$API" --admin "apiadmin:$password" \
    ${CIRRUS_WEBDAV_MIB:+--mib "$CIRRUS_WEBDAV_MIB"}) || status=$?
fi

# Sharing (Tests/api/sharing.py): the permission matrix of shares (owner, editor, viewer, stranger,
# anonymous on every id route), revocation on the next request, the owner's quota for an editor's
# writes, public links (password, lockout, expiry, downloads), folder ZIPs read back with unzip and
# zipfile, and the share.* events in metadata's outbox.
if [[ -z "${CIRRUS_SKIP_SHARING:-}" ]]; then
  log "sharing (shares, public links, folder ZIPs) against $API"
  python3 "$CIRRUS_ROOT/Tests/api/sharing.py" "$API" --admin "apiadmin:$password" \
    --metadata-db "postgres://cirrus:$(cat "$STACK/secrets/postgres-password")@127.0.0.1:$PG_PORT/metadata" || status=$?
fi

if [[ -z "${CIRRUS_SKIP_SCHEMATHESIS:-}" ]]; then
  log "schemathesis against $API"
  "$CIRRUS_ROOT/Tests/api/schemathesis.sh" "$API" "$user" "$@" || status=$?
fi
exit "$status"
