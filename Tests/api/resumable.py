#!/usr/bin/env python3
"""Resumable uploads (tus 1.0 at /v1/uploads) on a running local stack, with tuspy, a real tus
client (Tests/api/run-on-stack.sh runs it; it restarts metadata and blob, so it runs after the
checks that need every service up the whole time).

  protocol      OPTIONS (version, extensions, sha256, Tus-Max-Size from the caller's tier); 412
                without Tus-Resumable; creation validated like any upload (folder, name,
                quota, tier maximum); HEAD; a wrong offset is 409 naming the right one; another
                user's upload is 404; two PATCHes at once: one wins, the other 409.
  tuspy         300 MiB in 8 MiB chunks with sha256 checksums, through a proxy that cuts the
                connection in the middle of a chunk: tuspy asks the offset and resumes; the
                file downloads bit for bit, and it is an upload like any (file.uploaded →
                thumbnails for an image sent with tus).
  checksum      a chunk whose Upload-Checksum does not match is 460 and not kept; a declared
                whole-file sha256 that does not match keeps nothing.
  termination   DELETE releases the reservation (the quota's reserved bytes) at once.
  kill -9       blob killed between two PATCHes and started again: the upload resumes, bytes identical.
  expiration    with a short lifetime (metadata restarted with it): an abandoned upload is
                collected, its reservation released, its staging gone.
  S3            blob restarted on the S3 test server: tuspy's 300 MiB with the cut, kill -9 between
                PATCHes, expiration (no multipart upload left in progress); then blob comes back
                on local disk.

Usage: resumable.py API --admin NAME:PASSWORD --infra-run PATH --stack DIR [--s3 ENDPOINT] [--mib N]
The environment must point infra/run at the stack (CIRRUS_LOCAL and the ports), as
run-on-stack.sh sets it. Needs the venv (tuspy, requests, boto3 from moto).
"""
import argparse
import base64
import hashlib
import io
import json
import os
import socket
import subprocess
import threading
import time
import uuid

import requests
from tusclient import client as tus_client
from tusclient.uploader import Uploader

from apicheck import check, finish, note, run_group
from apicheck import png as apicheck_png

CHUNK = 8 << 20


class Sha256Uploader(Uploader):
    """tuspy's uploader with the sha256 checksum (its default algorithm is sha1)."""
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class PatternFile(io.RawIOBase):
    """`size` bytes of a deterministic pattern (seeded), readable and seekable without holding them."""

    def __init__(self, size, seed):
        self.size, self.position = size, 0
        self.block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
        self.block = bytes((b + i) % 256 for i, b in enumerate(self.block[:4096])) * 16

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = offset if whence == io.SEEK_SET else (self.position + offset if whence == io.SEEK_CUR else self.size + offset)
        return self.position

    def tell(self):
        return self.position

    def read(self, n=-1):
        n = self.size - self.position if n is None or n < 0 else min(n, self.size - self.position)
        out = bytearray()
        while len(out) < n:
            at = (self.position + len(out)) % len(self.block)
            out += self.block[at:at + min(n - len(out), len(self.block) - at)]
        self.position += n
        return bytes(out)

    def sha256(self):
        digest, self.position = hashlib.sha256(), 0
        while chunk := self.read(4 << 20):
            digest.update(chunk)
        self.position = 0
        return digest.hexdigest()


class CuttingProxy:
    """A loopback TCP proxy in front of the gateway that, once, closes both sides of the
    connection `cut_after` bytes into the second PATCH it forwards (a network that drops in
    the middle of a chunk); everything else is passed through."""

    def __init__(self, target_port, cut_after):
        self.target_port, self.cut_after, self.cuts, self.patches = target_port, cut_after, 0, 0
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                downstream, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(downstream,), daemon=True).start()

    def serve(self, downstream):
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        done = threading.Event()

        def back():
            try:
                while data := upstream.recv(65536):
                    downstream.sendall(data)
            except OSError:
                pass
            done.set()
            for s in (downstream, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=back, daemon=True).start()
        sent, cutting = 0, False  # sent: bytes since the PATCH began, once cutting
        try:
            while data := downstream.recv(65536):
                if not cutting and self.cuts == 0 and b"PATCH /" in data:  # also a kept-alive connection's next request
                    with self.lock:
                        self.patches += 1
                        cutting = self.patches == 2
                    sent = -data.index(b"PATCH /")
                if cutting and sent + len(data) >= self.cut_after:
                    self.cuts += 1
                    upstream.sendall(data[: max(0, self.cut_after - sent)])
                    break
                upstream.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (downstream, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        done.wait(5)
        downstream.close()
        upstream.close()

    def close(self):
        self.server.close()


def png(width, height, seed):
    return apicheck_png(width, height, lambda y: bytes((x * 7 + y * 13 + seed) % 256 for x in range(width * 3)))


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Resumable:
    def __init__(self, args):
        self.args = args
        self.api = args.api.rstrip("/")
        self.port = int(self.api.rsplit(":", 1)[1])
        self.run_id = uuid.uuid4().hex[:8]
        self.size = args.mib << 20
        self.http = requests.Session()

    # --- set-up and helpers

    def setup(self):
        name, _, password = self.args.admin.partition(":")
        admin = self.http.post(self.api + "/v1/auth/login", json={"login": name, "password": password}).json()["access_token"]
        auth = {"Authorization": "Bearer " + admin}
        tier = self.http.post(self.api + "/v1/admin/tiers", headers=auth, json={
            "name": f"tus-{self.run_id}", "thumbnail_sizes": [200], "original_links": False, "expiring_links": False,
            "link_min_seconds": 300, "link_max_seconds": 3600, "quota_bytes": 8 << 30, "max_upload_bytes": 1 << 30,
            "requests_per_minute": 100000}).json()["id"]
        self.password = "Tus-check-" + uuid.uuid4().hex
        self.user = self.new_user(f"tus{self.run_id}", tier, auth)
        self.other = self.new_user(f"tusother{self.run_id}", tier, auth)
        root = self.get("/v1/folders/root").json()["id"]
        self.folder = self.http.post(self.api + "/v1/folders", headers=self.auth(), json={"name": f"tus-{self.run_id}", "parent_id": root}).json()["id"]

    def new_user(self, username, tier, admin):
        self.http.post(self.api + "/v1/auth/register", json={"username": username, "email": f"{username}@example.com", "password": self.password})
        token = self.http.post(self.api + "/v1/auth/login", json={"login": username, "password": self.password}).json()["access_token"]
        me = self.http.get(self.api + "/v1/me", headers={"Authorization": "Bearer " + token}).json()
        self.http.patch(self.api + f"/v1/admin/users/{me['id']}", headers=admin, json={"tier_id": tier})
        for _ in range(60):  # a fresh token carries the tier; metadata learns it by event
            token = self.http.post(self.api + "/v1/auth/login", json={"login": username, "password": self.password}).json()["access_token"]
            limits = self.http.options(self.api + "/v1/uploads", headers={"Authorization": "Bearer " + token})
            if limits.headers.get("Tus-Max-Size") == str(1 << 30):
                return token
            time.sleep(0.5)
        raise SystemExit(f"{username} never got the tus tier")

    def auth(self, token=None, tus=True):
        headers = {"Authorization": "Bearer " + (token or self.user)}
        if tus:
            headers["Tus-Resumable"] = "1.0.0"
        return headers

    def get(self, path, token=None):
        return self.http.get(self.api + path, headers=self.auth(token, tus=False))

    def reserved(self):
        return (self.get("/v1/me").json().get("quota") or {}).get("reserved_bytes")

    def create(self, name, length, token=None, extra=None):
        headers = self.auth(token)
        headers["Upload-Length"] = str(length)
        headers["Upload-Metadata"] = f"folder_id {b64(self.folder)},name {b64(name)}" + (extra or "")
        return self.http.post(self.api + "/v1/uploads", headers=headers)

    def patch(self, location, offset, data, token=None, checksum=None):
        headers = self.auth(token)
        headers.update({"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        if checksum:
            headers["Upload-Checksum"] = checksum
        return self.http.patch(self.api + location, headers=headers, data=data)

    def head(self, location, token=None):
        return self.http.head(self.api + location, headers=self.auth(token))

    def infra(self, *words, env=None):
        result = subprocess.run([self.args.infra_run, *words], capture_output=True, text=True, timeout=300,
                                env=dict(os.environ, **(env or {})))
        if result.returncode != 0:
            raise RuntimeError(f"infra/run {' '.join(words)} failed: {result.stderr[-600:]}")

    def kill_blob(self):
        with open(os.path.join(self.args.stack, "run", "blob.pid")) as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 9)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def download_sha256(self, file_id):
        digest = hashlib.sha256()
        with self.http.get(self.api + f"/v1/files/{file_id}/content", headers=self.auth(tus=False), stream=True) as response:
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            for chunk in response.iter_content(4 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def file_of(self, name):
        items = self.get(f"/v1/folders/{self.folder}/children?limit=1000").json().get("items") or []
        return next((item for item in items if item["name"] == name), None)

    # --- groups

    def protocol(self):
        options = self.http.options(self.api + "/v1/uploads", headers=self.auth(tus=False))
        check("OPTIONS: tus 1.0.0 with creation, defer-length, termination, expiration and checksum (sha256)",
              options.status_code == 204 and options.headers.get("Tus-Version") == "1.0.0"
              and {"creation", "creation-with-upload", "creation-defer-length", "termination", "expiration", "checksum"}
              <= set(options.headers.get("Tus-Extension", "").split(","))
              and options.headers.get("Tus-Checksum-Algorithm") == "sha256", f"{options.status_code} {dict(options.headers)}")
        check("OPTIONS: Tus-Max-Size is the caller's tier's largest upload", options.headers.get("Tus-Max-Size") == str(1 << 30))
        anonymous = requests.options(self.api + "/v1/uploads")  # not the session: it holds the login's cookie
        check("OPTIONS without a token: no Tus-Max-Size", anonymous.status_code == 204 and "Tus-Max-Size" not in anonymous.headers)
        no_version = self.http.post(self.api + "/v1/uploads", headers={"Authorization": "Bearer " + self.user, "Upload-Length": "1"})
        check("a request without Tus-Resumable: 412 with Tus-Version", no_version.status_code == 412 and no_version.headers.get("Tus-Version") == "1.0.0")
        anonymous_post = requests.post(self.api + "/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1"})
        check("creation without a token: 401", anonymous_post.status_code == 401)
        too_big = self.create("too-big.bin", (1 << 30) + 1)
        check("creation beyond the tier's largest upload: 413, nothing reserved", too_big.status_code == 413 and self.reserved() == 0, f"{too_big.status_code}")
        bad_name = self.create("a/b", 10)
        check("creation with a name the API refuses: 422 naming `name`", bad_name.status_code == 422 and "name" in bad_name.text, bad_name.text[:200])
        no_folder = self.http.post(self.api + "/v1/uploads", headers={**self.auth(), "Upload-Length": "1", "Upload-Metadata": "name " + b64("x")})
        check("creation without folder_id: 422 naming folder_id", no_folder.status_code == 422 and "folder_id" in no_folder.text)
        bad_metadata = self.http.post(self.api + "/v1/uploads", headers={**self.auth(), "Upload-Length": "1", "Upload-Metadata": "folder_id !!!"})
        check("Upload-Metadata that is not Base64: 422", bad_metadata.status_code == 422 and "Upload-Metadata" in bad_metadata.text)
        created = self.create("protocol.bin", 1000)
        location = created.headers.get("Location", "")
        check("creation: 201, Location /v1/uploads/{id}, Upload-Expires, Tus-Resumable",
              created.status_code == 201 and location.startswith("/v1/uploads/") and created.headers.get("Upload-Expires")
              and created.headers.get("Tus-Resumable") == "1.0.0", f"{created.status_code} {dict(created.headers)}")
        check("the reservation holds the upload's length", self.reserved() == 1000, f"reserved {self.reserved()}")
        duplicate = self.create("protocol.bin", 5)
        check("a second upload with the same name in the folder: 409", duplicate.status_code == 409)
        first = self.patch(location, 0, b"a" * 400)
        check("PATCH: 204 with the new Upload-Offset", first.status_code == 204 and first.headers.get("Upload-Offset") == "400")
        head = self.head(location)
        check("HEAD: Upload-Offset, Upload-Length, Upload-Metadata as sent, no-store",
              head.status_code == 200 and head.headers.get("Upload-Offset") == "400" and head.headers.get("Upload-Length") == "1000"
              and f"name {b64('protocol.bin')}" in head.headers.get("Upload-Metadata", "") and head.headers.get("Cache-Control") == "no-store",
              f"{head.status_code} {dict(head.headers)}")
        stale = self.patch(location, 0, b"b" * 10)
        check("PATCH at a wrong offset: 409 with the right one in Upload-Offset", stale.status_code == 409 and stale.headers.get("Upload-Offset") == "400",
              f"{stale.status_code} {dict(stale.headers)}")
        wrong_type = self.http.patch(self.api + location, headers={**self.auth(), "Upload-Offset": "400", "Content-Type": "application/json"}, data=b"{}")
        check("PATCH with another content type: 415", wrong_type.status_code == 415)
        check("another user's upload: HEAD 404, PATCH 404, DELETE 404",
              self.head(location, token=self.other).status_code == 404 and self.patch(location, 400, b"x", token=self.other).status_code == 404
              and self.http.delete(self.api + location, headers=self.auth(self.other)).status_code == 404)
        # Two PATCHes at once: one holds the upload while it streams, the other is refused.
        slow_done = {}

        def slow_body():
            yield b"c" * 100
            time.sleep(1.5)
            yield b"c" * 100

        def slow():
            slow_done["answer"] = self.patch(location, 400, slow_body())
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.7)
        racing = self.patch(location, 400, b"d" * 100)
        thread.join()
        check("two PATCHes at once: one 204, the other 409",
              slow_done.get("answer") is not None and slow_done["answer"].status_code == 204 and racing.status_code == 409,
              f"{slow_done.get('answer') and slow_done['answer'].status_code} / {racing.status_code}")
        rest = self.patch(location, 600, b"e" * 400)
        file_id = rest.headers.get("Cirrus-File-Id")
        check("the last PATCH completes the file (Cirrus-File-Id) and frees the reservation",
              rest.status_code == 204 and rest.headers.get("Upload-Offset") == "1000" and file_id and self.reserved() == 0,
              f"{rest.status_code} {dict(rest.headers)} reserved {self.reserved()}")
        expected = hashlib.sha256(b"a" * 400 + b"c" * 200 + b"e" * 400).hexdigest()
        check("the file is the bytes acknowledged, in order", self.download_sha256(file_id) == expected)
        check("a finished upload is gone: HEAD 404", self.head(location).status_code == 404)
        # Deferred length, given with the last PATCH; creation-with-upload; an empty file.
        deferred = self.http.post(self.api + "/v1/uploads", headers={**self.auth(), "Upload-Defer-Length": "1",
                                  "Upload-Metadata": f"folder_id {b64(self.folder)},filename {b64('deferred.txt')}"})
        loc = deferred.headers.get("Location", "")
        self.patch(loc, 0, b"hello ")
        head = self.head(loc)
        last = self.http.patch(self.api + loc, headers={**self.auth(), "Upload-Offset": "6", "Upload-Length": "11",
                               "Content-Type": "application/offset+octet-stream"}, data=b"world")
        check("creation-defer-length: Upload-Defer-Length in HEAD, the length with the last PATCH; `filename` names the file",
              head.headers.get("Upload-Defer-Length") == "1" and last.status_code == 204 and (self.file_of("deferred.txt") or {}).get("size") == 11)
        with_body = self.http.post(self.api + "/v1/uploads", headers={**self.auth(), "Upload-Length": "5", "Content-Type": "application/offset+octet-stream",
                                   "Upload-Metadata": f"folder_id {b64(self.folder)},name {b64('with-body.txt')}"}, data=b"12345")
        check("creation-with-upload: 201 with Upload-Offset and the file complete",
              with_body.status_code == 201 and with_body.headers.get("Upload-Offset") == "5" and with_body.headers.get("Cirrus-File-Id"))
        refused = self.http.post(self.api + "/v1/uploads", headers={**self.auth(), "Upload-Length": "5", "Content-Type": "application/offset+octet-stream",
                                 "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode(),
                                 "Upload-Metadata": f"folder_id {b64(self.folder)},name {b64('refused-body.txt')}"}, data=b"12345")
        check("creation-with-upload whose bytes are refused (460): no upload, no pending file, nothing reserved",
              refused.status_code == 460 and self.file_of("refused-body.txt") is None and self.reserved() == 0,
              f"{refused.status_code}, reserved {self.reserved()}")
        empty = self.create("empty.txt", 0)
        check("an empty file is complete at creation", empty.status_code == 201 and empty.headers.get("Cirrus-File-Id")
              and (self.file_of("empty.txt") or {}).get("size") == 0)

    def tuspy_upload(self, label):
        """tuspy, 8 MiB chunks with sha256, a cut 3 MiB into the second chunk; bytes compared."""
        source = PatternFile(self.size, seed=label + self.run_id)
        expected = source.sha256()
        proxy = CuttingProxy(self.port, cut_after=3 << 20)
        try:
            client = tus_client.TusClient(f"http://127.0.0.1:{proxy.port}/v1/uploads", headers={"Authorization": "Bearer " + self.user})
            name = f"tuspy-{label}.bin"
            uploader = Sha256Uploader(file_stream=source, client=client, chunk_size=CHUNK, upload_checksum=True, retries=5, retry_delay=1,
                                      metadata={"folder_id": self.folder, "filename": name})
            started = time.monotonic()
            uploader.upload()
            seconds = time.monotonic() - started
        finally:
            proxy.close()
        check(f"{label}: the connection was cut in the middle of a chunk", proxy.cuts == 1, f"cuts {proxy.cuts}")
        item = self.file_of(name)
        check(f"{label}: tuspy resumed and the upload completed ({self.size >> 20} MiB in {seconds:.1f}s)",
              item is not None and item.get("size") == self.size and item.get("sha256") == expected, f"{item}")
        if item:
            check(f"{label}: the file downloads bit for bit", self.download_sha256(item["id"]) == expected)

    def thumbnail_flow(self):
        image = png(300, 200, 7)
        created = self.create("tus-image.png", len(image))
        done = self.patch(created.headers["Location"], 0, image)
        file_id = done.headers.get("Cirrus-File-Id")
        status = None
        for _ in range(120):
            status = ((self.get(f"/v1/files/{file_id}").json() or {}).get("thumbnails") or {}).get("status")
            if status == "ready":
                break
            time.sleep(0.25)
        check("an image sent with tus gets its thumbnails, like any upload (file.uploaded → thumbnail)", status == "ready", f"status {status}")

    def checksums(self):
        created = self.create("checksum.bin", 2 << 20)
        location = created.headers["Location"]
        good = os.urandom(1 << 20)
        digest = "sha256 " + base64.b64encode(hashlib.sha256(good).digest()).decode()
        self.patch(location, 0, good, checksum=digest)
        corrupt = bytearray(os.urandom(1 << 20))
        claimed = "sha256 " + base64.b64encode(hashlib.sha256(bytes(corrupt)).digest()).decode()
        corrupt[12345] ^= 0xFF
        refused = self.patch(location, 1 << 20, bytes(corrupt), checksum=claimed)
        check("a chunk whose Upload-Checksum does not match: 460, not kept", refused.status_code == 460
              and self.head(location).headers.get("Upload-Offset") == str(1 << 20), f"{refused.status_code}")
        md5 = self.patch(location, 1 << 20, b"x", checksum="md5 AAAAAAAAAAAAAAAAAAAAAA==")
        check("an unsupported checksum algorithm is refused (422 naming Upload-Checksum)", md5.status_code == 422 and "Upload-Checksum" in md5.text,
              f"{md5.status_code} {md5.text[:200]}")
        declared = hashlib.sha256(b"not these bytes").hexdigest()
        lying = self.create("declared.bin", 10, extra=f",sha256 {b64(declared)}")
        mismatch = self.patch(lying.headers["Location"], 0, b"0123456789")
        check("a whole-file sha256 that does not match: 422 checksum-mismatch, no file, no reservation",
              mismatch.status_code == 422 and "checksum-mismatch" in mismatch.text and self.file_of("declared.bin") is None,
              f"{mismatch.status_code} {mismatch.text[:200]}")
        self.http.delete(self.api + location, headers=self.auth())

    def termination(self):
        before = self.reserved()
        created = self.create("terminated.bin", 50 << 20)
        location = created.headers["Location"]
        self.patch(location, 0, os.urandom(3 << 20))
        held = self.reserved()
        gone = self.http.delete(self.api + location, headers=self.auth())
        check("termination: 204, the reservation released, the upload gone, the pending file gone",
              gone.status_code == 204 and held == before + (50 << 20) and self.reserved() == before
              and self.head(location).status_code == 404 and self.file_of("terminated.bin") is None,
              f"{gone.status_code} reserved {before} → {held} → {self.reserved()}")

    def kill_between_patches(self, label, blob_env=None):
        data = os.urandom(12 << 20)
        created = self.create(f"killed-{label}.bin", len(data))
        location = created.headers["Location"]
        first = self.patch(location, 0, data[: 7 << 20])
        self.kill_blob()
        self.infra("restart", "blob", env=blob_env)
        offset = self.head(location).headers.get("Upload-Offset")
        rest = self.patch(location, 7 << 20, data[7 << 20:])
        file_id = rest.headers.get("Cirrus-File-Id")
        check(f"{label}: blob killed (-9) between two PATCHes, restarted: the offset survived and the bytes are identical",
              first.status_code == 204 and offset == str(7 << 20) and rest.status_code == 204 and file_id
              and self.download_sha256(file_id) == hashlib.sha256(data).hexdigest(), f"offset {offset}, {rest.status_code}")

    def expiration(self, label, staged_left):
        before = self.reserved()
        created = self.create(f"abandoned-{label}.bin", 20 << 20)
        location = created.headers.get("Location", "")
        self.patch(location, 0, os.urandom(6 << 20))
        expires = created.headers.get("Upload-Expires")
        deadline, gone = time.monotonic() + 60, False
        while time.monotonic() < deadline:
            if self.head(location).status_code == 404 and self.reserved() == before and not staged_left(location):
                gone = True
                break
            time.sleep(1)
        check(f"{label}: an abandoned upload expires (Upload-Expires {expires}): collected, reservation released, staging gone",
              gone, f"HEAD {self.head(location).status_code}, reserved {self.reserved()} (before {before}), staging left {staged_left(location)}")

    def local_staging_left(self, location):
        directory = os.path.join(self.args.stack, "data", "blob", "staging")
        upload = location.rsplit("/", 1)[1]
        return os.path.exists(os.path.join(directory, upload))

    def s3_staging_left(self, location):
        import boto3
        s3 = boto3.client("s3", endpoint_url=self.args.s3, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        uploads = s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads") or []
        return len(uploads) > 0

    def run(self):
        started = time.monotonic()
        self.setup()
        run_group("tus protocol", self.protocol)
        run_group("tuspy on local disk", lambda: self.tuspy_upload("local"))
        run_group("thumbnails of a tus upload", self.thumbnail_flow)
        run_group("checksums", self.checksums)
        run_group("termination", self.termination)
        run_group("kill -9 between PATCHes (local disk)", lambda: self.kill_between_patches("local"))
        short = {"CIRRUS_METADATA_RESUMABLE_UPLOAD_TTL_SECONDS": "10", "CIRRUS_METADATA_RECONCILE_INTERVAL_SECONDS": "1"}
        collect = {"CIRRUS_BLOB_RESUMABLE_EXPIRY_INTERVAL_SECONDS": "1"}

        def expiry_local():
            self.infra("restart", "metadata", env=short)
            self.infra("restart", "blob", env=collect)
            self.expiration("local disk", self.local_staging_left)
        run_group("expiration (local disk)", expiry_local)
        if self.args.s3:
            self.bucket = f"tus-{self.run_id}"
            s3 = {"CIRRUS_LOCAL_BLOB_S3_ENDPOINT": self.args.s3, "CIRRUS_LOCAL_BLOB_S3_BUCKET": self.bucket}

            def expiry_s3():
                import boto3
                boto3.client("s3", endpoint_url=self.args.s3, aws_access_key_id="test", aws_secret_access_key="test",
                             region_name="us-east-1").create_bucket(Bucket=self.bucket)
                self.infra("restart", "blob", env={**s3, **collect})
                self.expiration("S3", self.s3_staging_left)
            run_group("expiration (S3)", expiry_s3)

            def on_s3():
                self.infra("restart", "metadata")
                self.tuspy_upload("S3")
                self.kill_between_patches("S3", blob_env=s3)
                check("S3: no multipart upload left in progress", not self.s3_staging_left(""))
            run_group("tuspy and kill -9 on S3", on_s3)
        self.infra("restart", "metadata")
        self.infra("restart", "blob")
        finish(started, "resumable uploads: {passed}/{total} checks passed in {seconds:.0f}s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("api")
    parser.add_argument("--admin", required=True)
    parser.add_argument("--infra-run", required=True)
    parser.add_argument("--stack", required=True, help="the stack's directory (run/, data/)")
    parser.add_argument("--s3", help="the S3 test server's endpoint: also run on S3")
    parser.add_argument("--mib", type=int, default=300, help="size of tuspy's uploads")
    Resumable(parser.parse_args()).run()


if __name__ == "__main__":
    main()
