#!/usr/bin/env python3
"""Cirrus load generator (issue 9, item 2): a sustained mixed workload through the public API.

Several users, each with a few threads, for a bounded time on loopback: uploads of small and large
files and of small images (PNG made in-process, JPEG from the `vips` CLI when it is installed),
folder listings, searches, the image listing, downloads (checked bit for bit), thumbnail reads,
expiring-link creation and use, moves to the trash and purges. Python 3 standard library only.

Every request is classified:
  ok      the expected answer (and, for bytes, the expected SHA-256)
  client  a 4xx the client caused (a name taken, a race with its own delete, a rate limit, ...)
  server  everything else: 5xx, a refused/reset/timed-out connection, a wrong body or checksum,
          a 404 for a file this run uploaded and has not deleted
The goal without faults is zero `server` results.

Outputs
  --ledger FILE   JSON lines, one per fact the invariant checker needs:
                  {"op":"user", "user", "owner", "folder_id"}                 (once per user)
                  {"op":"upload", "owner", "user", "file_id", "sha256", "size", "image", "content_type", "name", "t"}
                                  (every upload answered 201, after the answer's sha256/size were checked)
                  {"op":"upload_uncertain", "owner", "user", "name", "sha256", "size", "image", "status", "t"}
                                  (an upload whose outcome is unknown: 5xx, connection lost; the bytes may or
                                   may not have become a file — invariant (b) covers them)
                  {"op":"trash"|"purge", "owner", "file_id", "status", "t"}   (written BEFORE the answer is
                                  known with "status": null, then again with the status; a file with any
                                  trash record is no longer expected to be listed)
  --errors FILE   JSON lines, one per `server` result: t, op, status, detail
  --report FILE   the summary as JSON (per operation: count, ok, client, server, ok/s, latency percentiles)
  stdout          the same summary as a table

Stops after --duration seconds, on SIGTERM/SIGINT, or when --stop-file exists; in-flight requests
finish (bounded by --timeout).

Usage: load.py --api http://127.0.0.1:PORT --users users.json [--duration 60] [--threads-per-user 2]
               [--ledger ledger.jsonl] [--errors errors.jsonl] [--report report.json]
users.json: [{"username": "...", "password": "..."}, ...]
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def png_bytes(width, height, rng):
    """A valid 8-bit RGB PNG: rows of random tiles with a gradient (cheap in pure Python)."""
    tile = bytes(rng.getrandbits(8) for _ in range(16 * 3))
    raw = bytearray()
    reps = width // 16 + 1
    for y in range(height):
        shade = (y * 255) // max(1, height - 1)
        row = bytearray((tile * reps)[: width * 3])
        row[0:3] = bytes((shade, 255 - shade, (shade * 7) & 255))
        raw.append(0)  # filter: none
        raw += row
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b"")


class ImageFactory:
    """Unique small images: PNGs made here; JPEGs from a few `vips`-made bases, each made unique by
    a COM segment of random bytes right after SOI (valid JPEG, new content every time)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.jpegs = []
        vips = shutil.which("vips")
        if vips:
            with tempfile.TemporaryDirectory() as tmp:
                for i in range(6):
                    w, h = self.rng.randint(120, 800), self.rng.randint(90, 600)
                    src = os.path.join(tmp, f"b{i}.png")
                    dst = os.path.join(tmp, f"b{i}.jpg")
                    with open(src, "wb") as f:
                        f.write(png_bytes(w, h, self.rng))
                    try:
                        subprocess.run([vips, "copy", src, dst + "[Q=85]"], check=True, capture_output=True, timeout=30)
                        with open(dst, "rb") as f:
                            data = f.read()
                        if data[:2] == b"\xff\xd8":
                            self.jpegs.append(data)
                    except (subprocess.SubprocessError, OSError):
                        pass

    def make(self):
        with self.lock:
            rng = random.Random(self.rng.getrandbits(64))
        if self.jpegs and rng.random() < 0.5:
            base = rng.choice(self.jpegs)
            comment = os.urandom(16).hex().encode()
            segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
            return base[:2] + segment + base[2:], "image/jpeg", "jpg"
        w, h = rng.randint(64, 640), rng.randint(48, 480)
        return png_bytes(w, h, rng), "image/png", "png"


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


class Stats:
    def __init__(self, started):
        self.lock = threading.Lock()
        self.started = started
        self.ops = {}          # op -> {"ok": [latencies], "client": n, "server": n, "statuses": {}}
        self.bytes_up = 0
        self.bytes_down = 0
        self.server_by_second = {}

    def record(self, op, outcome, latency, status):
        with self.lock:
            entry = self.ops.setdefault(op, {"ok": [], "all": [], "client": 0, "server": 0, "statuses": {}})
            entry["all"].append(latency)
            key = str(status)
            entry["statuses"][key] = entry["statuses"].get(key, 0) + 1
            if outcome == "ok":
                entry["ok"].append(latency)
            else:
                entry[outcome] += 1
                if outcome == "server":
                    second = int(time.time() - self.started)
                    self.server_by_second[second] = self.server_by_second.get(second, 0) + 1

    def add_bytes(self, up=0, down=0):
        with self.lock:
            self.bytes_up += up
            self.bytes_down += down


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class Answer:
    def __init__(self, status, headers, body, error=None):
        self.status = status      # int, or None when there was no HTTP answer
        self.headers = headers
        self.body = body
        self.error = error

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            return None

    def detail(self):
        if self.error:
            return self.error
        text = (self.body or b"")[:300].decode("utf-8", "replace")
        return text.replace("\n", " ")


class Client:
    """One keep-alive connection per thread; reconnects after any transport error."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return answer
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                # A keep-alive connection the server closed while idle: retry once on a fresh one,
                # but only when nothing can have been applied (GET/HEAD) or the connection was reused.
                if attempt == 0 and method in ("GET", "HEAD"):
                    continue
                return Answer(None, {}, b"", f"{type(e).__name__}: {e}")
            except (OSError, http.client.HTTPException) as e:
                self.close()
                return Answer(None, {}, b"", f"{type(e).__name__}: {e}")
        return Answer(None, {}, b"", "unreachable")

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


# ---------------------------------------------------------------------------------------------
# Users and the workload
# ---------------------------------------------------------------------------------------------


class User:
    def __init__(self, username, password):
        self.username, self.password = username, password
        self.token = None
        self.token_lock = threading.Lock()
        self.owner = None
        self.folder_id = None
        self.root_id = None
        self.lock = threading.RLock()
        self.live = {}        # file_id -> {"sha256", "size", "image", "name"}
        self.trashed = {}     # file_id -> info (trashed with 204, not purged)
        self.gone = set()     # ids with a delete in flight or done (404 on them is a race, not a loss)


class Load:
    def __init__(self, args):
        self.args = args
        parsed = urllib.parse.urlparse(args.api)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.stop = threading.Event()
        self.started = time.time()
        self.stats = Stats(self.started)
        self.ledger_lock = threading.Lock()
        self.ledger = open(args.ledger, "a", buffering=1) if args.ledger else None
        self.errors = open(args.errors, "a", buffering=1) if args.errors else None
        self.images = ImageFactory(args.seed)
        self.mix = self.parse_mix(args.mix)
        self.counter = 0
        self.counter_lock = threading.Lock()
        self.run_id = os.urandom(3).hex()
        self.backoff = {}

    @staticmethod
    def parse_mix(text):
        mix = {}
        for part in text.split(","):
            name, _, weight = part.partition("=")
            mix[name.strip()] = float(weight)
        known = {"upload_small", "upload_large", "upload_image", "list", "search", "images", "download",
                 "thumbnail", "link", "trash", "purge"}
        unknown = set(mix) - known
        if unknown:
            sys.exit(f"unknown operations in --mix: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        return mix

    # -- bookkeeping ---------------------------------------------------------------------------

    def write_ledger(self, record):
        if self.ledger:
            record.setdefault("t", round(time.time(), 3))
            with self.ledger_lock:
                self.ledger.write(json.dumps(record, sort_keys=True) + "\n")

    def note(self, op, outcome, latency, answer, detail=None):
        if answer.status is None or answer.status >= 500:
            self.backoff[threading.get_ident()] = True
        self.stats.record(op, outcome, latency, answer.status if answer.status is not None else "conn")
        if outcome == "server" and self.errors:
            record = {"t": round(time.time(), 3), "op": op, "status": answer.status,
                      "detail": (detail or answer.detail())[:300], "request_id": answer.headers.get("x-request-id")}
            with self.ledger_lock:
                self.errors.write(json.dumps(record, sort_keys=True) + "\n")

    def unique_name(self, ext):
        with self.counter_lock:
            self.counter += 1
            n = self.counter
        return f"load-{self.run_id}-{n}.{ext}"

    @staticmethod
    def classify(answer, expected, known_404=False):
        """ok / client / server for an answer whose expected statuses are `expected`."""
        if answer.status in expected:
            return "ok"
        if answer.status is None or answer.status >= 500:
            return "server"
        if answer.status == 404 and not known_404:
            return "server"  # a file this run uploaded and still holds has gone missing
        return "client"

    # -- auth ----------------------------------------------------------------------------------

    def login(self, client, user, deadline):
        body = json.dumps({"login": user.username, "password": user.password})
        delay = 0.5
        while time.time() < deadline:
            t0 = time.time()
            answer = client.request("POST", "/v1/auth/login", body=body, headers={"Content-Type": "application/json"})
            token = (answer.json() or {}).get("access_token") if answer.status == 200 else None
            self.note("login", "ok" if token else self.classify(answer, (200,), known_404=True), time.time() - t0, answer)
            if token:
                return token
            time.sleep(delay)
            delay = min(delay * 2, 5)
        return None

    def auth_headers(self, user):
        return {"Authorization": "Bearer " + user.token}

    def call(self, client, user, method, path, body=None, headers=None):
        """A request with the user's token; a 401 logs in again once (tokens expire)."""
        merged = dict(headers or {})
        merged.update(self.auth_headers(user))
        answer = client.request(method, path, body=body, headers=merged)
        if answer.status == 401:
            with user.token_lock:
                if merged["Authorization"] == "Bearer " + user.token:
                    token = self.login(client, user, time.time() + 30)
                    if token:
                        user.token = token
            merged.update(self.auth_headers(user))
            answer = client.request(method, path, body=body, headers=merged)
        return answer

    def setup_user(self, user):
        client = Client(self.host, self.port, self.args.timeout)
        deadline = time.time() + 120
        user.token = self.login(client, user, deadline)
        if not user.token:
            sys.exit(f"could not log in as {user.username}")
        while time.time() < deadline:
            me = self.call(client, user, "GET", "/v1/me")
            root = self.call(client, user, "GET", "/v1/folders/root")
            if me.status == 200 and root.status == 200:
                user.owner = me.json()["id"]
                user.root_id = root.json()["id"]
                break
            time.sleep(1)
        else:
            sys.exit(f"{user.username}: no profile or root folder")
        name = f"load-{self.run_id}"
        while time.time() < deadline:
            answer = self.call(client, user, "POST", "/v1/folders", body=json.dumps({"name": name, "parent_id": user.root_id}),
                               headers={"Content-Type": "application/json"})
            if answer.status == 201:
                user.folder_id = answer.json()["id"]
                break
            time.sleep(1)
        else:
            sys.exit(f"{user.username}: could not create the folder {name}")
        client.close()
        self.write_ledger({"op": "user", "user": user.username, "owner": user.owner, "folder_id": user.folder_id, "root_id": user.root_id})

    # -- operations ----------------------------------------------------------------------------

    def op_upload(self, client, user, rng, kind):
        if kind == "upload_image":
            data, content_type, ext = self.images.make()
            image = True
        else:
            if kind == "upload_large":
                size = rng.randint(self.args.large_min_kib, self.args.large_max_kib) * 1024
            else:
                size = rng.randint(1, self.args.small_max_kib * 1024)
            data = os.urandom(size)
            content_type, ext, image = "application/octet-stream", "bin", False
        digest = hashlib.sha256(data).hexdigest()
        name = self.unique_name(ext)
        query = urllib.parse.urlencode({"folder_id": user.folder_id, "name": name})
        t0 = time.time()
        answer = self.call(client, user, "POST", "/v1/files?" + query, body=data,
                           headers={"Content-Type": "application/octet-stream", "X-Content-SHA256": digest})
        latency = time.time() - t0
        self.stats.add_bytes(up=len(data))
        if answer.status == 201:
            body = answer.json() or {}
            if body.get("sha256") != digest or body.get("size") != len(data) or not body.get("id"):
                self.note(kind, "server", latency, answer, f"201 with a wrong body: {answer.detail()}")
                return
            if image and body.get("content_type") != content_type:
                self.note(kind, "server", latency, answer, f"image sniffed as {body.get('content_type')}")
            else:
                self.note(kind, "ok", latency, answer)
            info = {"sha256": digest, "size": len(data), "image": image, "name": name, "content_type": body.get("content_type")}
            with user.lock:
                user.live[body["id"]] = info
            self.write_ledger({"op": "upload", "user": user.username, "owner": user.owner, "file_id": body["id"], **info})
            return
        outcome = self.classify(answer, (201,), known_404=True)
        if outcome == "server":
            self.write_ledger({"op": "upload_uncertain", "user": user.username, "owner": user.owner, "name": name,
                               "sha256": digest, "size": len(data), "image": image, "status": answer.status})
        self.note(kind, outcome, latency, answer)

    def pick(self, user, rng, image=False):
        with user.lock:
            ids = [i for i, info in user.live.items() if not image or info["image"]]
            if not ids:
                return None, None
            file_id = rng.choice(ids)
            return file_id, dict(user.live[file_id])

    def op_download(self, client, user, rng):
        file_id, info = self.pick(user, rng)
        if not file_id:
            return self.op_upload(client, user, rng, "upload_small")
        t0 = time.time()
        answer = self.call(client, user, "GET", f"/v1/files/{file_id}/content")
        latency = time.time() - t0
        self.stats.add_bytes(down=len(answer.body or b""))
        if answer.status == 200:
            if hashlib.sha256(answer.body).hexdigest() != info["sha256"]:
                self.note("download", "server", latency, answer, f"{file_id}: content differs from the upload")
            else:
                self.note("download", "ok", latency, answer)
            return
        with user.lock:
            raced = file_id in user.gone
        self.note("download", self.classify(answer, (200,), known_404=raced), latency, answer,
                  f"{file_id}: {answer.status} {answer.detail()}")

    def op_thumbnail(self, client, user, rng):
        file_id, info = self.pick(user, rng, image=True)
        if not file_id:
            return self.op_upload(client, user, rng, "upload_image")
        size = rng.choice(self.args.thumbnail_sizes)
        t0 = time.time()
        answer = self.call(client, user, "GET", f"/v1/files/{file_id}/thumbnails/{size}")
        latency = time.time() - t0
        self.stats.add_bytes(down=len(answer.body or b""))
        if answer.status == 200:
            ok = answer.headers.get("content-type", "").startswith("image/") and answer.body[:2] in (b"\xff\xd8", b"RI")
            self.note("thumbnail", "ok" if ok else "server", latency, answer, None if ok else f"{file_id}: not an image body")
            return
        with user.lock:
            raced = file_id in user.gone
        self.note("thumbnail", self.classify(answer, (200,), known_404=raced), latency, answer,
                  f"{file_id}/{size}: {answer.status} {answer.detail()}")

    def op_list(self, client, user, rng, kind):
        if kind == "list":
            folder = user.folder_id if rng.random() < 0.8 else user.root_id
            sort = rng.choice(["name", "-created_at", "size", "-updated_at"])
            path = f"/v1/folders/{folder}/children?" + urllib.parse.urlencode({"limit": 100, "sort": sort})
        elif kind == "search":
            params = rng.choice([{"q": f"load-{self.run_id}-1"}, {"content_type": "image/*"}, {"min_size": 1 << 20},
                                 {"sort": "-size"}])
            params["limit"] = 50
            path = "/v1/files?" + urllib.parse.urlencode(params)
        else:
            path = "/v1/images?limit=50"
        t0 = time.time()
        answer = self.call(client, user, "GET", path)
        latency = time.time() - t0
        if answer.status == 200 and not isinstance((answer.json() or {}).get("items"), list):
            self.note(kind, "server", latency, answer, "200 without items")
            return
        self.note(kind, self.classify(answer, (200,), known_404=False), latency, answer)

    def op_link(self, client, user, rng):
        image_link = rng.random() < 0.3
        file_id, info = self.pick(user, rng, image=image_link)
        if not file_id:
            return self.op_upload(client, user, rng, "upload_small")
        if image_link:
            body = {"variant": "thumbnail", "size": rng.choice(self.args.thumbnail_sizes), "expires_in": 600}
        else:
            body = {"variant": "original", "expires_in": 600}
        t0 = time.time()
        answer = self.call(client, user, "POST", f"/v1/files/{file_id}/links", body=json.dumps(body),
                           headers={"Content-Type": "application/json"})
        latency = time.time() - t0
        url = (answer.json() or {}).get("url") if answer.status == 201 else None
        with user.lock:
            raced = file_id in user.gone
        if not url:
            self.note("link_create", "server" if answer.status == 201 else self.classify(answer, (201,), known_404=raced),
                      latency, answer, f"{file_id}: {answer.status} {answer.detail()}")
            return
        self.note("link_create", "ok", latency, answer)
        path = urllib.parse.urlparse(url).path
        t0 = time.time()
        got = client.request("GET", path)  # anonymous: the link is the credential
        latency = time.time() - t0
        self.stats.add_bytes(down=len(got.body or b""))
        with user.lock:
            raced = file_id in user.gone
        if got.status == 200:
            good = (hashlib.sha256(got.body).hexdigest() == info["sha256"]) if not image_link else got.body[:2] == b"\xff\xd8" or got.body[:2] == b"RI"
            self.note("link_get", "ok" if good else "server", latency, got, None if good else f"{file_id}: wrong bytes through the link")
        else:
            self.note("link_get", self.classify(got, (200,), known_404=raced), latency, got, f"{file_id}: {got.status} {got.detail()}")

    def op_trash(self, client, user, rng):
        with user.lock:
            # keep a working set: never trash below a floor of live files
            few = len(user.live) < self.args.min_live_files
            if not few:
                file_id = rng.choice(list(user.live))
                info = user.live.pop(file_id)
                user.gone.add(file_id)
        if few:
            return self.op_upload(client, user, rng, "upload_small")
        self.write_ledger({"op": "trash", "owner": user.owner, "file_id": file_id, "status": None})
        t0 = time.time()
        answer = self.call(client, user, "DELETE", f"/v1/files/{file_id}")
        latency = time.time() - t0
        self.write_ledger({"op": "trash", "owner": user.owner, "file_id": file_id, "status": answer.status})
        if answer.status == 204:
            with user.lock:
                user.trashed[file_id] = info
        self.note("trash", self.classify(answer, (204,)), latency, answer, f"{file_id}: {answer.status} {answer.detail()}")

    def op_purge(self, client, user, rng):
        with user.lock:
            if not user.trashed:
                file_id = None
            else:
                file_id = rng.choice(list(user.trashed))
                user.trashed.pop(file_id)
        if not file_id:
            return self.op_trash(client, user, rng)
        self.write_ledger({"op": "purge", "owner": user.owner, "file_id": file_id, "status": None})
        t0 = time.time()
        answer = self.call(client, user, "DELETE", f"/v1/trash/{file_id}")
        latency = time.time() - t0
        self.write_ledger({"op": "purge", "owner": user.owner, "file_id": file_id, "status": answer.status})
        self.note("purge", self.classify(answer, (204,)), latency, answer, f"{file_id}: {answer.status} {answer.detail()}")

    # -- threads -------------------------------------------------------------------------------

    def worker(self, user, index):
        rng = random.Random(f"{self.args.seed}-{user.username}-{index}")
        client = Client(self.host, self.port, self.args.timeout)
        names = list(self.mix)
        weights = [self.mix[n] for n in names]
        try:
            while not self.stop.is_set():
                kind = rng.choices(names, weights)[0]
                if kind.startswith("upload"):
                    self.op_upload(client, user, rng, kind)
                elif kind == "download":
                    self.op_download(client, user, rng)
                elif kind == "thumbnail":
                    self.op_thumbnail(client, user, rng)
                elif kind in ("list", "search", "images"):
                    self.op_list(client, user, rng, kind)
                elif kind == "link":
                    self.op_link(client, user, rng)
                elif kind == "trash":
                    self.op_trash(client, user, rng)
                elif kind == "purge":
                    self.op_purge(client, user, rng)
                # a client that gets no answer at all backs off a little instead of spinning
                if self.backoff.pop(threading.get_ident(), False):
                    self.stop.wait(0.2)
                if self.args.think_ms:
                    self.stop.wait(self.args.think_ms / 1000.0)
        finally:
            client.close()

    def run(self, users):
        threads = []
        for user in users:
            self.setup_user(user)
        self.started = time.time()
        self.stats.started = self.started
        for user in users:
            for i in range(self.args.threads_per_user):
                t = threading.Thread(target=self.worker, args=(user, i), daemon=True)
                t.start()
                threads.append(t)
        deadline = self.started + self.args.duration
        while time.time() < deadline and not self.stop.is_set():
            if self.args.stop_file and os.path.exists(self.args.stop_file):
                break
            self.stop.wait(0.5)
        self.stop.set()
        for t in threads:
            t.join(self.args.timeout + 5)
        self.elapsed = time.time() - self.started
        return self.summary()

    def summary(self):
        elapsed = max(self.elapsed, 1e-9)
        ops = {}
        totals = {"count": 0, "ok": 0, "client": 0, "server": 0}
        for op, e in sorted(self.stats.ops.items()):
            ok = sorted(e["ok"])
            row = {"count": len(e["all"]), "ok": len(ok), "client": e["client"], "server": e["server"],
                   "ok_per_s": round(len(ok) / elapsed, 2), "statuses": e["statuses"]}
            for p in (50, 90, 99):
                v = percentile(ok, p)
                row[f"p{p}_ms"] = round(v * 1000, 1) if v is not None else None
            row["max_ms"] = round(ok[-1] * 1000, 1) if ok else None
            ops[op] = row
            for k in ("count", "ok", "client", "server"):
                totals[k] += row[k]
        totals["per_s"] = round(totals["count"] / elapsed, 2)
        totals["error_rate_server"] = round(totals["server"] / totals["count"], 5) if totals["count"] else 0.0
        return {"started": round(self.started, 3), "elapsed_s": round(elapsed, 1), "users": self.args.user_count,
                "threads": self.args.user_count * self.args.threads_per_user, "totals": totals, "operations": ops,
                "mib_up": round(self.stats.bytes_up / 1048576, 1), "mib_down": round(self.stats.bytes_down / 1048576, 1),
                "server_errors_by_second": {str(k): v for k, v in sorted(self.stats.server_by_second.items())}}


def print_summary(s, out=sys.stdout):
    t = s["totals"]
    print(f"load: {s['users']} users, {s['threads']} threads, {s['elapsed_s']} s; {t['count']} requests "
          f"({t['per_s']}/s), ok {t['ok']}, client errors {t['client']}, server errors {t['server']} "
          f"(rate {t['error_rate_server']:.4%}); uploaded {s['mib_up']} MiB, downloaded {s['mib_down']} MiB", file=out)
    print(f"{'operation':<14}{'count':>7}{'ok':>7}{'client':>7}{'server':>7}{'ok/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}", file=out)
    for op, r in s["operations"].items():
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        print(f"{op:<14}{r['count']:>7}{r['ok']:>7}{r['client']:>7}{r['server']:>7}{r['ok_per_s']:>8.2f}"
              f"{fmt(r['p50_ms']):>9}{fmt(r['p90_ms']):>9}{fmt(r['p99_ms']):>9}{fmt(r['max_ms']):>9}", file=out)
    for op, r in s["operations"].items():
        odd = {k: v for k, v in r["statuses"].items() if k not in ("200", "201", "204")}
        if odd:
            print(f"  {op}: other answers {odd}", file=out)


DEFAULT_MIX = ("upload_small=18,upload_large=2,upload_image=12,list=12,search=5,images=3,download=20,"
               "thumbnail=12,link=8,trash=5,purge=2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 1)[1])
    parser.add_argument("--api", required=True, help="gateway base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--users", required=True, help='JSON file: [{"username":..., "password":...}, ...]')
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--threads-per-user", type=int, default=2)
    parser.add_argument("--mix", default=DEFAULT_MIX, help=f"operation weights (default {DEFAULT_MIX})")
    parser.add_argument("--small-max-kib", type=int, default=256, help="small uploads: 1 byte to this many KiB")
    parser.add_argument("--large-min-kib", type=int, default=2048)
    parser.add_argument("--large-max-kib", type=int, default=8192)
    parser.add_argument("--thumbnail-sizes", default="200,400", help="sizes the users' tier has")
    parser.add_argument("--min-live-files", type=int, default=10, help="never trash below this many live files per user")
    parser.add_argument("--think-ms", type=float, default=0, help="pause between a thread's requests")
    parser.add_argument("--timeout", type=float, default=60, help="socket timeout per request (s)")
    parser.add_argument("--seed", default="cirrus")
    parser.add_argument("--ledger")
    parser.add_argument("--errors")
    parser.add_argument("--report")
    parser.add_argument("--stop-file", help="stop when this file exists")
    args = parser.parse_args()
    args.thumbnail_sizes = [int(x) for x in args.thumbnail_sizes.split(",")]
    with open(args.users) as f:
        users = [User(u["username"], u["password"]) for u in json.load(f)]
    args.user_count = len(users)
    load = Load(args)
    signal.signal(signal.SIGTERM, lambda *_: load.stop.set())
    signal.signal(signal.SIGINT, lambda *_: load.stop.set())
    summary = load.run(users)
    print_summary(summary)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
