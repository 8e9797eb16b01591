#!/usr/bin/env python3
"""The journeys a Cirrus user takes, end to end, through the public API and the `cirrus` CLI.

Runs against a running stack (Tests/api/run-on-stack.sh starts a throw-away one and calls
this) with an existing admin account:

  register and log in; build a folder tree; upload an image and see its thumbnails appear
  with no manual step; tier gating (basic: only the 200 thumbnail and no links; premium: 400
  and the original link, no expiring links; enterprise: expiring links that work, refuse a
  doctored token, and then expire); an admin creates a custom tier, moves a user to it, and
  the user's existing images gain the new size; rename, move, copy, replace content and read
  the old version; trash, restore, purge, and the blob and its thumbnails are collected from
  the stores; two users cannot see or touch each other's files; two users share a folder with
  the CLI (viewer, editor, a ZIP of it, revoked); a 1 GiB upload and download round-trips bit
  for bit.

Usage: journey.py API_URL --admin USER:PASSWORD --cli PATH/TO/cirrus --data STACK_DATA_DIR
  --data is the stack's object-store directory (infra/run's .local/data, holding blob/ and
  thumbnail/); only read, to see objects appear and be collected. Set the blob service's
  CIRRUS_BLOB_GC_GRACE_SECONDS / _INTERVAL_SECONDS low on that stack, or the collection
  check waits for the defaults (an hour). --big-mib changes the size of the round trip.
Prints one line per check and a summary; exits 1 at the first failure, naming it.
Needs python3 (stdlib only), vipsheader (libvips-tools) for thumbnail heights.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
import zlib

PASSED = 0
START = time.monotonic()


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check(condition, message):
    global PASSED
    if not condition:
        fail(message)
    PASSED += 1


def step(title):
    print(f"--- {title} ({time.monotonic() - START:.0f}s)", flush=True)


def eventually(what, probe, timeout=120, interval=0.5):
    """Calls probe until it returns something truthy; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    fail(f"{what}: not within {timeout}s (last: {last!r})")


class API:
    """A small HTTP client for the gateway: JSON in and out, waits out 429s like a client should."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.base = base.rstrip("/")

    def request(self, method, path, token=None, body=None, headers=None, raw=False):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = body
        if body is not None and not isinstance(body, (bytes, bytearray)):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for _ in range(30):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status, answer_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
            finally:
                conn.close()
            if status == 429:
                time.sleep(min(float(answer_headers.get("retry-after", "1")), 10))
                continue
            break
        if raw:
            return status, answer_headers, payload
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        return status, parsed

    def ok(self, method, path, token=None, body=None, want=200, **kw):
        status, answer = self.request(method, path, token, body, **kw)
        check(status == want, f"{method} {path} answered {status}, expected {want}: {answer!r}"[:600])
        return answer


class CLI:
    """The cirrus binary with its own config file (one per user)."""

    def __init__(self, binary, config):
        self.binary, self.config = binary, config

    def run(self, *args, stdin=None):
        env = dict(os.environ, CIRRUS_CONFIG=self.config)
        for _ in range(20):
            done = subprocess.run([self.binary, *args], input=stdin, capture_output=True, text=True, env=env, timeout=900)
            if "rate-limited" not in done.stderr:
                return done
            time.sleep(3)
        return done

    def ok(self, *args, stdin=None):
        done = self.run(*args, stdin=stdin)
        check(done.returncode == 0, f"cirrus {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def json(self, *args):
        out = self.ok(*args, "--json")
        try:
            return json.loads(out)
        except ValueError:
            fail(f"cirrus {' '.join(args)} --json printed no JSON: {out!r}")

    def code(self, want, *args):
        done = self.run(*args)
        check(done.returncode == want, f"cirrus {' '.join(args)} exited {done.returncode}, expected {want}: {done.stderr.strip()}")
        return done


def png(width, height, seed):
    """A valid RGB PNG of a gradient with noise (unique per seed, so no two uploads share bytes)."""
    rng = random.Random(seed)
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        base = bytes(((x * 255 // width) ^ rng.randrange(16)) & 0xFF for x in range(0, width))
        green = (y * 255 // height) & 0xFF
        rows += bytes(b for x in range(width) for b in (base[x], green, (base[x] + green) & 0xFF))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 1)) + chunk(b"IEND", b"")


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_height(data, work):
    path = os.path.join(work, "probe.img")
    with open(path, "wb") as f:
        f.write(data)
    done = subprocess.run(["vipsheader", "-f", "height", path], capture_output=True, text=True)
    check(done.returncode == 0, f"vipsheader could not read a thumbnail: {done.stderr.strip()}")
    return int(done.stdout.strip())


def store_objects(data_dir):
    """Every object file under the blob and thumbnail stores (their tmp/ areas left out)."""
    found = set()
    for store in ("blob", "thumbnail"):
        root = os.path.join(data_dir, store)
        for folder, dirs, files in os.walk(root):
            if os.path.relpath(folder, root).split(os.sep)[0] == "tmp":
                continue
            found.update(os.path.join(folder, name) for name in files)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("api")
    parser.add_argument("--admin", required=True, help="USER:PASSWORD of an admin")
    parser.add_argument("--cli", required=True)
    parser.add_argument("--data", required=True, help="the stack's store directory (blob/, thumbnail/)")
    parser.add_argument("--big-mib", type=int, default=1024)
    args = parser.parse_args()
    for tool in ("vipsheader", "sha256sum"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed")
    api = API(args.api)
    work = tempfile.mkdtemp(prefix="cirrus-journey-")
    try:
        journey(api, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"journey: {PASSED} passed, 0 failed ({time.monotonic() - START:.0f}s)")


def journey(api, args, work):
    suffix = f"{int(time.time())}{random.randrange(1000, 9999)}"
    password = f"Journey-{suffix}-pw"
    admin_name, admin_password = args.admin.split(":", 1)

    def cli(name):
        return CLI(args.cli, os.path.join(work, name, "config.json"))

    # ------------------------------------------------------------------------------------------
    step("register and log in (API and CLI)")
    users = {}
    for who in ("alice", "bob", "carol"):
        name = f"{who}{suffix}"
        created = api.ok("POST", "/v1/auth/register", body={"username": name, "email": f"{name}@example.com", "password": password}, want=201)
        check(created.get("username") == name and "password" not in json.dumps(created), f"register answered {created!r}")
        status, _ = api.request("POST", "/v1/auth/login", body={"login": name, "password": password + "x"})
        check(status == 401, f"a wrong password answered {status}, expected 401")
        tokens = api.ok("POST", "/v1/auth/login", body={"login": name, "password": password})
        check(tokens.get("access_token") and tokens.get("refresh_token"), "login returns an access and a refresh token")
        client = cli(who)
        client.ok("login", "--server", api.base, "--user", name, "--password-stdin", stdin=password + "\n")
        check(oct(os.stat(client.config).st_mode & 0o777) == "0o600", "the CLI's config file is 0600")
        me = client.json("me")
        check(me["username"] == name and me["tier"]["name"] == "basic", f"a new account is on basic: {me!r}")
        users[who] = {"name": name, "id": me["id"], "token": tokens["access_token"], "cli": client}
    admin = cli("admin")
    admin.ok("login", "--server", api.base, "--user", admin_name, "--password-stdin", stdin=admin_password + "\n")
    alice, bob, carol = users["alice"], users["bob"], users["carol"]

    def token(user):  # a fresh access token (tier claims change with the tier)
        return api.ok("POST", "/v1/auth/login", body={"login": user["name"], "password": password})["access_token"]

    for user in users.values():  # metadata creates the drive on user.registered
        eventually(f"{user['name']}'s drive", lambda u=user: api.request("GET", "/v1/folders/root", u["token"])[0] == 200, 60)

    # ------------------------------------------------------------------------------------------
    step("a folder tree (CLI), seen through the API")
    a = alice["cli"]
    a.ok("mkdir", "-p", "/journey/photos/2026")
    a.ok("mkdir", "-p", "/journey/docs")
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "notes", "deep"))
    for rel, text in (("readme.txt", "hello cirrus\n"), ("notes/a.txt", "a\n"), ("notes/deep/b.txt", "b\n")):
        with open(os.path.join(tree, rel), "w") as f:
            f.write(text)
    a.ok("put", tree, "/journey/docs")
    root = api.ok("GET", "/v1/folders/root", alice["token"])
    listing = api.ok("GET", f"/v1/folders/{root['id']}/children", alice["token"])
    journey_folder = next((i for i in listing["items"] if i["name"] == "journey"), None)
    check(journey_folder and journey_folder["kind"] == "folder", f"/journey is in the root: {listing!r}")
    names = sorted(i["name"] for i in api.ok("GET", f"/v1/folders/{journey_folder['id']}/children", alice["token"])["items"])
    check(names == ["docs", "photos"], f"/journey holds docs and photos: {names}")
    found = api.ok("GET", "/v1/files?q=b.txt", alice["token"])["items"]
    check([i["name"] for i in found] == ["b.txt"], f"search finds the deepest file: {found!r}")
    deep = a.json("ls", "/journey/docs/tree/notes/deep")
    check([i["name"] for i in deep["items"]] == ["b.txt"], f"ls of the deepest folder: {deep!r}")

    # ------------------------------------------------------------------------------------------
    def upload_image(user, seed, remote_folder):
        path = os.path.join(work, f"image-{seed}.png")
        with open(path, "wb") as f:
            f.write(png(1200, 900, seed))
        item = user["cli"].json("put", path, remote_folder)
        check(item["thumbnails"]["status"] in ("pending", "ready"), f"an uploaded image awaits thumbnails: {item!r}")
        return item, path

    def thumbnails_ready(user, file_id, sizes):
        def probe():
            status, item = api.request("GET", f"/v1/files/{file_id}", user["token"])
            thumbs = (item or {}).get("thumbnails", {}) if status == 200 else {}
            return item if thumbs.get("status") == "ready" and set(sizes) <= set(thumbs.get("sizes", [])) else None
        return eventually(f"thumbnails {sizes} of {file_id}", probe, 120)

    def thumbnail(user, file_id, size, want=200):
        status, headers, body = api.request("GET", f"/v1/files/{file_id}/thumbnails/{size}", user["token"], raw=True)
        check(status == want, f"thumbnail {size} of {file_id} answered {status}, expected {want}: {body[:200]!r}")
        if want == 200:
            check(headers.get("content-type", "").startswith("image/"), f"a thumbnail is an image: {headers.get('content-type')}")
            check(image_height(body, work) == size, f"the {size} thumbnail is {size} pixels high")
        return body

    step("basic: an image gets its 200 thumbnail by itself; no 400, no links")
    alice_image, _ = upload_image(alice, 1, "/journey/photos/2026")
    thumbnails_ready(alice, alice_image["id"], [200])
    thumbnail(alice, alice_image["id"], 200)
    thumbnail(alice, alice_image["id"], 400, want=403)
    images = api.ok("GET", "/v1/images", alice["token"])
    mine = next((i for i in images["items"] if i["id"] == alice_image["id"]), None)
    check(mine is not None and sorted(mine["links"]["thumbnails"]) == ["200"] and mine["links"].get("original") is None,
          f"/v1/images on basic lists the 200 thumbnail and no original link: {mine!r}")
    check(images["expiring_links"]["allowed"] is False, "basic has no expiring links")
    status, problem = api.request("POST", f"/v1/files/{alice_image['id']}/links", alice["token"], {"variant": "thumbnail", "size": 200, "expires_in": 600})
    check(status == 403, f"a link on basic answered {status}: {problem!r}")
    a.code(4, "link", "/journey/photos/2026/image-1.png", "--expires-in", "600")

    step("premium: 200 and 400 thumbnails and the original link; no expiring links")
    admin.json("users", "set-tier", bob["name"], "premium")
    bob["token"] = token(bob)
    check(bob["cli"].json("me")["tier"]["name"] == "premium", "the CLI's me shows the new tier")
    bob["cli"].ok("mkdir", "-p", "/pictures")
    bob_image, bob_path = upload_image(bob, 2, "/pictures")
    thumbnails_ready(bob, bob_image["id"], [200, 400])
    thumbnail(bob, bob_image["id"], 200)
    thumbnail(bob, bob_image["id"], 400)

    def premium_links():
        items = api.ok("GET", "/v1/images", bob["token"])["items"]
        it = next((i for i in items if i["id"] == bob_image["id"]), None)
        return it if it and it["links"].get("original") and sorted(it["links"]["thumbnails"]) == ["200", "400"] else None
    listed = eventually("premium's /v1/images links", premium_links, 60)
    status, _, body = api.request("GET", listed["links"]["original"], bob["token"], raw=True)
    check(status == 200 and body == open(bob_path, "rb").read(), f"premium's original link downloads the file ({status})")
    status, problem = api.request("POST", f"/v1/files/{bob_image['id']}/links", bob["token"], {"variant": "original", "expires_in": 600})
    check(status == 403, f"an expiring link on premium answered {status}: {problem!r}")

    step("enterprise: expiring links work, a doctored one is refused")
    admin.json("users", "set-tier", carol["name"], "enterprise")
    carol["token"] = token(carol)
    eventually("enterprise in metadata", lambda: api.ok("GET", "/v1/images", carol["token"])["expiring_links"].get("allowed") is True, 60)
    carol["cli"].ok("mkdir", "-p", "/shared")
    carol_image, carol_path = upload_image(carol, 3, "/shared")
    thumbnails_ready(carol, carol_image["id"], [200, 400])
    status, problem = api.request("POST", f"/v1/files/{carol_image['id']}/links", carol["token"], {"variant": "original", "expires_in": 30})
    check(status == 422 and "expires_in" in json.dumps(problem), f"an expiry below the tier's bounds is a 422 naming expires_in: {problem!r}")
    original_link = api.ok("POST", f"/v1/files/{carol_image['id']}/links", carol["token"], {"variant": "original", "expires_in": 300}, want=201)
    thumb_url = carol["cli"].ok("link", "/shared/image-3.png", "--expires-in", "300", "--thumbnail", "400").strip()
    check(thumb_url.startswith("http"), f"cirrus link prints a URL: {thumb_url!r}")
    status, _, body = api.request("GET", original_link["path"], raw=True)  # no credentials: the link is the credential
    check(status == 200 and body == open(carol_path, "rb").read(), f"the original link downloads the file without a token ({status})")
    thumb_path = urllib.parse.urlsplit(thumb_url).path
    status, headers, body = api.request("GET", thumb_path, raw=True)
    check(status == 200 and image_height(body, work) == 400, f"the thumbnail link serves the 400 thumbnail ({status})")
    token_part = original_link["path"].rsplit("/", 1)[1]
    doctored = token_part[:-2] + ("AA" if token_part[-2:] != "AA" else "BB")
    status, _ = api.request("GET", "/v1/links/" + doctored)
    check(status == 403, f"a doctored link answered {status}, expected 403")
    link_expires = time.time() + 300  # checked at the end, once it has expired

    # ------------------------------------------------------------------------------------------
    step("two users cannot see or touch each other's files")
    fid, aid = alice_image["id"], alice["token"]
    bob_root = api.ok("GET", "/v1/folders/root", bob["token"])["id"]
    for method, path, body in (("GET", f"/v1/files/{fid}", None), ("GET", f"/v1/files/{fid}/content", None),
                               ("GET", f"/v1/files/{fid}/thumbnails/200", None), ("GET", f"/v1/files/{fid}/versions", None),
                               ("PATCH", f"/v1/files/{fid}", {"name": "mine.png"}), ("DELETE", f"/v1/files/{fid}", None),
                               ("POST", f"/v1/files/{fid}/copy", {"parent_id": bob_root}), ("PUT", f"/v1/files/{fid}/content", b"overwrite"),
                               ("GET", f"/v1/folders/{journey_folder['id']}/children", None), ("DELETE", f"/v1/folders/{journey_folder['id']}", None),
                               ("POST", f"/v1/trash/{fid}/restore", None), ("DELETE", f"/v1/trash/{fid}", None)):
        status, answer = api.request(method, path, bob["token"], body)
        check(status == 404, f"bob's {method} {path} on alice's item answered {status}, expected 404: {answer!r}"[:400])
    status, _ = api.request("POST", f"/v1/files/{bob_image['id']}/copy", bob["token"], {"parent_id": journey_folder["id"]})
    check(status == 422, f"bob copying into alice's folder answered {status}, expected 422")
    status, _ = api.request("POST", f"/v1/files/{carol_image['id']}/links", bob["token"], {"variant": "original", "expires_in": 600})
    check(status == 404, f"bob making a link to carol's file answered {status}, expected 404")
    bob_search = api.ok("GET", "/v1/files?q=image", bob["token"])["items"]
    check({i["id"] for i in bob_search} == {bob_image["id"]}, f"bob's search sees only bob's image: {bob_search!r}")
    check(all(i["id"] != fid for i in api.ok("GET", "/v1/images", bob["token"])["items"]), "bob's /v1/images lists only his")
    after = api.ok("GET", f"/v1/files/{fid}", aid)
    check(after["name"] == "image-1.png" and after.get("trashed_at") is None, "alice's file is untouched")

    # ------------------------------------------------------------------------------------------
    step("rename, move, copy, replace content, read the old version")
    a.ok("mv", "/journey/docs/tree/readme.txt", "/journey/docs/tree/README.txt")
    check([i["name"] for i in a.json("ls", "/journey/docs/tree")["items"] if i["kind"] == "file"] == ["README.txt"], "rename shows in ls")
    a.ok("mv", "/journey/docs/tree/README.txt", "/journey/photos")
    moved = a.json("ls", "/journey/photos/README.txt")
    check(moved["sha256"] == hashlib.sha256(b"hello cirrus\n").hexdigest(), "the moved file keeps its content")
    copy = a.json("cp", "/journey/photos/README.txt", "/journey/docs")
    check(copy["id"] != moved["id"] and copy["sha256"] == moved["sha256"], f"the copy has its own id and the same content: {copy!r}")
    local = os.path.join(work, "README.txt")
    with open(local, "w") as f:
        f.write("hello cirrus, second edition\n")
    a.code(5, "put", local, "/journey/photos")  # exists with other content
    replaced = a.json("put", "--replace", local, "/journey/photos")
    check(replaced["id"] == moved["id"] and replaced["version"] == moved["version"] + 1, f"--replace makes a new version: {replaced!r}")
    versions = api.ok("GET", f"/v1/files/{moved['id']}/versions", aid)["versions"]
    check(len(versions) == 1 and versions[0]["sha256"] == moved["sha256"], f"the old content is a version: {versions!r}")
    status, _, old = api.request("GET", f"/v1/files/{moved['id']}/content?version={versions[0]['id']}", aid, raw=True)
    check(status == 200 and old == b"hello cirrus\n", f"the old version downloads ({status}, {old[:40]!r})")
    status, _, new = api.request("GET", f"/v1/files/{moved['id']}/content", aid, raw=True)
    check(status == 200 and new == b"hello cirrus, second edition\n", "the current content is the new one")
    status, _, copied = api.request("GET", f"/v1/files/{copy['id']}/content", aid, raw=True)
    check(status == 200 and copied == b"hello cirrus\n", "the copy keeps the content it was copied with")
    status, headers, part = api.request("GET", f"/v1/files/{moved['id']}/content", aid, headers={"Range": "bytes=6-11"}, raw=True)
    check(status == 206 and part == b"cirrus", f"a Range request answers 206 with the slice ({status}, {part!r})")

    # ------------------------------------------------------------------------------------------
    step("trash, restore, purge; the blob and its thumbnails are collected")
    before = store_objects(args.data)
    victim, victim_path = upload_image(alice, 4, "/journey/photos")
    thumbnails_ready(alice, victim["id"], [200])
    created = store_objects(args.data) - before
    check(any(os.sep + "blob" + os.sep in p for p in created) and any(os.sep + "thumbnail" + os.sep in p for p in created),
          f"the upload put an object in the blob store and one in the thumbnail store: {sorted(created)}")
    a.ok("rm", "/journey/photos/image-4.png")
    trash = a.json("trash")
    check(any(i["id"] == victim["id"] for i in trash["items"]), "a removed file is in the trash")
    status, _ = api.request("GET", f"/v1/files/{victim['id']}/content", aid)
    check(status == 404, f"a trashed file's content answered {status}, expected 404")
    check(all(i["name"] != "image-4.png" for i in a.json("ls", "/journey/photos")["items"]), "a trashed file is not listed")
    a.ok("restore", victim["id"])
    status, _, body = api.request("GET", f"/v1/files/{victim['id']}/content", aid, raw=True)
    check(status == 200 and body == open(victim_path, "rb").read(), "a restored file downloads as it was")
    a.ok("mkdir", "-p", "/journey/old/inner")
    a.ok("mv", "/journey/photos/image-4.png", "/journey/old/inner")
    old_folder = next(i for i in api.ok("GET", f"/v1/folders/{journey_folder['id']}/children", aid)["items"] if i["name"] == "old")
    api.ok("DELETE", f"/v1/folders/{old_folder['id']}", aid, want=204)
    trash = api.ok("GET", "/v1/trash", aid)["items"]
    folder_entry = next((i for i in trash if i["name"] == "old"), None)
    check(folder_entry is not None, f"the trashed folder is in the trash: {trash!r}")
    status, answer = api.request("GET", f"/v1/files/{victim['id']}/content", aid)
    check(status == 404, f"the content of a file in a trashed folder answered {status}, expected 404")
    api.ok("DELETE", f"/v1/trash/{folder_entry['id']}", aid, want=204)
    status, _ = api.request("GET", f"/v1/files/{victim['id']}", aid)
    check(status == 404, f"a purged file answered {status}, expected 404")
    eventually("the purged file's blob and thumbnails leave the stores",
               lambda: not (created & store_objects(args.data)), 180, 1)
    status, _, body = api.request("GET", f"/v1/files/{alice_image['id']}/content", aid, raw=True)
    check(status == 200, "alice's other image is untouched by the collection")

    # ------------------------------------------------------------------------------------------
    step("an admin's custom tier: the user's existing images gain the new size")
    tier_name = f"journey-{suffix}"
    tier = admin.json("tiers", "create", tier_name, "--thumbnail-sizes", "200,640", "--quota", "5GiB", "--max-upload", "1GiB", "--rpm", "600")
    check(tier["thumbnail_sizes"] == [200, 640], f"the tier was created: {tier!r}")
    a.code(4, "tiers", "list")  # not an admin
    admin.json("users", "set-tier", alice["name"], tier_name)
    alice["token"] = token(alice)
    thumbnails_ready(alice, alice_image["id"], [200, 640])
    thumbnail(alice, alice_image["id"], 640)
    thumbnail(alice, alice_image["id"], 400, want=403)
    listed = next(i for i in api.ok("GET", "/v1/images", alice["token"])["items"] if i["id"] == alice_image["id"])
    check(sorted(listed["links"]["thumbnails"], key=int) == ["200", "640"], f"/v1/images shows the new size: {listed!r}")
    users_on_tier = admin.json("users", "list", "--tier", tier_name)
    check([u["username"] for u in users_on_tier["items"]] == [alice["name"]], f"the admin sees alice on the tier: {users_on_tier!r}")

    # ------------------------------------------------------------------------------------------
    step("two users share a folder (CLI): viewer, editor, a ZIP of it, then revoked")
    b = bob["cli"]
    a.ok("share", "/journey/docs", "--with", bob["name"])
    shared = b.json("shared")
    check([(s["item"]["name"], s["role"], s["owner"]["username"]) for s in shared["items"]] == [("docs", "viewer", alice["name"])],
          f"bob sees what alice shares: {shared!r}")
    readme = os.path.join(work, "shared-a.txt")
    b.ok("get", "shared:/docs/tree/notes/a.txt", readme)
    with open(readme) as f:
        check(f.read() == "a\n", "bob downloads alice's file through the share")
    archive = os.path.join(work, "docs.zip")
    b.ok("get", "--zip", "shared:/docs", archive)
    with zipfile.ZipFile(archive) as z:
        check(z.testzip() is None, "the ZIP's checksums hold")
        check(sorted(n for n in z.namelist() if n.startswith("tree/")) == ["tree/", "tree/notes/", "tree/notes/a.txt", "tree/notes/deep/",
                                                                           "tree/notes/deep/b.txt"],
              f"the ZIP holds the shared tree: {z.namelist()!r}")
        check(z.read("tree/notes/deep/b.txt") == b"b\n", "a file in the ZIP is bit for bit the upload")
    note = os.path.join(work, "from-bob.txt")
    with open(note, "w") as f:
        f.write("from bob\n")
    b.code(4, "put", note, "shared:/docs")  # a viewer writes nothing
    a.ok("share", "/journey/docs", "--with", bob["name"], "--role", "editor")
    b.ok("put", note, "shared:/docs")
    mine = a.json("ls", "/journey/docs")
    check("from-bob.txt" in [i["name"] for i in mine["items"]], f"bob's upload is in alice's folder: {mine!r}")
    b.code(4, "rm", "shared:/docs")  # the shared folder itself stays alice's
    a.ok("unshare", "/journey/docs", "--with", bob["name"])
    b.code(3, "get", "shared:/docs/tree/notes/a.txt", readme)
    check(b.json("shared")["items"] == [], "nothing is shared with bob any more")

    # ------------------------------------------------------------------------------------------
    step(f"a {args.big_mib} MiB upload and download round-trip bit for bit (CLI)")
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        for _ in range(args.big_mib):
            f.write(os.urandom(1 << 20))
    want = sha256_file(big)
    started = time.monotonic()
    uploaded = carol["cli"].json("put", big, "/shared")
    up_seconds = time.monotonic() - started
    check(uploaded["size"] == args.big_mib << 20 and uploaded["sha256"] == want, f"the server's size and sha256 match: {uploaded!r}")
    back = os.path.join(work, "big.back")
    started = time.monotonic()
    carol["cli"].ok("get", "/shared/big.bin", back)
    down_seconds = time.monotonic() - started
    check(os.path.getsize(back) == args.big_mib << 20 and sha256_file(back) == want, "the download is identical to the upload")
    print(f"    ({args.big_mib} MiB: up {up_seconds:.1f}s, down {down_seconds:.1f}s — debug build, not a benchmark)")
    os.remove(back)
    os.remove(big)
    status, headers, _ = api.request("HEAD", f"/v1/files/{uploaded['id']}/content", carol["token"], raw=True)
    check(status == 200 and int(headers.get("content-length", -1)) == args.big_mib << 20, "HEAD reports the size")

    # ------------------------------------------------------------------------------------------
    step("the enterprise link expires")
    wait = link_expires - time.time() + 2
    if wait > 0:
        print(f"    (waiting {wait:.0f}s for the link's expiry)", flush=True)
        time.sleep(wait)
    status, problem = api.request("GET", original_link["path"])
    check(status == 410, f"an expired link answered {status}, expected 410: {problem!r}")
    status, _ = api.request("GET", thumb_path)
    check(status == 410, f"the expired thumbnail link answered {status}, expected 410")


if __name__ == "__main__":
    main()
