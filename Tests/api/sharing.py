#!/usr/bin/env python3
"""Sharing end to end through the gateway (issue 17, docs/sharing.md): shares with users, public
links, folder ZIPs, their events. Black box: only the running stack's public API (and, for the
events, metadata's outbox table read with psql, as operations.py reads the outboxes).

Groups:
  matrix       an owner's folder "Shared ä" (a subfolder, a PNG with its thumbnails) shared with an
               editor (role editor) and a viewer (the default role); every id route of the sharing
               spec asserted for owner / editor / viewer / stranger / anonymous, one check a cell:
               reads (folder, children, file, content GET and HEAD with Range, versions,
               thumbnails, ZIP, search below a folder), owner-only routes (shares, public links,
               expiring links, thumbnail retry), writes on fresh items per role (new folder,
               upload, PUT content, rename, move within the share, folder rename, trash of a
               file and of a folder, copy within the share, copy into the caller's own drive)
  revocation   revoked → the next request is 404 (the viewer's expiring link too), shared-with-me
               drops it; the recipient leaves; viewer → editor makes writes work on the next
               request (and back)
  quota        an editor's upload counts on the owner's quota, not the editor's; an owner on a
               small tier: the editor's upload (and PUT content) beyond it is 507
  move-out     a file the owner moves out of the shared folder is 404 to the viewer (moved back:
               200); a trashed shared folder is 404 until restored
  editor       an editor cannot rename/move/trash the shared folder (403 share-role), cannot move
               items to their own drive (422 parent_id); their trash goes to the owner's trash
  shared-with-me  paging (limit=2, next_cursor), bad cursor/limit 422; share validation (user
               missing/unknown/self, role, root 409), re-share → 200 with the new role, by e-mail;
               recipients: shares 403, parent_id null on the shared item
  public-links password (401 / 403 / 200 with X-Robots-Tag noindex and Cache-Control no-store),
               children, downloads (bytes, the counter), thumbnails, form POSTs (content, ZIP),
               lockout after 10 wrong passwords (429 with Retry-After), expires_in bounds (422),
               expiry (410), revocation (404), a file's link, subtree (404 outside), forged tokens
  zip          a tree with non-ASCII names, empty and nested empty folders, random bytes: owner,
               viewer, public link (header and form), a subfolder by folder_id, trashed files left
               out; `unzip -t` passes, zipfile lists every entry and returns every byte
  afterwards   what outlives a share ends with it: a revoked (or lowered) editor's resumable upload
               (the owner's reservation freed at once; its next PATCH and HEAD 404, also after
               sharing again), a disabled recipient's expiring link (404 while disabled), a
               deleted editor's upload in progress (the owner's reserved bytes freed)
  events       (with --metadata-db) share.created / share.updated / share.revoked (revoked, left,
               item_deleted, user_deleted) in metadata's outbox with the documented payloads, keyed
               by the item id, and published by the relay

Usage: sharing.py API_URL --admin USER:PASSWORD [--metadata-db URL] [--skip GROUP]...
  e.g. Tests/api/sharing.py http://127.0.0.1:8080 --admin apiadmin:"$password" \\
         --metadata-db "postgres://cirrus:$PGPASSWORD@127.0.0.1:$PG_PORT/metadata"
The admin account creates two tiers (sharing-<run>: links from 2 s; sharing-small-<run>: a
300,000-byte quota), registers users `sh<run><role>` and deletes one of them. When the gateway
trusts this client as a proxy (CIRRUS_GATEWAY_TRUSTED_PROXIES=127.0.0.1, as run-on-stack.sh
sets it), registrations and visitors pose as TEST-NET-1 addresses (X-Forwarded-For), so the
account routes' per-address limit is not this run's. Needs `unzip` (and `psql` for the events).
Python 3 standard library only. Prints one line per check (`ok` / `FAIL`); exits 1 when any
check failed.
"""
import argparse
import base64
import hashlib
import http.client
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.parse
import uuid
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apicheck
from apicheck import LOCK, RESULTS, Answer, check, finish, note, problem_issues, q, run_group, snippet
from apicheck import png as apicheck_png

apicheck.configure(snippet_limit=200, statuses_outside_4xx=True)

SHARE_ROLE = "https://cirrus.dev/problems/share-role"
LINK_PASSWORD = "https://cirrus.dev/problems/link-password"
LINK_NOT_FOUND = "https://cirrus.dev/problems/public-link-not-found"
LINK_EXPIRED = "https://cirrus.dev/problems/link-expired"
ROLES = ("owner", "editor", "viewer", "stranger", "anonymous")
LINK_MIN_SECONDS = 2  # the sharing tier's link_min_seconds (the admin API allows 1 and up)
SMALL_QUOTA = 300_000  # the small tier's quota_bytes

SERVER_ERRORS = []  # every unexpected 5xx answer (507 is an expected answer here): "METHOD path → status"


# ---------------------------------------------------------------------------------------------
# HTTP: http.client, one connection per request, no proxies from the environment
# ---------------------------------------------------------------------------------------------

def http_call(base, method, path, body=None, headers=None, timeout=120.0):
    """One request; `path` is sent as is (ASCII: percent-encode names). Header names of the
    answer are lower-case (repeated ones joined by ", ")."""
    started = time.monotonic()
    try:
        raw = apicheck.exchange(base, method, path, body, headers, timeout, agent="cirrus-sharing", zero_length_writes=True,
                                early_answer=True)
        answer = Answer(raw.status, raw.headers, raw.body, seconds=time.monotonic() - started)
    except (OSError, http.client.HTTPException) as error:
        answer = Answer(error=f"{type(error).__name__}: {error}", seconds=time.monotonic() - started)
    if answer.status is not None and answer.status >= 500 and answer.status != 507:
        with LOCK:
            SERVER_ERRORS.append(f"{method} {path.split('?')[0][:90]} → {answer.status} {snippet(answer.body, 120)}")
    return answer


# Made-up client addresses: TEST-NET-1, 192.0.2.10-179 (webdav.py uses .180).
ADDRESSES = apicheck.Addresses(f"192.0.2.{i}" for i in range(10, 180))


class Api:
    def __init__(self, url):
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme != "http":
            sys.exit(f"sharing: only http:// URLs are supported ({url})")
        self.prefix = parts.path.rstrip("/")

    def call(self, method, path, body=None, *, json_body=None, content_type=None, token=None, headers=None, address=None):
        """body: bytes as is; json_body: JSON (application/json). token None: anonymous."""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        sent = {}
        if content_type:
            sent["Content-Type"] = content_type
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if address:
            sent["X-Forwarded-For"] = address
        sent.update(headers or {})
        return http_call(self.url, method, self.prefix + path, body, sent)


# ---------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------

def problem_type(answer):
    body = answer.json
    return body.get("type") if isinstance(body, dict) else None


def expect(name, answer, status, field=None, kind=None, extra=None, problem=True):
    """Exactly `status`. A 4xx must be a problem (application/problem+json, `status` equal),
    naming `field` and of type `kind` when given (not for HEAD: `problem=False`); `extra`: more
    issues found by the caller."""
    issues = []
    if answer.error or answer.status != status:
        issues.append(f"expected {status}, got {answer}")
    elif status >= 400 and problem:
        if 400 <= status < 500:
            issues += [i for i in problem_issues(answer, (status,), field) if not i.startswith("answer:")]
        elif not answer.headers.get("content-type", "").startswith("application/problem+json"):
            issues.append(f"Content-Type {answer.headers.get('content-type')!r}, not application/problem+json")
        if kind and problem_type(answer) != kind:
            issues.append(f"problem type {problem_type(answer)!r}, not {kind}")
        if issues:
            issues.append(f"answer: {answer}")
    issues += list(extra or [])
    detail = f"{answer.status}" + (f" {field}" if field and status >= 400 else "") if not issues else "; ".join(issues)
    return check(name, not issues, detail)


def same_id(a, b):
    return a is not None and b is not None and str(a).lower() == str(b).lower()


def lower_strings(value):
    """UUIDs are upper-case in JSON bodies, lower-case in keys: compare case-insensitively."""
    if isinstance(value, dict):
        return {k: lower_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_strings(v) for v in value]
    return value.lower() if isinstance(value, str) else value


def nfc(text):
    return unicodedata.normalize("NFC", text)


def noise_png(width, height, seed):
    rng = random.Random(seed)
    return apicheck_png(width, height, lambda y: bytes(rng.randrange(256) for _ in range(width * 3)))


def disposition_name(value):
    """The UTF-8 file name of a Content-Disposition (filename*), else its plain filename."""
    for part in (value or "").split(";"):
        part = part.strip()
        if part.lower().startswith("filename*=utf-8''"):
            return urllib.parse.unquote(part[len("filename*=utf-8''"):])
    for part in (value or "").split(";"):
        part = part.strip()
        if part.lower().startswith("filename="):
            return part[len("filename="):].strip('"')
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
        self.run_id = uuid.uuid4().hex[:6]
        self.password = "Share-" + secrets.token_hex(8) + "-9"
        self.visitor = ADDRESSES.fresh()  # the anonymous caller's address
        self.started = time.monotonic()
        self.matrix_table = []

    # -- helpers -------------------------------------------------------------------------------

    def need(self, answer, what, statuses=(200, 201)):
        if answer.error or answer.status not in statuses:
            raise SetupError(f"{what}: {answer}")
        return answer.json if answer.body else {}

    def login(self, login, password=None, address=None):
        return self.api.call("POST", "/v1/auth/login", json_body={"login": login, "password": password or self.password},
                             address=address or ADDRESSES.fresh())

    def make_tier(self, name, **fields):
        body = {"name": name, "thumbnail_sizes": [200], "original_links": True, "expiring_links": True,
                "link_min_seconds": LINK_MIN_SECONDS, "link_max_seconds": 30000, "quota_bytes": 1 << 30,
                "max_upload_bytes": 64 << 20, "requests_per_minute": 1000000}
        body.update(fields)
        return self.need(self.api.call("POST", "/v1/admin/tiers", json_body=body, token=self.admin), f"creating tier {name}")["id"]

    def make_user(self, role, tier=None, max_upload=None):
        """Register, move to `tier`, wait for the drive and (with a tier) for metadata to know
        the tier (the caller's Tus-Max-Size is the tier's max_upload_bytes); log in again: a
        dict with username, email, id, token, root."""
        address = ADDRESSES.fresh()
        name = f"sh{self.run_id}{role}"
        user = {"username": name, "email": f"{name}@example.com"}
        self.need(self.api.call("POST", "/v1/auth/register", json_body={"username": name, "email": user["email"], "password": self.password},
                                address=address), f"registering {name}", (201,))
        token = self.need(self.login(name, address=address), f"logging in as {name}")["access_token"]
        user["id"] = self.need(self.api.call("GET", "/v1/me", token=token), f"GET /v1/me as {name}")["id"]
        if tier:
            self.need(self.api.call("PATCH", f"/v1/admin/users/{user['id']}", json_body={"tier_id": tier}, token=self.admin),
                      f"moving {name} to tier {tier}")
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
        while tier:  # and learns the tier from auth's event
            limits = self.api.call("OPTIONS", "/v1/uploads", token=token, headers={"Tus-Resumable": "1.0.0"})
            if limits.headers.get("tus-max-size") == str(max_upload):
                break
            if time.monotonic() > deadline:
                raise SetupError(f"{name}'s tier did not reach metadata within 30 s (Tus-Max-Size {limits.headers.get('tus-max-size')})")
            time.sleep(0.25)
        return user

    def token(self, role):
        return None if role == "anonymous" else getattr(self, role)["token"]

    def mkdir(self, user, parent, name):
        return self.need(self.api.call("POST", "/v1/folders", json_body={"name": name, "parent_id": parent}, token=user["token"]),
                         f"creating folder {name}", (201,))["id"]

    def upload(self, token, folder, name, content):
        return self.api.call("POST", f"/v1/files?folder_id={folder}&name={q(name)}", content, content_type="application/octet-stream",
                             token=token)

    def put(self, user, folder, name, content):
        return self.need(self.upload(user["token"], folder, name, content), f"uploading {name}", (201,))["id"]

    def share(self, token, kind, item, user, role=None):
        body = {"user": user} if user is not None else {}
        if role:
            body["role"] = role
        return self.api.call("POST", f"/v1/{kind}/{item}/shares", json_body=body, token=token)

    def share_ok(self, owner, kind, item, recipient, role=None):
        return self.need(self.share(owner["token"], kind, item, recipient["username"], role), f"sharing with {recipient['username']}", (201,))

    def item(self, token, kind, item_id):
        return self.api.call("GET", f"/v1/{kind}/{item_id}", token=token)

    def children(self, token, folder):
        items, cursor = [], None
        while True:
            path = f"/v1/folders/{folder}/children?limit=1000" + (f"&cursor={q(cursor)}" if cursor else "")
            page = self.need(self.api.call("GET", path, token=token), "listing a folder")
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def names_in(self, token, folder):
        return {item["name"] for item in self.children(token, folder)}

    def used(self, user):
        me = self.need(self.api.call("GET", "/v1/me", token=user["token"]), f"GET /v1/me as {user['username']}")
        return (me.get("quota") or {}).get("used_bytes")

    def trash_ids(self, user):
        page = self.need(self.api.call("GET", "/v1/trash?limit=1000", token=user["token"]), "listing the trash")
        return {item["id"].lower() for item in page.get("items") or []}

    def shared_with_me(self, user):
        items, cursor = [], None
        while True:
            page = self.need(self.api.call("GET", "/v1/shared-with-me?limit=1000" + (f"&cursor={q(cursor)}" if cursor else ""),
                                           token=user["token"]), "listing shared-with-me")
            items += page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def wait_thumbnails(self, user, file_id, seconds=60):
        deadline, item = time.monotonic() + seconds, {}
        while time.monotonic() < deadline:
            item = self.item(user["token"], "files", file_id).json or {}
            if (item.get("thumbnails") or {}).get("status") in ("ready", "failed"):
                break
            time.sleep(0.25)
        return (item.get("thumbnails") or {}).get("status")

    def content(self, token, file_id):
        return self.api.call("GET", f"/v1/files/{file_id}/content", token=token)

    def visit(self, token, path="", password=None, method="GET", form=None, headers=None):
        """An anonymous visitor of /v1/public/{token}…; `form`: a dict sent urlencoded."""
        sent = dict(headers or {})
        if password is not None:
            sent["X-Link-Password"] = password
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        return self.api.call(method, f"/v1/public/{token}{path}", body, content_type="application/x-www-form-urlencoded" if form is not None else None,
                             headers=sent, address=self.visitor)

    def link_downloads(self, link_id):
        page = self.need(self.api.call("GET", "/v1/public-links", token=self.owner["token"]), "listing public links")
        for link in page.get("items") or []:
            if same_id(link.get("id"), link_id):
                return link.get("downloads")
        return None

    # -- setup -------------------------------------------------------------------------------

    def setup(self):
        admin_name, _, admin_password = self.args.admin.partition(":")
        self.admin = self.need(self.login(admin_name, admin_password), "logging in as the admin (--admin)")["access_token"]
        # Distinct largest uploads: a user's Tus-Max-Size says metadata has learnt the tier.
        self.max_upload = (64 << 20) + random.randrange(1, 1000)
        self.small_max_upload = (1 << 20) + random.randrange(1, 1000)
        self.tier = self.make_tier(f"sharing-{self.run_id}", max_upload_bytes=self.max_upload)
        self.small_tier = self.make_tier(f"sharing-small-{self.run_id}", original_links=False, expiring_links=False, link_min_seconds=300,
                                         link_max_seconds=3600, quota_bytes=SMALL_QUOTA, max_upload_bytes=self.small_max_upload)
        for role in ("owner", "editor", "viewer", "stranger", "pager"):
            setattr(self, role, self.make_user(role, self.tier, self.max_upload))
        self.tight = self.make_user("tight", self.small_tier, self.small_max_upload)
        print(f"sharing against {self.api.url}: run {self.run_id}, users sh{self.run_id}<role> on tiers sharing-{self.run_id} and "
              f"sharing-small-{self.run_id}", flush=True)

    # -- the permission matrix -----------------------------------------------------------------

    def matrix(self):
        o = self.owner
        self.image = noise_png(64, 48, seed=17)
        self.shared = shared = self.mkdir(o, o["root"], "Shared ä")
        self.sub = sub = self.mkdir(o, shared, "Sub")
        self.picture = picture = self.put(o, shared, "picture.png", self.image)
        status = self.wait_thumbnails(o, picture)
        check("matrix: the PNG's thumbnails are ready (owner)", status == "ready", f"thumbnails {status}")
        image_sha = hashlib.sha256(self.image).hexdigest()

        answer = self.share(o["token"], "folders", shared, self.editor["username"], "editor")
        expect("matrix: share the folder with the editor (role editor) → 201", answer, 201,
               extra=[] if (answer.json or {}).get("role") == "editor" else [f"role {(answer.json or {}).get('role')!r}"])
        answer = self.share(o["token"], "folders", shared, self.viewer["username"])
        body = answer.json or {}
        issues = [] if body.get("role") == "viewer" else [f"role {body.get('role')!r}, not the default viewer"]
        if answer.status == 201:
            if not same_id((body.get("item") or {}).get("id"), shared):
                issues.append(f"item {body.get('item')}")
            if (body.get("owner") or {}).get("username") != o["username"] or (body.get("recipient") or {}).get("username") != self.viewer["username"]:
                issues.append(f"owner {body.get('owner')} recipient {body.get('recipient')}")
        expect("matrix: share the folder with the viewer (no role: viewer) → 201 with item, owner, recipient", answer, 201, extra=issues)

        # Fresh items for the destructive cells, one per role.
        fresh = {key: {} for key in ("put", "rename", "move", "folder", "trash", "trash_folder")}
        for role in ROLES:
            fresh["put"][role] = self.put(o, shared, f"put {role}.txt", f"old content of {role}\n".encode())
            fresh["rename"][role] = self.put(o, shared, f"rename {role}.txt", b"rename me\n")
            fresh["move"][role] = self.put(o, shared, f"move {role}.txt", b"move me\n")
            fresh["folder"][role] = self.mkdir(o, shared, f"folder {role}")
            fresh["trash"][role] = self.put(o, shared, f"trash {role}.txt", b"trash me\n")
            fresh["trash_folder"][role] = self.mkdir(o, shared, f"trash folder {role}")

        def owner_view(kind, item_id):
            return self.item(o["token"], kind, item_id)

        # verify(role, answer) → issues; called when the status is the expected one and a success,
        # or for a refusal too when the verifier is marked `refusals` (it checks nothing changed).
        def folder_seen(role, a):
            body = a.json or {}
            issues = [] if same_id(body.get("id"), shared) and body.get("name") == "Shared ä" else [f"item {snippet(a.body, 120)}"]
            if role in ("editor", "viewer") and body.get("parent_id") is not None:
                issues.append(f"a recipient sees parent_id {body.get('parent_id')} (should be null)")
            if role == "owner" and not same_id(body.get("parent_id"), o["root"]):
                issues.append(f"the owner sees parent_id {body.get('parent_id')}, not their root")
            return issues

        def listed(role, a):
            names = {i.get("name") for i in (a.json or {}).get("items") or []}
            return [] if {"Sub", "picture.png"} <= names else [f"names {sorted(names)[:8]}"]

        def sub_seen(role, a):
            return [] if same_id((a.json or {}).get("parent_id"), shared) else [f"parent_id {(a.json or {}).get('parent_id')} (not the shared folder)"]

        def file_seen(role, a):
            body = a.json or {}
            return [] if same_id(body.get("id"), picture) and body.get("sha256") == image_sha else [f"item {snippet(a.body, 160)}"]

        def ranged(role, a):
            issues = [] if a.body == self.image[:16] else [f"bytes {a.body[:16]!r}"]
            if a.headers.get("content-range") != f"bytes 0-15/{len(self.image)}":
                issues.append(f"Content-Range {a.headers.get('content-range')!r}")
            return issues

        def ranged_head(role, a):
            return [] if a.headers.get("content-length") == "16" and a.headers.get("content-range") == f"bytes 0-15/{len(self.image)}" else [
                f"Content-Length {a.headers.get('content-length')!r}, Content-Range {a.headers.get('content-range')!r}"]

        def versions(role, a):
            return [] if isinstance((a.json or {}).get("versions"), list) else [snippet(a.body, 120)]

        def thumbnail(role, a):
            return [] if a.headers.get("content-type", "").startswith("image/") and a.body else [f"{a.headers.get('content-type')} {len(a.body)} bytes"]

        def zipped(role, a):
            try:
                archive = zipfile.ZipFile(io.BytesIO(a.body))
                names = set(archive.namelist())
                issues = [] if archive.read("picture.png") == self.image and "Sub/" in names else [f"names {sorted(names)[:8]}"]
                if archive.testzip() is not None:
                    issues.append(f"CRC error in {archive.testzip()}")
                return issues
            except (zipfile.BadZipFile, KeyError) as error:
                return [f"not a readable ZIP with picture.png: {error}"]

        def searched(role, a):
            names = {i.get("name") for i in (a.json or {}).get("items") or []}
            return [] if "picture.png" in names else [f"names {sorted(names)[:8]}"]

        def link_made(role, a):
            body = a.json or {}
            return [] if body.get("token") and str(body.get("path", "")).startswith("/v1/links/") else [snippet(a.body, 160)]

        def folder_shares(role, a):
            got = {((s.get("recipient") or {}).get("username"), s.get("role")) for s in (a.json or {}).get("items") or []}
            want = {(self.editor["username"], "editor"), (self.viewer["username"], "viewer")}
            return [] if want <= got else [f"shares {sorted(got)}"]

        def items_list(role, a):
            return [] if isinstance((a.json or {}).get("items"), list) else [snippet(a.body, 120)]

        def reshared(role, a):
            return [] if (a.json or {}).get("role") == "editor" else [f"role {(a.json or {}).get('role')!r}"]

        def file_shared(role, a):
            body = a.json or {}
            return [] if body.get("role") == "viewer" and (body.get("item") or {}).get("kind") == "file" else [snippet(a.body, 160)]

        def public_link(role, a):
            body = a.json or {}
            issues = [] if same_id((body.get("item") or {}).get("id"), shared) and body.get("has_password") is False else [snippet(a.body, 160)]
            if not str(body.get("path", "")).startswith("/v1/public/"):
                issues.append(f"path {body.get('path')!r}")
            return issues

        def folder_made(role, a):
            if a.status != 201:
                return [] if f"new {role}" not in self.names_in(o["token"], shared) else [f"'new {role}' exists all the same"]
            seen = owner_view("folders", (a.json or {}).get("id")).json or {}
            return [] if same_id(seen.get("parent_id"), shared) else [f"the owner sees parent_id {seen.get('parent_id')}"]

        uploaded_bytes = {role: f"uploaded by {role}\n".encode() for role in ROLES}

        def uploaded(role, a):
            if a.status != 201:
                return [] if f"up {role}.txt" not in self.names_in(o["token"], shared) else [f"'up {role}.txt' exists all the same"]
            file_id = (a.json or {}).get("id")
            got = self.content(o["token"], file_id)
            return [] if got.status == 200 and got.body == uploaded_bytes[role] else [f"the owner reads {got}"]

        def replaced(role, a):
            got = self.content(o["token"], fresh["put"][role])
            want = f"new content of {role}\n".encode() if a.status == 200 else f"old content of {role}\n".encode()
            return [] if got.body == want else [f"the owner reads {got.body[:40]!r}, expected {want!r}"]

        def renamed(role, a):
            seen = owner_view("files", fresh["rename"][role]).json or {}
            want = f"renamed {role}.txt" if a.status == 200 else f"rename {role}.txt"
            return [] if seen.get("name") == want else [f"the owner sees the name {seen.get('name')!r}, expected {want!r}"]

        def moved(role, a):
            seen = owner_view("files", fresh["move"][role]).json or {}
            want = sub if a.status == 200 else shared
            return [] if same_id(seen.get("parent_id"), want) else [f"the owner sees parent_id {seen.get('parent_id')}"]

        def folder_renamed(role, a):
            seen = owner_view("folders", fresh["folder"][role]).json or {}
            want = f"folder {role} renamed" if a.status == 200 else f"folder {role}"
            return [] if seen.get("name") == want else [f"the owner sees the name {seen.get('name')!r}, expected {want!r}"]

        def trashed(kind, key):
            def verify(role, a):
                item_id = fresh[key][role]
                seen = owner_view(kind, item_id)
                if a.status == 204:
                    issues = [] if seen.status == 404 else [f"the owner still sees it: {seen.status}"]
                    if item_id.lower() not in self.trash_ids(o):
                        issues.append("not in the owner's trash")
                    return issues
                return [] if seen.status == 200 else [f"the owner's GET → {seen.status}"]
            verify.refusals = True
            return verify

        def copied_in(role, a):
            body = a.json or {}
            seen = owner_view("files", body.get("id")).json or {}
            return [] if same_id(seen.get("parent_id"), sub) and seen.get("sha256") == image_sha else [f"the owner sees {snippet(str(seen), 160)}"]

        def copied_own(role, a):
            body = a.json or {}
            mine = self.item(self.token(role), "files", body.get("id"))
            issues = [] if mine.status == 200 and (mine.json or {}).get("sha256") == image_sha else [f"the copier's GET → {mine}"]
            if role != "owner":
                theirs = owner_view("files", body.get("id"))
                if theirs.status != 404:
                    issues.append(f"the owner's GET of the recipient's copy → {theirs.status} (it is the recipient's)")
            return issues

        for writer in (folder_made, uploaded, replaced, renamed, moved, folder_renamed):
            writer.refusals = True

        def own_root(role):
            return getattr(self, role)["root"] if role != "anonymous" else o["root"]

        J = lambda method, path, body=None: (lambda role: self.api.call(method, path, json_body=body, token=self.token(role)))
        rows = [
            # label, send(role), expected per ROLES, field of a 422, verify
            ("GET /v1/folders/{id} (the shared folder)", J("GET", f"/v1/folders/{shared}"), (200, 200, 200, 404, 401), None, folder_seen),
            ("GET /v1/folders/{id}/children", J("GET", f"/v1/folders/{shared}/children"), (200, 200, 200, 404, 401), None, listed),
            ("GET /v1/folders/{id} (a subfolder)", J("GET", f"/v1/folders/{sub}"), (200, 200, 200, 404, 401), None, sub_seen),
            ("GET /v1/files/{id}", J("GET", f"/v1/files/{picture}"), (200, 200, 200, 404, 401), None, file_seen),
            ("GET /v1/files/{id}/content with Range: bytes=0-15",
             lambda role: self.api.call("GET", f"/v1/files/{picture}/content", token=self.token(role), headers={"Range": "bytes=0-15"}),
             (206, 206, 206, 404, 401), None, ranged),
            ("HEAD /v1/files/{id}/content with Range: bytes=0-15",
             lambda role: self.api.call("HEAD", f"/v1/files/{picture}/content", token=self.token(role), headers={"Range": "bytes=0-15"}),
             (206, 206, 206, 404, 401), None, ranged_head),
            ("GET /v1/files/{id}/versions", J("GET", f"/v1/files/{picture}/versions"), (200, 200, 200, 404, 401), None, versions),
            ("GET /v1/files/{id}/thumbnails/200", J("GET", f"/v1/files/{picture}/thumbnails/200"), (200, 200, 200, 404, 401), None, thumbnail),
            ("GET /v1/folders/{id}/zip", J("GET", f"/v1/folders/{shared}/zip"), (200, 200, 200, 404, 401), None, zipped),
            ("GET /v1/files?folder_id={id} (search below the folder)", J("GET", f"/v1/files?folder_id={shared}"), (200, 200, 200, 422, 401),
             "folder_id", searched),
            ("POST /v1/files/{id}/links (original, expires_in 600)", J("POST", f"/v1/files/{picture}/links", {"variant": "original", "expires_in": 600}),
             (201, 201, 201, 404, 401), None, link_made),
            ("GET /v1/folders/{id}/shares", J("GET", f"/v1/folders/{shared}/shares"), (200, 403, 403, 404, 401), None, folder_shares),
            ("GET /v1/files/{id}/shares", J("GET", f"/v1/files/{picture}/shares"), (200, 403, 403, 404, 401), None, items_list),
            ("POST /v1/folders/{id}/shares (the editor again, same role)",
             J("POST", f"/v1/folders/{shared}/shares", {"user": self.editor["username"], "role": "editor"}), (200, 403, 403, 404, 401), None, reshared),
            ("POST /v1/files/{id}/shares (the viewer)", J("POST", f"/v1/files/{picture}/shares", {"user": self.viewer["username"]}),
             (201, 403, 403, 404, 401), None, file_shared),
            ("POST /v1/public-links (the shared folder)", J("POST", "/v1/public-links", {"item_id": shared}), (201, 403, 403, 422, 401), "item_id",
             public_link),
            ("POST /v1/files/{id}/thumbnails/retry (thumbnails ready)", J("POST", f"/v1/files/{picture}/thumbnails/retry"),
             (409, 409, 403, 404, 401), None, None),
            # Writes, each role on items of its own.
            ("POST /v1/folders into the share", lambda role: self.api.call("POST", "/v1/folders", json_body={"name": f"new {role}", "parent_id": shared},
                                                                            token=self.token(role)), (201, 201, 403, 422, 401), "parent_id", folder_made),
            ("POST /v1/files into the share (raw body, folder_id and name)",
             lambda role: self.upload(self.token(role), shared, f"up {role}.txt", uploaded_bytes[role]), (201, 201, 403, 422, 401), "folder_id", uploaded),
            ("PUT /v1/files/{id}/content",
             lambda role: self.api.call("PUT", f"/v1/files/{fresh['put'][role]}/content", f"new content of {role}\n".encode(),
                                        content_type="application/octet-stream", token=self.token(role)), (200, 200, 403, 404, 401), None, replaced),
            ("PATCH /v1/files/{id} (rename)", lambda role: self.api.call("PATCH", f"/v1/files/{fresh['rename'][role]}",
                                                                         json_body={"name": f"renamed {role}.txt"}, token=self.token(role)),
             (200, 200, 403, 404, 401), None, renamed),
            ("PATCH /v1/files/{id} (move to a subfolder of the share)",
             lambda role: self.api.call("PATCH", f"/v1/files/{fresh['move'][role]}", json_body={"parent_id": sub}, token=self.token(role)),
             (200, 200, 403, 404, 401), None, moved),
            ("PATCH /v1/folders/{id} (rename a folder inside the share)",
             lambda role: self.api.call("PATCH", f"/v1/folders/{fresh['folder'][role]}", json_body={"name": f"folder {role} renamed"},
                                        token=self.token(role)), (200, 200, 403, 404, 401), None, folder_renamed),
            ("DELETE /v1/files/{id}", lambda role: self.api.call("DELETE", f"/v1/files/{fresh['trash'][role]}", token=self.token(role)),
             (204, 204, 403, 404, 401), None, trashed("files", "trash")),
            ("DELETE /v1/folders/{id} (a folder inside the share)",
             lambda role: self.api.call("DELETE", f"/v1/folders/{fresh['trash_folder'][role]}", token=self.token(role)),
             (204, 204, 403, 404, 401), None, trashed("folders", "trash_folder")),
            ("POST /v1/files/{id}/copy into the share", lambda role: self.api.call(
                "POST", f"/v1/files/{picture}/copy", json_body={"parent_id": sub, "name": f"copy {role}.png"}, token=self.token(role)),
             (201, 201, 403, 404, 401), None, copied_in),
            ("POST /v1/files/{id}/copy into the caller's own root", lambda role: self.api.call(
                "POST", f"/v1/files/{picture}/copy", json_body={"parent_id": own_root(role), "name": f"own copy {self.run_id}.png"},
                token=self.token(role)), (201, 201, 201, 404, 401), None, copied_own),
        ]
        cells = 0
        for label, send, expected, field, verify in rows:
            statuses = []
            for role, status in zip(ROLES, expected):
                answer = send(role)
                extra = []
                if verify and answer.status == status and not answer.error and (status < 300 or getattr(verify, "refusals", False)):
                    try:
                        extra = verify(role, answer)
                    except Exception as error:  # a verification that cannot run fails this cell, not the group
                        extra = [f"could not verify: {type(error).__name__}: {error}"]
                expect(f"matrix: {label} as {role} → {status}", answer, status, field=field if status == 422 else None,
                       kind=SHARE_ROLE if status == 403 else None, extra=extra, problem=not label.startswith("HEAD"))
                statuses.append(str(answer.status) if answer.status else "err")
                cells += 1
            self.matrix_table.append((label, expected, statuses))
        note(f"{cells} cells ({len(rows)} routes × {len(ROLES)} callers); actual statuses, {' / '.join(ROLES)}:")
        for label, expected, statuses in self.matrix_table:
            marks = " ".join(f"{s:>4}" + ("" if s == str(e) else "!") for s, e in zip(statuses, expected))
            note(f"  {label[:70]:<70} {marks}")

    # -- revocation, leaving, role change ------------------------------------------------------

    def revocation(self):
        o, v, s = self.owner, self.viewer, self.stranger
        folder = self.mkdir(o, o["root"], f"Widerruf {self.run_id}")
        body = b"revocable bytes\n"
        note_id = self.put(o, folder, "note.txt", body)
        share = self.share_ok(o, "folders", folder, v)
        expect("revocation: the viewer GETs the file while shared → 200", self.item(v["token"], "files", note_id), 200)
        check("revocation: shared-with-me lists the share", any(same_id(x.get("id"), share["id"]) for x in self.shared_with_me(v)))
        link = self.api.call("POST", f"/v1/files/{note_id}/links", json_body={"variant": "original", "expires_in": 600}, token=v["token"])
        expect("revocation: the viewer makes an expiring link → 201", link, 201)
        link_path = (link.json or {}).get("path") or "/v1/links/none"
        followed = self.api.call("GET", link_path, address=self.visitor)
        expect("revocation: the viewer's link works while shared → 200 with the bytes", followed, 200,
               extra=[] if followed.body == body else [f"bytes {followed.body[:40]!r}"])
        expect("revocation: a stranger's DELETE /v1/shares/{id} → 404", self.api.call("DELETE", f"/v1/shares/{share['id']}", token=s["token"]), 404)
        expect("revocation: a stranger's PATCH /v1/shares/{id} → 404",
               self.api.call("PATCH", f"/v1/shares/{share['id']}", json_body={"role": "editor"}, token=s["token"]), 404)
        expect("revocation: the recipient's PATCH /v1/shares/{id} → 403 share-role",
               self.api.call("PATCH", f"/v1/shares/{share['id']}", json_body={"role": "editor"}, token=v["token"]), 403, kind=SHARE_ROLE)
        expect("revocation: anonymous DELETE /v1/shares/{id} → 401", self.api.call("DELETE", f"/v1/shares/{share['id']}", address=self.visitor), 401)
        expect("revocation: the owner revokes (DELETE /v1/shares/{id}) → 204", self.api.call("DELETE", f"/v1/shares/{share['id']}", token=o["token"]), 204)
        expect("revocation: the viewer's next GET /v1/files/{id} → 404", self.item(v["token"], "files", note_id), 404)
        expect("revocation: … GET /v1/folders/{id} → 404", self.item(v["token"], "folders", folder), 404)
        expect("revocation: … GET /v1/files/{id}/content → 404", self.content(v["token"], note_id), 404)
        expect("revocation: … the viewer's expiring link → 404 (it ends with the share)", self.api.call("GET", link_path, address=self.visitor), 404)
        check("revocation: shared-with-me no longer lists it", not any(same_id(x.get("id"), share["id"]) or same_id((x.get("item") or {}).get("id"), folder)
                                                                      for x in self.shared_with_me(v)))
        listed = self.api.call("GET", f"/v1/folders/{folder}/shares", token=o["token"])
        expect("revocation: the owner's GET /v1/folders/{id}/shares → 200, empty", listed, 200,
               extra=[] if (listed.json or {}).get("items") == [] else [snippet(listed.body)])
        expect("revocation: revoking it again → 404", self.api.call("DELETE", f"/v1/shares/{share['id']}", token=o["token"]), 404)
        expect("revocation: the file is still the owner's (200)", self.item(o["token"], "files", note_id), 200)

        # The recipient leaves.
        again = self.share(o["token"], "folders", folder, v["username"])
        expect("leave: shared again → 201 (a new share)", again, 201,
               extra=[] if not same_id((again.json or {}).get("id"), share["id"]) else ["the same share id as the revoked one"])
        share = again.json or {}
        expect("leave: the viewer GETs the file → 200", self.item(v["token"], "files", note_id), 200)
        expect("leave: the recipient's DELETE /v1/shares/{id} (leaves) → 204", self.api.call("DELETE", f"/v1/shares/{share.get('id')}", token=v["token"]), 204)
        expect("leave: the viewer's next GET → 404", self.item(v["token"], "files", note_id), 404)
        listed = self.api.call("GET", f"/v1/folders/{folder}/shares", token=o["token"])
        check("leave: the owner's shares of the folder are empty", (listed.json or {}).get("items") == [], snippet(listed.body))

        # viewer → editor: writes work on the next request; and back.
        share = self.share_ok(o, "folders", folder, v, "viewer")
        expect("role change: as viewer, PATCH (rename) → 403 share-role",
               self.api.call("PATCH", f"/v1/files/{note_id}", json_body={"name": "by viewer.txt"}, token=v["token"]), 403, kind=SHARE_ROLE)
        expect("role change: as viewer, upload into the folder → 403 share-role", self.upload(v["token"], folder, "viewer.txt", b"v"), 403, kind=SHARE_ROLE)
        expect("role change: PATCH /v1/shares/{id} {role: admin} → 422 role",
               self.api.call("PATCH", f"/v1/shares/{share['id']}", json_body={"role": "admin"}, token=o["token"]), 422, field="role")
        answer = self.api.call("PATCH", f"/v1/shares/{share['id']}", json_body={"role": "editor"}, token=o["token"])
        expect("role change: the owner's PATCH /v1/shares/{id} {role: editor} → 200, role editor", answer, 200,
               extra=[] if (answer.json or {}).get("role") == "editor" else [f"role {(answer.json or {}).get('role')!r}"])
        answer = self.api.call("PATCH", f"/v1/files/{note_id}", json_body={"name": "by editor.txt"}, token=v["token"])
        expect("role change: the next PATCH (rename) by the former viewer → 200", answer, 200,
               extra=[] if (answer.json or {}).get("name") == "by editor.txt" else [f"name {(answer.json or {}).get('name')!r}"])
        expect("role change: … and an upload into the folder → 201", self.upload(v["token"], folder, "editor.txt", b"e"), 201)
        answer = self.api.call("PATCH", f"/v1/shares/{share['id']}", json_body={"role": "viewer"}, token=o["token"])
        expect("role change: back to viewer → 200", answer, 200)
        expect("role change: the next PATCH by the viewer → 403 share-role",
               self.api.call("PATCH", f"/v1/files/{note_id}", json_body={"name": "again.txt"}, token=v["token"]), 403, kind=SHARE_ROLE)

    # -- quota -------------------------------------------------------------------------------

    def quota(self):
        o, e, t = self.owner, self.editor, self.tight
        folder = self.mkdir(o, o["root"], f"Kontingent {self.run_id}")
        self.share_ok(o, "folders", folder, e, "editor")
        before_owner, before_editor = self.used(o), self.used(e)
        size = 123_457
        data = os.urandom(size)
        answer = self.upload(e["token"], folder, "editor upload.bin", data)
        expect(f"quota: the editor uploads {size} bytes into the owner's folder → 201", answer, 201)
        after_owner, after_editor = self.used(o), self.used(e)
        check(f"quota: the owner's quota.used_bytes grew by {size}", isinstance(before_owner, int) and isinstance(after_owner, int)
              and after_owner - before_owner == size, f"{before_owner} → {after_owner}")
        check("quota: the editor's quota.used_bytes did not change", isinstance(after_editor, int) and after_editor == before_editor,
              f"{before_editor} → {after_editor}")
        if answer.status == 201:
            file_id = answer.json["id"]
            got = self.content(o["token"], file_id)
            check("quota: the file is the owner's (the owner downloads the same bytes)", got.status == 200 and got.body == data, str(got))

        # An owner on the small tier: the editor's writes meet the owner's quota.
        tight_folder = self.mkdir(t, t["root"], "Eng")
        self.share_ok(t, "folders", tight_folder, e, "editor")
        first = self.upload(e["token"], tight_folder, "first.bin", os.urandom(200_000))
        expect(f"quota: the editor uploads 200,000 bytes into a folder of an owner with {SMALL_QUOTA:,} bytes → 201", first, 201)
        check("quota: the small owner's used_bytes is 200,000", self.used(t) == 200_000, f"{self.used(t)}")
        answer = self.upload(e["token"], tight_folder, "second.bin", os.urandom(150_000))
        expect("quota: 150,000 bytes more (beyond the owner's remaining 100,000) → 507", answer, 507)
        check("quota: … nothing was kept (not listed, used_bytes still 200,000)",
              "second.bin" not in self.names_in(t["token"], tight_folder) and self.used(t) == 200_000, f"used {self.used(t)}")
        if first.status == 201:
            answer = self.api.call("PUT", f"/v1/files/{first.json['id']}/content", os.urandom(350_000), content_type="application/octet-stream",
                                   token=e["token"])
            expect("quota: the editor's PUT content of 350,000 bytes (beyond the owner's quota) → 507", answer, 507)
        before_editor = self.used(e)
        answer = self.upload(e["token"], e["root"], f"own {self.run_id}.bin", os.urandom(150_000))
        expect("quota: the same 150,000 bytes into the editor's own drive → 201 (their own quota)", answer, 201)
        check("quota: … on the editor's quota", self.used(e) == before_editor + 150_000, f"{before_editor} → {self.used(e)}")

    # -- moved out ----------------------------------------------------------------------------

    def move_out(self):
        o, v = self.owner, self.viewer
        folder = self.mkdir(o, o["root"], f"Umzug {self.run_id}")
        deep = self.mkdir(o, folder, "tief")
        file_id = self.put(o, deep, "wandert.txt", b"moving\n")
        self.share_ok(o, "folders", folder, v)
        expect("move out: the viewer GETs a file two levels down → 200", self.item(v["token"], "files", file_id), 200)
        expect("move out: the owner moves it to their root (PATCH parent_id) → 200",
               self.api.call("PATCH", f"/v1/files/{file_id}", json_body={"parent_id": o["root"]}, token=o["token"]), 200)
        expect("move out: the viewer's GET /v1/files/{id} → 404", self.item(v["token"], "files", file_id), 404)
        expect("move out: … its content → 404", self.content(v["token"], file_id), 404)
        expect("move out: the owner moves it back in → 200",
               self.api.call("PATCH", f"/v1/files/{file_id}", json_body={"parent_id": deep}, token=o["token"]), 200)
        expect("move out: moved back in, the viewer reaches it again → 200", self.item(v["token"], "files", file_id), 200)
        expect("move out: the owner trashes the shared folder → 204", self.api.call("DELETE", f"/v1/folders/{folder}", token=o["token"]), 204)
        expect("move out: in the owner's trash, the viewer's GET of the folder → 404", self.item(v["token"], "folders", folder), 404)
        expect("move out: … of the file below it → 404", self.item(v["token"], "files", file_id), 404)
        check("move out: … and shared-with-me does not list it", not any(same_id((x.get("item") or {}).get("id"), folder) for x in self.shared_with_me(v)))
        expect("move out: the owner restores it → 200", self.api.call("POST", f"/v1/trash/{folder}/restore", token=o["token"]), 200)
        expect("move out: restored, the viewer reaches the file again → 200", self.item(v["token"], "files", file_id), 200)

    # -- what an editor may not do ------------------------------------------------------------

    def editor_limits(self):
        o, e, v = self.owner, self.editor, self.viewer
        folder = self.mkdir(o, o["root"], f"Bearbeiten {self.run_id}")
        inner = self.mkdir(o, folder, "innen")
        doc = self.put(o, folder, "doc.txt", b"document\n")
        self.share_ok(o, "folders", folder, e, "editor")
        self.share_ok(o, "folders", folder, v, "viewer")
        for who in (e, v):
            role = "editor" if who is e else "viewer"
            expect(f"shared item: the {role}'s rename of the shared folder → 403 share-role",
                   self.api.call("PATCH", f"/v1/folders/{folder}", json_body={"name": f"mine {role}"}, token=who["token"]), 403, kind=SHARE_ROLE)
            expect(f"shared item: the {role}'s move of the shared folder (to their root) → 403 share-role",
                   self.api.call("PATCH", f"/v1/folders/{folder}", json_body={"parent_id": who["root"]}, token=who["token"]), 403, kind=SHARE_ROLE)
            expect(f"shared item: the {role}'s trash of the shared folder → 403 share-role",
                   self.api.call("DELETE", f"/v1/folders/{folder}", token=who["token"]), 403, kind=SHARE_ROLE)
        seen = self.item(o["token"], "folders", folder)
        expect("shared item: … the folder is unchanged (the owner's GET: its name, not trashed)", seen, 200,
               extra=[] if (seen.json or {}).get("name") == f"Bearbeiten {self.run_id}" else [f"name {(seen.json or {}).get('name')!r}"])
        # A file shared on its own: the editor cannot rename or trash that file itself either.
        single = self.put(o, o["root"], f"einzeln {self.run_id}.txt", b"single\n")
        self.share_ok(o, "files", single, e, "editor")
        expect("shared item: the editor's rename of a file shared on its own → 403 share-role",
               self.api.call("PATCH", f"/v1/files/{single}", json_body={"name": "x.txt"}, token=e["token"]), 403, kind=SHARE_ROLE)
        expect("shared item: the editor's trash of that file → 403 share-role", self.api.call("DELETE", f"/v1/files/{single}", token=e["token"]), 403,
               kind=SHARE_ROLE)
        answer = self.api.call("PUT", f"/v1/files/{single}/content", b"replaced by the editor\n", content_type="application/octet-stream",
                               token=e["token"])
        expect("shared item: … but the editor replaces its content → 200, parent_id null (where it sits in the owner's drive is not shown)",
               answer, 200, extra=[] if answer.status != 200 or (answer.json or {}).get("parent_id") is None
               else [f"parent_id {(answer.json or {}).get('parent_id')}"])
        # A PNG cut short: its thumbnails fail, so a retry is accepted.
        image = self.put(o, o["root"], f"einzeln {self.run_id}.png", noise_png(64, 48, seed=5)[:120])
        self.share_ok(o, "files", image, e, "editor")
        status = self.wait_thumbnails(o, image)
        answer = self.api.call("POST", f"/v1/files/{image}/thumbnails/retry", token=e["token"])
        parent = (answer.json or {}).get("parent_id")
        expect(f"shared item: the editor's thumbnail retry of a broken image shared on its own (thumbnails {status}) → 202, parent_id null",
               answer, 202, extra=[] if parent is None else [f"parent_id {parent}"])

        expect("other drive: the editor moves a file to their own root → 422 parent_id",
               self.api.call("PATCH", f"/v1/files/{doc}", json_body={"parent_id": e["root"]}, token=e["token"]), 422, field="parent_id")
        expect("other drive: the editor moves a folder to their own root → 422 parent_id",
               self.api.call("PATCH", f"/v1/folders/{inner}", json_body={"parent_id": e["root"]}, token=e["token"]), 422, field="parent_id")
        seen = self.item(o["token"], "files", doc).json or {}
        check("other drive: … the file stayed where it was", same_id(seen.get("parent_id"), folder), str(seen.get("parent_id")))

        expect("trash: the editor trashes a file in the share → 204", self.api.call("DELETE", f"/v1/files/{doc}", token=e["token"]), 204)
        check("trash: it is in the owner's /v1/trash", doc.lower() in self.trash_ids(o))
        check("trash: it is not in the editor's /v1/trash", doc.lower() not in self.trash_ids(e))
        expect("trash: the editor cannot restore it (their trash only) → 404", self.api.call("POST", f"/v1/trash/{doc}/restore", token=e["token"]), 404)
        expect("trash: the editor cannot purge it → 404", self.api.call("DELETE", f"/v1/trash/{doc}", token=e["token"]), 404)
        expect("trash: the editor's GET of the trashed file → 404", self.item(e["token"], "files", doc), 404)
        restored = self.api.call("POST", f"/v1/trash/{doc}/restore", token=o["token"])
        expect("trash: the owner restores it → 200, back in the shared folder", restored, 200,
               extra=[] if same_id((restored.json or {}).get("parent_id"), folder) else [f"parent_id {(restored.json or {}).get('parent_id')}"])

    # -- what outlives a share ---------------------------------------------------------------

    def reserved(self, user):
        me = self.need(self.api.call("GET", "/v1/me", token=user["token"]), f"GET /v1/me as {user['username']}")
        return (me.get("quota") or {}).get("reserved_bytes")

    def tus_create(self, user, folder, name, length):
        def b64(text):
            return base64.b64encode(text.encode()).decode()
        created = self.api.call("POST", "/v1/uploads", token=user["token"], headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": f"folder_id {b64(folder)},name {b64(name)}"})
        location = created.headers.get("location", "")
        return created, urllib.parse.urlsplit(location).path[len(self.api.prefix):] if location else "/v1/uploads/none"

    def tus_patch(self, user, path, offset, chunk):
        return self.api.call("PATCH", path, chunk, content_type="application/offset+octet-stream", token=user["token"],
                             headers={"Tus-Resumable": "1.0.0", "Upload-Offset": str(offset)})

    def afterwards(self):
        o, e = self.owner, self.editor
        folder = self.mkdir(o, o["root"], f"Hochladen {self.run_id}")
        share = self.share_ok(o, "folders", folder, e, "editor")
        data = os.urandom(200_000)
        created, path = self.tus_create(e, folder, "resumed.bin", len(data))
        expect("upload: the editor creates a resumable upload into the shared folder → 201", created, 201, problem=False)
        expect("upload: … sends its first 100,000 bytes → 204", self.tus_patch(e, path, 0, data[:100_000]), 204, problem=False)
        reserved = self.reserved(o)
        expect("upload: the owner revokes the share → 204", self.api.call("DELETE", f"/v1/shares/{share['id']}", token=o["token"]), 204)
        after = self.reserved(o)
        check("upload: … the upload's reservation ends with the share (the owner's reserved bytes 200,000 less at once)",
              isinstance(reserved, int) and isinstance(after, int) and reserved - after >= len(data), f"{reserved} → {after}")
        expect("upload: the revoked editor's next PATCH → 404 (no grant for the rest)", self.tus_patch(e, path, 100_000, data[100_000:]), 404)
        expect("upload: … and its HEAD → 404", self.api.call("HEAD", path, token=e["token"], headers={"Tus-Resumable": "1.0.0"}), 404, problem=False)
        again = self.share_ok(o, "folders", folder, e, "editor")
        expect("upload: shared again as editor, the old upload stays ended (PATCH → 404)", self.tus_patch(e, path, 100_000, data[100_000:]), 404)
        check("upload: … nothing appeared in the owner's folder", self.names_in(o["token"], folder) == set())
        created, path = self.tus_create(e, folder, "resumed.bin", len(data))
        expect("upload: … a new upload → 201", created, 201, problem=False)
        expect("upload: … its first 100,000 bytes → 204", self.tus_patch(e, path, 0, data[:100_000]), 204, problem=False)
        expect("upload: the role is lowered to viewer → 200",
               self.api.call("PATCH", f"/v1/shares/{again['id']}", json_body={"role": "viewer"}, token=o["token"]), 200)
        expect("upload: … the viewer's next PATCH → 404", self.tus_patch(e, path, 100_000, data[100_000:]), 404)
        expect("upload: editor again → 200",
               self.api.call("PATCH", f"/v1/shares/{again['id']}", json_body={"role": "editor"}, token=o["token"]), 200)
        created, path = self.tus_create(e, folder, "resumed.bin", len(data))
        expect("upload: … another new upload → 201", created, 201, problem=False)
        expect("upload: … all of it in two PATCHes → 204, 204", self.tus_patch(e, path, 0, data[:100_000]), 204, problem=False)
        expect("upload: … (the second)", self.tus_patch(e, path, 100_000, data[100_000:]), 204, problem=False)
        files = {x["name"]: x["id"] for x in self.children(o["token"], folder)}
        got = self.content(o["token"], files["resumed.bin"]) if "resumed.bin" in files else None
        check("upload: … the file is in the owner's folder with every byte", got is not None and got.status == 200 and got.body == data,
              str(got) if got is not None else f"names {sorted(files)}")

        # A disabled recipient's expiring link stops while they are disabled.
        d = self.make_user("disabled", self.tier, self.max_upload)
        note_id = self.put(o, folder, "note.txt", b"note\n")
        self.share_ok(o, "folders", folder, d)
        link = self.api.call("POST", f"/v1/files/{note_id}/links", json_body={"variant": "original", "expires_in": 600}, token=d["token"])
        expect("disabled: the recipient makes an expiring link → 201", link, 201)
        link_path = (link.json or {}).get("path") or "/v1/links/none"
        expect("disabled: … it works (200)", self.api.call("GET", link_path, address=self.visitor), 200, problem=False)
        for disabled, status in ((True, 404), (False, 200)):
            self.need(self.api.call("PATCH", f"/v1/admin/users/{d['id']}", json_body={"disabled": disabled}, token=self.admin),
                      f"admin PATCH disabled {disabled}")
            deadline, answer = time.monotonic() + 10, None
            while time.monotonic() < deadline:  # metadata hears of it by auth's event
                answer = self.api.call("GET", link_path, address=self.visitor)
                if answer.status == status:
                    break
                time.sleep(0.2)
            expect(f"disabled: the admin sets disabled {str(disabled).lower()} → the recipient's link answers {status} within 10 s",
                   answer, status, problem=False)

        # A deleted editor's upload in progress frees the owner's reservation.
        g = self.make_user("gone", self.tier, self.max_upload)
        self.share_ok(o, "folders", folder, g, "editor")
        before = self.reserved(o)
        created, path = self.tus_create(g, folder, "never finished.bin", 300_000)
        expect("deleted editor: a resumable upload of 300,000 bytes into the owner's folder → 201", created, 201, problem=False)
        during = self.reserved(o)
        check("deleted editor: … the owner's quota.reserved_bytes grew by 300,000", isinstance(before, int) and during == before + 300_000,
              f"{before} → {during}")
        expect("deleted editor: the admin deletes the editor → 204", self.api.call("DELETE", f"/v1/admin/users/{g['id']}", token=self.admin), 204)
        deadline, after = time.monotonic() + 15, during
        while time.monotonic() < deadline and after != before:
            time.sleep(0.25)
            after = self.reserved(o)
        check("deleted editor: … the owner's reserved bytes are freed within 15 s", after == before, f"{before} → {during} → {after}")

    # -- shared-with-me paging, share validation ----------------------------------------------

    def shared_with_me_group(self):
        o, p = self.owner, self.pager
        first = self.mkdir(o, o["root"], f"Eins {self.run_id}")
        child = self.mkdir(o, first, "Kind")
        second = self.mkdir(o, o["root"], f"Zwei {self.run_id}")
        third = self.put(o, o["root"], f"drei {self.run_id}.txt", b"three\n")
        shares = [self.share_ok(o, "folders", first, p), self.share_ok(o, "folders", second, p), self.share_ok(o, "files", third, p)]
        newest_first = [s["id"].lower() for s in reversed(shares)]

        page1 = self.api.call("GET", "/v1/shared-with-me?limit=2", token=p["token"])
        body1 = page1.json or {}
        ids1 = [x.get("id", "").lower() for x in body1.get("items") or []]
        expect("shared-with-me: limit=2 → 200, the two newest shares and a next_cursor", page1, 200,
               extra=[] if ids1 == newest_first[:2] and body1.get("next_cursor") else [f"ids {ids1}, next_cursor {body1.get('next_cursor')!r}"])
        cursor = body1.get("next_cursor") or ""
        page2 = self.api.call("GET", f"/v1/shared-with-me?limit=2&cursor={q(cursor)}", token=p["token"])
        body2 = page2.json or {}
        ids2 = [x.get("id", "").lower() for x in body2.get("items") or []]
        expect("shared-with-me: the second page → the oldest share, next_cursor null", page2, 200,
               extra=[] if ids2 == newest_first[2:] and body2.get("next_cursor") is None else [f"ids {ids2}, next_cursor {body2.get('next_cursor')!r}"])
        items = (body1.get("items") or []) + (body2.get("items") or [])
        issues = [f"{x.get('item', {}).get('name')}: parent_id {x.get('item', {}).get('parent_id')}" for x in items if (x.get("item") or {}).get("parent_id")]
        issues += [f"owner {x.get('owner')}" for x in items if (x.get("owner") or {}).get("username") != o["username"]]
        issues += [f"role {x.get('role')}" for x in items if x.get("role") != "viewer"]
        check("shared-with-me: items show the item (parent_id null), the owner and the role", items and not issues, "; ".join(issues[:4]))
        expect("shared-with-me: a bad cursor → 422 cursor", self.api.call("GET", "/v1/shared-with-me?cursor=not-a-cursor", token=p["token"]), 422,
               field="cursor")
        expect("shared-with-me: limit=0 → 422 limit", self.api.call("GET", "/v1/shared-with-me?limit=0", token=p["token"]), 422, field="limit")
        expect("shared-with-me: limit=1001 → 422 limit", self.api.call("GET", "/v1/shared-with-me?limit=1001", token=p["token"]), 422, field="limit")
        expect("shared-with-me: anonymous → 401", self.api.call("GET", "/v1/shared-with-me", address=self.visitor), 401)

        seen = self.item(p["token"], "folders", first)
        expect("recipient: GET of the shared folder → 200 with parent_id null", seen, 200,
               extra=[] if (seen.json or {}).get("parent_id") is None else [f"parent_id {(seen.json or {}).get('parent_id')}"])
        seen = self.item(o["token"], "folders", first)
        check("owner: … the owner sees its parent (their root)", same_id((seen.json or {}).get("parent_id"), o["root"]), snippet(seen.body))
        seen = self.item(p["token"], "folders", child)
        expect("recipient: a folder below it has its usual parent_id", seen, 200,
               extra=[] if same_id((seen.json or {}).get("parent_id"), first) else [f"parent_id {(seen.json or {}).get('parent_id')}"])
        seen = self.item(p["token"], "files", third)
        expect("recipient: a file shared on its own → 200 with parent_id null", seen, 200,
               extra=[] if (seen.json or {}).get("parent_id") is None else [f"parent_id {(seen.json or {}).get('parent_id')}"])
        expect("recipient: GET /v1/folders/{id}/shares → 403 share-role", self.api.call("GET", f"/v1/folders/{first}/shares", token=p["token"]),
               403, kind=SHARE_ROLE)
        expect("recipient: POST /v1/folders/{id}/shares (re-share) → 403 share-role", self.share(p["token"], "folders", first, self.stranger["username"]),
               403, kind=SHARE_ROLE)
        expect("recipient: POST /v1/public-links for it → 403 share-role",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": first}, token=p["token"]), 403, kind=SHARE_ROLE)

        t = o["token"]
        expect("validation: no user → 422 user", self.share(t, "folders", first, None), 422, field="user")
        expect("validation: only a role → 422 user", self.share(t, "folders", first, None, "editor"), 422, field="user")
        expect("validation: an unknown user → 422 user", self.share(t, "folders", first, f"nobody{self.run_id}"), 422, field="user")
        expect("validation: the owner themself → 422 user", self.share(t, "folders", first, o["username"]), 422, field="user")
        expect("validation: role admin → 422 role", self.share(t, "folders", first, p["username"], "admin"), 422, field="role")
        expect("validation: the root folder → 409", self.share(t, "folders", o["root"], p["username"]), 409)
        expect("validation: a folder's id on the files route → 404", self.share(t, "files", first, p["username"]), 404)
        expect("validation: someone else's folder → 404", self.share(self.stranger["token"], "folders", first, p["username"]), 404)
        again = self.share(t, "folders", first, p["username"], "editor")
        body = again.json or {}
        expect("validation: sharing again with the same user (role editor) → 200, the same share with the new role", again, 200,
               extra=[] if same_id(body.get("id"), shares[0]["id"]) and body.get("role") == "editor" else [snippet(again.body)])
        by_mail = self.share(t, "folders", first, p["email"], "viewer")
        body = by_mail.json or {}
        expect("validation: by the recipient's e-mail address (role viewer) → 200, the same share", by_mail, 200,
               extra=[] if same_id(body.get("id"), shares[0]["id"]) and body.get("role") == "viewer" else [snippet(by_mail.body)])
        listed = self.api.call("GET", f"/v1/folders/{first}/shares", token=t)
        recipients = [(x.get("recipient") or {}).get("username") for x in (listed.json or {}).get("items") or []]
        check("validation: … still one share of the folder", recipients == [p["username"]], str(recipients))
        check("validation: the recipient's e-mail is not shown", p["email"] not in listed.body.decode("utf-8", "replace"))

    # -- public links -------------------------------------------------------------------------

    def public_links(self):
        o = self.owner
        t = o["token"]
        folder = self.mkdir(o, o["root"], f"Öffentlich {self.run_id}")
        inner = self.mkdir(o, folder, "Innen")
        outside_folder = self.mkdir(o, o["root"], f"Draußen {self.run_id}")
        top_bytes, inner_bytes = os.urandom(5000), os.urandom(3000)
        top = self.put(o, folder, "top.bin", top_bytes)
        inner_file = self.put(o, inner, "inner.bin", inner_bytes)
        pic_bytes = noise_png(40, 30, seed=23)
        pic = self.put(o, folder, "pic.png", pic_bytes)
        outside = self.put(o, outside_folder, "outside.bin", b"not in the link\n")
        password = f"correct horse {self.run_id}"

        created = self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "password": password}, token=t)
        link = created.json or {}
        token = link.get("token") or "missing"
        issues = []
        if created.status == 201:
            if link.get("has_password") is not True or link.get("expires_at") is not None or link.get("downloads") != 0:
                issues.append(f"has_password {link.get('has_password')}, expires_at {link.get('expires_at')}, downloads {link.get('downloads')}")
            if link.get("path") != f"/v1/public/{token}" or not str(link.get("url", "")).endswith(f"/v1/public/{token}"):
                issues.append(f"path {link.get('path')!r} url {link.get('url')!r}")
            if not same_id((link.get("item") or {}).get("id"), folder) or (link.get("item") or {}).get("kind") != "folder":
                issues.append(f"item {link.get('item')}")
        expect("public link: create on a folder with a password → 201 (has_password, no expiry, 0 downloads, path and url)", created, 201, extra=issues)
        open_link = self.api.call("POST", "/v1/public-links", json_body={"item_id": folder}, token=t)
        expect("public link: create on the folder without a password → 201", open_link, 201,
               extra=[] if (open_link.json or {}).get("has_password") is False else [snippet(open_link.body)])
        open_token = (open_link.json or {}).get("token") or "missing"

        def robots(a):
            return [] if "noindex" in a.headers.get("x-robots-tag", "") else [f"X-Robots-Tag {a.headers.get('x-robots-tag')!r}"]

        a = self.visit(token)
        expect("visitor: no password → 401 link-password, no WWW-Authenticate, X-Robots-Tag noindex", a, 401, kind=LINK_PASSWORD,
               extra=robots(a) + ([f"WWW-Authenticate {a.headers['www-authenticate']!r}"] if "www-authenticate" in a.headers else []))
        a = self.visit(token, password="wrong password!")
        expect("visitor: a wrong password → 403 link-password", a, 403, kind=LINK_PASSWORD, extra=robots(a))
        a = self.visit(token, password=password)
        body = a.json or {}
        issues = robots(a)
        if "no-store" not in a.headers.get("cache-control", ""):
            issues.append(f"Cache-Control {a.headers.get('cache-control')!r}")
        if a.status == 200:
            if not same_id((body.get("item") or {}).get("id"), folder) or (body.get("item") or {}).get("parent_id") is not None:
                issues.append(f"item {body.get('item')}")
            if not same_id((body.get("link") or {}).get("id"), link.get("id")) or (body.get("link") or {}).get("has_password") is not True:
                issues.append(f"link {body.get('link')}")
        expect("visitor: the right password (X-Link-Password) → 200, X-Robots-Tag noindex, Cache-Control no-store, the folder (parent_id null)",
               a, 200, extra=issues)
        a = self.visit(open_token)
        expect("visitor: the link without a password → 200 with no password sent", a, 200,
               extra=robots(a) + ([] if (a.json or {}).get("link", {}).get("has_password") is False else [snippet(a.body)]))

        a = self.visit(token, "/children", password)
        names = {x.get("name") for x in (a.json or {}).get("items") or []}
        expect("visitor: children → 200 the folder's items, Cache-Control no-store", a, 200,
               extra=([] if names == {"Innen", "top.bin", "pic.png"} else [f"names {sorted(names)}"]) + robots(a)
               + ([] if "no-store" in a.headers.get("cache-control", "") else [f"Cache-Control {a.headers.get('cache-control')!r}"]))
        a = self.visit(token, f"/children?folder_id={inner}", password)
        names = [x.get("name") for x in (a.json or {}).get("items") or []]
        expect("visitor: children?folder_id=<a subfolder> → 200 its items", a, 200, extra=[] if names == ["inner.bin"] else [f"names {names}"])
        expect("visitor: children?folder_id=<a folder outside the link> → 404", self.visit(token, f"/children?folder_id={outside_folder}", password), 404)
        expect("visitor: children?folder_id=<the owner's root> → 404", self.visit(token, f"/children?folder_id={o['root']}", password), 404)

        before = self.link_downloads(link.get("id"))
        a = self.visit(token, f"/files/{top}/content", password)
        expect("visitor: download a file → 200, the bytes, Cache-Control private, no-store", a, 200,
               extra=([] if a.body == top_bytes else [f"{len(a.body)} other bytes"])
               + ([] if "no-store" in a.headers.get("cache-control", "") else [f"Cache-Control {a.headers.get('cache-control')!r}"]) + robots(a))
        after = self.link_downloads(link.get("id"))
        check("visitor: … GET /v1/public-links counts the download (+1)", isinstance(before, int) and after == before + 1, f"{before} → {after}")
        a = self.visit(token, f"/files/{top}/content", password, method="HEAD")
        expect("visitor: HEAD of the file → 200 with its length", a, 200, problem=False,
               extra=[] if a.headers.get("content-length") == str(len(top_bytes)) else [f"Content-Length {a.headers.get('content-length')!r}"])
        a = self.visit(token, f"/files/{top}/content", password, headers={"Range": "bytes=10-19"})
        expect("visitor: a range from byte 10 → 206, the bytes", a, 206, extra=[] if a.body == top_bytes[10:20] else [f"bytes {a.body!r}"])
        check("visitor: … HEAD and a range from byte 10 do not count", self.link_downloads(link.get("id")) == after,
              f"{after} → {self.link_downloads(link.get('id'))}")
        seen = self.visit(token, "", password).json or {}
        check("visitor: GET /v1/public/{token} shows the same count", (seen.get("link") or {}).get("downloads") == after, str(seen.get("link")))
        a = self.visit(token, f"/files/{inner_file}/content", password)
        expect("visitor: a file in a subfolder → 200, the bytes", a, 200, extra=[] if a.body == inner_bytes else ["other bytes"])
        expect("visitor: a file outside the link's folder → 404", self.visit(token, f"/files/{outside}/content", password), 404)
        expect("visitor: a file with no password → 401", self.visit(token, f"/files/{top}/content"), 401, kind=LINK_PASSWORD)
        a = self.visit(token, f"/files/{top}/content", method="POST", form={"password": password})
        expect("visitor: POST form password=… to the file's content → 200, the bytes", a, 200, extra=[] if a.body == top_bytes else ["other bytes"])
        a = self.visit(token, f"/files/{top}/content", method="POST", form={"password": "wrong password!"})
        expect("visitor: … a wrong form password → 403", a, 403, kind=LINK_PASSWORD)

        status = self.wait_thumbnails(o, pic)
        check("visitor: (the image's thumbnails are ready)", status == "ready", f"thumbnails {status}")
        a = self.visit(token, f"/files/{pic}/thumbnails/200", password)
        expect("visitor: a thumbnail of the tier's height (200) → 200 image", a, 200,
               extra=[] if a.headers.get("content-type", "").startswith("image/") and a.body else [str(a)])
        expect("visitor: a height outside the owner's tier (400) → 404", self.visit(token, f"/files/{pic}/thumbnails/400", password), 404)
        expect("visitor: a thumbnail of a non-image → 404", self.visit(token, f"/files/{top}/thumbnails/200", password), 404)

        before = self.link_downloads(link.get("id"))
        a = self.visit(token, "/zip", method="POST", form={"password": password})
        expect("visitor: POST form password=… to /zip → 200 application/zip", a, 200,
               extra=[] if a.headers.get("content-type", "").startswith("application/zip") else [f"Content-Type {a.headers.get('content-type')!r}"])
        try:
            with zipfile.ZipFile(io.BytesIO(a.body)) as archive:
                got = {n: (archive.read(n) if not n.endswith("/") else None) for n in archive.namelist()}
            check("visitor: … the ZIP holds the folder (Innen/, Innen/inner.bin, top.bin, pic.png) with their bytes",
                  got == {"Innen/": None, "Innen/inner.bin": inner_bytes, "top.bin": top_bytes, "pic.png": pic_bytes}, str(sorted(got)))
        except zipfile.BadZipFile as error:
            check("visitor: … the ZIP opens", False, str(error))
        check("visitor: … a ZIP counts as a download", self.link_downloads(link.get("id")) == (before or 0) + 1,
              f"{before} → {self.link_downloads(link.get('id'))}")
        expect("visitor: /zip?folder_id=<outside the link> → 404", self.visit(token, f"/zip?folder_id={outside_folder}", password), 404)

        # Ten wrong passwords lock a link (its own counter: a separate link).
        locked = self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "password": password}, token=t)
        expect("lockout: another link with the password → 201", locked, 201)
        locked_token = (locked.json or {}).get("token") or "missing"
        wrong = [self.visit(locked_token, password=f"wrong guess {i}").status for i in range(10)]
        check("lockout: 10 wrong passwords → 403 each", wrong == [403] * 10, str(wrong))
        a = self.visit(locked_token, password=password)
        retry = a.headers.get("retry-after", "")
        expect("lockout: then the right password → 429 with Retry-After", a, 429,
               extra=([] if retry.isdigit() and int(retry) > 0 else [f"Retry-After {retry!r}"]) + robots(a))
        expect("lockout: … the first link is not locked (200)", self.visit(token, password=password), 200)
        # Guesses at once: each takes its attempt before bcrypt runs, so at most ten are tried.
        burst = self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "password": password}, token=t)
        expect("lockout: a third link with the password → 201", burst, 201)
        burst_token = (burst.json or {}).get("token") or "missing"
        statuses = []

        def guess(i):
            statuses.append(self.visit(burst_token, password=f"parallel guess {i}").status)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tried, refused = statuses.count(403), statuses.count(429)
        check("lockout: 30 wrong passwords sent at once → exactly 10 tried (403), the rest 429",
              tried == 10 and refused == 20, f"{tried} × 403, {refused} × 429, others {sorted(x for x in statuses if x not in (403, 429))}")
        expect("lockout: … then the right password → 429", self.visit(burst_token, password=password), 429)

        # Creation: validation, bounds of the owner's tier, root.
        expect(f"create: expires_in below the tier's minimum ({LINK_MIN_SECONDS - 1} < {LINK_MIN_SECONDS}) → 422 expires_in",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "expires_in": LINK_MIN_SECONDS - 1}, token=t), 422,
               field="expires_in")
        expect("create: expires_in above the tier's maximum (30001) → 422 expires_in",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "expires_in": 30001}, token=t), 422, field="expires_in")
        expect("create: a 7-byte password → 422 password",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "password": "1234567"}, token=t), 422, field="password")
        expect("create: a 73-byte password → 422 password",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "password": "x" * 73}, token=t), 422, field="password")
        expect("create: no item_id → 422 item_id", self.api.call("POST", "/v1/public-links", json_body={}, token=t), 422, field="item_id")
        expect("create: item_id not a UUID → 422 item_id", self.api.call("POST", "/v1/public-links", json_body={"item_id": "nope"}, token=t), 422,
               field="item_id")
        expect("create: the root folder → 409", self.api.call("POST", "/v1/public-links", json_body={"item_id": o["root"]}, token=t), 409)
        expect("create: another user's item → 422 item_id",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": folder}, token=self.stranger["token"]), 422, field="item_id")
        tight_folder = self.mkdir(self.tight, self.tight["root"], f"Link {self.run_id}")
        expect("create: an owner whose tier has no original_links → 403 tier",
               self.api.call("POST", "/v1/public-links", json_body={"item_id": tight_folder}, token=self.tight["token"]), 403,
               kind="https://cirrus.dev/problems/tier")

        # Expiry: a link of the tier's shortest life (a few seconds) → 410 once it is over.
        short = self.api.call("POST", "/v1/public-links", json_body={"item_id": folder, "expires_in": LINK_MIN_SECONDS + 1}, token=t)
        expect(f"expiry: a link with expires_in {LINK_MIN_SECONDS + 1} → 201 with expires_at", short, 201,
               extra=[] if (short.json or {}).get("expires_at") else ["no expires_at"])
        short_token = (short.json or {}).get("token") or "missing"
        expect("expiry: right away → 200", self.visit(short_token), 200)
        deadline, a = time.monotonic() + 15, None
        while time.monotonic() < deadline:
            a = self.visit(short_token)
            if a.status != 200:
                break
            time.sleep(0.5)
        expect("expiry: once expired → 410 link-expired (X-Robots-Tag noindex)", a, 410, kind=LINK_EXPIRED, extra=robots(a))

        # A file's link.
        file_link = self.api.call("POST", "/v1/public-links", json_body={"item_id": top}, token=t)
        expect("file link: create on a file → 201 (kind file)", file_link, 201,
               extra=[] if ((file_link.json or {}).get("item") or {}).get("kind") == "file" else [snippet(file_link.body)])
        file_token = (file_link.json or {}).get("token") or "missing"
        a = self.visit(file_token)
        expect("file link: GET /v1/public/{token} → 200 the file", a, 200,
               extra=[] if same_id(((a.json or {}).get("item") or {}).get("id"), top) else [snippet(a.body)])
        a = self.visit(file_token, f"/files/{top}/content")
        expect("file link: its content → 200, the bytes", a, 200, extra=[] if a.body == top_bytes else ["other bytes"])
        expect("file link: children → 404", self.visit(file_token, "/children"), 404)
        expect("file link: another file of the folder → 404", self.visit(file_token, f"/files/{inner_file}/content"), 404)

        # Revoked, forged, junk.
        expect("revoke: a stranger's DELETE /v1/public-links/{id} → 404",
               self.api.call("DELETE", f"/v1/public-links/{(open_link.json or {}).get('id')}", token=self.stranger["token"]), 404)
        expect("revoke: the owner's DELETE /v1/public-links/{id} → 204",
               self.api.call("DELETE", f"/v1/public-links/{(open_link.json or {}).get('id')}", token=t), 204)
        a = self.visit(open_token)
        expect("revoke: the revoked link → 404 link-not-found (X-Robots-Tag noindex)", a, 404, kind=LINK_NOT_FOUND, extra=robots(a))
        listed = self.api.call("GET", "/v1/public-links", token=t)
        tokens = [x.get("token") for x in (listed.json or {}).get("items") or []]
        check("revoke: the listing no longer has it, and shows the others' tokens again", open_token not in tokens and token in tokens)
        position = max(len(token) - 8, token.find(".") + 2)
        forged = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]
        expect("forged: one character of the token changed → 404", self.visit(forged, password=password), 404, kind=LINK_NOT_FOUND)
        expect("forged: a token that cannot be one → 404", self.visit("x" * 80, password=password), 404)
        expect("forged: a made-up token → 404", self.visit("k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password=password), 404)
        expect("trashed: the owner trashes the linked folder → 204", self.api.call("DELETE", f"/v1/folders/{folder}", token=t), 204)
        expect("trashed: the link → 404", self.visit(token, password=password), 404)
        expect("trashed: the owner restores it → 200", self.api.call("POST", f"/v1/trash/{folder}/restore", token=t), 200)
        expect("trashed: restored, the link works again → 200", self.visit(token, password=password), 200)

    # -- ZIP ----------------------------------------------------------------------------------

    def check_zip(self, label, answer, files, folders, filename, public=False):
        """The archive holds exactly `folders` (as "path/") and `files` (path → bytes)."""
        issues = []
        if answer.error or answer.status != 200:
            check(f"{label}: 200 application/zip", False, str(answer))
            return
        if not answer.headers.get("content-type", "").startswith("application/zip"):
            issues.append(f"Content-Type {answer.headers.get('content-type')!r}")
        disposition = answer.headers.get("content-disposition", "")
        if not disposition.startswith("attachment") or disposition_name(disposition) != filename:
            issues.append(f"Content-Disposition {disposition!r} (expected attachment, {filename!r})")
        if "content-length" in answer.headers:
            issues.append(f"Content-Length {answer.headers['content-length']} (not streamed)")
        if public and "no-store" not in answer.headers.get("cache-control", ""):
            issues.append(f"Cache-Control {answer.headers.get('cache-control')!r}")
        check(f"{label}: 200 application/zip, attachment \"{filename}\", streamed (no Content-Length)", not issues, "; ".join(issues))

        with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
            handle.write(answer.body)
            handle.flush()
            try:
                tested = subprocess.run(["unzip", "-t", handle.name], capture_output=True, text=True, errors="replace", timeout=120)
                passed = tested.returncode == 0 and "No errors detected" in tested.stdout
                check(f"{label}: unzip -t passes", passed, "" if passed else f"exit {tested.returncode}: {(tested.stdout + tested.stderr)[-300:]}")
            except FileNotFoundError:
                check(f"{label}: unzip -t passes", False, "unzip is not installed")
        try:
            archive = zipfile.ZipFile(io.BytesIO(answer.body))
        except zipfile.BadZipFile as error:
            check(f"{label}: Python's zipfile opens it", False, str(error))
            return
        names = archive.namelist()
        expected = set(files) | {f + "/" for f in folders}
        issues = []
        if len(names) != len(set(names)):
            issues.append(f"duplicate entries: {sorted(n for n in set(names) if names.count(n) > 1)}")
        if set(names) != expected:
            issues.append(f"missing {sorted(expected - set(names))}, extra {sorted(set(names) - expected)}")
        check(f"{label}: zipfile lists every file and every folder (as path/, empty ones too), nothing else ({len(expected)} entries)",
              not issues, "; ".join(issues))
        wrong = []
        for path, data in files.items():
            try:
                if archive.read(path) != data:
                    wrong.append(path)
            except (KeyError, zipfile.BadZipFile) as error:
                wrong.append(f"{path} ({error})")
        check(f"{label}: every file's bytes equal the upload, bit for bit ({len(files)} files, {sum(map(len, files.values()))} bytes)", not wrong,
              f"differ: {wrong[:5]}" if wrong else "")
        issues = []
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                issues.append(f"{info.filename}: compression {info.compress_type}")
            if not info.filename.isascii() and not info.flag_bits & 0x800:
                issues.append(f"{info.filename}: no UTF-8 flag")
            if info.is_dir() and info.file_size != 0:
                issues.append(f"{info.filename}: a folder of {info.file_size} bytes")
        check(f"{label}: entries stored (no compression), non-ASCII names flagged UTF-8 (bit 11)", not issues, "; ".join(issues[:5]))

    def zip_group(self):
        o, v = self.owner, self.viewer
        name = nfc(f"Archiv ä {self.run_id}")
        root = self.mkdir(o, o["root"], name)
        folders = [nfc(f) for f in ["Grüße ä", "日本", "日本/深い", "emoji 🎉", "with spaces", "leer", "nested", "nested/deeper"]]
        rng = random.Random(self.run_id)
        files = {nfc(path): data for path, data in [
            ("top file.bin", os.urandom(1000)),
            ("empty.txt", b""),
            ("Grüße ä/Ärger über Öl.txt", ("Grüße ä\n" * 50).encode()),
            ("日本/ファイル 名.bin", os.urandom(65537)),
            ("日本/深い/データ.bin", os.urandom(10)),
            ("emoji 🎉/party 🎈.dat", os.urandom(4096)),
            ("with spaces/a b c.txt", b"a b c\n" * 100),
            ("big.bin", bytes(rng.randrange(256) for _ in range(256)) * 6144 + os.urandom(7)),
        ]}
        # A backslash in a name is a separator to extractors on Windows: the archive names it `_`.
        backslashed = self.put(o, root, "..\\escape.txt", b"backslash\n")

        ids = {"": root}
        for path in folders:  # parents first
            parent, _, leaf = path.rpartition("/")
            ids[path] = self.mkdir(o, ids[parent], leaf)
        file_ids = {}
        for path, data in files.items():
            parent, _, leaf = path.rpartition("/")
            file_ids[path] = self.put(o, ids[parent], leaf, data)

        expect("zip: a file named '..\\escape.txt' exists (200); the archives below name it '.._escape.txt'",
               self.item(o["token"], "files", backslashed), 200)
        files[".._escape.txt"] = b"backslash\n"
        self.check_zip("zip (owner)", self.api.call("GET", f"/v1/folders/{root}/zip", token=o["token"]), files, folders, name + ".zip")
        self.share_ok(o, "folders", root, v)
        self.check_zip("zip (viewer)", self.api.call("GET", f"/v1/folders/{root}/zip", token=v["token"]), files, folders, name + ".zip")
        password = f"zip password {self.run_id}"
        link = self.need(self.api.call("POST", "/v1/public-links", json_body={"item_id": root, "password": password}, token=o["token"]),
                         "creating a public link to the ZIP folder", (201,))
        self.check_zip("zip (public link, X-Link-Password)", self.visit(link["token"], "/zip", password), files, folders, name + ".zip", public=True)
        self.check_zip("zip (public link, POST form)", self.visit(link["token"], "/zip", method="POST", form={"password": password}), files, folders,
                       name + ".zip", public=True)
        expect("zip (public link): no password → 401", self.visit(link["token"], "/zip"), 401, kind=LINK_PASSWORD)
        sub = nfc("日本")
        sub_files = {p[len(sub) + 1:]: d for p, d in files.items() if p.startswith(sub + "/")}
        sub_folders = [f[len(sub) + 1:] for f in folders if f.startswith(sub + "/")]
        self.check_zip("zip (public link, folder_id=日本)", self.visit(link["token"], f"/zip?folder_id={ids[sub]}", password), sub_files, sub_folders,
                       sub + ".zip", public=True)
        expect("zip: a stranger → 404", self.api.call("GET", f"/v1/folders/{root}/zip", token=self.stranger["token"]), 404)
        expect("zip: anonymous → 401", self.api.call("GET", f"/v1/folders/{root}/zip", address=self.visitor), 401)
        gone = nfc("with spaces/a b c.txt")
        expect("zip: the owner trashes a file → 204", self.api.call("DELETE", f"/v1/files/{file_ids[gone]}", token=o["token"]), 204)
        rest = {p: d for p, d in files.items() if p != gone}
        self.check_zip("zip (owner, a file trashed)", self.api.call("GET", f"/v1/folders/{root}/zip", token=o["token"]), rest, folders, name + ".zip")

    # -- events -------------------------------------------------------------------------------

    def outbox(self, keys):
        query = ("SELECT topic, partition_key, event_type, convert_from(payload, 'UTF8'), published_at IS NOT NULL FROM cirrus_outbox "
                 "WHERE event_type LIKE 'share.%' AND lower(partition_key) IN (" + ", ".join(f"'{k.lower()}'" for k in keys) + ") ORDER BY id")
        result = subprocess.run(["psql", self.args.metadata_db, "-qAt", "-F", "\x1f", "-c", query], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SetupError(f"psql: {result.stderr[-300:]}")
        rows = []
        for line in result.stdout.splitlines():
            if line.strip():
                topic, key, kind, payload, published = line.split("\x1f")
                rows.append({"topic": topic, "key": key, "type": kind, "envelope": json.loads(payload), "published": published == "t"})
        return rows

    def events(self):
        if not self.args.metadata_db:
            note("(events: skipped, no --metadata-db; nothing in Tests/api consumes Kafka, operations.py reads the services' outboxes)")
            return
        o, v, p = self.owner, self.viewer, self.pager
        folder = self.mkdir(o, o["root"], f"Ereignisse {self.run_id}")
        file_id = self.put(o, folder, "ereignis.txt", b"event\n")
        doomed = self.mkdir(o, o["root"], f"Vergänglich {self.run_id}")
        temporary = self.make_user("temp")

        s1 = self.share_ok(o, "folders", folder, v)["id"]
        expect("events: PATCH role editor → 200", self.api.call("PATCH", f"/v1/shares/{s1}", json_body={"role": "editor"}, token=o["token"]), 200)
        expect("events: PATCH role editor again (no change) → 200", self.api.call("PATCH", f"/v1/shares/{s1}", json_body={"role": "editor"},
                                                                                  token=o["token"]), 200)
        expect("events: share again as viewer → 200", self.share(o["token"], "folders", folder, v["username"], "viewer"), 200)
        expect("events: the owner revokes → 204", self.api.call("DELETE", f"/v1/shares/{s1}", token=o["token"]), 204)
        s2 = self.share_ok(o, "files", file_id, p, "editor")["id"]
        expect("events: the recipient leaves → 204", self.api.call("DELETE", f"/v1/shares/{s2}", token=p["token"]), 204)
        s3 = self.share_ok(o, "folders", doomed, p)["id"]
        expect("events: the owner trashes the shared folder → 204", self.api.call("DELETE", f"/v1/folders/{doomed}", token=o["token"]), 204)
        expect("events: … and purges it → 204", self.api.call("DELETE", f"/v1/trash/{doomed}", token=o["token"]), 204)
        s4 = self.share_ok(o, "folders", folder, temporary)["id"]
        expect("events: the admin deletes the recipient → 204",
               self.api.call("DELETE", f"/v1/admin/users/{temporary['id']}", token=self.admin), 204)

        owner, viewer, pager, temp = o["id"], v["id"], p["id"], temporary["id"]

        def created(share, item, kind, recipient, role):
            return ("share.created", item, {"share_id": share, "item_id": item, "item_kind": kind, "owner_id": owner, "recipient_id": recipient,
                                            "role": role})

        def updated(share, item, recipient, role, previous):
            return ("share.updated", item, {"share_id": share, "item_id": item, "owner_id": owner, "recipient_id": recipient, "role": role,
                                            "previous_role": previous})

        def revoked(share, item, recipient, reason):
            return ("share.revoked", item, {"share_id": share, "item_id": item, "owner_id": owner, "recipient_id": recipient, "reason": reason})

        expected = [
            created(s1, folder, "folder", viewer, "viewer"), updated(s1, folder, viewer, "editor", "viewer"),
            updated(s1, folder, viewer, "viewer", "editor"), revoked(s1, folder, viewer, "revoked"),
            created(s2, file_id, "file", pager, "editor"), revoked(s2, file_id, pager, "left"),
            created(s3, doomed, "folder", pager, "viewer"), revoked(s3, doomed, pager, "item_deleted"),
            created(s4, folder, "folder", temp, "viewer"), revoked(s4, folder, temp, "user_deleted"),
        ]
        keys = [folder, file_id, doomed]
        deadline, rows = time.monotonic() + 30, []
        while time.monotonic() < deadline:  # user_deleted comes through auth's user.deleted: asynchronous
            rows = self.outbox(keys)
            if len(rows) >= len(expected) and all(r["published"] for r in rows):
                break
            time.sleep(0.5)
        by_share = {}
        for row in rows:
            share = str((row["envelope"].get("payload") or {}).get("share_id", "")).lower()
            by_share.setdefault(share, []).append(row)
        for share, label in ((s1, "created, updated twice (the unchanged PATCH: none), revoked"), (s2, "created (a file), left"),
                             (s3, "created, item_deleted"), (s4, "created, user_deleted")):
            want = [(kind, item.lower(), lower_strings(payload)) for kind, item, payload in expected if payload["share_id"] == share]
            got = [(r["type"], r["key"].lower(), lower_strings(r["envelope"].get("payload"))) for r in by_share.get(share.lower(), [])]
            check(f"events: share {share[:8]}…: {label}, with the documented payloads, keyed by the item", got == want,
                  f"got {got}" if got != want else f"{len(got)} events")
        issues = []
        for row in rows:
            envelope = row["envelope"]
            if not (row["topic"] == row["type"] == envelope.get("type")):
                issues.append(f"topic {row['topic']} type {row['type']} envelope {envelope.get('type')}")
            if envelope.get("producer") != "metadata" or envelope.get("schema_version") != 1 or not envelope.get("event_id") or not envelope.get("occurred_at"):
                issues.append(f"envelope {snippet(json.dumps({k: v for k, v in envelope.items() if k != 'payload'}), 160)}")
        check("events: envelopes: type = topic, producer metadata, schema_version 1, event_id, occurred_at", rows and not issues, "; ".join(issues[:4]))
        unpublished = [r["type"] for r in rows if not r["published"]]
        check("events: every one published by the outbox relay (to Kafka)", rows and not unpublished, f"unpublished: {unpublished}")

    # -- leftovers -----------------------------------------------------------------------------

    def leftovers(self):
        check("no unexpected 5xx answer to any request of this run (507 aside)", not SERVER_ERRORS, "; ".join(SERVER_ERRORS[:8]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api", metavar="API_URL")
    parser.add_argument("--admin", required=True, metavar="USER:PASSWORD", help="an admin account (creates tiers, moves and deletes test users)")
    parser.add_argument("--metadata-db", default="", metavar="URL", help="metadata's database URL (psql): the share.* events in its outbox")
    groups = ["matrix", "revocation", "quota", "move-out", "editor", "shared-with-me", "public-links", "zip", "afterwards", "events"]
    parser.add_argument("--skip", action="append", default=[], choices=groups)
    args = parser.parse_args()
    if ":" not in args.admin:
        parser.error("--admin wants USER:PASSWORD")

    run = Run(args)
    try:
        run.setup()
    except SetupError as error:
        check("setup (admin login, tiers, users on them, their drives)", False, str(error))
        print(f"\n0 passed, {len(RESULTS)} failed")
        sys.exit(1)
    steps = [("matrix", run.matrix), ("revocation", run.revocation), ("quota", run.quota), ("move-out", run.move_out), ("editor", run.editor_limits),
             ("shared-with-me", run.shared_with_me_group), ("public-links", run.public_links), ("zip", run.zip_group),
             ("afterwards", run.afterwards), ("events", run.events)]
    for name, group in steps:
        if name not in args.skip:
            run_group(name, group)
    print("--- leftovers", flush=True)
    run.leftovers()
    finish(run.started, "sharing: {passed}/{total} checks passed, {failed} failed ({seconds:.0f}s)")


if __name__ == "__main__":
    main()
