#!/usr/bin/env python3
"""Bad input against a running Cirrus stack (GitHub issue 9, item 4).

Every request below is wrong on purpose. The stack must stay up and answer each one with a
clear 4xx: application/problem+json (RFC 9457, `status` equal to the HTTP status) whose
`errors` name the offending field where there is one; never a 5xx, never a hang, and
nothing half-written (a refused upload leaves no file, keeps no name and reserves no quota).

Groups (each followed by GET /readyz on every service):
  oversize     uploads above the tier's max_upload_bytes (declared, chunked, multipart, a
               replacement) and oversize JSON bodies (metadata's 64 KiB, the gateway's 1 MiB)
  multipart    no boundary, wrong boundary, truncated, no `file` part, two `file` parts,
               broken part headers, a field that is too long; raw and chunked bodies that end
               early or whose chunked coding is broken
  names        `../x`, `a/b`, `..`, `.`, control characters, NUL, invalid UTF-8, > 255 bytes,
               empty: in upload query and multipart filename/name, folder create, rename, copy
  images       a decompression bomb PNG (40000x40000 declared), a corrupt JPEG, a truncated
               PNG, broken GIF/TIFF/WebP headers: the upload succeeds (it is a valid file), the
               thumbnail status ends `failed`, the thumbnail route and a thumbnail link answer 4xx
  requests     bad ids, bad cursors, bad query parameters, wrong content types, bad JSON
               (truncated, wrong types, invalid UTF-8, 10,000-deep nesting), bad headers,
               oversize header, garbage request line
  slow         slow-loris: headers trickled one line every 5 s, an idle connection, an upload
               body that stalls, an upload body trickled one byte every 3 s, all held from the
               start of the run; each must be closed by the server within --slow-seconds (90), and
               200 half-open connections must not keep the gateway from answering others
  leftovers    after the run: no reserved quota left, no temporary files in --empty-dir
               directories, no unhandled error or 5xx in the logs given with --logs

Usage:
  Tests/api/bad-input.py API_URL ACCESS_TOKEN [--service NAME=URL]... [--logs DIR]
                         [--empty-dir DIR]... [--slow-seconds N] [--skip GROUP]...
  e.g. Tests/api/bad-input.py http://127.0.0.1:8080 "$TOKEN" \\
         --service auth=http://127.0.0.1:8081 --service blob=http://127.0.0.1:8083 ...

The token is a normal user's; their tier's max_upload_bytes is read from GET /v1/me (the
oversize uploads send that plus 1 MiB, so keep it small: run-on-stack.sh uses 100 MiB). The
run leaves a folder `bad-input-<time>` in that user's drive. Python 3 standard library only.
Prints one line per check (`ok` / `FAIL`) and a summary; exits 1 when any check failed.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apicheck import (Answer, access_5xx, check, expect_problem, expect_status, finish, multipart, note, png, problem_issues, q,
                      run_group, snippet)

# ---------------------------------------------------------------------------------------------
# HTTP over raw sockets (so bodies can be slow, truncated, chunked, oversize or not UTF-8)
# ---------------------------------------------------------------------------------------------

class Target:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http":
            sys.exit(f"bad-input: only http:// URLs are supported ({url})")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.hostport = f"{self.host}:{self.port}"

    def connect(self, timeout=10):
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


class Reader:
    """Reads one HTTP/1.1 response from a socket, within a deadline."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def more(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def line(self):
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 256 * 1024:
                raise ValueError("response header too long")
            self.more()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buffer) < n:
            self.more()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def rest(self):
        try:
            while True:
                self.more()
        except EOFError:
            pass
        data, self.buffer = self.buffer, b""
        return data

    def response(self, head_request=False):
        while True:
            status_line = self.line()
            pieces = status_line.split(b" ", 2)
            if len(pieces) < 2 or not pieces[0].startswith(b"HTTP/"):
                raise ValueError(f"bad status line {status_line[:80]!r}")
            status = int(pieces[1])
            headers = {}
            while True:
                line = self.line()
                if not line:
                    break
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            if 100 <= status < 200:
                continue  # 100 Continue and friends
            break
        if head_request or status in (204, 304):
            return status, headers, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    break
                body += self.exactly(size)
                self.exactly(2)
            return status, headers, body
        if "content-length" in headers:
            return status, headers, self.exactly(int(headers["content-length"]))
        return status, headers, self.rest()


def exchange(target, head, body=None, timeout=30.0, half_close=False, head_request=False):
    """Sends `head` (bytes, the request line and headers), then `body` (bytes, or an iterable of
    bytes chunks, sent from a thread while the answer is read, so an early answer is seen), and
    reads the answer. A body the server stops reading is not an error here: the answer is."""
    started = time.monotonic()
    try:
        sock = target.connect(timeout=min(timeout, 10))
    except OSError as error:
        return Answer(error=f"connect: {error}")
    send_error = []

    def send():
        try:
            if isinstance(body, (bytes, bytearray)):
                sock.sendall(body)
            elif body is not None:
                for chunk in body:
                    sock.sendall(chunk)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            send_error.append(error)

    try:
        sock.sendall(head)
        sender = None
        if body is not None or half_close:
            sender = threading.Thread(target=send, daemon=True)
            sender.start()
        reader = Reader(sock, started + timeout)
        status, headers, data = reader.response(head_request=head_request)
        return Answer(status, headers, data, seconds=time.monotonic() - started)
    except (OSError, EOFError, ValueError, TimeoutError) as error:
        detail = type(error).__name__ + (f": {error}" if str(error) else "")
        if send_error:
            detail += f" (while sending: {send_error[0]})"
        return Answer(error=detail, seconds=time.monotonic() - started)
    finally:
        try:
            sock.close()
        except OSError:
            pass


class Client:
    def __init__(self, api, token):
        self.target = Target(api)
        self.token = token

    def head(self, method, path, headers=None, auth=True, length=None, chunked=False, content_type=None):
        lines = [f"{method} {self.target.prefix}{path} HTTP/1.1", f"Host: {self.target.hostport}", "Connection: close",
                 "User-Agent: cirrus-bad-input"]
        if auth and self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        out = "\r\n".join(lines).encode("latin-1") + b"\r\n"
        for name, value in (headers or {}).items():
            out += name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")) + b"\r\n"
        return out + b"\r\n"

    def call(self, method, path, body=None, content_type=None, headers=None, auth=True, timeout=30.0):
        """A plain request: body is bytes, a dict/list (sent as JSON) or None."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        length = len(body) if body is not None else (0 if method in ("POST", "PUT", "PATCH") else None)
        head = self.head(method, path, headers=headers, auth=auth, length=length, content_type=content_type)
        return exchange(self.target, head, body, timeout=timeout, head_request=(method == "HEAD"))

    def stream(self, method, path, chunks, content_type="application/octet-stream", length=None, headers=None, timeout=120.0, half_close=False):
        """A request whose body is an iterable of chunks: chunked transfer coding unless `length` is given."""
        if length is None:
            def coded():
                for chunk in chunks:
                    if chunk:
                        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                yield b"0\r\n\r\n"
            head = self.head(method, path, headers=headers, chunked=True, content_type=content_type)
            return exchange(self.target, head, coded(), timeout=timeout, half_close=half_close)
        head = self.head(method, path, headers=headers, length=length, content_type=content_type)
        return exchange(self.target, head, chunks, timeout=timeout, half_close=half_close)


# ---------------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------------

def bomb_png():
    """A valid PNG header claiming 40000x40000 pixels with almost no data (as
    Tests/ThumbnailTests/Fixtures/make-fixtures.py writes bomb.png)."""
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ThumbnailTests", "Fixtures", "bomb.png")
    if os.path.exists(fixture):
        with open(fixture, "rb") as handle:
            return handle.read()
    data = png(1, 1, lambda y: b"\x00\x00\x00")
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    header = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return data[:8] + header + data[8 + 25:]


def corrupt_jpeg():
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8  # as corrupt.jpg


def truncated_png():
    noise = random.Random(9)
    whole = png(256, 256, lambda y: bytes(noise.getrandbits(8) for _ in range(256 * 3)))
    return whole[:len(whole) * 2 // 5]  # IHDR intact, IDAT cut off


def broken_gif():
    # GIF89a, a 65535x65535 logical screen, no colour table, then garbage.
    return b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x2c" + b"\xfe" * 200


def broken_tiff():
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 3) + b"\xff" * 300


def broken_webp():
    return b"RIFF" + struct.pack("<I", 400) + b"WEBPVP8 " + struct.pack("<I", 388) + bytes(range(256)) + b"\x00" * 132


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

class Run:
    def __init__(self, args):
        self.args = args
        self.api = Client(args.api, args.token)
        self.services = [("gateway", args.api.rstrip("/"))] + [tuple(s.split("=", 1)) for s in args.service]
        self.started = time.monotonic()
        self.log_offsets = {}
        self.probes = []

    # -- helpers on the API ------------------------------------------------------------------

    def ok_json(self, answer, what, statuses=(200, 201)):
        if answer.error or answer.status not in statuses or not isinstance(answer.json, dict):
            sys.exit(f"bad-input: setup step failed: {what}: {answer}")
        return answer.json

    def upload(self, folder, name, content, headers=None):
        return self.api.call("POST", f"/v1/files?folder_id={folder}&name={q(name)}", content, "application/octet-stream", headers=headers)

    def upload_multipart(self, body, boundary=b"bad-input-boundary", query="", content_type=None):
        content_type = content_type or "multipart/form-data; boundary=" + boundary.decode("latin-1")
        return self.api.call("POST", "/v1/files" + query, body, content_type)

    def children(self, folder):
        items, cursor = [], None
        while True:
            path = f"/v1/folders/{folder}/children?limit=1000" + (f"&cursor={q(cursor)}" if cursor else "")
            page = self.ok_json(self.api.call("GET", path), "listing the work folder")
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def names_in(self, folder):
        return [item["name"] for item in self.children(folder)]

    def reserved_bytes(self):
        me = self.api.call("GET", "/v1/me").json or {}
        return (me.get("quota") or {}).get("reserved_bytes")

    def nothing_kept(self, label, name):
        """No file of that name in the work folder, and the name is free again (an upload of it
        succeeds: no pending reservation holds it)."""
        names = self.names_in(self.work)
        if name in names:
            return check(f"{label}: nothing kept", False, f"a file named {name!r} exists after the refused request")
        deadline = time.monotonic() + 5  # a cancellation may trail the refusal by a moment
        answer = self.upload(self.work, name, b"name is free\n")
        while answer.status == 409 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = self.upload(self.work, name, b"name is free\n")
        return check(f"{label}: nothing kept (no file, name free again)", answer.status == 201,
                     "" if answer.status == 201 else f"uploading {name!r} afterwards: {answer}")

    def undo(self, answer, rename_to=None):
        """A bad request that was accepted all the same: put things back, so the next check
        starts from the same state (the check itself has already failed)."""
        item = answer.json if not answer.error and answer.status in (200, 201) and isinstance(answer.json, dict) else None
        if not item or "id" not in item or item.get("kind") not in ("file", "folder"):
            return
        path = f"/v1/{item['kind']}s/{item['id']}"
        if rename_to:
            self.api.call("PATCH", path, {"name": rename_to})
        else:
            self.api.call("DELETE", path)
            self.api.call("DELETE", f"/v1/trash/{item['id']}")

    def refuse(self, name, answer, statuses=None, field=None, rename_to=None):
        expect_problem(name, answer, statuses, field)
        self.undo(answer, rename_to)

    def readiness(self, after):
        bad = []
        for service, url in self.services:
            target = Target(url)
            answer = exchange(target, f"GET {target.prefix}/readyz HTTP/1.1\r\nHost: {target.hostport}\r\nConnection: close\r\n\r\n".encode(),
                              timeout=15)
            if answer.error or answer.status != 200:
                bad.append(f"{service}: {answer}")
        names = ", ".join(s for s, _ in self.services)
        check(f"readyz after {after}: {names}", not bad, "; ".join(bad))

    # -- setup -------------------------------------------------------------------------------

    def setup(self):
        me = self.ok_json(self.api.call("GET", "/v1/me"), "GET /v1/me (is the token valid?)")
        tier = me.get("tier") or {}
        self.max_upload = int(tier.get("max_upload_bytes") or 0)
        self.sizes = sorted(tier.get("thumbnail_sizes") or [200])
        if not self.max_upload:
            sys.exit("bad-input: GET /v1/me has no tier.max_upload_bytes")
        if self.max_upload > 512 << 20:
            sys.exit(f"bad-input: the tier allows {self.max_upload} bytes per upload; the oversize uploads would send more. Use a tier of ≤ 512 MiB")
        self.root = self.ok_json(self.api.call("GET", "/v1/folders/root"), "GET /v1/folders/root")["id"]
        name = time.strftime("bad-input-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.work = self.ok_json(self.api.call("POST", "/v1/folders", {"name": name, "parent_id": self.root}), "creating the work folder")["id"]
        self.file = self.ok_json(self.upload(self.work, "keep.txt", b"original content\n"), "uploading keep.txt")
        self.other = self.ok_json(self.upload(self.work, "other.txt", b"other\n"), "uploading other.txt")
        self.folder = self.ok_json(self.api.call("POST", "/v1/folders", {"name": "sub", "parent_id": self.work}), "creating sub")["id"]
        print(f"bad-input against {self.args.api}: work folder {name} ({self.work}), max upload {self.max_upload} bytes, "
              f"thumbnail sizes {self.sizes}", flush=True)
        if self.args.logs:
            for entry in sorted(os.listdir(self.args.logs)):
                if entry.endswith(".log"):
                    self.log_offsets[entry] = os.path.getsize(os.path.join(self.args.logs, entry))

    # -- oversize ----------------------------------------------------------------------------

    def oversize(self):
        limit = self.max_upload
        over = limit + (1 << 20)
        megabyte = b"\x00" * (1 << 20)

        def body(total):
            sent = 0
            while sent < total:
                piece = megabyte[:min(len(megabyte), total - sent)]
                sent += len(piece)
                yield piece

        # Declared too large: refused from the headers, before any byte of the body.
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=declared-too-large.bin", length=limit + 1,
                             content_type="application/octet-stream")
        answer = exchange(self.api.target, head, None, timeout=15)
        expect_problem("upload with Content-Length max_upload_bytes+1 is refused before its body", answer, 413)
        self.nothing_kept("declared too large", "declared-too-large.bin")
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=expect-too-large.bin", length=limit + 1,
                             content_type="application/octet-stream", headers={"Expect": "100-continue"})
        expect_problem("the same with Expect: 100-continue", exchange(self.api.target, head, None, timeout=15), 413)

        answer = self.api.stream("POST", f"/v1/files?folder_id={self.work}&name=chunked-too-large.bin", body(over), timeout=180)
        expect_problem("chunked upload (no Content-Length) of max_upload_bytes+1 MiB", answer, 413)
        self.nothing_kept("chunked too large", "chunked-too-large.bin")

        boundary = b"oversize-boundary"
        prologue = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"folder_id\"\r\n\r\n" + self.work.encode()
                    + b"\r\n--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"multipart-too-large.bin\"\r\n\r\n")
        epilogue = b"\r\n--" + boundary + b"--\r\n"

        def parts():
            yield prologue
            yield from body(over)
            yield epilogue
        answer = self.api.stream("POST", "/v1/files", parts(), content_type="multipart/form-data; boundary=" + boundary.decode(),
                                 length=len(prologue) + over + len(epilogue), timeout=180)
        expect_problem("multipart upload with a file part of max_upload_bytes+1 MiB", answer, 413)
        self.nothing_kept("multipart too large", "multipart-too-large.bin")

        file_id = self.file["id"]
        head = self.api.head("PUT", f"/v1/files/{file_id}/content", length=limit + 1, content_type="application/octet-stream")
        expect_problem("replacing content with Content-Length max_upload_bytes+1", exchange(self.api.target, head, None, timeout=15), 413)
        current = self.api.call("GET", f"/v1/files/{file_id}/content")
        check("the replaced file keeps its content and version", current.status == 200 and current.body == b"original content\n"
              and (self.api.call("GET", f"/v1/files/{file_id}").json or {}).get("version") == self.file.get("version"), str(current))

        # JSON bodies: metadata takes at most 64 KiB, the gateway forwards at most 1 MiB.
        padding = lambda n: {"name": "big", "parent_id": self.work, "padding": "x" * n}
        expect_problem("POST /v1/folders with a 100 KiB JSON body", self.api.call("POST", "/v1/folders", padding(100 << 10)), 413)
        expect_problem("POST /v1/folders with a 2 MiB JSON body", self.api.call("POST", "/v1/folders", padding(2 << 20)), 413)
        big = json.dumps(padding(2 << 20)).encode()
        expect_problem("POST /v1/folders with a 2 MiB chunked JSON body",
                       self.api.stream("POST", "/v1/folders", (big[i:i + 65536] for i in range(0, len(big), 65536)), content_type="application/json",
                                       timeout=60), 413)
        head = self.api.head("POST", "/v1/folders", length=1000, content_type="application/json")
        expect_problem("POST /v1/folders with a JSON body shorter than its Content-Length (client half-closes)",
                       exchange(self.api.target, head, b'{"name": "short"', timeout=15, half_close=True), 400)
        huge = json.dumps(padding(32 << 20)).encode()
        expect_problem("POST /v1/folders with a 32 MiB JSON body", self.api.call("POST", "/v1/folders", huge, "application/json", timeout=60), 413)
        check("no folder was created by the oversize JSON bodies", "big" not in self.names_in(self.work))
        expect_problem("PATCH /v1/files/{id} with a 100 KiB JSON body",
                       self.api.call("PATCH", f"/v1/files/{self.other['id']}", {"name": "renamed", "padding": "x" * (100 << 10)}), 413)
        expect_problem("POST /v1/files/{id}/links with a 2 MiB JSON body",
                       self.api.call("POST", f"/v1/files/{self.other['id']}/links", {"variant": "original", "padding": "x" * (2 << 20)}), 413)
        expect_problem("POST /v1/auth/login with a 2 MiB JSON body",
                       self.api.call("POST", "/v1/auth/login", {"login": "x" * (2 << 20), "password": "y"}, auth=False), 413)

    # -- multipart ---------------------------------------------------------------------------

    def multipart_group(self):
        work = self.work.encode()
        folder_field = (b'name="folder_id"', work)

        answer = self.upload_multipart(multipart(b"b1", [folder_field, (b'name="file"; filename="no-boundary.txt"', b"hello\n")]),
                                       content_type="multipart/form-data")
        expect_problem("multipart without a boundary parameter (fields in the body only)", answer, (400, 415, 422))
        answer = self.upload_multipart(multipart(b"b1", [folder_field, (b'name="file"; filename="no-boundary-q.txt"', b"hello\n")]),
                                       content_type="multipart/form-data", query=f"?folder_id={self.work}&name=no-boundary-q.txt")
        expect_problem("multipart without a boundary parameter (folder_id and name also in the query)", answer, (400, 415))
        self.nothing_kept("multipart without a boundary", "no-boundary-q.txt")

        answer = self.upload_multipart(multipart(b"actual-boundary", [folder_field, (b'name="file"; filename="wrong-boundary.txt"', b"hello\n")]),
                                       boundary=b"announced-boundary")
        expect_problem("multipart whose body uses another boundary", answer, 400)

        truncated = multipart(b"bx", [folder_field, (b'name="file"; filename="truncated.txt"', b"the start of a file ")], close=False)
        truncated = truncated[:-len(b"\r\n")]  # the part's content never ends
        answer = self.upload_multipart(truncated, boundary=b"bx")
        expect_problem("multipart body cut off inside the file part", answer, 400)
        self.nothing_kept("truncated multipart", "truncated.txt")

        # A checksum field that is not 64 hex digits (control characters included: schemathesis
        # found that it reached blob as a header no HTTP client would send, answered 503).
        for label, value in (("control characters", ":\xc2\xad\x1b\\U\x0c".encode("latin-1")), ("too short", b"abc123")):
            answer = self.upload_multipart(multipart(b"bs", [folder_field, (b'name="name"', b"bad-checksum-field.txt"), (b'name="sha256"', value),
                                                             (b'name="file"; filename="bad-checksum-field.txt"', b"hello\n")]), boundary=b"bs")
            expect_problem(f"multipart sha256 field with {label}", answer, 422, field="sha256")
        self.nothing_kept("multipart with a bad sha256 field", "bad-checksum-field.txt")

        cut_headers = b"--bx\r\nContent-Disposition: form-data; name=\"folder_id\"\r\n\r\n" + work + b"\r\n--bx\r\nContent-Disposition: form-da"
        expect_problem("multipart body cut off inside part headers", self.upload_multipart(cut_headers, boundary=b"bx"), 400)

        # Declared longer than sent, then the client half-closes: the body ends inside the file part.
        body = multipart(b"bx", [folder_field, (b'name="file"; filename="short-body.txt"', b"x" * 1000)], close=False)[:-2]
        head = self.api.head("POST", "/v1/files", length=len(body) + 5000, content_type="multipart/form-data; boundary=bx")
        answer = exchange(self.api.target, head, body, timeout=20, half_close=True)
        if answer.error:
            check("multipart shorter than its Content-Length (client half-closes)", True, f"connection closed without an answer: {answer.error}")
        else:
            expect_problem("multipart shorter than its Content-Length (client half-closes)", answer, 400)
        time.sleep(0.5)
        self.nothing_kept("multipart shorter than declared", "short-body.txt")

        # Raw bodies that end early.
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=short-raw.bin", length=10000, content_type="application/octet-stream")
        answer = exchange(self.api.target, head, b"r" * 5000, timeout=20, half_close=True)
        if answer.error:
            check("raw upload shorter than its Content-Length (client half-closes)", True, f"connection closed without an answer: {answer.error}")
        else:
            expect_problem("raw upload shorter than its Content-Length (client half-closes)", answer, 400)
        time.sleep(0.5)
        self.nothing_kept("raw upload shorter than declared", "short-raw.bin")
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=abandoned-raw.bin", length=10000, content_type="application/octet-stream")
        try:
            sock = self.api.target.connect()
            sock.sendall(head + b"r" * 5000)
            time.sleep(0.3)
            sock.close()
        except OSError as error:
            note(f"(abandoned upload: {error})")
        time.sleep(0.5)
        self.nothing_kept("raw upload abandoned halfway (client closes)", "abandoned-raw.bin")
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=bad-chunk.bin", chunked=True, content_type="application/octet-stream")
        answer = exchange(self.api.target, head, b"5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n", timeout=20)
        check("chunked upload with a malformed chunk size gets a 4xx or a closed connection",
              answer.error is not None or 400 <= answer.status < 500, str(answer))
        time.sleep(0.5)
        self.nothing_kept("malformed chunked coding", "bad-chunk.bin")
        head = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=unfinished-chunks.bin", chunked=True, content_type="application/octet-stream")
        answer = exchange(self.api.target, head, b"5\r\nhello\r\n", timeout=20, half_close=True)
        if answer.error:
            check("chunked upload without its last chunk (client half-closes)", True, f"connection closed without an answer: {answer.error}")
        else:
            expect_problem("chunked upload without its last chunk (client half-closes)", answer, 400)
        time.sleep(0.5)
        self.nothing_kept("unfinished chunked coding", "unfinished-chunks.bin")

        answer = self.upload_multipart(multipart(b"bx", [folder_field, (b'name="name"', b"no-file-part.txt")]), boundary=b"bx")
        expect_problem("multipart without a `file` part", answer, 422, field="file")
        answer = self.upload_multipart(b"--bx--\r\n", boundary=b"bx")
        expect_problem("multipart with no parts at all", answer, (400, 422))

        two = multipart(b"bx", [folder_field, (b'name="file"; filename="two-files-1.txt"', b"first\n"),
                                (b'name="file"; filename="two-files-2.txt"', b"second\n")])
        answer = self.upload_multipart(two, boundary=b"bx")
        expect_problem("multipart with two `file` parts", answer, (400, 422), field=None)
        names = self.names_in(self.work)
        check("two `file` parts: nothing kept", "two-files-1.txt" not in names and "two-files-2.txt" not in names,
              f"the work folder has {[n for n in names if n.startswith('two-files')]}")

        expect_problem("multipart part header without a colon",
                       self.upload_multipart(b"--bx\r\nContent-Disposition form-data\r\n\r\nx\r\n--bx--\r\n", boundary=b"bx"), 400)
        expect_problem("multipart form field over 4 KiB",
                       self.upload_multipart(multipart(b"bx", [(b'name="name"', b"n" * 5000), (b'name="file"; filename="f"', b"x")]),
                                             boundary=b"bx", query=f"?folder_id={self.work}"), 400)
        endless = b"--bx\r\nContent-Disposition: form-data; name=\"folder_id\"\r\nX-Pad: "
        expect_problem("multipart part headers that never end (64 KiB)",
                       self.api.stream("POST", "/v1/files", [endless] + [b"p" * 4096] * 16 + [b"\r\n\r\n" + work + b"\r\n--bx--\r\n"],
                                       content_type="multipart/form-data; boundary=bx", timeout=30), 400)
        expect_problem("multipart with a 71-character boundary (RFC 2046 allows 70) and fields in the body",
                       self.upload_multipart(multipart(b"b" * 71, [folder_field, (b'name="file"; filename="long-boundary.txt"', b"x")]),
                                             boundary=b"b" * 71), (400, 415, 422))
        expect_problem("multipart folder_id field that is not a UUID",
                       self.upload_multipart(multipart(b"bx", [(b'name="folder_id"', b"not-a-uuid"), (b'name="file"; filename="f.txt"', b"x")]),
                                             boundary=b"bx"), 422, field="folder_id")
        expect_problem("multipart without folder_id",
                       self.upload_multipart(multipart(b"bx", [(b'name="file"; filename="f.txt"', b"x")]), boundary=b"bx"), 422, field="folder_id")

    # -- names -------------------------------------------------------------------------------

    BAD_NAMES = [
        ("../x", b"../x", "/"),
        ("a/b", b"a/b", "/"),
        ("..", b"..", None),
        (".", b".", None),
        ("a<TAB>b", b"a\tb", None),
        ("a<ESC>b", b"a\x1bb", None),
        ("a<DEL>b", b"a\x7fb", None),
        ("a<NUL>b", b"a\x00b", None),
        ("a<NEL U+0085>b", "a\u0085b".encode(), None),
        ("invalid UTF-8 a<FF>b", b"a\xffb", None),
        ("invalid UTF-8 <C0 AF> (overlong '/')", b"x\xc0\xafy", None),
        ("256 bytes", b"x" * 256, None),
        ("128 x 'é' (256 bytes)", "é".encode() * 128, None),
        ("empty", b"", None),
    ]

    def names(self):
        ok_name = "x" * 251 + ".txt"  # 255 bytes: the longest allowed
        answer = self.upload(self.work, ok_name, b"longest name\n")
        check("control: a 255-byte name is accepted", answer.status == 201, str(answer))
        before = set(self.names_in(self.work))
        subfolder = self.ok_json(self.api.call("POST", "/v1/folders", {"name": "rename-me", "parent_id": self.work}), "creating rename-me")["id"]
        before.add("rename-me")
        target = self.other["id"]
        for label, raw, _ in self.BAD_NAMES:
            self.refuse(f"upload ?name={label}", self.upload(self.work, raw, b"x"), 422, field="name")
            escaped = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            body = multipart(b"bx", [(b'name="folder_id"', self.work.encode()), (b'name="file"; filename="' + escaped + b'"', b"x")])
            if raw == b"":
                body = multipart(b"bx", [(b'name="folder_id"', self.work.encode()), (b'name="file"; filename=""', b"x")])
            self.refuse(f"multipart filename={label}", self.upload_multipart(body, boundary=b"bx"), 422, field="name")
            body = multipart(b"bx", [(b'name="folder_id"', self.work.encode()), (b'name="name"', raw), (b'name="file"; filename="fine.txt"', b"x")])
            self.refuse(f"multipart name field={label}", self.upload_multipart(body, boundary=b"bx"), 422, field="name")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None:
                # Not expressible as a JSON string: the raw bytes inside the JSON text (not UTF-8 JSON: 400).
                for what, method, path, extra, back in (("folder create", "POST", "/v1/folders", b', "parent_id": "' + self.work.encode() + b'"', None),
                                                        ("folder rename", "PATCH", f"/v1/folders/{subfolder}", b"", "rename-me"),
                                                        ("file rename", "PATCH", f"/v1/files/{target}", b"", "other.txt")):
                    answer = self.api.call(method, path, b'{"name": "' + raw + b'"' + extra + b"}", "application/json")
                    self.refuse(f"{what} name={label} (raw bytes in the JSON text)", answer, (400, 422), rename_to=back)
                continue
            self.refuse(f"folder create name={label}", self.api.call("POST", "/v1/folders", {"name": text, "parent_id": self.work}), 422, field="name")
            self.refuse(f"folder rename name={label}", self.api.call("PATCH", f"/v1/folders/{subfolder}", {"name": text}), 422, field="name",
                        rename_to="rename-me")
            self.refuse(f"file rename name={label}", self.api.call("PATCH", f"/v1/files/{target}", {"name": text}), 422, field="name",
                        rename_to="other.txt")
            self.refuse(f"file copy name={label}", self.api.call("POST", f"/v1/files/{target}/copy", {"name": text, "parent_id": self.work}),
                        422, field="name")
        # JSON can carry a lone surrogate escape, which is no Unicode scalar at all.
        for what, method, path, extra in (("folder create", "POST", "/v1/folders", ', "parent_id": "' + self.work + '"'),
                                          ("folder rename", "PATCH", f"/v1/folders/{subfolder}", "")):
            answer = self.api.call(method, path, ('{"name": "a\\ud800b"' + extra + "}").encode(), "application/json")
            self.refuse(f"{what} name with a lone surrogate escape \\ud800", answer, (400, 422), rename_to="rename-me" if method == "PATCH" else None)
        # filename* (RFC 8187) decoding to a traversal, and one that is not UTF-8.
        for label, value in (("filename*=UTF-8''..%2Fx", b"UTF-8''..%2Fx"), ("filename*=UTF-8''%2E%2E", b"UTF-8''%2E%2E"),
                             ("filename*=UTF-8''a%FFb (not UTF-8)", b"UTF-8''a%FFb")):
            body = multipart(b"bx", [(b'name="folder_id"', self.work.encode()), (b'name="file"; filename*=' + value, b"x")])
            self.refuse(f"multipart {label}", self.upload_multipart(body, boundary=b"bx"), 422, field="name")
        new = sorted(set(self.names_in(self.work)) - before - {ok_name})
        check("no item left behind by the bad names", not new, f"new names in the work folder: {[repr(n) for n in new]}")

    # -- images ------------------------------------------------------------------------------

    def images(self):
        samples = [("bomb.png", bomb_png(), "image/png"), ("corrupt.jpg", corrupt_jpeg(), "image/jpeg"),
                   ("truncated.png", truncated_png(), "image/png"), ("broken.gif", broken_gif(), "image/gif"),
                   ("broken.tif", broken_tiff(), "image/tiff"), ("broken.webp", broken_webp(), "image/webp")]
        size = self.sizes[0]
        uploaded = []
        for name, content, expected_type in samples:
            answer = self.upload(self.work, name, content)
            item = answer.json if answer.status == 201 and isinstance(answer.json, dict) else None
            check(f"{name}: upload succeeds (a valid file)", item is not None and item.get("content_type") == expected_type
                  and item.get("size") == len(content), str(answer))
            if item:
                uploaded.append((name, item["id"]))
                # At once, while the event may still be on its way: an on-demand render.
                expect_problem(f"{name}: GET thumbnail {size} right after the upload", self.api.call("GET", f"/v1/files/{item['id']}/thumbnails/{size}",
                                                                                                        timeout=60), 422)
        deadline = time.monotonic() + 60
        pending = dict(uploaded)
        statuses = {}
        while pending and time.monotonic() < deadline:
            for name, file_id in list(pending.items()):
                status = ((self.api.call("GET", f"/v1/files/{file_id}").json or {}).get("thumbnails") or {}).get("status")
                statuses[name] = status
                if status not in ("pending", None):
                    del pending[name]
            if pending:
                time.sleep(0.5)
        for name, file_id in uploaded:
            status = statuses.get(name)
            check(f"{name}: thumbnail status ends failed", status in ("failed", "not_applicable"),
                  f"{status}" if status in ("failed", "not_applicable") else f"status {status!r}" + (" after 60 s" if status == "pending" else ""))
            for each in self.sizes:
                expect_problem(f"{name}: GET thumbnail {each}", self.api.call("GET", f"/v1/files/{file_id}/thumbnails/{each}", timeout=60), 422)
        # Eight at once for a fresh broken image (nothing recorded yet): one render, eight 4xx.
        fresh = self.upload(self.work, "corrupt-burst.jpg", corrupt_jpeg() + uuid.uuid4().bytes)
        if fresh.status == 201:
            answers = [None] * 8

            def fetch(i):
                answers[i] = self.api.call("GET", f"/v1/files/{fresh.json['id']}/thumbnails/{size}", timeout=60)
            threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            bad = [str(a) for a in answers if problem_issues(a, (422,))]
            check("8 concurrent thumbnail requests for a fresh corrupt JPEG all answer 422", not bad, "; ".join(bad[:2]))
        else:
            check("corrupt-burst.jpg uploads", False, str(fresh))
        if uploaded:
            name, file_id = uploaded[0]
            link = self.api.call("POST", f"/v1/files/{file_id}/links", {"variant": "thumbnail", "size": size, "expires_in": 600})
            if link.status == 201 and isinstance(link.json, dict):
                expect_problem(f"{name}: GET an expiring thumbnail link", self.api.call("GET", urllib.parse.urlsplit(link.json["url"]).path, auth=False,
                                                                                         timeout=60), 422)
            else:
                expect_problem(f"{name}: POST a thumbnail link", link, 422, field="variant")
            good = self.upload(self.work, "fine.png", png(32, 24, lambda y: b"\x10\x80\xf0" * 32))
            if good.status == 201:
                answer = self.api.call("GET", f"/v1/files/{good.json['id']}/thumbnails/{size}", timeout=60)
                check("control: a good PNG still gets its thumbnail", answer.status == 200 and answer.headers.get("content-type", "").startswith("image/"),
                      str(answer))
            else:
                check("control: a good PNG uploads", False, str(good))

    # -- ids, cursors, parameters, content types, JSON, headers -------------------------------

    def requests(self):
        api, work, file_id = self.api, self.work, self.other["id"]
        random_id = str(uuid.uuid4())
        for path in ("/v1/files/not-a-uuid", f"/v1/files/{random_id}", f"/v1/files/{random_id.upper()}", f"/v1/files/{work}",
                     "/v1/folders/not-a-uuid", f"/v1/folders/{random_id}", f"/v1/folders/{file_id}", "/v1/folders/%00",
                     "/v1/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd", f"/v1/files/{random_id}/versions", f"/v1/files/{random_id}/content",
                     f"/v1/files/{work}/content", f"/v1/files/{file_id}/content?version=nope", f"/v1/files/{file_id}/content?version={random_id}",
                     f"/v1/folders/{random_id}/children", "/v1/files/" + "a" * 8000):
            # Encoded slashes and NUL in a path are refused at the edge (400, docs/security.md).
            refused_at_edge = any(bad in path.lower() for bad in ("%00", "%2f", "%5c"))
            expect_problem(f"GET {path[:70]}", api.call("GET", path), 400 if refused_at_edge else 404 if len(path) < 1000 else (404, 414, 431))
        expect_status("HEAD /v1/files/{random}/content", api.call("HEAD", f"/v1/files/{random_id}/content"), 404)
        expect_problem("GET an unknown route", api.call("GET", "/v1/nothing-here"), 404)
        expect_problem("DELETE /v1/me (a method the route does not have)", api.call("DELETE", "/v1/me"), (404, 405))
        answer = api.call("GET", "/v1/files?q=" + "x" * (100 << 10))
        check("a 100 KiB URL gets a 4xx", not answer.error and 400 <= answer.status < 500, str(answer))
        for method, path, body in (("PATCH", f"/v1/files/{random_id}", {"name": "x"}), ("PATCH", "/v1/folders/zz", {"name": "x"}),
                                   ("DELETE", f"/v1/files/{random_id}", None), ("DELETE", "/v1/folders/1", None),
                                   ("POST", f"/v1/files/{random_id}/copy", {"parent_id": work}), ("POST", "/v1/files/x/links", {"variant": "original"}),
                                   ("POST", f"/v1/trash/{random_id}/restore", None), ("DELETE", "/v1/trash/not-a-uuid", None),
                                   ("PUT", f"/v1/files/{random_id}/content", b"new"), ("PUT", "/v1/files/nope/content", b"new")):
            expect_problem(f"{method} {path}", api.call(method, path, body, "application/octet-stream" if isinstance(body, bytes) else None), 404)
        for size in ("abc", "0", "-1", "99999999999999999999", "10001"):
            expect_problem(f"GET thumbnail size {size}", api.call("GET", f"/v1/files/{file_id}/thumbnails/{size}"), 404)
        expect_problem("GET thumbnail size not in the tier (300)", api.call("GET", f"/v1/files/{file_id}/thumbnails/300"), (403, 404))
        expect_problem("GET thumbnail of a text file", api.call("GET", f"/v1/files/{file_id}/thumbnails/{self.sizes[0]}"), (404, 422))
        for token in ("garbage", "a.b.c", "..%2f..%2f", "A" * 5000 + "." + "B" * 100 + "." + "C" * 43):
            expect_problem(f"GET /v1/links/{token[:30]}", api.call("GET", f"/v1/links/{token}", auth=False), 400 if "%2f" in token else (403, 404, 414))
        expect_problem("POST /v1/folders with parent_id of no folder", api.call("POST", "/v1/folders", {"name": "x", "parent_id": random_id}),
                       (404, 422))
        expect_problem("POST /v1/folders with parent_id of a file", api.call("POST", "/v1/folders", {"name": "x", "parent_id": file_id}), (404, 422))
        expect_problem("upload to folder_id of no folder", self.upload(random_id, "x.txt", b"x"), (404, 422))
        expect_problem("upload to folder_id of a file", self.upload(file_id, "x.txt", b"x"), (404, 422))
        expect_problem("upload with folder_id not a UUID", self.upload("not-a-uuid", "x.txt", b"x"), 422, field="folder_id")
        expect_problem("upload without folder_id", api.call("POST", "/v1/files?name=x.txt", b"x", "application/octet-stream"), 422, field="folder_id")
        expect_problem("upload without name", api.call("POST", f"/v1/files?folder_id={work}", b"x", "application/octet-stream"), 422, field="name")
        expect_problem("PATCH /v1/files/{id} moving into no folder", api.call("PATCH", f"/v1/files/{file_id}", {"parent_id": random_id}), (404, 422))
        expect_problem("PATCH /v1/folders/{id} moving into itself", api.call("PATCH", f"/v1/folders/{self.folder}", {"parent_id": self.folder}),
                       (409, 422))

        # Listing parameters: every bad one is a 422 naming it.
        listings = [("/v1/files", "files"), (f"/v1/folders/{work}/children", "children:" + work.lower()), ("/v1/images", "images")]
        bad = [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"), ("limit=99999999999999999999", "limit"),
               ("sort=bogus", "sort"), ("sort=--name", "sort"), ("kind=x", "kind"), ("min_size=-1", "min_size"), ("max_size=1.5", "max_size"),
               ("min_size=99999999999999999999", "min_size"), ("min_size=10&max_size=1", "min_size"), ("created_after=yesterday", "created_after"),
               ("created_before=2026-13-01T00:00:00Z", "created_before"), ("q=" + "x" * 256, "q"), ("q=a%01b", "q"), ("q=a%00b", "q"),
               ("content_type=..%2F..%2Fetc", "content_type"), ("content_type=image", "content_type"), ("cursor=garbage", "cursor"),
               ("cursor=" + "A" * 3000, "cursor"), ("cursor=" + base64.urlsafe_b64encode(b"{}").decode().rstrip("="), "cursor"),
               ("cursor=%FF%FE", "cursor")]
        for path, scope in listings:
            for query, field in bad:
                expect_problem(f"GET {path.split('/')[-1] if 'children' in path else path} ?{query[:40]}", api.call("GET", f"{path}?{query}"), 422, field=field)
            for label, key, sort in (("size key -5", "-5", "size"), ("size key 1e5", "1e5", "size"), ("name key with NUL", "a\u0000b", "name"),
                                     ("created_at key in 9999", "9999-99-99T99:99:99.999999", "created_at")):
                forged = self.forged_cursor(scope, key, sort)
                expect_problem(f"GET {scope.split(':')[0]} with a forged cursor ({label})", api.call("GET", f"{path}?sort={sort}&cursor={forged}"), 422,
                               field="cursor")
        page = api.call("GET", f"/v1/folders/{work}/children?limit=1").json or {}
        if page.get("next_cursor"):
            cursor = q(page["next_cursor"])
            expect_problem("a children cursor used with another sort", api.call("GET", f"/v1/folders/{work}/children?limit=1&sort=-size&cursor={cursor}"),
                           422, field="cursor")
            expect_problem("a children cursor used on /v1/files", api.call("GET", f"/v1/files?cursor={cursor}"), 422, field="cursor")
            expect_problem("a children cursor used on /v1/trash", api.call("GET", f"/v1/trash?cursor={cursor}"), 422, field="cursor")
        else:
            check("a children page of 1 has a next_cursor", False, str(page))
        for query, field in (("limit=0", "limit"), ("limit=x", "limit"), ("cursor=garbage", "cursor")):
            expect_problem(f"GET /v1/trash ?{query}", api.call("GET", f"/v1/trash?{query}"), 422, field=field)

        # Content types.
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"):
            body = json.dumps({"name": "ct", "parent_id": work}).encode()
            expect_problem(f"POST /v1/folders as {content_type}", api.call("POST", "/v1/folders", body, content_type), 415)
        expect_problem("PATCH /v1/files/{id} as text/plain", api.call("PATCH", f"/v1/files/{file_id}", b'{"name":"ct.txt"}', "text/plain"), 415)
        expect_problem("POST /v1/files/{id}/links as text/xml",
                       api.call("POST", f"/v1/files/{file_id}/links", b"<link variant='original'/>", "text/xml"), (400, 415))
        expect_problem("POST /v1/auth/login as form data", api.call("POST", "/v1/auth/login", b"login=a&password=b", "application/x-www-form-urlencoded",
                                                                    auth=False), 403)  # a form could send it: login CSRF

        # Bad JSON.
        parent = f'"parent_id": "{work}"'
        cases = [("truncated", b'{"name": "x", ', 400, None), ("empty body", b"", 400, None), ("an array", b"[]", 400, None),
                 ("null", b"null", 400, None), ("a string", b'"x"', 400, None), ("not JSON", b"name=x", 400, None),
                 ("name a number", ('{"name": 5, ' + parent + "}").encode(), 422, "name"),
                 ("name an object", ('{"name": {"a": 1}, ' + parent + "}").encode(), 422, "name"),
                 ("parent_id not a UUID", b'{"name": "x", "parent_id": "nope"}', 422, "parent_id"),
                 ("parent_id a number", b'{"name": "x", "parent_id": 12}', 422, "parent_id"),
                 ("invalid UTF-8 outside strings", b'{"name": "x",\xff ' + parent.encode() + b"}", 400, None),
                 ("10,000-deep arrays", b'{"name": "deep", ' + parent.encode() + b', "x": ' + b"[" * 10000 + b"]" * 10000 + b"}", 400, None),
                 ("10,000-deep objects", b'{"name": "deep", ' + parent.encode() + b', "x": ' + b'{"a":' * 10000 + b"1" + b"}" * 10000 + b"}", 400, None),
                 ("trailing garbage", ('{"name": "x", ' + parent + "} trailing").encode(), 400, None)]
        for label, body, statuses, field in cases:
            expect_problem(f"POST /v1/folders with {label}", api.call("POST", "/v1/folders", body, "application/json"), statuses, field=field)
        for label, body, statuses, field in (("deep", b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}", (400, 422), None),
                                             ("truncated", b'{"name": ', 400, None), ("name null and parent_id bad", b'{"parent_id": true}', 422, "parent_id")):
            expect_problem(f"PATCH /v1/files/{{id}} with {label} JSON", api.call("PATCH", f"/v1/files/{file_id}", body, "application/json"), statuses,
                           field=field)
        links = f"/v1/files/{file_id}/links"
        for label, body, field in ((("variant bogus", {"variant": "bogus", "expires_in": 600}, "variant")),
                                   ("expires_in a string", {"variant": "original", "expires_in": "soon"}, "expires_in"),
                                   # Numbers beyond what the decoder can represent fail before any field is
                                   # known (Foundation's JSONDecoder): a 400 for the body (RFC 8259 §6 lets a
                                   # parser limit the range), not a 422 naming expires_in.
                                   ("expires_in 1e400", b'{"variant": "original", "expires_in": 1e400}', None),
                                   ("expires_in 2^70", b'{"variant": "original", "expires_in": 1180591620717411303424}', None),
                                   ("expires_in -1", {"variant": "original", "expires_in": -1}, "expires_in"),
                                   ("size on an original", {"variant": "original", "size": 200, "expires_in": 600}, "size"),
                                   ("size 7 on a thumbnail", {"variant": "thumbnail", "size": 7, "expires_in": 600}, None),
                                   ("deep nesting", b'{"variant": ' + b"[" * 10000 + b"]" * 10000 + b"}", None)):
            expect_problem(f"POST links with {label}", api.call("POST", links, body, "application/json"), None, field=field)
        expect_problem("POST /v1/auth/login with 10,000-deep JSON", api.call("POST", "/v1/auth/login", b'{"login": ' + b"[" * 10000 + b"]" * 10000 + b"}",
                                                                              "application/json", auth=False), (400, 422))
        expect_problem("POST /v1/auth/register with a number as password",
                       api.call("POST", "/v1/auth/register", {"username": "bad-input-x", "email": "x@example.com", "password": 12345678901234},
                                auth=False), 422, field="password")

        # Headers.
        answer = self.upload(work, "bad-checksum-format.txt", b"x", headers={"X-Content-SHA256": "zz"})
        expect_problem("upload with X-Content-SHA256 not hex", answer, 422, field="X-Content-SHA256")
        self.nothing_kept("X-Content-SHA256 not hex", "bad-checksum-format.txt")
        answer = self.upload(work, "bad-checksum.txt", b"x", headers={"X-Content-SHA256": "0" * 64})
        expect_problem("upload with a wrong X-Content-SHA256", answer, 422, field="X-Content-SHA256")
        self.nothing_kept("wrong X-Content-SHA256", "bad-checksum.txt")
        expect_problem("GET content with Range: bytes=99999999-", api.call("GET", f"/v1/files/{file_id}/content", headers={"Range": "bytes=99999999-"}), 416)
        answer = api.call("GET", f"/v1/files/{file_id}/content", headers={"Range": "bytes=abc"})
        expect_status("GET content with a malformed Range is served whole", answer, 200)
        expect_problem("GET /v1/me with Authorization: Bearer garbage", api.call("GET", "/v1/me", headers={"Authorization": "Bearer garbage"}, auth=False), 401)
        expect_problem("GET /v1/me with Authorization: Basic", api.call("GET", "/v1/me", headers={"Authorization": "Basic eDp5"}, auth=False), 401)
        # Refused by the HTTP parser, before any route: a bare 400/431 is what such a server can say.
        head = api.head("GET", "/v1/me", headers={"X-Padding": "p" * (100 << 10)})
        answer = exchange(api.target, head, None, timeout=15)
        check("a 100 KiB request header gets a 400/431", not answer.error and answer.status in (400, 431), str(answer))
        head = api.head("GET", "/v1/me", headers={f"X-Many-{i}": "v" for i in range(2000)})
        answer = exchange(api.target, head, None, timeout=15)
        if answer.error:
            check("2,000 request headers", False, f"the connection was dropped without an answer ({answer.error}), expected 431 or 400")
        else:
            expect_status("2,000 request headers", answer, (200, 400, 431))
        answer = exchange(api.target, b"GARBAGE\r\n\r\n", None, timeout=15)
        check("a garbage request line gets a 400 or a closed connection", answer.error is not None or answer.status == 400, str(answer))
        answer = exchange(api.target, b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", None, timeout=15)
        check("Content-Length with Transfer-Encoding gets a 4xx or a closed connection", answer.error is not None or 400 <= answer.status < 500, str(answer))
        answer = exchange(api.target, b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", None, timeout=15)
        check("Content-Length: -1 gets a 4xx or a closed connection", answer.error is not None or 400 <= answer.status < 500, str(answer))

    def forged_cursor(self, scope, key, sort):
        """A cursor with the right fingerprint (computable by anyone) and a doctored key."""
        parts = [scope, "", "", "", "", "", "", "", sort, "asc"]
        fingerprint = hashlib.sha256("\u0001".join(parts).encode()).digest()[:8].hex()
        token = json.dumps({"k": key, "i": str(uuid.uuid4()).upper(), "f": fingerprint}).encode()
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    # -- slow clients ------------------------------------------------------------------------

    def start_slow_probes(self):
        """Slow-loris connections, held from the start of the run and judged at its end."""
        gateway = self.api.target
        self.probes = []

        def probe(label, target, first, trickle=None, every=5.0, known_limit=None):
            state = {"label": label, "closed": None, "answer": None, "error": None, "known_limit": known_limit}
            self.probes.append(state)
            stop = threading.Event()
            state["stop"] = stop

            def run():
                started = time.monotonic()
                try:
                    sock = target.connect()
                except OSError as error:
                    state["error"] = f"connect: {error}"
                    return
                state["sock"] = sock
                try:
                    if first:
                        sock.sendall(first)
                    next_send = time.monotonic() + every
                    received = b""
                    while not stop.is_set():
                        readable, _, _ = select.select([sock], [], [], 0.25)
                        if readable:
                            try:
                                data = sock.recv(65536)
                            except OSError as error:
                                data = b""
                                state["error"] = str(error)
                            if not data:
                                state["closed"] = time.monotonic() - started
                                break
                            received += data
                            state["answer"] = received
                        if trickle and time.monotonic() >= next_send:
                            try:
                                sock.sendall(trickle)
                            except OSError as error:
                                state["closed"] = time.monotonic() - started
                                state["error"] = str(error)
                                break
                            next_send += every
                finally:
                    try:
                        sock.close()
                    except OSError:
                        pass
            thread = threading.Thread(target=run, daemon=True)
            state["thread"] = thread
            thread.start()

        probe("gateway: headers trickled one line every 5 s", gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", 5.0)
        probe("gateway: a connection that never sends a byte", gateway, b"")
        probe("gateway: request line sent, then nothing", gateway, b"GET /v1/me HTTP/1.1\r\n")
        upload = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=slow-stalled.bin", length=1 << 20,
                               content_type="application/octet-stream")
        probe("gateway: upload body stalls after 1 KiB of 1 MiB", gateway, upload + b"s" * 1024)
        upload = self.api.head("POST", f"/v1/files?folder_id={self.work}&name=slow-trickle.bin", length=1 << 20,
                               content_type="application/octet-stream")
        # The servers close a connection that sends nothing for 75 s (ServiceRuntime.idleTimeout);
        # a body that keeps trickling is bounded only by the upload's overall deadline (6 h), like
        # nginx's per-read client_body_timeout. Reported, not judged (docs/gateway.md).
        probe("gateway: upload body trickled one byte every 3 s", gateway, upload + b"t", b"t", 3.0,
              known_limit="a trickling body is bounded by the 6 h upload deadline, not the 75 s idle timeout")
        json_head = self.api.head("POST", "/v1/folders", length=1000, content_type="application/json")
        probe("gateway: JSON body stalls after 10 of 1000 bytes", gateway, json_head + b'{"name": "')
        for service, url in self.services[1:]:
            if service == "blob":
                target = Target(url)
                probe("blob: headers trickled one line every 5 s", target, b"PUT /internal/uploads/x HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", 5.0)
                probe("blob: a connection that never sends a byte", target, b"")
        self.probe_started = time.monotonic()

    def many_half_open(self):
        """200 connections with half a request each; the gateway must still answer others."""
        held = []
        try:
            for _ in range(200):
                try:
                    sock = self.api.target.connect()
                    sock.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n")
                    held.append(sock)
                except OSError:
                    break
            started = time.monotonic()
            answer = self.api.call("GET", "/v1/me", timeout=10)
            check(f"{len(held)} half-open connections held: GET /v1/me still answers", answer.status == 200, str(answer))
            target = Target(dict(self.services).get("blob", self.args.api))
            blob_held = []
            if "blob" in dict(self.services):
                for _ in range(200):
                    try:
                        sock = target.connect()
                        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")
                        blob_held.append(sock)
                    except OSError:
                        break
                answer = exchange(target, b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", None, timeout=10)
                check(f"{len(blob_held)} half-open connections to blob held: blob's /readyz still answers", answer.status == 200, str(answer))
                for sock in blob_held:
                    sock.close()
            note(f"(took {time.monotonic() - started:.1f}s)")
        finally:
            for sock in held:
                try:
                    sock.close()
                except OSError:
                    pass

    def judge_slow_probes(self):
        window = self.args.slow_seconds
        remaining = self.probe_started + window - time.monotonic()
        if remaining > 0:
            note(f"waiting {remaining:.0f}s more for the slow connections (observed for {window}s in all)")
            time.sleep(remaining)
        for state in self.probes:
            state["stop"].set()
        for state in self.probes:
            state["thread"].join(timeout=5)
        for state in self.probes:
            answer = state.get("answer") or b""
            status = answer.split(b" ", 2)[1].decode("latin-1", "replace") if answer.startswith(b"HTTP/") else None
            if state["closed"] is not None:
                if status and status.startswith("5"):
                    check(f"slow client, {state['label']}: closed by the server", False,
                          f"closed after {state['closed']:.0f}s with a {status}: {snippet(answer)}")
                else:
                    check(f"slow client, {state['label']}: closed by the server", True,
                          f"after {state['closed']:.0f}s" + (f", answered {status}" if status else ", no answer"))
            elif state.get("error") and "connect" in state["error"]:
                check(f"slow client, {state['label']}", False, state["error"])
            elif state["known_limit"]:
                note(f"slow client, {state['label']}: still open after {window}s (known limit: {state['known_limit']})")
            else:
                check(f"slow client, {state['label']}: closed by the server", False,
                      f"still open after {window}s: nothing bounds how long the server waits for this client"
                      + (f" (it answered {snippet(answer, 120)!r} but kept the connection)" if answer else ""))
        time.sleep(1)
        for name in ("slow-stalled.bin", "slow-trickle.bin"):
            self.nothing_kept(f"slow upload {name} once its client is gone", name)

    # -- leftovers ---------------------------------------------------------------------------

    def leftovers(self):
        deadline = time.monotonic() + 15
        reserved = self.reserved_bytes()
        while reserved not in (0, None) and time.monotonic() < deadline:
            time.sleep(0.5)
            reserved = self.reserved_bytes()
        check("no quota stays reserved by refused or abandoned uploads", reserved == 0, f"reserved_bytes = {reserved}")
        for directory in self.args.empty_dir:
            found = []
            for base, _, files in os.walk(directory):
                found += [os.path.join(base, f) for f in files if not f.startswith(".health-")]
            check(f"no temporary files left in {directory}", not found, f"{len(found)} left: {found[:5]}")
        if self.args.logs:
            problems, server_errors = [], []
            for entry, offset in sorted(self.log_offsets.items()):
                with open(os.path.join(self.args.logs, entry), "rb") as handle:
                    handle.seek(offset)
                    for raw in handle.read().splitlines():
                        line = raw.decode("utf-8", "replace")
                        if "Fatal error" in line or "unhandled error" in line or '"level":"critical"' in line:
                            problems.append(f"{entry}: {snippet(line, 400)}")
                        error = access_5xx(line)
                        if error:
                            server_errors.append(error)
            check("no unhandled error, crash or critical line in the services' logs", not problems, "; ".join(problems[:5]))
            check("no 5xx in the gateway's access log during the run", not server_errors, "; ".join(sorted(set(server_errors))[:10]))
            for line in problems[5:10]:
                note(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api", metavar="API_URL")
    parser.add_argument("token", metavar="ACCESS_TOKEN")
    parser.add_argument("--service", action="append", default=[], metavar="NAME=URL",
                        help="another service whose /readyz must stay 200 (blob's also gets slow-client probes)")
    parser.add_argument("--logs", metavar="DIR", help="the services' *.log files: scanned for crashes, unhandled errors and 5xx access lines")
    parser.add_argument("--empty-dir", action="append", default=[], metavar="DIR",
                        help="a directory that must hold no files after the run (blob's tmp/, thumbnail's scratch)")
    parser.add_argument("--slow-seconds", type=float, default=90,
                        help="how long slow clients are observed; the server must close them sooner (90: above the gateway's 60 s pool idle time)")
    parser.add_argument("--skip", action="append", default=[], choices=["oversize", "multipart", "names", "images", "requests", "slow"])
    args = parser.parse_args()
    for service in args.service:
        if "=" not in service:
            parser.error(f"--service wants NAME=URL, not {service}")

    run = Run(args)
    run.setup()
    groups = [("oversize", run.oversize), ("multipart", run.multipart_group), ("names", run.names), ("images", run.images),
              ("requests", run.requests)]
    if "slow" not in args.skip:
        run.start_slow_probes()
    for name, group in groups:
        if name in args.skip:
            continue
        run_group(name, group)
        run.readiness(name)
    if "slow" not in args.skip:
        print("--- slow", flush=True)
        run.many_half_open()
        run.judge_slow_probes()
        run.readiness("slow")
    print("--- leftovers", flush=True)
    run.leftovers()

    finish(run.started, "bad-input: {passed} ok, {failed} FAIL, {total} checks in {seconds:.0f}s")


if __name__ == "__main__":
    main()
