#!/usr/bin/env python3
"""Operations checks on a running local stack (Tests/api/run-on-stack.sh runs it; it stops and
starts services, so it runs after the checks that need every service up the whole time).

  dead letters  thumbnail is stopped, three images are uploaded (their thumbnail requests wait in
                the broker), blob is stopped, thumbnail comes back: its handler cannot fetch the
                originals, retries, and dead-letters the three requests. Then the admin API and
                `cirrus admin dlq`: list (topic, key, error, attempts, first and last failure), show,
                403 for a user, 401 anonymous, 404 for an unknown id, `cirrus_dead_letters` on
                thumbnail's /metrics; blob comes back; discard one, replay one with the CLI, replay
                the rest of the topic; replayed images get their thumbnails, the discarded one does
                not; each action is in thumbnail's log with the admin's id.
  retry         a broken image's thumbnails fail with a reason the owner sees; POST
                /v1/files/{id}/thumbnails/retry asks again (202, pending, then failed again with
                the reason); 409 for a non-image and for ready thumbnails, 404 for another user's
                file, 401 anonymous.
  audit         a content metadata has but blob lacks (blob's reference row deleted behind its back)
                is logged as an error and counted in cirrus_reconcile_missing, never dropped.
  metrics       every internal service's /metrics: a # HELP for every family, counters named
                *_total, the families the alerts and dashboard use, `promtool check metrics` clean.

Usage: operations.py API --admin NAME:PASSWORD --user NAME:PASSWORD --infra-run PATH --cli PATH
       --service thumbnail=URL --service metadata=URL --logs DIR --blob-db URL
The environment must point infra/run at the stack (CIRRUS_LOCAL and the ports), as
run-on-stack.sh sets it. Python 3 standard library only.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from apicheck import check, expect_problem, expect_status, finish, note, run_group, Answer
from apicheck import png as apicheck_png


def call(base, method, path, body=None, token=None, content_type=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        content_type = "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read(), seconds=time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read(), seconds=time.monotonic() - started)
    except OSError as error:
        return Answer(error=str(error), seconds=time.monotonic() - started)


def png(width, height, seed):
    noise = random.Random(seed)
    return apicheck_png(width, height, lambda y: bytes(noise.randrange(256) for _ in range(width * 3)))


class Operations:
    def __init__(self, args):
        self.args = args
        self.api = args.api.rstrip("/")
        self.services = dict(s.split("=", 1) for s in args.service)
        self.run_id = uuid.uuid4().hex[:8]
        self.config_dir = tempfile.mkdtemp(prefix="cirrus-ops-")

    def login(self, pair):
        name, _, password = pair.partition(":")
        answer = call(self.api, "POST", "/v1/auth/login", {"login": name, "password": password})
        if answer.status != 200:
            raise SystemExit(f"cannot log in as {name}: {answer}")
        return answer.json["access_token"]

    def infra(self, *words):
        result = subprocess.run([self.args.infra_run, *words], capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"infra/run {' '.join(words)} failed: {result.stderr[-600:]}")

    def cli(self, *words, stdin=None):
        env = dict(os.environ, CIRRUS_CONFIG=os.path.join(self.config_dir, "admin.json"))
        return subprocess.run([self.args.cli, *words], capture_output=True, text=True, input=stdin, env=env, timeout=120)

    def upload(self, name, content, headers=None):
        return call(self.api, "POST", f"/v1/files?folder_id={self.folder}&name={name}", content, token=self.user,
                    content_type="application/octet-stream", headers=headers)

    def file(self, file_id, token=None):
        return call(self.api, "GET", f"/v1/files/{file_id}", token=token or self.user)

    def wait_thumbnails(self, file_id, statuses, seconds):
        deadline = time.monotonic() + seconds
        item = None
        while time.monotonic() < deadline:
            item = self.file(file_id).json or {}
            if (item.get("thumbnails") or {}).get("status") in statuses:
                return item
            time.sleep(0.5)
        return item

    def dead_letters(self, topic=None):
        path = "/v1/admin/dead-letters?limit=1000" + (f"&topic={topic}" if topic else "")
        answer = call(self.api, "GET", path, token=self.admin)
        return (answer.json or {}).get("items") or [] if answer.status == 200 else []

    def log_text(self, service):
        try:
            with open(os.path.join(self.args.logs, f"{service}.log"), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def setup(self):
        self.admin = self.login(self.args.admin)
        self.user = self.login(self.args.user)
        root = call(self.api, "GET", "/v1/folders/root", token=self.user).json["id"]
        answer = call(self.api, "POST", "/v1/folders", {"name": f"operations-{self.run_id}", "parent_id": root}, token=self.user)
        if answer.status != 201:
            raise SystemExit(f"cannot create the work folder: {answer}")
        self.folder = answer.json["id"]
        name = self.args.admin.partition(":")[0]
        login = self.cli("login", "--server", self.api, "--user", name, "--password-stdin", stdin=self.args.admin.partition(":")[2])
        if login.returncode != 0:
            raise SystemExit(f"cirrus login failed: {login.stderr}")
        print(f"operations against {self.api}: run {self.run_id}", flush=True)

    # -- dead letters ----------------------------------------------------------------------------

    def dead_letter_group(self):
        expect_problem("dead letters: a user's token → 403", call(self.api, "GET", "/v1/admin/dead-letters", token=self.user), 403)
        expect_problem("dead letters: no token → 401", call(self.api, "GET", "/v1/admin/dead-letters"), 401)
        expect_problem("dead letters: limit=0 → 422 naming limit", call(self.api, "GET", "/v1/admin/dead-letters?limit=0", token=self.admin),
                       422, field="limit")
        expect_problem("dead letters: show an unknown id → 404", call(self.api, "GET", f"/v1/admin/dead-letters/{uuid.uuid4()}", token=self.admin), 404)
        expect_problem("dead letters: replay an unknown id → 404",
                       call(self.api, "POST", f"/v1/admin/dead-letters/{uuid.uuid4()}/replay", token=self.admin), 404)
        before = {d["id"] for d in self.dead_letters()}

        self.infra("stop", "thumbnail")
        files = []
        for n in range(3):
            answer = self.upload(f"dlq-{n}.png", png(64 + n, 48, seed=n))
            expect_status(f"dead letters: image {n} uploaded while thumbnail is down → 201", answer, 201)
            files.append(answer.json["id"].lower())
        self.infra("stop", "blob")
        try:
            self.infra("restart", "thumbnail")
            # thumbnail cannot fetch the originals: 5 attempts with backoff, then the dead letter.
            deadline = time.monotonic() + 120
            letters = []
            while time.monotonic() < deadline:
                letters = [d for d in self.dead_letters("thumbnail.requested") if d["id"] not in before and (d.get("key") or "").lower() in files]
                if len(letters) >= 3:
                    break
                time.sleep(1)
        finally:
            self.infra("restart", "blob")
        check("dead letters: the three thumbnail requests that failed are listed", len(letters) == 3,
              f"{len(letters)} listed: {[d.get('key') for d in letters]}")
        if len(letters) < 3:
            return
        by_file = {d["key"].lower(): d for d in letters}
        first = by_file[files[0]]
        issues = []
        for field in ("topic", "key", "error", "attempts", "first_failed_at", "last_failed_at", "service", "consumer"):
            if first.get(field) in (None, ""):
                issues.append(f"no {field}")
        if first.get("service") != "thumbnail":
            issues.append(f"service {first.get('service')!r}")
        if not isinstance(first.get("attempts"), int) or first["attempts"] < 2:
            issues.append(f"attempts {first.get('attempts')!r}")
        check("dead letters: an entry names topic, key, error, attempts, first and last failure", not issues, "; ".join(issues))

        shown = call(self.api, "GET", f"/v1/admin/dead-letters/{first['id']}", token=self.admin)
        expect_status("dead letters: show one → 200 with the message", shown, 200,
                      [] if files[0] in (shown.json or {}).get("payload", "").lower() else ["the payload does not name the file"])
        expect_problem("dead letters: a user cannot replay → 403",
                       call(self.api, "POST", f"/v1/admin/dead-letters/{first['id']}/replay", token=self.user), 403)
        if "thumbnail" in self.services:
            metrics = call(self.services["thumbnail"], "GET", "/metrics")
            line = next((l for l in metrics.body.decode("utf-8", "replace").splitlines()
                         if l.startswith("cirrus_dead_letters") and 'topic="thumbnail.requested"' in l), "")
            count = float(line.rsplit(" ", 1)[-1]) if line else -1
            check("dead letters: thumbnail's /metrics counts them (cirrus_dead_letters)", count >= 3, line or "no cirrus_dead_letters line")

        listed = self.cli("admin", "dlq", "list", "--topic", "thumbnail.requested")
        check("dead letters: `cirrus admin dlq list` shows them", listed.returncode == 0 and all(d["id"].lower() in listed.stdout.lower() for d in letters),
              f"exit {listed.returncode}: {listed.stdout[-300:]} {listed.stderr[-300:]}")

        # Discard the third, replay the first with the CLI, the rest of the topic with the API.
        third = by_file[files[2]]
        expect_status("dead letters: discard → 204", call(self.api, "DELETE", f"/v1/admin/dead-letters/{third['id']}", token=self.admin), 204)
        expect_problem("dead letters: a discarded one is gone → 404",
                       call(self.api, "GET", f"/v1/admin/dead-letters/{third['id']}", token=self.admin), 404)
        replay = self.cli("admin", "dlq", "replay", first["id"])
        check("dead letters: `cirrus admin dlq replay ID` replays it", replay.returncode == 0 and "replayed" in replay.stdout,
              f"exit {replay.returncode}: {replay.stdout} {replay.stderr}")
        topic = call(self.api, "POST", "/v1/admin/dead-letters/replay", {"topic": "thumbnail.requested"}, token=self.admin)
        summary = topic.json or {}
        expect_status("dead letters: replay of the topic → 200, the second replayed, none failed", topic, 200,
                      [] if summary.get("replayed", 0) >= 1 and summary.get("failed") == 0 else [f"summary {summary}"])
        expect_problem("dead letters: replay of a topic without a topic → 422 naming topic",
                       call(self.api, "POST", "/v1/admin/dead-letters/replay", {"topic": ""}, token=self.admin), 422, field="topic")
        left = {d["id"] for d in self.dead_letters("thumbnail.requested")}
        check("dead letters: none of the three is left", not left & {d["id"] for d in letters}, f"left: {left & {d['id'] for d in letters}}")
        for n in (0, 1):
            item = self.wait_thumbnails(files[n], ("ready",), 60)
            check(f"dead letters: replayed image {n} has its thumbnails", (item.get("thumbnails") or {}).get("status") == "ready",
                  f"thumbnails {item.get('thumbnails')}")
        item = self.file(files[2]).json or {}
        check("dead letters: the discarded one's image still waits (pending)", (item.get("thumbnails") or {}).get("status") == "pending",
              f"thumbnails {item.get('thumbnails')}")
        admin_id = json.loads(__import__("base64").urlsafe_b64decode(self.admin.split(".")[1] + "==")).get("sub", "")
        log = self.log_text("thumbnail")
        logged = [kind for kind in ("replayed", "discarded") if any(f"dead letter {kind} by an admin" in l and admin_id in l.lower()
                                                                      for l in log.splitlines())]
        check("dead letters: replay and discard are logged with the admin's id", logged == ["replayed", "discarded"], f"found {logged}")

    # -- content audit ---------------------------------------------------------------------------

    def audit_group(self):
        """A content metadata has but blob lacks is reported loudly, never dropped: blob's
        reference row for an uploaded file is deleted behind its back (as a blob database restored
        from an older backup would be), then metadata's audit logs it and counts it in
        cirrus_reconcile_missing; the file stays listed; once the file is purged, the next pass
        finds nothing missing."""
        if not self.args.blob_db or "metadata" not in self.services:
            note("no --blob-db or metadata URL: the content audit is not checked")
            return
        answer = self.upload(f"audited-{self.run_id}.txt", b"content the audit must find\n")
        expect_status("audit: a file is uploaded → 201", answer, 201)
        file_id = answer.json["id"].lower()
        gone = subprocess.run(["psql", self.args.blob_db, "-qAt", "-c", f"DELETE FROM blob_refs WHERE file_id = '{file_id}' RETURNING ref_id"],
                              capture_output=True, text=True, timeout=60)
        check("audit: blob's reference row is deleted behind its back", gone.returncode == 0 and gone.stdout.strip(), gone.stderr[-300:])

        def missing_gauge():
            text = call(self.services["metadata"], "GET", "/metrics").body.decode("utf-8", "replace")
            line = next((l for l in text.splitlines() if l.startswith("cirrus_reconcile_missing{") and "metadata-contents" in l), "")
            return float(line.rsplit(" ", 1)[-1]) if line else None

        deadline = time.monotonic() + 60
        logged = False
        while time.monotonic() < deadline and not logged:
            logged = any("content metadata has but blob lacks" in l and file_id in l.lower() for l in self.log_text("metadata").splitlines())
            if not logged:
                time.sleep(1)
        check("audit: metadata logs the content blob lacks, naming the file (error level)", logged)
        gauge = missing_gauge()
        check("audit: cirrus_reconcile_missing{worker=\"metadata-contents\"} counts it", gauge is not None and gauge >= 1, f"gauge {gauge}")
        item = self.file(file_id)
        expect_status("audit: the file is still there (reported, not dropped)", item, 200)
        call(self.api, "DELETE", f"/v1/files/{file_id}", token=self.user)
        expect_status("audit: the owner purges the file → 204", call(self.api, "DELETE", f"/v1/trash/{file_id}", token=self.user), 204)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (missing_gauge() or 0) > 0:
            time.sleep(1)
        gauge = missing_gauge()
        check("audit: after the purge the next pass finds nothing missing", gauge == 0, f"gauge {gauge}")

    # -- request id in events ---------------------------------------------------------------------

    def request_id_group(self):
        """The request id travels in events: an image uploaded with X-Request-Id yields
        file.uploaded (blob), thumbnail.requested (metadata) and thumbnail.generated (thumbnail)
        whose envelopes carry it as trace.request_id, read from each service's outbox."""
        if not self.args.blob_db:
            note("no --blob-db: the request id in events is not checked")
            return
        request_id = f"ops-trace-{self.run_id}"
        answer = self.upload(f"traced-{self.run_id}.png", png(48, 32, 7), headers={"X-Request-Id": request_id})
        expect_status("request id: an image uploaded with X-Request-Id → 201", answer, 201)
        check("request id: the answer carries the caller's X-Request-Id", answer.headers.get("x-request-id") == request_id,
              f"got {answer.headers.get('x-request-id')!r}")
        if answer.status != 201:
            return
        item = self.wait_thumbnails(answer.json["id"], {"ready", "failed"}, 60)
        check("request id: its thumbnails are made", (item.get("thumbnails") or {}).get("status") == "ready", f"{item.get('thumbnails')}")
        base = self.args.blob_db.rsplit("/", 1)[0]
        for database, event in (("blob", "file.uploaded"), ("metadata", "thumbnail.requested"), ("thumbnail", "thumbnail.generated")):
            query = ("SELECT convert_from(payload, 'UTF8') FROM cirrus_outbox WHERE event_type = '" + event + "' "
                     "AND convert_from(payload, 'UTF8') LIKE '%" + request_id + "%'")
            found = subprocess.run(["psql", f"{base}/{database}", "-qAt", "-c", query], capture_output=True, text=True, timeout=60)
            envelopes = [json.loads(line) for line in found.stdout.splitlines() if line.strip()]
            carried = [e for e in envelopes if (e.get("trace") or {}).get("request_id") == request_id]
            check(f"request id: {database}'s {event} carries trace.request_id", found.returncode == 0 and len(carried) >= 1,
                  found.stderr[-300:] or f"{len(envelopes)} envelopes mention it, {len(carried)} in trace.request_id")

    # -- tracing -------------------------------------------------------------------------------

    def spans(self):
        with open(self.args.spans) as lines:
            return [json.loads(line) for line in lines if line.strip()]

    def trace_group(self):
        """One upload of an image, sent with no traceparent, yields one trace (exported by the
        five services to the test's OTLP receiver, Tests/api/otlp-receiver.py) whose root is the
        gateway's server span and whose spans reach, parent by parent, gateway → metadata →
        outbox → Kafka → thumbnail (→ blob) → Kafka → metadata."""
        if not self.args.spans:
            note("no --spans: tracing is not checked (the stack runs without CIRRUS_TRACING=otlp)")
            return
        request_id = f"ops-span-{self.run_id}"
        answer = self.upload(f"spans-{self.run_id}.png", png(40, 30, 11), headers={"X-Request-Id": request_id})
        expect_status("trace: an image uploaded without traceparent → 201", answer, 201)
        if answer.status != 201:
            return
        item = self.wait_thumbnails(answer.json["id"], {"ready", "failed"}, 60)
        check("trace: its thumbnails are made", (item.get("thumbnails") or {}).get("status") == "ready", f"{item.get('thumbnails')}")

        def final(spans):
            return [s for s in spans if s["service"] == "cirrus-metadata" and s["kind"] == "CONSUMER"
                    and s["name"] == "thumbnail.generated process" and s["attributes"].get("cirrus.request_id") == request_id]
        deadline = time.monotonic() + 30
        spans = self.spans()
        while not final(spans) and time.monotonic() < deadline:
            time.sleep(0.5)
            spans = self.spans()
        time.sleep(1.5)  # the last exports of the other services (a batch every 500 ms here)
        spans = self.spans()
        roots = [s for s in spans if s["service"] == "cirrus-gateway" and s["kind"] == "SERVER"
                 and s["attributes"].get("cirrus.request_id") == request_id]
        check("trace: the gateway made one server span for the upload", len(roots) == 1, f"{len(roots)} found")
        if len(roots) != 1:
            return
        root = roots[0]
        check("trace: the gateway started the trace (its span has no parent)", root["parent_id"] == "", f"parent {root['parent_id']!r}")
        trace = [s for s in spans if s["trace_id"] == root["trace_id"]]
        tagged = {s["trace_id"] for s in spans if s["attributes"].get("cirrus.request_id") == request_id}
        check("trace: every span naming the request is in that one trace", tagged == {root["trace_id"]}, f"trace ids {sorted(tagged)}")
        ids = {s["span_id"]: s for s in trace}
        orphans = [f"{s['service']} {s['name']}" for s in trace if s is not root and s["parent_id"] not in ids]
        check("trace: every other span's parent is in the trace (one connected tree)", not orphans and len(trace) > 1,
              f"{len(trace)} spans, without their parent: {orphans[:6]}")
        services = {s["service"] for s in trace}
        check("trace: spans from gateway, metadata, blob and thumbnail",
              {"cirrus-gateway", "cirrus-metadata", "cirrus-blob", "cirrus-thumbnail"} <= services, f"{sorted(services)}")
        check("trace: SQL transactions are spans", any(s["attributes"].get("db.system") == "postgresql" for s in trace),
              f"{sorted({s['name'] for s in trace})}")

        def parent(span):
            return ids.get(span["parent_id"])

        # The event path, read upward from metadata's handling of thumbnail.generated to the root.
        expected = [("cirrus-metadata", "CONSUMER", "thumbnail.generated process"), ("cirrus-thumbnail", "PRODUCER", "thumbnail.generated publish"),
                    ("cirrus-thumbnail", "CONSUMER", "thumbnail.requested process"), ("cirrus-metadata", "PRODUCER", "thumbnail.requested publish"),
                    ("cirrus-metadata", "SERVER", None), ("cirrus-gateway", "CLIENT", None), ("cirrus-gateway", "SERVER", None)]
        ends = final(trace)
        chain = []
        span = ends[0] if ends else None
        while span is not None and len(chain) < 50:
            chain.append(span)
            span = parent(span)
        position = 0
        for service, kind, name in expected:
            while position < len(chain) and not (chain[position]["service"] == service and chain[position]["kind"] == kind
                                                 and (name is None or chain[position]["name"] == name)):
                position += 1
            position += 1
        readable = " ← ".join(f"{s['service'].removeprefix('cirrus-')}:{s['kind'].lower()}:{s['name']}" for s in chain)
        check("trace: metadata's thumbnail.generated handling descends from the upload through both events, with correct parents",
              bool(chain) and position <= len(chain) and chain[-1] is root, readable or "metadata's consumer span is missing")
        upload_puts = [s for s in trace if s["service"] == "cirrus-blob" and s["kind"] == "SERVER"
                       and (parent(s) or {}).get("service") == "cirrus-gateway" and (parent(s) or {}).get("kind") == "CLIENT"]
        check("trace: blob's upload span is a child of the gateway's call", len(upload_puts) >= 1,
              f"{[(s['service'], s['name']) for s in trace]}")
        fetches = [s for s in trace if s["service"] == "cirrus-blob" and s["kind"] == "SERVER"
                   and (parent(s) or {}).get("service") == "cirrus-thumbnail" and (parent(s) or {}).get("kind") == "CLIENT"]
        check("trace: blob's read of the original is a child of thumbnail's call", len(fetches) >= 1,
              f"{[(s['service'], s['name']) for s in trace]}")
        published = [s for s in trace if s["service"] == "cirrus-blob" and s["kind"] == "PRODUCER" and s["name"] == "file.uploaded publish"]
        check("trace: blob's file.uploaded publish is in the trace", len(published) == 1, f"{len(published)} found")

    # -- metrics -------------------------------------------------------------------------------

    def metrics_group(self):
        """Every service's /metrics: a # HELP for each family (none left undescribed), Prometheus
        names (counters end in _total, no Hummingbird hb_ families), the families the runbooks
        use, and `promtool check metrics` finds nothing to say (when promtool is installed)."""
        promtool = shutil.which("promtool")
        expected = {"metadata": ["cirrus_kafka_consumer_lag", "cirrus_dead_letters", "cirrus_outbox_backlog", "cirrus_db_pool_wait_seconds"],
                    "blob": ["cirrus_blob_stored_bytes", "cirrus_kafka_consumer_lag", "cirrus_http_requests_total"],
                    "thumbnail": ["cirrus_thumbnail_renders_total", "cirrus_worker_last_beat_timestamp_seconds", "cirrus_db_pool_in_use"],
                    "auth": ["cirrus_http_request_duration_seconds", "cirrus_outbox_oldest_unpublished_age_seconds"]}
        for name, url in sorted(self.services.items()):
            answer = call(url, "GET", "/metrics")
            if not expect_status(f"metrics: {name} serves /metrics", answer, 200):
                continue
            text = answer.body.decode("utf-8", "replace")
            families = {}
            helps = {}
            for line in text.splitlines():
                if line.startswith("# TYPE "):
                    parts = line.split()
                    families[parts[2]] = parts[3]
                elif line.startswith("# HELP "):
                    parts = line.split(" ", 3)
                    helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            undescribed = sorted(f for f in families if not helps.get(f) or "no description" in helps[f])
            check(f"metrics: {name}: every family has a # HELP ({len(families)} families)", not undescribed, f"undescribed: {undescribed}")
            misnamed = sorted(f for f, kind in families.items() if (kind == "counter" and not f.endswith("_total")) or f.startswith("hb_"))
            check(f"metrics: {name}: counters end in _total, no hb_ families", not misnamed, f"misnamed: {misnamed}")
            missing = [f for f in expected.get(name, []) if f not in families]
            check(f"metrics: {name}: has {', '.join(expected.get(name, []))}", not missing, f"missing: {missing}")
            if promtool:
                lint = subprocess.run([promtool, "check", "metrics"], input=answer.body, capture_output=True, timeout=60)
                said = (lint.stdout + lint.stderr).decode("utf-8", "replace").strip()
                check(f"metrics: {name}: promtool check metrics finds nothing", lint.returncode == 0 and not said, said[:400])
            else:
                note("promtool not installed: the lint of /metrics is skipped (apt-get install prometheus)")

    # -- thumbnail retry ---------------------------------------------------------------------------

    def retry_group(self):
        broken = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8  # a JPEG's magic, then noise
        answer = self.upload("broken.jpg", broken)
        expect_status("retry: a broken JPEG is stored → 201", answer, 201)
        file_id = answer.json["id"]
        item = self.wait_thumbnails(file_id, ("failed",), 60)
        thumbs = item.get("thumbnails") or {}
        check("retry: its thumbnails fail with a reason the owner sees", thumbs.get("status") == "failed" and (thumbs.get("failure") or {}).get("reason"),
              f"thumbnails {thumbs}")
        expect_problem("retry: no token → 401", call(self.api, "POST", f"/v1/files/{file_id}/thumbnails/retry"), 401)
        expect_problem("retry: another user's file → 404", call(self.api, "POST", f"/v1/files/{file_id}/thumbnails/retry", token=self.admin), 404)
        answer = call(self.api, "POST", f"/v1/files/{file_id}/thumbnails/retry", token=self.user)
        thumbs = (answer.json or {}).get("thumbnails") or {}
        expect_status("retry: POST /v1/files/{id}/thumbnails/retry → 202, pending, the failure forgotten", answer, 202,
                      [] if thumbs.get("status") == "pending" and not thumbs.get("failure") else [f"thumbnails {thumbs}"])
        item = self.wait_thumbnails(file_id, ("failed",), 60)
        thumbs = item.get("thumbnails") or {}
        check("retry: the retried rendering fails again with its reason", thumbs.get("status") == "failed" and (thumbs.get("failure") or {}).get("reason") == "undecodable",
              f"thumbnails {thumbs}")
        text = self.upload("notes.txt", b"plain text\n")
        if text.status == 201:
            expect_problem("retry: a text file → 409", call(self.api, "POST", f"/v1/files/{text.json['id']}/thumbnails/retry", token=self.user), 409)
        image = self.upload("fine.png", png(40, 30, seed=99))
        if image.status == 201:
            self.wait_thumbnails(image.json["id"], ("ready",), 60)
            expect_problem("retry: an image whose thumbnails are ready → 409",
                           call(self.api, "POST", f"/v1/files/{image.json['id']}/thumbnails/retry", token=self.user), 409)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api")
    parser.add_argument("--admin", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--infra-run", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--service", action="append", default=[])
    parser.add_argument("--logs", default="")
    parser.add_argument("--blob-db", default="", help="blob's database URL (the content audit check)")
    parser.add_argument("--spans", default="", help="the JSON lines Tests/api/otlp-receiver.py writes (the tracing check)")
    args = parser.parse_args()
    started = time.monotonic()
    ops = Operations(args)
    ops.setup()
    run_group("request id in events", ops.request_id_group)
    run_group("one trace across services", ops.trace_group)
    run_group("dead letters", ops.dead_letter_group)
    run_group("thumbnail retry", ops.retry_group)
    run_group("content audit", ops.audit_group)
    run_group("metrics", ops.metrics_group)
    note("")
    finish(started, "operations: {passed}/{total} checks passed, {failed} failed ({seconds:.0f}s)")


if __name__ == "__main__":
    main()
