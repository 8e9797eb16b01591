#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine:
#   1. `docker-compose config` accepts the file with .env.example as its env file, and
#      refuses it when any secret is missing (secrets have no defaults in the file);
#   2. on the resolved configuration (python3 + PyYAML): the five services, their
#      commands, image, health checks, documented CIRRUS_* keys and their values,
#      depends_on conditions, published ports, restart and stop grace period;
#   3. every ${VAR} the compose file interpolates is documented in .env.example and
#      vice versa, with the same default in both;
#   4. every operator setting is passed through from the env file: with an env file holding
#      only the secrets each service gets the documented default, and a value set in the env
#      file reaches every service that reads it;
#   5. the secrets of .env.example reach the services as placeholders they refuse at start
#      (the marks of Shared/ServiceKit/SecretPolicy.swift), so an unchanged copy cannot run;
#   6. the override of docs/operations.md that gives secrets as files (compose `secrets:`,
#      read through <KEY>_FILE) merges with the compose file and wires each file right;
#   7. the optional `observability` profile (prometheus, grafana, jaeger) renders with
#      `--profile observability`, stays out of a plain `up`, publishes on 127.0.0.1 only, runs
#      pinned images with health checks and read-only configuration, scrapes every service on
#      its port with the metrics token, and the five services get the tracing keys
#      (CIRRUS_TRACING, OTEL_EXPORTER_OTLP_ENDPOINT) pointing at its Jaeger by default.
#      (infra/observability itself is checked by Tests/observability/check-observability.sh.)
# Prints one line per check and `compose: N passed, M failed`; exits non-zero on failure.
# Needs docker-compose (Debian's v1 package; `docker compose` v2 works too) and PyYAML.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COMPOSE_FILE="$ROOT/docker-compose.yml"
ENV_EXAMPLE="$ROOT/.env.example"
OPERATIONS_DOC="$ROOT/docs/operations.md"
# Further compose files (-f) for compose_config, after docker-compose.yml.
EXTRA_COMPOSE_FILES=()
# Profiles (--profile NAME) for compose_config.
PROFILE_ARGS=()

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
summary_and_exit() { echo "compose: $passed passed, $failed failed"; exit 1; }

echo "checking $COMPOSE_FILE"

if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
else
  bad "docker-compose is installed (apt-get install docker-compose)"
  summary_and_exit
fi
ok "compose tool: $("${COMPOSE[@]}" version 2>/dev/null | head -n 1)"

for f in "$COMPOSE_FILE" "$ENV_EXAMPLE"; do
  [[ -f "$f" ]] || { bad "$f exists"; summary_and_exit; }
done
python3 -c 'import yaml' 2>/dev/null || { bad "python3 can import yaml (PyYAML)"; summary_and_exit; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Runs compose in a clean environment (variables exported by the caller must not leak
# into interpolation) against the given env file. Releases without --env-file (older
# than 1.25) get the file's variables in the environment instead.
COMPOSE_HELP="$("${COMPOSE[@]}" --help 2>/dev/null || true)"
compose_config() { # env-file, extra config args...
  local env_file="$1"; shift
  local vars=(PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8)
  local args=(-f "$COMPOSE_FILE")
  local extra
  for extra in ${EXTRA_COMPOSE_FILES[@]+"${EXTRA_COMPOSE_FILES[@]}"}; do args+=(-f "$extra"); done
  if grep -q -- '--env-file' <<<"$COMPOSE_HELP"; then
    args+=(--env-file "$env_file")
  else
    local line
    while IFS= read -r line; do
      if [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then vars+=("$line"); fi
    done <"$env_file"
  fi
  args+=(${PROFILE_ARGS[@]+"${PROFILE_ARGS[@]}"})
  env -i "${vars[@]}" "${COMPOSE[@]}" "${args[@]}" config "$@"
}

cp "$ENV_EXAMPLE" "$TMP/env"
if compose_config "$TMP/env" -q 2>"$TMP/config.err"; then
  ok "docker-compose config -q accepts docker-compose.yml with .env.example"
else
  bad "docker-compose config -q accepts docker-compose.yml with .env.example:"
  sed 's/^/       /' "$TMP/config.err"
  summary_and_exit
fi
if compose_config "$TMP/env" >"$TMP/config.yml" 2>"$TMP/config.err"; then
  ok "docker-compose config renders the resolved configuration"
else
  bad "docker-compose config renders the resolved configuration"
  sed 's/^/       /' "$TMP/config.err"
  summary_and_exit
fi

# Secrets: with any one of them missing, compose must refuse instead of using a default.
SECRETS=(POSTGRES_PASSWORD CIRRUS_DB_PASSWORD MINIO_ROOT_USER MINIO_ROOT_PASSWORD
         CIRRUS_S3_ACCESS_KEY_ID CIRRUS_S3_SECRET_ACCESS_KEY CIRRUS_AUTH_BOOTSTRAP_SECRET CIRRUS_INTERNAL_SECRET)
for secret in "${SECRETS[@]}"; do
  grep -v "^${secret}=" "$ENV_EXAMPLE" >"$TMP/env.missing"
  if compose_config "$TMP/env.missing" -q >/dev/null 2>&1; then
    bad "config is refused when the secret $secret is missing from the env file"
  else
    ok "config is refused when the secret $secret is missing from the env file"
  fi
done

# Pass-through: an env file with only the secrets (every other key takes its default), and
# one where every other key the services read is set to `override-<KEY>`.
NOT_SERVICE_KEYS=" ${SECRETS[*]} CIRRUS_IMAGE CIRRUS_GATEWAY_BIND CIRRUS_GATEWAY_PORT GF_SECURITY_ADMIN_PASSWORD "
: >"$TMP/env.secrets"
: >"$TMP/env.override"
while IFS= read -r line; do
  [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
  key="${BASH_REMATCH[1]}"
  if [[ "$NOT_SERVICE_KEYS" == *" $key "* ]]; then
    echo "$line" >>"$TMP/env.secrets"
    echo "$line" >>"$TMP/env.override"
  else
    echo "$key=override-$key" >>"$TMP/env.override"
  fi
done <"$ENV_EXAMPLE"
declare -A VARIANT_NAME=([secrets]="only the secrets" [override]="every other setting overridden")
for variant in secrets override; do
  if compose_config "$TMP/env.$variant" >"$TMP/config.$variant.yml" 2>"$TMP/config.err"; then
    ok "docker-compose config renders with an env file of ${VARIANT_NAME[$variant]}"
  else
    bad "docker-compose config renders with an env file of ${VARIANT_NAME[$variant]}"
    sed 's/^/       /' "$TMP/config.err"
    summary_and_exit
  fi
done

# Secrets from files: the yaml block of docs/operations.md that follows the marker comment
# `<!-- check-compose: secrets example` is a docker-compose.override.yml; render it on top of
# docker-compose.yml (the secret files need not exist for `config`). Its wiring is checked below.
: >"$TMP/config.files.yml"
if [[ ! -f "$OPERATIONS_DOC" ]]; then
  bad "docs/operations.md exists (it holds the secrets-from-files example)"
elif ! awk '/<!-- check-compose: secrets example/ {marked = 1; next}
            marked && /^```yaml/ {inside = 1; next}
            inside && /^```/ {exit}
            inside {print}' "$OPERATIONS_DOC" >"$TMP/secrets-override.yml" || [[ ! -s "$TMP/secrets-override.yml" ]]; then
  bad "docs/operations.md has the secrets-from-files example after its check-compose marker"
else
  EXTRA_COMPOSE_FILES=("$TMP/secrets-override.yml")
  if compose_config "$TMP/env" >"$TMP/config.files.yml" 2>"$TMP/config.err"; then
    ok "docker-compose config renders with the secrets-from-files override of docs/operations.md"
  else
    bad "docker-compose config renders with the secrets-from-files override of docs/operations.md"
    sed 's/^/       /' "$TMP/config.err"
    : >"$TMP/config.files.yml"
  fi
  EXTRA_COMPOSE_FILES=()
fi

# The observability profile: rendered with .env.example, checked below.
: >"$TMP/config.observability.yml"
PROFILE_ARGS=(--profile observability)
if compose_config "$TMP/env" >"$TMP/config.observability.yml" 2>"$TMP/config.err"; then
  ok "docker-compose --profile observability config renders with .env.example"
else
  bad "docker-compose --profile observability config renders with .env.example"
  sed 's/^/       /' "$TMP/config.err"
  : >"$TMP/config.observability.yml"
fi
PROFILE_ARGS=()

python3 - "$TMP/config.yml" "$COMPOSE_FILE" "$ENV_EXAMPLE" "$ROOT" "$TMP/config.secrets.yml" "$TMP/config.override.yml" \
  "$TMP/config.files.yml" "$TMP/config.observability.yml" "$passed" "$failed" "${SECRETS[@]}" <<'PY'
import os
import re
import sys

import yaml

(config_path, compose_path, env_example_path, root, secrets_config_path, override_config_path, files_config_path,
 observability_config_path) = sys.argv[1:9]
passed, failed = int(sys.argv[9]), int(sys.argv[10])
secrets = set(sys.argv[11:])

APP = ["gateway", "auth", "metadata", "blob", "thumbnail"]
INFRA = ["kafka", "postgres", "minio"]
DB_SERVICES = {"auth", "metadata", "blob", "thumbnail"}
STORE_SERVICES = {"blob", "thumbnail"}
ALL = set(APP)
PORTS = {"gateway": 8080, "auth": 8081, "metadata": 8082, "blob": 8083, "thumbnail": 8084}

# The documented configuration keys and the services that read each: the single list to
# update when a service gains a key (README.md "Configuration" documents the same keys).
DOCUMENTED_KEYS = {
    "CIRRUS_HTTP_HOST": ALL,
    "CIRRUS_HTTP_PORT": ALL,
    "CIRRUS_LOG_LEVEL": ALL,
    "CIRRUS_LOG_FORMAT": ALL,
    "CIRRUS_KAFKA_BROKERS": ALL,
    "CIRRUS_KAFKA_TOPIC_PARTITIONS": ALL,
    "CIRRUS_KAFKA_REPLICATION_FACTOR": ALL,
    "CIRRUS_SHUTDOWN_TIMEOUT_SECONDS": ALL,
    "CIRRUS_OUTBOX_POLL_INTERVAL_MS": ALL,
    "CIRRUS_METRICS_TOKEN": ALL,
    "CIRRUS_TRACING": ALL,
    "OTEL_EXPORTER_OTLP_ENDPOINT": ALL,
    "CIRRUS_DATABASE_URL": DB_SERVICES,
    "CIRRUS_DATABASE_MAX_CONNECTIONS": DB_SERVICES,
    "CIRRUS_STORAGE_BACKEND": STORE_SERVICES,
    "CIRRUS_STORAGE_PATH": STORE_SERVICES,
    "CIRRUS_STORAGE_STAGING_PATH": {"blob"},
    "CIRRUS_BLOB_RESUMABLE_EXPIRY_INTERVAL_SECONDS": {"blob"},
    "CIRRUS_METADATA_RESUMABLE_UPLOAD_TTL_SECONDS": {"metadata"},
    "CIRRUS_S3_ENDPOINT": STORE_SERVICES,
    "CIRRUS_S3_REGION": STORE_SERVICES,
    "CIRRUS_S3_BUCKET": STORE_SERVICES,
    "CIRRUS_S3_ACCESS_KEY_ID": STORE_SERVICES,
    "CIRRUS_S3_SECRET_ACCESS_KEY": STORE_SERVICES,
    "CIRRUS_S3_PATH_STYLE": STORE_SERVICES,
    "CIRRUS_AUTH_URL": {"gateway", "metadata", "blob", "thumbnail"},
    "CIRRUS_METADATA_URL": {"gateway", "blob", "thumbnail"},
    "CIRRUS_BLOB_URL": {"gateway", "metadata", "thumbnail"},
    "CIRRUS_THUMBNAIL_URL": {"gateway"},
    "CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS": {"auth"},
    "CIRRUS_AUTH_REFRESH_TOKEN_TTL_SECONDS": {"auth"},
    "CIRRUS_AUTH_BCRYPT_COST": {"auth"},
    "CIRRUS_AUTH_BOOTSTRAP_SECRET": {"auth"},
    "CIRRUS_AUTH_COOKIE_SECURE": {"auth"},
    "CIRRUS_AUTH_MAX_FAILED_LOGINS": {"auth"},
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": {"auth"},
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS": {"auth"},
    "CIRRUS_AUTH_LOGIN_BACKOFF_SECONDS": {"auth"},
    "CIRRUS_AUTH_LOCKOUT_SECONDS": {"auth"},
    "CIRRUS_AUTH_DAV_ACCOUNT_PASSWORD": {"auth"},
    "CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR": {"auth"},
    "CIRRUS_BLOB_GC_INTERVAL_SECONDS": {"blob"},
    "CIRRUS_BLOB_GC_GRACE_SECONDS": {"blob"},
    "CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS": {"blob"},
    "CIRRUS_BLOB_RECONCILE_GRACE_SECONDS": {"blob"},
    "CIRRUS_INTERNAL_SECRET": {"metadata", "blob", "thumbnail", "gateway"},
    "CIRRUS_INTERNAL_SECRET_PREVIOUS": {"metadata", "blob", "thumbnail", "gateway"},
    "CIRRUS_METADATA_MAX_VERSIONS": {"metadata"},
    "CIRRUS_THUMBNAIL_FORMAT": {"thumbnail"},
    "CIRRUS_THUMBNAIL_QUALITY": {"thumbnail"},
    "CIRRUS_THUMBNAIL_CONCURRENCY": {"thumbnail"},
    "CIRRUS_THUMBNAIL_MAX_PIXELS": {"thumbnail"},
    "CIRRUS_THUMBNAIL_MAX_SOURCE_BYTES": {"thumbnail"},
    "CIRRUS_THUMBNAIL_EVICT_AFTER_SECONDS": {"thumbnail"},
    "CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS": {"thumbnail"},
    "CIRRUS_THUMBNAIL_SCRATCH_PATH": {"thumbnail"},
    "CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS": {"thumbnail"},
    "CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS": {"thumbnail"},
    "CIRRUS_METADATA_UPLOAD_TTL_SECONDS": {"metadata"},
    "CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS": {"metadata"},
    "CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS": {"metadata"},
    "CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS": {"metadata"},
    "CIRRUS_METADATA_CONTENT_AUDIT_GRACE_SECONDS": {"metadata"},
    "CIRRUS_PUBLIC_URL": {"gateway"},
    "CIRRUS_GATEWAY_DEFAULT_RPM": {"gateway"},
    "CIRRUS_GATEWAY_AUTH_RPM": {"gateway"},
    "CIRRUS_GATEWAY_ANONYMOUS_RPM": {"gateway"},
    "CIRRUS_GATEWAY_CORS_ORIGINS": {"gateway"},
    "CIRRUS_GATEWAY_ACCESS_LOG": {"gateway"},
    "CIRRUS_GATEWAY_TRUSTED_PROXIES": {"gateway"},
}
SHUTDOWN_DEFAULT = 20

# The ranges the services accept (ConfigReader.int/seconds/milliseconds in ServiceKit and the
# *Settings.swift files); an empty value is unset and always accepted.
INTEGER_RANGES = {
    "CIRRUS_KAFKA_TOPIC_PARTITIONS": (1, 1000),
    "CIRRUS_KAFKA_REPLICATION_FACTOR": (1, 10),
    "CIRRUS_SHUTDOWN_TIMEOUT_SECONDS": (1, 600),
    "CIRRUS_OUTBOX_POLL_INTERVAL_MS": (5, 60_000),
    "CIRRUS_DATABASE_MAX_CONNECTIONS": (1, 500),
    "CIRRUS_GATEWAY_DEFAULT_RPM": (1, 1_000_000),
    "CIRRUS_GATEWAY_AUTH_RPM": (1, 1_000_000),
    "CIRRUS_GATEWAY_ANONYMOUS_RPM": (1, 1_000_000),
    "CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS": (30, 86_400),
    "CIRRUS_AUTH_REFRESH_TOKEN_TTL_SECONDS": (300, 31_536_000),
    "CIRRUS_AUTH_BCRYPT_COST": (4, 16),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS": (1, 1000),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": (1, 1_000_000),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS": (1, 100_000),
    "CIRRUS_AUTH_LOGIN_BACKOFF_SECONDS": (1, 86_400),
    "CIRRUS_AUTH_LOCKOUT_SECONDS": (1, 86_400),
    "CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR": (1, 1_000_000),
    "CIRRUS_METADATA_MAX_VERSIONS": (0, 1000),
    "CIRRUS_METADATA_UPLOAD_TTL_SECONDS": (60, 604_800),
    "CIRRUS_METADATA_RESUMABLE_UPLOAD_TTL_SECONDS": (10, 2_592_000),
    "CIRRUS_BLOB_RESUMABLE_EXPIRY_INTERVAL_SECONDS": (1, 86_400),
    "CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS": (1, 86_400),
    "CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS": (1, 86_400),
    "CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS": (0, 604_800),
    "CIRRUS_METADATA_CONTENT_AUDIT_GRACE_SECONDS": (1, 2_592_000),
    "CIRRUS_BLOB_GC_INTERVAL_SECONDS": (1, 86_400),
    "CIRRUS_BLOB_GC_GRACE_SECONDS": (0, 2_592_000),
    "CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS": (0, 604_800),
    "CIRRUS_BLOB_RECONCILE_GRACE_SECONDS": (1, 2_592_000),
    "CIRRUS_THUMBNAIL_QUALITY": (1, 100),
    "CIRRUS_THUMBNAIL_CONCURRENCY": (1, 64),
    "CIRRUS_THUMBNAIL_MAX_PIXELS": (1, 2_000_000_000),
    "CIRRUS_THUMBNAIL_MAX_SOURCE_BYTES": (1, 1 << 40),
    "CIRRUS_THUMBNAIL_EVICT_AFTER_SECONDS": (60, 31_536_000),
    "CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS": (1, 86_400),
    "CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS": (0, 604_800),
    "CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS": (1, 2_592_000),
}
BOOLEANS = {"1", "true", "yes", "on", "0", "false", "no", "off"}
CHOICES = {
    "CIRRUS_AUTH_COOKIE_SECURE": BOOLEANS,
    "CIRRUS_AUTH_DAV_ACCOUNT_PASSWORD": BOOLEANS,
    "CIRRUS_S3_PATH_STYLE": BOOLEANS,
    "CIRRUS_THUMBNAIL_FORMAT": {"jpeg", "webp"},
}

# How docker-compose.yml provides each documented key. Every key is in exactly one of:
# - COMPOSE_SETS: fixed by the compose file by design (addresses, ports, store, shutdown);
#   .env.example lists them in a comment only;
# - secrets (the CIRRUS_* ones of SECRETS): `${KEY:?...}`, no default;
# - PASS_THROUGH: `${KEY:-default}` for the services that read it (that also use it: the
#   gateway only validates the Kafka and outbox keys, so compose does not pass them to it).
#   The default is the service's own, except CIRRUS_AUTH_COOKIE_SECURE (true behind the TLS
#   proxy compose recommends) and CIRRUS_PUBLIC_URL (the published port on localhost).
#   "" means unset: the services treat an empty value like an absent one (ConfigReader).
COMPOSE_SETS = {
    "CIRRUS_HTTP_HOST", "CIRRUS_HTTP_PORT", "CIRRUS_SHUTDOWN_TIMEOUT_SECONDS", "CIRRUS_KAFKA_BROKERS",
    "CIRRUS_DATABASE_URL", "CIRRUS_STORAGE_BACKEND", "CIRRUS_STORAGE_PATH", "CIRRUS_STORAGE_STAGING_PATH", "CIRRUS_S3_ENDPOINT",
    "CIRRUS_S3_BUCKET", "CIRRUS_S3_PATH_STYLE", "CIRRUS_AUTH_URL", "CIRRUS_METADATA_URL",
    "CIRRUS_BLOB_URL", "CIRRUS_THUMBNAIL_URL",
}
INTERNAL = {"gateway", "metadata", "blob", "thumbnail"}
PASS_THROUGH = {
    "CIRRUS_LOG_LEVEL": (ALL, "info"),
    "CIRRUS_LOG_FORMAT": (ALL, "json"),
    "CIRRUS_KAFKA_TOPIC_PARTITIONS": (DB_SERVICES, "3"),
    "CIRRUS_KAFKA_REPLICATION_FACTOR": (DB_SERVICES, "1"),
    "CIRRUS_DATABASE_MAX_CONNECTIONS": (DB_SERVICES, "10"),
    "CIRRUS_OUTBOX_POLL_INTERVAL_MS": (DB_SERVICES, "1000"),
    "CIRRUS_METRICS_TOKEN": (ALL, ""),
    "CIRRUS_TRACING": (ALL, "off"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (ALL, "http://jaeger:4318"),
    "CIRRUS_S3_REGION": (STORE_SERVICES, "us-east-1"),
    "CIRRUS_INTERNAL_SECRET_PREVIOUS": (INTERNAL, ""),
    "CIRRUS_PUBLIC_URL": ({"gateway"}, "http://localhost:8080"),
    "CIRRUS_GATEWAY_DEFAULT_RPM": ({"gateway"}, "600"),
    "CIRRUS_GATEWAY_AUTH_RPM": ({"gateway"}, "30"),
    "CIRRUS_GATEWAY_ANONYMOUS_RPM": ({"gateway"}, "600"),
    "CIRRUS_GATEWAY_CORS_ORIGINS": ({"gateway"}, ""),
    "CIRRUS_GATEWAY_TRUSTED_PROXIES": ({"gateway"}, ""),
    "CIRRUS_GATEWAY_ACCESS_LOG": ({"gateway"}, "stdout"),
    "CIRRUS_AUTH_COOKIE_SECURE": ({"auth"}, "true"),
    "CIRRUS_AUTH_ACCESS_TOKEN_TTL_SECONDS": ({"auth"}, "900"),
    "CIRRUS_AUTH_REFRESH_TOKEN_TTL_SECONDS": ({"auth"}, "2592000"),
    "CIRRUS_AUTH_BCRYPT_COST": ({"auth"}, "11"),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS": ({"auth"}, "5"),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": ({"auth"}, "100"),
    "CIRRUS_AUTH_MAX_FAILED_LOGINS_PER_ADDRESS": ({"auth"}, "20"),
    "CIRRUS_AUTH_LOGIN_BACKOFF_SECONDS": ({"auth"}, "30"),
    "CIRRUS_AUTH_LOCKOUT_SECONDS": ({"auth"}, "900"),
    "CIRRUS_AUTH_DAV_ACCOUNT_PASSWORD": ({"auth"}, "false"),
    "CIRRUS_AUTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR": ({"auth"}, "60"),
    "CIRRUS_METADATA_MAX_VERSIONS": ({"metadata"}, "10"),
    "CIRRUS_METADATA_UPLOAD_TTL_SECONDS": ({"metadata"}, "3600"),
    "CIRRUS_METADATA_THUMBNAIL_GRACE_SECONDS": ({"metadata"}, "300"),
    "CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS": ({"metadata"}, "60"),
    "CIRRUS_METADATA_CONTENT_AUDIT_INTERVAL_SECONDS": ({"metadata"}, "3600"),
    "CIRRUS_METADATA_CONTENT_AUDIT_GRACE_SECONDS": ({"metadata"}, "3600"),
    "CIRRUS_BLOB_GC_INTERVAL_SECONDS": ({"blob"}, "60"),
    "CIRRUS_BLOB_RESUMABLE_EXPIRY_INTERVAL_SECONDS": ({"blob"}, "60"),
    "CIRRUS_METADATA_RESUMABLE_UPLOAD_TTL_SECONDS": ({"metadata"}, "86400"),
    "CIRRUS_BLOB_GC_GRACE_SECONDS": ({"blob"}, "3600"),
    "CIRRUS_BLOB_RECONCILE_INTERVAL_SECONDS": ({"blob"}, "3600"),
    "CIRRUS_BLOB_RECONCILE_GRACE_SECONDS": ({"blob"}, "3600"),
    "CIRRUS_THUMBNAIL_FORMAT": ({"thumbnail"}, "jpeg"),
    "CIRRUS_THUMBNAIL_QUALITY": ({"thumbnail"}, "80"),
    "CIRRUS_THUMBNAIL_CONCURRENCY": ({"thumbnail"}, ""),
    "CIRRUS_THUMBNAIL_MAX_PIXELS": ({"thumbnail"}, "100000000"),
    "CIRRUS_THUMBNAIL_MAX_SOURCE_BYTES": ({"thumbnail"}, "268435456"),
    "CIRRUS_THUMBNAIL_EVICT_AFTER_SECONDS": ({"thumbnail"}, "604800"),
    "CIRRUS_THUMBNAIL_EVICTION_INTERVAL_SECONDS": ({"thumbnail"}, "3600"),
    "CIRRUS_THUMBNAIL_SCRATCH_PATH": ({"thumbnail"}, ""),
    "CIRRUS_THUMBNAIL_RECONCILE_INTERVAL_SECONDS": ({"thumbnail"}, "3600"),
    "CIRRUS_THUMBNAIL_RECONCILE_GRACE_SECONDS": ({"thumbnail"}, "3600"),
}


def check(condition, what, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}" + (f": {detail}" if detail else ""))
    return condition


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def depends_on(service):
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form: no condition at all
        return {name: None for name in deps}
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def seconds(value):
    """Compose duration ('30s', '1m30s', '1h', '500ms' or a number of seconds) in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value):
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(n) * units[u] for n, u in parts)


def load_services(path):
    with open(path) as f:
        return (yaml.safe_load(f) or {}).get("services") or {}


services = load_services(config_path)
check(bool(services), "resolved configuration has services")

# --- services present, commands, image ---------------------------------------------------
for name in APP + INFRA + ["minio-init"]:
    check(name in services, f"service {name} exists")
missing = [n for n in APP if n not in services]
if missing:
    print(f"compose: {passed} passed, {failed} failed")
    sys.exit(1)

images = {services[n].get("image") for n in APP}
check(len(images) == 1 and None not in images, "the five services run one image", f"images: {images}")
for name in APP:
    s = services[name]
    check(s.get("command") == [f"cirrus-{name}"], f"{name}: command is [cirrus-{name}]", f"got {s.get('command')!r}")
built = [n for n in APP if services[n].get("build")]
check(bool(built), "the Cirrus image has a build section", "no service has build:")
for name in built:
    b = services[name]["build"]
    dockerfile = os.path.join(b.get("context", ""), b.get("dockerfile", "Dockerfile"))
    check(os.path.realpath(b.get("context", "")) == os.path.realpath(root) and os.path.isfile(dockerfile),
          f"{name}: builds from the package root with {os.path.relpath(dockerfile, root)}",
          f"context {b.get('context')!r}, dockerfile {b.get('dockerfile')!r}")

# --- health checks ------------------------------------------------------------------------
for name in APP + INFRA:
    hc = services[name].get("healthcheck") or {}
    test = hc.get("test")
    enabled = bool(test) and not hc.get("disable") and test != ["NONE"]
    check(enabled, f"{name}: has a healthcheck", f"healthcheck {hc!r}")
for name in APP:
    test = (services[name].get("healthcheck") or {}).get("test") or []
    text = " ".join(test) if isinstance(test, list) else str(test)
    port = environment(services[name]).get("CIRRUS_HTTP_PORT", str(PORTS[name]))
    check(re.search(rf"http://(localhost|127\.0\.0\.1):{re.escape(port)}/readyz\b", text) is not None,
          f"{name}: healthcheck probes /readyz on its port {port}", f"test {text!r}")

# --- configuration keys and values ------------------------------------------------------
for name in APP:
    env = environment(services[name])
    keys = {k for k in env if k.startswith("CIRRUS_")}
    unknown = sorted(k for k in keys if k not in DOCUMENTED_KEYS)
    check(not unknown, f"{name}: every CIRRUS_* key is documented", f"unknown keys {unknown}")
    misplaced = sorted(k for k in keys if k in DOCUMENTED_KEYS and name not in DOCUMENTED_KEYS[k])
    check(not misplaced, f"{name}: sets only keys that {name} reads", f"not read by {name}: {misplaced}")

    problems = []
    if env.get("CIRRUS_HTTP_HOST", "0.0.0.0") != "0.0.0.0":
        problems.append("CIRRUS_HTTP_HOST must be 0.0.0.0 in a container")
    if env.get("CIRRUS_HTTP_PORT", str(PORTS[name])) != str(PORTS[name]):
        problems.append(f"CIRRUS_HTTP_PORT should be {PORTS[name]}")
    if env.get("CIRRUS_LOG_LEVEL", "info") not in {"trace", "debug", "info", "notice", "warning", "error", "critical"}:
        problems.append(f"bad CIRRUS_LOG_LEVEL {env.get('CIRRUS_LOG_LEVEL')!r}")
    if env.get("CIRRUS_LOG_FORMAT", "json") not in {"json", "text"}:
        problems.append(f"bad CIRRUS_LOG_FORMAT {env.get('CIRRUS_LOG_FORMAT')!r}")
    for key, (low, high) in INTEGER_RANGES.items():
        if env.get(key) and not (env[key].isdigit() and low <= int(env[key]) <= high):
            problems.append(f"{key} must be an integer in {low}...{high}, got {env[key]!r}")
    for key, allowed in CHOICES.items():
        if env.get(key) and (env[key].lower() if allowed is BOOLEANS else env[key]) not in allowed:
            problems.append(f"{key} must be one of {sorted(allowed)}, got {env[key]!r}")
    if name in DB_SERVICES:
        url = env.get("CIRRUS_DATABASE_URL", "")
        m = re.fullmatch(r"postgres(?:ql)?://([^:@/]+)(?::([^@/]*))?@([^:/]+)(?::(\d+))?/([^/?]+)", url)
        if not m:
            problems.append("CIRRUS_DATABASE_URL missing or not postgres://user:password@host:port/database")
        elif m.group(3) != "postgres" or m.group(5) != name:
            problems.append(f"CIRRUS_DATABASE_URL should name host postgres and database {name}")
        if not env.get("CIRRUS_KAFKA_BROKERS", "").startswith("kafka:"):
            problems.append("CIRRUS_KAFKA_BROKERS should point at kafka:9092")
    if name in STORE_SERVICES:
        if env.get("CIRRUS_STORAGE_BACKEND") != "s3":
            problems.append("CIRRUS_STORAGE_BACKEND should be s3 (MinIO)")
        for key in ("CIRRUS_S3_ENDPOINT", "CIRRUS_S3_BUCKET", "CIRRUS_S3_ACCESS_KEY_ID", "CIRRUS_S3_SECRET_ACCESS_KEY"):
            if not env.get(key):
                problems.append(f"{key} is missing")
        if env.get("CIRRUS_S3_PATH_STYLE", "true") not in {"true", "false"}:
            problems.append("CIRRUS_S3_PATH_STYLE must be true or false")
    # Every internal URL a service reads points at that service on the compose network.
    for key, target in (("CIRRUS_AUTH_URL", "auth"), ("CIRRUS_METADATA_URL", "metadata"),
                        ("CIRRUS_BLOB_URL", "blob"), ("CIRRUS_THUMBNAIL_URL", "thumbnail")):
        if name in DOCUMENTED_KEYS[key] and env.get(key) != f"http://{target}:{PORTS[target]}":
            problems.append(f"{key} should be http://{target}:{PORTS[target]}, got {env.get(key)!r}")
    check(not problems, f"{name}: configuration values are valid", "; ".join(problems))

buckets = [environment(services[n]).get("CIRRUS_S3_BUCKET") for n in sorted(STORE_SERVICES)]
check(len(set(buckets)) == len(buckets), "blob and thumbnail use their own buckets", f"buckets {buckets}")

# --- dependencies -----------------------------------------------------------------------
for name, service in sorted(services.items()):
    for dep, condition in sorted(depends_on(service).items()):
        if dep in INFRA or dep in APP:
            check(condition == "service_healthy", f"{name}: depends on {dep} with condition service_healthy",
                  f"condition {condition!r}")
            check(bool((services.get(dep) or {}).get("healthcheck")), f"{name}: {dep} has the healthcheck it waits for")
        elif dep == "minio-init":
            check(condition == "service_completed_successfully",
                  f"{name}: depends on minio-init with condition service_completed_successfully", f"condition {condition!r}")
        else:
            check(condition is not None, f"{name}: depends on {dep} with a condition", "no condition")
expected_deps = {
    "auth": {"kafka", "postgres"},
    "metadata": {"kafka", "postgres"},
    "blob": {"kafka", "postgres", "minio", "minio-init"},
    "thumbnail": {"kafka", "postgres", "minio", "minio-init"},
    "gateway": {"auth", "metadata", "blob", "thumbnail"},
    "minio-init": {"minio"},
}
for name, deps in expected_deps.items():
    have = set(depends_on(services.get(name) or {}))
    check(deps <= have, f"{name}: waits for {', '.join(sorted(deps))}", f"missing {sorted(deps - have)}")

# --- published ports ----------------------------------------------------------------------
# (Services of a profile, checked at the end, are not started by a plain `up`.)
publishing = sorted(n for n, s in services.items() if s.get("ports") and not s.get("profiles"))
check(publishing == ["gateway"], "only the gateway publishes ports (outside profiles)", f"publishing: {publishing}")
targets = []
for p in services["gateway"].get("ports") or []:
    targets.append(int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1].split("/")[0]))
check(targets == [8080], "the gateway publishes its port 8080", f"targets {targets}")

# --- lifecycle ----------------------------------------------------------------------------
for name in APP:
    s = services[name]
    check(s.get("restart") == "unless-stopped", f"{name}: restart unless-stopped", f"restart {s.get('restart')!r}")
    shutdown = int(environment(s).get("CIRRUS_SHUTDOWN_TIMEOUT_SECONDS", SHUTDOWN_DEFAULT))
    try:
        grace = seconds(s.get("stop_grace_period", "10s"))
    except ValueError as e:
        grace = 0
    check(grace > shutdown, f"{name}: stop_grace_period ({s.get('stop_grace_period', '10s')}) exceeds the {shutdown} s shutdown timeout")

# --- pass-through of operator settings ----------------------------------------------------
secret_keys = {k for k in secrets if k in DOCUMENTED_KEYS}
for key in sorted(DOCUMENTED_KEYS):
    kinds = [kind for kind, keys in (("set by compose", COMPOSE_SETS), ("secret", secret_keys), ("passed through", PASS_THROUGH))
             if key in keys]
    check(len(kinds) == 1, f"{key}: is exactly one of set by compose, secret, passed through", f"{kinds or 'none'}")
stray = sorted(set(PASS_THROUGH) - set(DOCUMENTED_KEYS))
check(not stray, "every passed-through key is a documented key", f"not in DOCUMENTED_KEYS: {stray}")
with open(compose_path) as f:
    compose_raw = f.read()
defaults_services = load_services(secrets_config_path)
override_services = load_services(override_config_path)
for key, (readers, default) in sorted(PASS_THROUGH.items()):
    readers = readers & DOCUMENTED_KEYS.get(key, set())
    forms = set(re.findall(rf"\$\{{{key}(?:(:?[-?])([^}}]*))?\}}", compose_raw))
    check(forms == {(":-", default)}, f"{key}: written as ${{{key}:-{default}}} in docker-compose.yml", f"found {sorted(forms)}")
    problems = []
    for name in sorted(readers):
        if key not in environment(services.get(name) or {}):
            problems.append(f"{name} does not get it")
            continue
        got_default = environment(defaults_services.get(name) or {}).get(key)
        if got_default != default:
            problems.append(f"{name} gets {got_default!r} without it in the env file, not {default!r}")
        got_override = environment(override_services.get(name) or {}).get(key)
        if got_override != f"override-{key}":
            problems.append(f"{name} gets {got_override!r}, not the env file's value")
    check(bool(readers) and not problems,
          f"{key}: passed from the env file to {', '.join(sorted(readers))} (default {default!r})", "; ".join(problems))

# --- interpolation vs .env.example ------------------------------------------------------------
with open(compose_path) as f:
    raw = f.read()
used = {}  # name -> set of forms ("default", "required", "plain")
defaults_in_compose = {}  # name -> set of defaults written after :- or -
for m in re.finditer(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", raw):
    if m.group(0) == "$$":
        continue  # escaped: reaches the container as a literal $
    name = m.group(1) or m.group(4)
    op = m.group(2) or ""
    used.setdefault(name, set()).add("default" if "-" in op else "required" if "?" in op else "plain")
    if "-" in op:
        defaults_in_compose.setdefault(name, set()).add(m.group(3))

documented = {}
comment_before = {}
previous = ""
with open(env_example_path) as f:
    for line in f:
        line = line.rstrip("\n")
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            documented[m.group(1)] = m.group(2)
            comment_before[m.group(1)] = previous.startswith("#") or (
                previous and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", previous) and comment_before.get(previous.split("=")[0], False))
        previous = line

check(bool(used), "docker-compose.yml interpolates variables")
undocumented = sorted(set(used) - set(documented))
check(not undocumented, f"every ${{VAR}} in docker-compose.yml ({len(used)}) is in .env.example", f"missing {undocumented}")
stale = sorted(set(documented) - set(used))
check(not stale, "every key in .env.example is used by docker-compose.yml", f"unused {stale}")
uncommented = sorted(k for k, has in comment_before.items() if not has)
check(not uncommented, "every key in .env.example has a comment", f"no comment: {uncommented}")
empty = sorted(k for k, v in documented.items() if v == "" and defaults_in_compose.get(k) != {""})
check(not empty, "every key in .env.example has a value, or is empty where compose's default is empty (unset)",
      f"empty: {empty}")
different = sorted(f"{k}: .env.example {documented[k]!r}, compose {sorted(defaults_in_compose[k])}"
                   for k in documented if k in defaults_in_compose and defaults_in_compose[k] != {documented[k]})
check(not different, "every default in docker-compose.yml equals the value in .env.example (one default per key)",
      "; ".join(different))
with open(env_example_path) as f:
    example_text = f.read()
unmentioned = sorted(k for k in DOCUMENTED_KEYS if not re.search(rf"\b{k}\b", example_text))
check(not unmentioned, f"every documented key ({len(DOCUMENTED_KEYS)}) is described in .env.example (set or in a comment)",
      f"not mentioned: {unmentioned}")
defaulted = sorted(name for name in secrets if "default" in used.get(name, set()))
check(not defaulted, "no secret has a default in docker-compose.yml (only in .env.example)", f"defaulted: {defaulted}")
check(secrets <= set(used), "every secret is interpolated from the env file", f"not used: {sorted(secrets - set(used))}")

# --- placeholders in .env.example are refused by the services -------------------------------
# Copying .env.example unchanged must not start a deployment whose secrets everyone knows: every
# secret a service checks (Shared/ServiceKit/SecretPolicy.swift) holds a placeholder there, as the
# services receive it, so they exit 2 naming the key until the operator generates real ones.
policy_path = os.path.join(root, "Shared", "ServiceKit", "SecretPolicy.swift")
marks = []
if os.path.isfile(policy_path):
    with open(policy_path) as f:
        m = re.search(r"placeholderMarks\s*=\s*\[([^\]]*)\]", f.read())
    marks = re.findall(r'"([^"]+)"', m.group(1)) if m else []
check(bool(marks), "the placeholder marks are read from SecretPolicy.swift", f"none found in {policy_path}")


def placeholder(value):
    return any(mark in value.lower() for mark in marks)


def database_password(url):
    m = re.fullmatch(r"postgres(?:ql)?://[^:@/]+:([^@/]*)@.*", url or "")
    return m.group(1) if m else ""


# key -> (services that check it, how the value they get is found)
CHECKED_SECRETS = {
    "CIRRUS_INTERNAL_SECRET": (INTERNAL, lambda env: env.get("CIRRUS_INTERNAL_SECRET", "")),
    "CIRRUS_AUTH_BOOTSTRAP_SECRET": ({"auth"}, lambda env: env.get("CIRRUS_AUTH_BOOTSTRAP_SECRET", "")),
    "CIRRUS_S3_SECRET_ACCESS_KEY": (STORE_SERVICES, lambda env: env.get("CIRRUS_S3_SECRET_ACCESS_KEY", "")),
    "CIRRUS_DATABASE_URL (password, from CIRRUS_DB_PASSWORD)": (DB_SERVICES, lambda env: database_password(env.get("CIRRUS_DATABASE_URL"))),
}
for key, (readers, value_of) in CHECKED_SECRETS.items():
    accepted = sorted(n for n in readers if not placeholder(value_of(environment(services[n]))))
    check(marks and not accepted, f"{key}: .env.example's value is a placeholder the services refuse "
          f"({', '.join(sorted(readers))})", f"not a placeholder for {accepted}")
for key in ("CIRRUS_INTERNAL_SECRET_PREVIOUS", "CIRRUS_METRICS_TOKEN"):
    check(documented.get(key) == "", f"{key}: optional secret, empty in .env.example", f"value {documented.get(key)!r}")
check("openssl rand" in example_text, ".env.example says how to generate the secrets (openssl rand)")

# --- secrets from files (docs/operations.md's override) ---------------------------------------
# Each <KEY>_FILE a service gets must name a documented key that service reads, point where
# a secret declared at the top level is mounted into that service (/run/secrets/<name>),
# and leave <KEY> itself empty (set both ways, the service refuses to start). The example
# must move at least the internal secret (gateway, metadata, blob, thumbnail), the bootstrap
# secret (auth) and the metrics token (all five) into files.
with open(files_config_path) as f:
    files_config = yaml.safe_load(f) or {}
if files_config:
    declared = set((files_config.get("secrets") or {}).keys())
    file_services = files_config.get("services") or {}
    expected_from_files = {name: {"CIRRUS_METRICS_TOKEN"} for name in APP}
    for name in INTERNAL:
        expected_from_files[name].add("CIRRUS_INTERNAL_SECRET")
    expected_from_files["auth"].add("CIRRUS_AUTH_BOOTSTRAP_SECRET")
    for name in APP:
        service = file_services.get(name) or {}
        env = environment(service)
        mounted = {(s if isinstance(s, str) else s.get("source")): (None if isinstance(s, str) else s.get("target"))
                   for s in service.get("secrets") or []}
        problems = []
        from_files = set()
        for var, path in sorted(env.items()):
            if not (var.startswith("CIRRUS_") and var.endswith("_FILE")):
                continue
            key = var[:-5]
            from_files.add(key)
            if name not in DOCUMENTED_KEYS.get(key, set()):
                problems.append(f"{var}: {key} is not a key {name} reads")
            if env.get(key, ""):
                problems.append(f"{key} is set too (both ways: the service refuses to start)")
            # Where compose mounts each secret: /run/secrets/<target or name>, or an absolute target.
            by_path = {(target if (target or "").startswith("/") else f"/run/secrets/{target or source}"): source
                       for source, target in mounted.items()}
            if path not in by_path:
                problems.append(f"{var}: no secret mounted at {path!r}")
            elif by_path[path] not in declared:
                problems.append(f"{var}: secret {by_path[path]!r} is not declared under the top-level secrets:")
        missing = sorted(expected_from_files[name] - from_files)
        if missing:
            problems.append(f"not from files: {missing}")
        check(not problems, f"secrets-from-files override: {name} reads {', '.join(sorted(from_files)) or 'nothing'} "
              f"from mounted secrets", "; ".join(problems))
else:
    check(False, "secrets-from-files override: rendered configuration to check", "see the failure above")

# --- the observability profile -----------------------------------------------------------
# `docker compose --profile observability up -d` adds Prometheus, Grafana and Jaeger
# (docs/operations.md, "Observability profile"). Interpolation covers every service, profile or
# not, so the profile's keys have defaults (empty for Grafana's password, which its container
# then refuses) and a plain `up` works without them.
OBSERVABILITY = {"prometheus": 9090, "grafana": 3000, "jaeger": 16686}
with open(observability_config_path) as f:
    observability = (yaml.safe_load(f) or {}).get("services") or {}


def port_bindings(service):
    """(host_ip, published, target) of each published port, short or long syntax."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((p.get("host_ip") or "", str(p.get("published") or ""), str(p.get("target"))))
        else:
            parts = str(p).split("/")[0].split(":")
            parts = [""] * (3 - len(parts)) + parts
            out.append(tuple(parts[-3:]))
    return out


def binds(service):
    """(source, target, read_only) of each bind mount, short or long syntax."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            if v.get("type") == "bind":
                out.append((v.get("source"), v.get("target"), bool(v.get("read_only"))))
        else:
            parts = str(v).split(":")
            if parts[0].startswith(("/", ".")):
                out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def script_of(service):
    command = service.get("command")
    return " ".join(command) if isinstance(command, list) else str(command or "")


if check(bool(observability), "observability profile: rendered configuration to check", "see the failure above"):
    obs_root = os.path.join(root, "infra", "observability")
    for name, ui_port in OBSERVABILITY.items():
        s = observability.get(name)
        if not check(s is not None, f"observability profile: service {name} exists"):
            continue
        check(s.get("profiles") == ["observability"], f"{name}: only in the observability profile", f"profiles {s.get('profiles')!r}")
        image = s.get("image") or ""
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        check(bool(tag) and tag != "latest", f"{name}: image pinned to a version ({image})", "no tag or latest")
        check(s.get("restart") == "unless-stopped", f"{name}: restart unless-stopped", f"restart {s.get('restart')!r}")
        hc = s.get("healthcheck") or {}
        check(bool(hc.get("test")) and not hc.get("disable"), f"{name}: has a healthcheck", f"healthcheck {hc!r}")
        ports = port_bindings(s)
        check(bool(ports) and all(h == "127.0.0.1" for h, _, _ in ports), f"{name}: publishes on 127.0.0.1 only", f"ports {ports}")
        check(any(t == str(ui_port) for _, _, t in ports), f"{name}: publishes its UI port {ui_port}", f"ports {ports}")
        mounts = binds(s)
        writable = [m for m in mounts if not m[2]]
        missing = [m[0] for m in mounts if not os.path.exists(m[0])]
        check(not writable and not missing, f"{name}: bind mounts (configuration) are read-only and exist",
              f"writable {writable}, missing {missing}")
    # A plain `up` starts none of them (docker-compose v1 renders them with their profile,
    # Compose v2 leaves them out), and no Cirrus service waits for one.
    unprofiled = sorted(n for n in OBSERVABILITY if n in services and not services[n].get("profiles"))
    check(not unprofiled, "a plain `up` starts no observability service", f"without a profile: {unprofiled}")
    waits = sorted(f"{n} -> {d}" for n in APP + INFRA for d in depends_on(services.get(n) or {}) if d in OBSERVABILITY)
    check(not waits, "no Cirrus or infrastructure service depends on the observability profile", "; ".join(waits))

    # Tracing: every service gets the keys, by default off and pointed at the profile's Jaeger.
    jaeger_env = environment(observability.get("jaeger") or {})
    check(jaeger_env.get("COLLECTOR_OTLP_ENABLED") == "true", "jaeger: OTLP receiver enabled (COLLECTOR_OTLP_ENABLED)",
          f"{jaeger_env.get('COLLECTOR_OTLP_ENABLED')!r}")
    for name in APP:
        env = environment(observability.get(name) or {})
        check(env.get("CIRRUS_TRACING") == "off" and env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://jaeger:4318",
              f"{name}: gets CIRRUS_TRACING=off and OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318 (the profile's Jaeger) from .env.example",
              f"CIRRUS_TRACING {env.get('CIRRUS_TRACING')!r}, OTEL_EXPORTER_OTLP_ENDPOINT {env.get('OTEL_EXPORTER_OTLP_ENDPOINT')!r}")

    # Prometheus: the metrics token written where prometheus.yml reads it; every service scraped
    # on its port under its own job name, with that token.
    prometheus = observability.get("prometheus") or {}
    script = script_of(prometheus)
    check("CIRRUS_METRICS_TOKEN" in environment(prometheus), "prometheus: gets CIRRUS_METRICS_TOKEN from the env file")
    check("exit 2" in script and "CIRRUS_METRICS_TOKEN" in script, "prometheus: refuses to start without the metrics token")
    prom_config = {}
    prom_config_path = os.path.join(obs_root, "prometheus.yml")
    if check(os.path.isfile(prom_config_path), "infra/observability/prometheus.yml exists"):
        with open(prom_config_path) as f:
            prom_config = yaml.safe_load(f) or {}
    check(any(m[0] == obs_root and m[1] == "/etc/prometheus" for m in binds(prometheus))
          and "--config.file=/etc/prometheus/prometheus.yml" in script,
          "prometheus: runs infra/observability/prometheus.yml (and the alerts.yml it loads), mounted at /etc/prometheus")
    jobs = {j.get("job_name"): j for j in prom_config.get("scrape_configs") or []}
    check(sorted(jobs) == sorted(APP), "prometheus.yml: one scrape job per service, named after it", f"jobs {sorted(jobs)}")
    tmpfs = [str(t).split(":")[0] for t in (prometheus.get("tmpfs") or [])]
    for name in APP:
        job = jobs.get(name) or {}
        targets = [t for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
        targets += [f"{n}:{sd.get('port')}" for sd in job.get("dns_sd_configs") or [] for n in sd.get("names") or []]
        credentials = (job.get("authorization") or {}).get("credentials_file") or ""
        problems = []
        if targets != [f"{name}:{PORTS[name]}"]:
            problems.append(f"targets {targets}, not ['{name}:{PORTS[name]}']")
        if job.get("metrics_path", "/metrics") != "/metrics":
            problems.append(f"metrics_path {job.get('metrics_path')!r}")
        if not credentials:
            problems.append("no authorization credentials_file")
        elif credentials not in script or not any(credentials.startswith(t + "/") for t in tmpfs):
            problems.append(f"{credentials} is not what the prometheus command writes on its tmpfs {tmpfs}")
        check(not problems, f"prometheus.yml: scrapes {name}:{PORTS[name]}/metrics with the metrics token", "; ".join(problems))

    # Grafana: the admin password from the env file with no default, refused when short; no
    # anonymous access; provisioning and dashboards where the provider looks.
    grafana = observability.get("grafana") or {}
    g_env = environment(grafana)
    forms = set(re.findall(r"\$\{GF_SECURITY_ADMIN_PASSWORD(?:(:?[-?])([^}]*))?\}", compose_raw))
    check(forms == {(":-", "")} and documented.get("GF_SECURITY_ADMIN_PASSWORD") == "",
          "grafana: GF_SECURITY_ADMIN_PASSWORD from the env file, with no default (empty in .env.example)", f"forms {sorted(forms)}")
    g_script = script_of(grafana)
    check("GF_SECURITY_ADMIN_PASSWORD" in g_script and "exit 2" in g_script and "exec /run.sh" in g_script,
          "grafana: refuses to start without a password of its own, then runs Grafana")
    check(g_env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false" and g_env.get("GF_USERS_ALLOW_SIGN_UP") == "false",
          "grafana: no anonymous access, no sign-up")
    g_binds = {m[1]: m[0] for m in binds(grafana)}
    provider_dir = os.path.join(obs_root, "grafana", "provisioning", "dashboards")
    provider_paths = []
    if os.path.isdir(provider_dir):
        for fname in sorted(os.listdir(provider_dir)):
            with open(os.path.join(provider_dir, fname)) as f:
                provider_paths += [(p.get("options") or {}).get("path") for p in (yaml.safe_load(f) or {}).get("providers") or []]
    check(g_binds.get("/etc/grafana/provisioning") == os.path.join(obs_root, "grafana", "provisioning")
          and bool(provider_paths)
          and all(g_binds.get(path) == os.path.join(obs_root, "grafana", "dashboards") for path in provider_paths),
          "grafana: provisioning mounted, and the dashboard provider reads infra/observability/grafana/dashboards",
          f"binds {g_binds}, provider paths {provider_paths}")
    check(depends_on(grafana).get("prometheus") == "service_healthy", "grafana: waits for a healthy prometheus")

print(f"compose: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
