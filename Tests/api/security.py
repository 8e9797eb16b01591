#!/usr/bin/env python3
"""Attacks against a running Cirrus stack: the black-box check of the security hardening.

Every group below plays an attacker (or a careless deployment) and asserts what the hardened
stack does. Refusals are application/problem+json (RFC 9457, `status` equal to the HTTP
status); a refused request keeps nothing; no answer anywhere may be a 5xx.

Groups:
  paths      the account routes' per-address limit (30 a minute on register, login, refresh,
             bootstrap-admin) cannot be dodged with path variants (`/v1/auth/register/`,
             `//v1/auth/register`, `/v1/auth//register`): sent one after another, they meet
             the gateway's 429 (after at least 25, within 60 requests) with Retry-After and
             RateLimit-*, and a valid registration right after it is 429 and creates nothing; dot segments and encoded `/` or
             `\\` in a path are 400 and create nothing; a trailing slash is the same route (201)
  status     GET /v1/status is rate limited (RateLimit-Limit) and cached (two answers within a
             second are byte-identical); the gateway's public /metrics is 404, the internal
             services' /metrics are 200
  multipart  an upload's non-file fields before the file part are bounded (16 fields, 64 KiB):
             413 naming `multipart`, nothing kept; 3 extra fields are still fine
  csrf       a write authenticated by the session cookie alone needs a JSON body, same-origin
             Sec-Fetch-Site or the API's own Origin (403 otherwise, nothing changed); bearer
             requests are unaffected; login refuses cross-site and non-JSON requests (no cookie)
  lockout    failed logins lock (account, address), not the account: the owner still logs in
             from elsewhere; username and e-mail are one account
  secrets    (with --bin-dir) cirrus-gateway refuses a placeholder or weak
             CIRRUS_INTERNAL_SECRET (without printing it) and two sources at once, and starts
             with CIRRUS_INTERNAL_SECRET_FILE
  headers    security headers on every gateway answer, the router's own 404/405 included
  links      a link token does not carry the owner's id; replacing the content, disabling or
             deleting the owner ends old links; link tokens never reach the logs (--logs)

Usage:
  Tests/api/security.py API_URL --admin USER:PASSWORD --tier TIER_ID [--service NAME=URL]...
                        [--logs DIR] [--bin-dir DIR] [--skip GROUP]...
  e.g. Tests/api/security.py http://127.0.0.1:8080 --admin apiadmin:"$password" --tier "$tier" \\
         --service auth=http://127.0.0.1:8081 --service metadata=http://127.0.0.1:8082 ... \\
         --logs .local/logs --bin-dir .build/debug

The gateway must trust this client as a proxy (CIRRUS_GATEWAY_TRUSTED_PROXIES=127.0.0.1): each
check poses as its own client address with `X-Forwarded-For` (TEST-NET 203.0.113.0/24 and
198.51.100.0/24), so per-address budgets and lockouts never touch other suites or each other.
The admin account moves the test's users to TIER_ID (a tier with expiring links and links to
originals, link_min_seconds ≤ 600), disables and deletes some of them. The run registers users
`sec<run><role>` and leaves a folder `security-<time>` in one of them. Python 3 standard library
only. Prints one line per check (`ok` / `FAIL`), then `N passed, N failed`; exits 1 when any
check failed.
"""
import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apicheck
from apicheck import (LOCK, RESULTS, access_5xx, check, expect_problem, expect_status, finish, multipart, note, problem_issues,
                      q, run_group, snippet)

apicheck.configure(snippet_limit=200, problem_needs_title=False, statuses_outside_4xx=True)

SERVER_ERRORS = []  # every 5xx answer seen: "METHOD path → status"


# ---------------------------------------------------------------------------------------------
# HTTP: http.client sends the path exactly as given (no normalisation of `//`, `.`, `%2e`)
# ---------------------------------------------------------------------------------------------

class Answer(apicheck.Answer):
    """Also the request's method and path, and every Set-Cookie value; headers are lower-case
    name → value (repeated headers joined by ", "). No timing; an XML body prints as a size."""

    textual = ("json", "text")

    def __init__(self, method="", path="", status=None, headers=None, cookies=None, body=b"", error=None):
        super().__init__(status, headers, body, error)
        self.method, self.path = method, path
        self.cookies = cookies or []

    def __str__(self):
        return f"no answer ({self.error})" if self.error else super().__str__().rstrip()


def http_call(base, method, path, body=None, headers=None, timeout=30.0):
    """One request on a fresh connection. `base` is http://host:port; `path` is sent as is."""
    try:
        raw = apicheck.exchange(base, method, path, body, headers, timeout, agent="cirrus-security")
        answer = Answer(method, path, raw.status, raw.headers, raw.cookies, raw.body)
    except (OSError, http.client.HTTPException) as error:
        answer = Answer(method, path, error=f"{type(error).__name__}: {error}")
    if answer.status is not None and answer.status >= 500:
        with LOCK:
            SERVER_ERRORS.append(f"{method} {path.split('?')[0][:80]} → {answer.status} {snippet(answer.body, 120)}")
    return answer


# Made-up client addresses: TEST-NET-3, then TEST-NET-2.
ADDRESSES = apicheck.Addresses([f"203.0.113.{i}" for i in range(1, 255)] + [f"198.51.100.{i}" for i in range(1, 255)])


class Api:
    def __init__(self, url):
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme != "http":
            sys.exit(f"security: only http:// URLs are supported ({url})")
        self.origin = f"{parts.scheme}://{parts.hostname}:{parts.port or 80}"
        self.prefix = parts.path.rstrip("/")

    def call(self, method, path, body=None, *, json_body=None, content_type=None, token=None, address=None, cookie=None,
             headers=None, timeout=30.0):
        """body: bytes sent as is; json_body: encoded as JSON with Content-Type application/json
        (unless content_type says otherwise). address: the client address to pose as."""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        sent = {}
        if content_type:
            sent["Content-Type"] = content_type
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if cookie:
            sent["Cookie"] = cookie
        if address:
            sent["X-Forwarded-For"] = address
        sent.update(headers or {})
        return http_call(self.url, method, self.prefix + path, body, sent, timeout)


# ---------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------

def rate_limit_issues(answer):
    """A 429 of the gateway's own limit: Retry-After, RateLimit-*, and the documented problem
    type (auth's lockouts, e.g. of wrong bootstrap secrets, answer 429 too, with other types)."""
    if answer.status != 429:
        return []
    missing = [h for h in ("retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset") if h not in answer.headers]
    issues = [f"missing {', '.join(missing)}"] if missing else []
    kind = (answer.json or {}).get("type") if isinstance(answer.json, dict) else None
    if kind != "https://cirrus.dev/problems/rate-limited":
        issues.append(f"problem type {kind!r}: not the gateway's rate limit (…/problems/rate-limited)")
    return issues


def file_form(boundary, fields, filename, content):
    """A multipart upload: fields (name, value bytes) before the `file` part."""
    parts = [(b'name="' + name.encode() + b'"', value) for name, value in fields]
    file_part = (b'name="file"; filename="' + filename.encode() + b'"', content, b"Content-Type: application/octet-stream\r\n")
    return multipart(boundary, parts + [file_part])


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def b64url_decode(text):
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


class SetupError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

class Run:
    def __init__(self, args):
        self.args = args
        self.api = Api(args.api)
        self.services = dict(s.split("=", 1) for s in args.service)
        self.run_id = uuid.uuid4().hex[:6]
        self.started = time.monotonic()
        self.log_offsets = {}
        self.tokens = []  # every link token created: none may reach a log
        self.samples = {}  # answers kept for the headers group
        self.password = "Sec-" + secrets.token_hex(8) + "-9"

    # -- helpers -----------------------------------------------------------------------------

    def need(self, answer, what, statuses=(200, 201)):
        if answer.error or answer.status not in statuses:
            raise SetupError(f"{what}: {answer}")
        return answer.json if answer.body else {}

    def username(self, role):
        return f"sec{self.run_id}{role}"

    def register(self, role, address=None):
        name = self.username(role)
        answer = self.api.call("POST", "/v1/auth/register", json_body={"username": name, "email": f"{name}@example.com",
                                                                      "password": self.password}, address=address or ADDRESSES.fresh())
        return name, answer

    def login(self, login, password=None, address=None, **kwargs):
        return self.api.call("POST", "/v1/auth/login", json_body={"login": login, "password": password or self.password},
                             address=address or ADDRESSES.fresh(), **kwargs)

    def token_for(self, login):
        answer = self.login(login)
        return self.need(answer, f"logging in as {login}")["access_token"]

    def make_user(self, role, on_tier):
        """Register, optionally move to the tier, wait for the drive (and the tier in
        metadata), log in again: a dict with username, email, id, token."""
        address = ADDRESSES.fresh()
        name, answer = self.register(role, address)
        self.need(answer, f"registering {name}", (201,))
        user = {"username": name, "email": f"{name}@example.com"}
        token = self.need(self.login(name, address=address), f"logging in as {name}")["access_token"]
        user["id"] = self.need(self.api.call("GET", "/v1/me", token=token), f"GET /v1/me as {name}")["id"]
        if on_tier:
            self.need(self.api.call("PATCH", f"/v1/admin/users/{user['id']}", json_body={"tier_id": self.args.tier}, token=self.admin),
                      f"moving {name} to tier {self.args.tier}")
            token = self.need(self.login(name, address=address), f"logging in as {name} again")["access_token"]
        user["token"] = token
        deadline = time.monotonic() + 30
        while True:  # metadata creates the drive when it hears of the user (503 until then)
            root = self.api.call("GET", "/v1/folders/root", token=token)
            if root.status == 200:
                user["root"] = root.json["id"]
                break
            if time.monotonic() > deadline:
                raise SetupError(f"{name}'s drive did not appear within 30 s: {root}")
            time.sleep(0.25)
        while on_tier:  # and learns the tier from auth's event
            images = self.api.call("GET", "/v1/images", token=token)
            if images.status == 200 and ((images.json or {}).get("expiring_links") or {}).get("allowed") is True:
                break
            if time.monotonic() > deadline:
                raise SetupError(f"{name}'s tier did not reach metadata within 30 s: {images}")
            time.sleep(0.25)
        return user

    def user_exists(self, username):
        """Through the admin listing (no login, no budget)."""
        cursor = None
        while True:
            path = "/v1/admin/users?limit=1000" + (f"&cursor={q(cursor)}" if cursor else "")
            page = self.need(self.api.call("GET", path, token=self.admin), "listing users")
            if any(u.get("username") == username for u in page.get("items") or []):
                return True
            cursor = page.get("next_cursor")
            if not cursor:
                return False

    def delete_user(self, username):
        """Undo an account that a refused request created all the same."""
        cursor = None
        while True:
            path = "/v1/admin/users?limit=1000" + (f"&cursor={q(cursor)}" if cursor else "")
            page = self.api.call("GET", path, token=self.admin).json or {}
            for u in page.get("items") or []:
                if u.get("username") == username:
                    self.api.call("DELETE", f"/v1/admin/users/{u['id']}", token=self.admin)
                    return
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def children(self, folder, token):
        items, cursor = [], None
        while True:
            path = f"/v1/folders/{folder}/children?limit=1000" + (f"&cursor={q(cursor)}" if cursor else "")
            page = self.need(self.api.call("GET", path, token=token), "listing a folder")
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def names_in(self, folder, token):
        return [item["name"] for item in self.children(folder, token)]

    def upload(self, token, folder, name, content):
        return self.api.call("POST", f"/v1/files?folder_id={folder}&name={q(name)}", content, content_type="application/octet-stream", token=token)

    def discard(self, token, kind, item_id):
        self.api.call("DELETE", f"/v1/{kind}s/{item_id}", token=token)
        self.api.call("DELETE", f"/v1/trash/{item_id}", token=token)

    # -- setup -------------------------------------------------------------------------------

    def setup(self):
        if self.args.logs:
            for entry in sorted(os.listdir(self.args.logs)):
                path = os.path.join(self.args.logs, entry)
                if os.path.isfile(path):
                    self.log_offsets[entry] = os.path.getsize(path)
        admin_name, _, admin_password = self.args.admin.partition(":")
        self.admin = self.need(self.login(admin_name, admin_password), "logging in as the admin (--admin)")["access_token"]
        self.main = self.make_user("m", on_tier=True)
        self.other = self.make_user("d", on_tier=True)
        for role in ("l", "e"):  # lockout users: no drive needed
            name, answer = self.register(role)
            self.need(answer, f"registering {name}", (201,))
        folder = time.strftime("security-%Y%m%d-%H%M%S")
        self.work = self.need(self.api.call("POST", "/v1/folders", json_body={"name": folder, "parent_id": self.main["root"]},
                                            token=self.main["token"]), "creating the work folder")["id"]
        print(f"security against {self.api.url}: run {self.run_id}, users {self.main['username']} and {self.other['username']} "
              f"on tier {self.args.tier}, work folder {folder}", flush=True)

    # -- paths: normalisation and the account routes' limit ---------------------------------

    def paths(self):
        body = lambda name: {"username": name, "email": f"{name}@example.com", "password": self.password}
        variants = ["/v1/auth/register/", "//v1/auth/register", "/v1/auth//register", "/v1/auth/register"]
        rate_limited = "https://cirrus.dev/problems/rate-limited"

        def until_limited(send, bound=60):
            """Send one request after another (from one address) until the gateway's own 429
            (its problem type; auth's lockouts answer 429 too, with another type or none) or
            `bound` requests. The bucket refills at 0.5 a second while we send, so rather than
            counting on exactly 30 we go on until the limit bites, and check when it did."""
            answers, started = [], time.monotonic()
            for i in range(bound):
                answer = send(i)
                answers.append(answer)
                if answer.status == 429 and isinstance(answer.json, dict) and answer.json.get("type") == rate_limited:
                    return answers[:-1], answer, time.monotonic() - started
            return answers, None, time.monotonic() - started

        def expect_limited(label, before, limited, seconds, bound=60):
            """The gateway's 429 came, not before 25 requests (the limit is 30 a minute)."""
            count = len(before) + (1 if limited else 0)
            if limited is None:
                return check(f"{label} → the gateway's 429 within {bound} requests", False,
                             f"no 429 of type {rate_limited} after {count} requests ({seconds:.1f} s)")
            issues = problem_issues(limited, (429,)) + rate_limit_issues(limited)
            if count <= 25:
                issues.insert(0, f"the first 429 came already at request {count} (the limit is 30)")
            detail = f"429 at request {count} after {seconds:.1f} s"
            return check(f"{label} → the gateway's 429 (after at least 25, within {bound} requests) with Retry-After and RateLimit-*",
                         not issues, "; ".join([detail] + issues))

        address = ADDRESSES.fresh()
        before, limited, seconds = until_limited(lambda i: self.api.call("POST", variants[i % 4], b"{}", content_type="application/json",
                                                                         address=address))
        # At once (no pause: the bucket refills at one request per 2 s): a valid body, same address.
        victim = self.username("x")
        last = self.api.call("POST", "/v1/auth/register/", json_body=body(victim), address=address)
        tally = {}
        for i, answer in enumerate(before):
            tally.setdefault(variants[i % 4], []).append(answer.status if not answer.error else "error")
        bad = [f"{v}: {sorted(set(map(str, s)))}" for v, s in tally.items() if any(x != 422 for x in s)]
        check(f"POSTs of {{}} from one address, cycling /v1/auth/register/, //v1/auth/register, /v1/auth//register, "
              "/v1/auth/register → 422 each until the limit (the same route, nothing created)", not bad,
              "; ".join(bad) if bad else f"{len(before)} × 422")
        problems = [a for a in before if a.status == 422]
        if problems:
            expect_problem("the 422 answers are problem+json", problems[0], 422)
        expect_limited("those POSTs (every variant counts against the one limit)", before, limited, seconds)
        if limited is not None:
            self.samples["429 (register)"] = limited
        expect_problem("right after the 429: POST /v1/auth/register/ (a valid body) from that address → 429 with Retry-After and RateLimit-*",
                       last, 429, extra=rate_limit_issues(last))
        login = self.login(victim)
        expect_status("… and that user does not exist afterwards (login from another address → 401)", login, 401)
        if last.status == 201 or login.status == 200:
            self.delete_user(victim)

        address = ADDRESSES.fresh()
        admin_body = json.dumps(body(self.username("b"))).encode()
        wrong = {"X-Bootstrap-Secret": "not-the-bootstrap-secret-" + secrets.token_hex(4)}
        before, limited, seconds = until_limited(lambda _: self.api.call("POST", "/v1/auth/bootstrap-admin/", admin_body,
                                                                         content_type="application/json", address=address, headers=wrong))
        statuses = sorted({a.status for a in before if not a.error})
        check("POSTs to /v1/auth/bootstrap-admin/ with a wrong X-Bootstrap-Secret until the limit → none 2xx (auth's own 429s after "
              "10 wrong secrets do not count as the gateway's limit)",
              all(a.status and a.status < 500 and not 200 <= a.status < 300 for a in before), f"statuses {statuses}")
        expect_limited("those POSTs to /v1/auth/bootstrap-admin/ from one address", before, limited, seconds)
        if limited is not None:
            self.samples.setdefault("429 (bootstrap-admin)", limited)

        # Dot segments and encoded separators: refused before routing, nothing created.
        address = ADDRESSES.fresh()
        for i, path in enumerate(["/v1/auth/./register", "/v1/auth/../auth/register", "/v1/auth/%2e%2e/auth/register", "/v1/auth%2Fregister",
                                  "/v1/auth%5Cregister"]):
            name = self.username(f"p{i}")
            answer = self.api.call("POST", path, json_body=body(name), address=address)
            created = answer.status is not None and 200 <= answer.status < 300
            exists = self.user_exists(name)
            expect_problem(f"POST {path} (a valid body) → 400 problem+json, no account created", answer, 400,
                           extra=(["a 2xx"] if created else []) + ([f"user {name} exists afterwards"] if exists else []))
            if i == 0:
                self.samples["400 (dot segment)"] = answer
            if exists:
                self.delete_user(name)
        path = "/v1/files/%2e%2e/folders/root"
        answer = self.api.call("GET", path, token=self.main["token"], address=address)
        expect_problem(f"GET {path} (with a token) → 400 problem+json, never the root folder", answer, 400,
                       extra=["answered 2xx"] if answer.status and 200 <= answer.status < 300 else [])

        name = self.username("c")
        answer = self.api.call("POST", "/v1/auth/register/", json_body=body(name), address=ADDRESSES.fresh())
        expect_status("POST /v1/auth/register/ (trailing slash, a valid body, a fresh address) → 201 (the same route)", answer, 201)

    # -- status and metrics ------------------------------------------------------------------

    def status(self):
        address = ADDRESSES.fresh()
        first = self.api.call("GET", "/v1/status", address=address)
        expect_status("GET /v1/status carries RateLimit-Limit (rate limited per address)", first, 200,
                      extra=[] if "ratelimit-limit" in first.headers else ["no RateLimit-Limit header"])
        started = time.monotonic()
        a = self.api.call("GET", "/v1/status", address=address)
        b = self.api.call("GET", "/v1/status", address=address)
        elapsed = time.monotonic() - started
        issues = []
        if a.error or b.error:
            issues.append(f"{a} / {b}")
        elif a.body != b.body:
            issues.append(f"the bodies differ: {snippet(a.body, 150)} / {snippet(b.body, 150)}")
        if elapsed >= 1:
            issues.append(f"the two requests took {elapsed:.2f} s (cannot judge)")
        check("two GET /v1/status within a second → byte-identical bodies (cached)", not issues, "; ".join(issues) if issues else f"{elapsed:.2f} s")
        expect_status("GET /metrics on the gateway's public port → 404", self.api.call("GET", "/metrics", address=address), 404)
        for name in ("auth", "metadata", "blob", "thumbnail"):
            if name in self.services:
                answer = http_call(self.services[name], "GET", "/metrics")
                expect_status(f"GET /metrics on {name} (internal) → 200", answer, 200)

    # -- multipart preamble ------------------------------------------------------------------

    def multipart_group(self):
        token = self.main["token"]
        boundary = b"security-boundary-" + secrets.token_hex(4).encode()
        content_type = "multipart/form-data; boundary=" + boundary.decode()

        def send(name, extra):
            fields = [("folder_id", self.work.encode()), ("name", name.encode())] + extra
            body = file_form(boundary, fields, name, b"a small file\n")
            return self.api.call("POST", "/v1/files", body, content_type=content_type, token=token)

        def nothing_kept(label, name, answer):
            if answer.status in (200, 201) and isinstance(answer.json, dict) and answer.json.get("id"):
                listed = name in self.names_in(self.work, token)
                check(f"{label}: nothing kept", not listed, f"file {name!r} exists after the request")
                self.discard(token, "file", answer.json["id"])
                return
            listed = name in self.names_in(self.work, token)
            free = self.upload(token, self.work, name, b"the name is free\n")
            deadline = time.monotonic() + 5  # a cancelled reservation may trail the refusal a moment
            while free.status == 409 and time.monotonic() < deadline:
                time.sleep(0.3)
                free = self.upload(token, self.work, name, b"the name is free\n")
            issues = ([f"file {name!r} listed"] if listed else []) + ([f"uploading {name!r} afterwards: {free}"] if free.status != 201 else [])
            check(f"{label}: nothing kept (no file, the name is free)", not issues, "; ".join(issues))

        fields = [(f"x{i}", b"0123456789") for i in range(1, 18)]
        answer = send("seventeen-fields.txt", fields)
        expect_problem("upload with 17 extra text fields (10 bytes each) before the file part → 413 naming multipart", answer, 413, field="multipart")
        nothing_kept("17 extra fields", "seventeen-fields.txt", answer)

        fields = [(f"y{i}", b"z" * 4096) for i in range(1, 17)]
        answer = send("large-preamble.txt", fields)
        expect_problem("upload with 16 extra fields of 4,096 bytes (> 64 KiB) before the file part → 413 naming multipart", answer, 413,
                       field="multipart")
        nothing_kept("64 KiB preamble", "large-preamble.txt", answer)

        answer = send("three-fields.txt", [(f"w{i}", b"0123456789") for i in range(1, 4)])
        expect_status("upload with 3 extra fields → 201 (still accepted)", answer, 201)

    # -- cookie-authenticated writes ---------------------------------------------------------

    def csrf(self):
        user, token = self.main, self.main["token"]
        login = self.login(user["username"])
        cookie = None
        for header in login.cookies:  # `__Host-cirrus_access` when the stack runs with Secure cookies
            name, _, rest = header.partition("=")
            if name.strip() in ("cirrus_access", "__Host-cirrus_access") and rest.split(";", 1)[0]:
                cookie = f"{name.strip()}={rest.split(';', 1)[0]}"
        if login.status != 200 or not cookie:
            raise SetupError(f"logging in for the cookie: {login} (Set-Cookie: {login.cookies})")
        root = user["root"]

        def folder(name, **kwargs):
            body = json.dumps({"parent_id": root, "name": name}).encode()
            return self.api.call("POST", "/v1/folders", body, cookie=cookie, **kwargs)

        def refused_folder(label, name, answer):
            listed = [i for i in self.children(root, token) if i["name"] == name]
            expect_problem(label, answer, 403, extra=[f"folder {name!r} exists afterwards"] if listed else [])
            for item in listed:
                self.discard(token, "folder", item["id"])

        refused_folder("cookie only, POST /v1/folders with Content-Type text/plain → 403, no folder csrf-a", "csrf-a",
                       folder("csrf-a", content_type="text/plain"))
        refused_folder("cookie only, POST /v1/folders with no Content-Type → 403, no folder csrf-b", "csrf-b", folder("csrf-b"))
        expect_status("cookie, POST /v1/folders with Content-Type application/json → 201", folder("csrf-c", content_type="application/json"), 201)
        answer = folder("csrf-d", content_type="text/plain", headers={"Sec-Fetch-Site": "same-origin"})
        check("cookie, text/plain with Sec-Fetch-Site: same-origin → not 403 (a normal request)",
              not answer.error and answer.status != 403 and answer.status < 500, str(answer))

        files = []
        for i in range(3):
            files.append(self.need(self.upload(token, self.work, f"csrf-{i}.txt", b"csrf target\n"), f"uploading csrf-{i}.txt")["id"])

        def listed(file_id):
            return file_id in [i["id"] for i in self.children(self.work, token)]

        answer = self.api.call("DELETE", f"/v1/files/{files[0]}", cookie=cookie)
        still = listed(files[0])
        expect_problem("cookie only, DELETE /v1/files/{id} with no Content-Type → 403, the file still listed", answer, 403,
                       extra=[] if still else ["the file is gone from its folder"])
        if not still:
            self.api.call("POST", f"/v1/trash/{files[0]}/restore", token=token)
        answer = self.api.call("DELETE", f"/v1/files/{files[0]}", cookie=cookie, headers={"Origin": self.api.origin})
        expect_status(f"cookie, DELETE /v1/files/{{id}} with Origin: {self.api.origin} → 204", answer, 204)
        answer = self.api.call("DELETE", f"/v1/files/{files[1]}", token=token)
        expect_status("bearer token, DELETE /v1/files/{id} with no Content-Type → 204 (unaffected)", answer, 204)

        # Login CSRF: a cross-site form or fetch must not plant a session cookie.
        address = ADDRESSES.fresh()
        credentials = json.dumps({"login": user["username"], "password": self.password}).encode()
        cases = [("Content-Type text/plain (a JSON body)", "text/plain", {}, (403, 415)),
                 ("Content-Type application/json, Sec-Fetch-Site: cross-site", "application/json", {"Sec-Fetch-Site": "cross-site"}, (403,)),
                 ("Content-Type application/json, Origin: https://evil.example", "application/json", {"Origin": "https://evil.example"}, (403,))]
        for label, kind, headers, statuses in cases:
            answer = self.api.call("POST", "/v1/auth/login", credentials, content_type=kind, address=address, headers=headers)
            expect_problem(f"POST /v1/auth/login with {label} → {'/'.join(map(str, statuses))}, no Set-Cookie", answer, statuses,
                           extra=[f"Set-Cookie: {snippet(c, 60)}" for c in answer.cookies])

    # -- login lockout -----------------------------------------------------------------------

    def lockout(self):
        user = self.username("l")
        a, b = ADDRESSES.fresh(), ADDRESSES.fresh()
        wrong = [self.login(user, "Wrong-password-1", address=a) for _ in range(5)]
        bad = [str(w) for w in wrong if problem_issues(w, (401,))]
        check(f"5 wrong passwords for {user} from {a} → 401 problem+json each", not bad, "; ".join(bad[:2]))
        sixth = self.login(user, address=a)
        expect_problem(f"the 6th try from {a}, with the right password → 429 with Retry-After", sixth, 429,
                       extra=[] if sixth.status != 429 or "retry-after" in sixth.headers else ["no Retry-After"])
        owner = self.login(user, address=b)
        ok = owner.status == 200 and isinstance(owner.json, dict) and bool(owner.json.get("access_token"))
        check(f"the right password from another address ({b}) → 200 with an access_token (the owner is not locked out)", ok, str(owner))

        user = self.username("e")
        email = f"{user}@example.com"
        c = ADDRESSES.fresh()
        wrong = [self.login(user, "Wrong-password-2", address=c) for _ in range(3)] + [self.login(email, "Wrong-password-3", address=c) for _ in range(2)]
        bad = [str(w) for w in wrong if problem_issues(w, (401,))]
        check(f"3 wrong passwords with the username, then 2 with the e-mail, from {c} → 401 each", not bad, "; ".join(bad[:2]))
        last = self.login(email, address=c)
        expect_problem(f"then the right password with the e-mail from {c} → 429 (username and e-mail are one account)", last, 429,
                       extra=[] if last.status != 429 or "retry-after" in last.headers else ["no Retry-After"])

    # -- secrets -----------------------------------------------------------------------------

    def secrets_group(self):
        binary = os.path.join(self.args.bin_dir, "cirrus-gateway")
        if not os.access(binary, os.X_OK):
            check(f"{binary} is there", False, "not an executable")
            return
        with tempfile.TemporaryDirectory(prefix="cirrus-security-") as scratch:
            good = secrets.token_hex(32)
            secret_file = os.path.join(scratch, "internal-secret")
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(good + "\n")

            def start(label, extra_env):
                """Runs the gateway alone for at most 10 s: (its exit code if it stopped by itself,
                else None; whether GET /healthz answered 200; its stdout; its stderr)."""
                port = free_port()
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", scratch),
                       "CIRRUS_HTTP_HOST": "127.0.0.1", "CIRRUS_HTTP_PORT": str(port), "CIRRUS_LOG_FORMAT": "json",
                       "CIRRUS_GATEWAY_ACCESS_LOG": "off", "CIRRUS_SHUTDOWN_TIMEOUT_SECONDS": "5"}
                for name in ("auth", "metadata", "blob", "thumbnail"):
                    env[f"CIRRUS_{name.upper()}_URL"] = self.services.get(name, f"http://127.0.0.1:{free_port()}")
                env.update(extra_env)
                out_path, err_path = os.path.join(scratch, label + ".out"), os.path.join(scratch, label + ".err")
                code, healthy = None, False
                with open(out_path, "wb") as out, open(err_path, "wb") as err:
                    process = subprocess.Popen([binary], env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
                try:
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        code = process.poll()
                        if code is not None:
                            break
                        if http_call(f"http://127.0.0.1:{port}", "GET", "/healthz", timeout=2).status == 200:
                            healthy = True
                            break
                        time.sleep(0.2)
                finally:  # whatever happened: stop it (by its pid), TERM then KILL
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
                        try:
                            process.wait(timeout=10)
                        except subprocess.TimeoutExpired:
                            process.kill()
                            process.wait()
                with open(out_path, "rb") as out, open(err_path, "rb") as err:
                    return code, healthy, out.read(), err.read()

            def refused(label, env, value, name_key):
                code, healthy, out, err = start(label, env)
                issues = []
                if healthy:
                    issues.append("it started (GET /healthz 200)")
                elif code is None:
                    issues.append("it neither exited nor answered within 10 s")
                elif code == 0:
                    issues.append("exit code 0")
                if value and (value.encode() in out or value.encode() in err):
                    issues.append("its output contains the secret's value")
                if name_key and not issues and b"CIRRUS_INTERNAL_SECRET" not in err:
                    issues.append(f"stderr does not name CIRRUS_INTERNAL_SECRET: {snippet(err)}")
                return issues, code, err

            placeholder = "change-me-internal-secret-at-least-32-chars"
            issues, code, err = refused("placeholder", {"CIRRUS_INTERNAL_SECRET": placeholder}, placeholder, True)
            check("cirrus-gateway with the .env.example placeholder CIRRUS_INTERNAL_SECRET → exits non-zero within 10 s, "
                  "stderr names the key, not the value", not issues, "; ".join(issues) if issues else f"exit {code}: {snippet(err, 120)}")
            weak = "a" * 40
            issues, code, err = refused("weak", {"CIRRUS_INTERNAL_SECRET": weak}, weak, False)
            check("cirrus-gateway with CIRRUS_INTERNAL_SECRET=aaaa… (40 × a, known weak) → exits non-zero, value not echoed", not issues,
                  "; ".join(issues) if issues else f"exit {code}: {snippet(err, 120)}")
            code, healthy, out, err = start("file", {"CIRRUS_INTERNAL_SECRET_FILE": secret_file})
            issues = [] if healthy else [f"did not start: exit {code}: {snippet(err)}"]
            if good.encode() in out or good.encode() in err:
                issues.append("its output contains the secret")
            check("cirrus-gateway with only CIRRUS_INTERNAL_SECRET_FILE (0600, 64 hex characters and a newline) → starts, /healthz 200",
                  not issues, "; ".join(issues))
            issues, code, err = refused("both", {"CIRRUS_INTERNAL_SECRET_FILE": secret_file, "CIRRUS_INTERNAL_SECRET": secrets.token_hex(32)},
                                        good, False)
            check("cirrus-gateway with both CIRRUS_INTERNAL_SECRET and CIRRUS_INTERNAL_SECRET_FILE → exits non-zero", not issues,
                  "; ".join(issues) if issues else f"exit {code}: {snippet(err, 120)}")

    # -- security headers --------------------------------------------------------------------

    def headers(self):
        def expect_headers(label, answer):
            if answer is None:
                check(f"security headers on {label}", False, "no such answer was produced")
                return
            if answer.error:
                check(f"security headers on {label}", False, str(answer))
                return
            h = answer.headers
            issues = []
            if h.get("x-content-type-options", "").lower() != "nosniff":
                issues.append(f"X-Content-Type-Options {h.get('x-content-type-options')!r}")
            if h.get("x-frame-options", "").upper() != "DENY":
                issues.append(f"X-Frame-Options {h.get('x-frame-options')!r}")
            if "default-src 'none'" not in h.get("content-security-policy", ""):
                issues.append(f"Content-Security-Policy {h.get('content-security-policy')!r}")
            if h.get("referrer-policy", "").lower() != "no-referrer":
                issues.append(f"Referrer-Policy {h.get('referrer-policy')!r}")
            if "cache-control" not in h:
                issues.append("no Cache-Control")
            check(f"security headers on {label}", not issues, ("status " + str(answer.status) + ": " + "; ".join(issues)) if issues
                  else str(answer.status))

        address = ADDRESSES.fresh()
        expect_headers("GET /no-such-route (the router's 404)", self.api.call("GET", "/no-such-route", address=address))
        expect_headers("POST /healthz (wrong method)", self.api.call("POST", "/healthz", b"", address=address))
        answer = self.api.call("GET", "/v1/files", address=address)
        expect_headers(f"GET /v1/files without a token ({answer.status})", answer)
        sample = next((a for k, a in self.samples.items() if k.startswith("429")), None)
        if sample is None:
            # Check `paths` saw no 429 (it failed there): make one on the canonical path.
            address = ADDRESSES.fresh()
            with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
                answers = list(pool.map(lambda _: self.api.call("POST", "/v1/auth/register", b"{}", content_type="application/json", address=address),
                                        range(32)))
            sample = next((a for a in answers if a.status == 429), None) or self.api.call("POST", "/v1/auth/register", b"{}",
                                                                                          content_type="application/json", address=address)
            note(f"(no 429 from the path checks; made one with 32 POSTs to /v1/auth/register: {sample.status})")
        expect_headers("a 429 of the account routes' limit", sample)
        expect_headers("the answer to POST /v1/auth/./register (a dot segment: 400)", self.samples.get("400 (dot segment)"))
        answer = self.api.call("GET", "/v1/folders/root", token=self.main["token"])
        expect_headers(f"GET /v1/folders/root with a token ({answer.status})", answer)

    # -- links -------------------------------------------------------------------------------

    def links(self):
        user, token = self.main, self.main["token"]
        follower = ADDRESSES.fresh()

        def make_link(file_id, owner_token):
            answer = self.api.call("POST", f"/v1/files/{file_id}/links", json_body={"variant": "original", "expires_in": 600}, token=owner_token)
            link = answer.json if answer.status == 201 and isinstance(answer.json, dict) else None
            if link and link.get("token"):
                self.tokens.append(link["token"])
            return answer, link

        def follow(link):
            path = urllib.parse.urlsplit(link["url"]).path
            return http_call(self.api.url, "GET", path, headers={"X-Forwarded-For": follower})

        def poll(link, wanted, seconds):
            deadline, answer = time.monotonic() + seconds, None
            while True:
                answer = follow(link)
                if answer.status == wanted or time.monotonic() > deadline:
                    return answer, time.monotonic() - (deadline - seconds)
                time.sleep(0.25)

        def ready_file(owner_token, name, content):
            item = self.need(self.upload(owner_token, self.work if owner_token == token else self.other_root, name, content), f"uploading {name}")
            deadline = time.monotonic() + 10
            while item.get("state") not in (None, "ready") and time.monotonic() < deadline:
                time.sleep(0.25)
                item = self.api.call("GET", f"/v1/files/{item['id']}", token=owner_token).json or item
            return item

        self.other_root = self.other["root"]
        original = b"the original bytes of a linked file\n"
        item = ready_file(token, "linked.txt", original)
        answer, link = make_link(item["id"], token)
        ok = link is not None and bool(link.get("url")) and bool(link.get("token"))
        check("POST /v1/files/{id}/links {variant: original, expires_in: 600} → 201 with url and token", ok, str(answer))
        if not ok:
            return

        owner = user["id"].lower()
        owner_uuid = uuid.UUID(owner)
        leaks = []
        for part in link["token"].split("."):
            decoded = b64url_decode(part)
            if decoded is None:
                continue
            text = decoded.decode("latin-1").lower()
            if owner in text or owner.replace("-", "") in text or owner_uuid.bytes in decoded:
                leaks.append(snippet(decoded, 120))
        check("the link token's payload does not carry the owner's user id", not leaks, f"decoded: {'; '.join(leaks)}")

        answer = follow(link)
        expect_status("following the link (no auth) → 200 with the bytes", answer, 200,
                      extra=[] if answer.body == original or answer.status != 200 else [f"other bytes: {snippet(answer.body)}"])

        replaced = self.api.call("PUT", f"/v1/files/{item['id']}/content", b"new bytes after a replace\n", content_type="application/octet-stream",
                                 token=token)
        if replaced.status not in (200, 201):
            check("PUT /v1/files/{id}/content (replace the content)", False, str(replaced))
        else:
            answer = follow(link)
            expect_status("after PUT /v1/files/{id}/content, the old link → 404", answer, 404,
                          extra=[f"it serves the new bytes: {snippet(answer.body, 60)}"] if answer.status == 200 else [])
            _, fresh = make_link(item["id"], token)
            if fresh:
                answer = follow(fresh)
                expect_status("a link made after the replace → 200 with the new bytes", answer, 200,
                              extra=[] if answer.status != 200 or answer.body == b"new bytes after a replace\n" else ["other bytes"])
            else:
                check("a link made after the replace", False, "could not create it")

        # Disabled owner: links stop while the account is disabled, and work again after.
        _, link = make_link(item["id"], token)
        if not link:
            check("a link before disabling the owner", False, "could not create it")
        else:
            before = follow(link)
            expect_status("a link of the owner, before disabling them → 200", before, 200)
            for disabled, status, expectation in ((True, 404, "the owner disabled (admin PATCH {disabled: true}) → the link answers 404 within 5 s"),
                                                  (False, 200, "re-enabled (admin PATCH {disabled: false}) → the link works again within 5 s")):
                patch = self.api.call("PATCH", f"/v1/admin/users/{user['id']}", json_body={"disabled": disabled}, token=self.admin)
                if patch.status != 200:
                    check(f"admin PATCH {{disabled: {'true' if disabled else 'false'}}}", False, str(patch))
                else:
                    answer, took = poll(link, status, 5)
                    expect_status(expectation, answer, status)
                    if disabled and answer.status == 404:
                        note(f"(after {took:.1f} s)")

        # Deleted owner: their links end.
        item = ready_file(self.other["token"], "deleted-owner.txt", b"owned by a user about to be deleted\n")
        _, link = make_link(item["id"], self.other["token"])
        if not link:
            check("a link of the user to delete", False, "could not create it")
            return
        expect_status("a link of another user, before deleting them → 200", follow(link), 200)
        deleted = self.api.call("DELETE", f"/v1/admin/users/{self.other['id']}", token=self.admin)
        if deleted.status not in (200, 204):
            check("admin DELETE /v1/admin/users/{id}", False, str(deleted))
            return
        answer, took = poll(link, 404, 10)
        expect_status("the owner deleted (admin DELETE /v1/admin/users/{id}) → the link answers 404 within 10 s", answer, 404)
        if answer.status == 404:
            note(f"(after {took:.1f} s)")

    # -- leftovers ---------------------------------------------------------------------------

    def leftovers(self):
        if self.args.logs:
            time.sleep(0.5)  # let the services write their last lines
            found, server_errors = [], []
            needles = [(t, t.encode()) for t in self.tokens] + [(t, t.split(".")[-1].encode()) for t in self.tokens if t.count(".") >= 2]
            for entry in sorted(os.listdir(self.args.logs)):
                path = os.path.join(self.args.logs, entry)
                if not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
                for token, needle in needles:
                    if len(needle) >= 16 and needle in data:
                        found.append(f"{entry} holds {'a token' if needle == token.encode() else 'a token signature'} ({token[:12]}…)")
                if entry == "gateway.log":
                    for raw in data[self.log_offsets.get(entry, 0):].splitlines():
                        error = access_5xx(raw)
                        if error:
                            server_errors.append(error)
            check(f"no link token (of {len(self.tokens)}) in any file of {self.args.logs}", self.tokens and not found,
                  "; ".join(sorted(set(found))[:6]) if found else ("no tokens were created" if not self.tokens else ""))
            check("no 5xx in the gateway's access log during the run", not server_errors, "; ".join(sorted(set(server_errors))[:10]))
        check("no 5xx answer to any request of this run", not SERVER_ERRORS, "; ".join(SERVER_ERRORS[:8]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api", metavar="API_URL")
    parser.add_argument("--admin", required=True, metavar="USER:PASSWORD", help="an admin account (moves, disables and deletes test users)")
    parser.add_argument("--tier", required=True, metavar="TIER_ID", help="a tier with expiring links and links to originals")
    parser.add_argument("--service", action="append", default=[], metavar="NAME=URL",
                        help="an internal service (auth, metadata, blob, thumbnail): its /metrics must answer; the gateway of the secrets group uses them")
    parser.add_argument("--logs", metavar="DIR", help="the services' logs: no link token may appear in them; the gateway's access log has no 5xx")
    parser.add_argument("--bin-dir", metavar="DIR", help="where cirrus-gateway is (the secrets group starts it; skipped without)")
    groups = ["paths", "status", "multipart", "csrf", "lockout", "secrets", "headers", "links"]
    parser.add_argument("--skip", action="append", default=[], choices=groups)
    args = parser.parse_args()
    for service in args.service:
        if "=" not in service:
            parser.error(f"--service wants NAME=URL, not {service}")
    if ":" not in args.admin:
        parser.error("--admin wants USER:PASSWORD")

    # A TERM (the runner stopping) unwinds like Ctrl-C, so a gateway started by `secrets` is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = Run(args)
    try:
        run.setup()
    except SetupError as error:
        check("setup (admin login, test users on the tier, their drives)", False, str(error))
        print(f"\n0 passed, {len(RESULTS)} failed")
        sys.exit(1)
    steps = [("paths", run.paths), ("status", run.status), ("multipart", run.multipart_group), ("csrf", run.csrf), ("lockout", run.lockout),
             ("secrets", run.secrets_group), ("headers", run.headers), ("links", run.links)]
    for name, group in steps:
        if name in args.skip:
            continue
        if name == "secrets" and not args.bin_dir:
            note("(secrets: skipped, no --bin-dir)")
            continue
        run_group(name, group)
    print("--- leftovers", flush=True)
    run.leftovers()

    finish(run.started, "security: {total} checks in {seconds:.0f}s", "{passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
