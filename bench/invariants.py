#!/usr/bin/env python3
"""Invariants of a Cirrus stack after a load (bench/load.py) and faults (bench/faults.sh).

Reads the load's ledger, asks the public API as each user, and reads the service databases
(psql over TCP as the stack's `cirrus` role) and the local object stores under STACK/data/.
Prints one line per invariant, PASS or FAIL with figures, and exits 1 on any FAIL.

  (a) every file a client got 201 for (and did not delete) is listed and downloads bit for bit;
      a file trashed with 204 is not listed
  (b) no file is listed that cannot be downloaded (every listed file downloads, bytes = its sha256)
  (c) every ready image has thumbnails (status ready, every tier size, an index row and an object
      per size, served 200) within --thumb-timeout seconds
  (d) no object in a store is unreferenced after GC: blob objects = blobs rows (and every row's
      object exists), no content with ref_count 0 left after the grace, no reference to a file
      metadata no longer has; thumbnail objects = thumbnails rows, no rendition of a purged file;
      no leftover temporary files. Polled until it holds or --gc-timeout passes (GC is periodic).
  (e) no duplicates from redelivered events: one item per upload (content id), no versions
      (the load never replaces content), used_bytes = sum of the files, reserved_bytes = sum of
      the open reservations, one blob reference per uploaded file, ref_count = its references,
      one rendition per file and size; and no outbox row left unpublished

Usage: invariants.py --api URL --users users.json --ledger ledger.jsonl --stack DIR --pg-port N
                     [--thumb-timeout 120] [--gc-timeout 120] [--sizes 200,400]
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

RESULTS = []


def result(name, ok, detail):
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def short(items, n=5):
    items = list(items)
    text = ", ".join(str(i) for i in items[:n])
    return text + (f" … (+{len(items) - n})" if len(items) > n else "")


class Api:
    def __init__(self, base):
        p = urllib.parse.urlparse(base)
        self.host, self.port = p.hostname, p.port

    def request(self, method, path, token=None, body=None, timeout=120):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in range(3):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                r = conn.getresponse()
                return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
            except (OSError, http.client.HTTPException) as e:
                last = e
                time.sleep(1)
            finally:
                conn.close()
        return None, str(last).encode(), {}

    def json(self, method, path, token=None, body=None):
        status, data, _ = self.request(method, path, token, body)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, None


class Db:
    def __init__(self, port, password):
        self.port, self.password = port, password

    def rows(self, db, sql):
        env = dict(os.environ, PGPASSWORD=self.password, PGCONNECT_TIMEOUT="10")
        out = subprocess.run(["psql", "-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(self.port), "-U", "cirrus", "-d", db, "-c", sql],
                             capture_output=True, text=True, env=env, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"psql {db}: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, db, sql):
        r = self.rows(db, sql)
        return r[0][0] if r else None


def store_objects(root):
    """Object keys in a local store (objects/<2>/<2>/<key>) and the files in its tmp/."""
    keys = set()
    base = os.path.join(root, "objects")
    for dirpath, _, files in os.walk(base):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), base).split(os.sep)
            keys.add("/".join(rel[2:]))
    tmp = os.path.join(root, "tmp")
    temps = [f for f in os.listdir(tmp) if not f.startswith(".health-")] if os.path.isdir(tmp) else []
    return keys, temps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--ledger", required=True)
    ap.add_argument("--stack", required=True)
    ap.add_argument("--pg-port", required=True, type=int)
    ap.add_argument("--thumb-timeout", type=float, default=120)
    ap.add_argument("--gc-timeout", type=float, default=120)
    ap.add_argument("--sizes", default="200,400")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--phases", help="phases.jsonl of bench/faults.sh: leaks are attributed to the phase of their purge")
    ap.add_argument("--details", help="write every offending id here (JSON)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    api = Api(args.api)
    db = Db(args.pg_port, open(os.path.join(args.stack, "secrets", "postgres-password")).read().strip())

    # ---- the ledger ----------------------------------------------------------------------
    uploads, uncertain, trash_any, trash_204, purge_204, owners = {}, [], set(), set(), set(), {}
    purge_time, details = {}, {}
    phases = [json.loads(l) for l in open(args.phases)] if args.phases and os.path.exists(args.phases) else []

    def by_phase(ids):
        """Where the purges of these files happened (phase of the load's 204), as text."""
        counts = {}
        for fid in ids:
            t = purge_time.get(fid)
            name = "no purge by the load" if t is None else next((p["phase"] for p in phases if p["start"] <= t < p["end"]), "outside the phases")
            counts[name] = counts.get(name, 0) + 1
        return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    with open(args.ledger) as f:
        for line in f:
            r = json.loads(line)
            if r["op"] == "user":
                owners[r["user"]] = r["owner"]
            elif r["op"] == "upload":
                uploads[r["file_id"].lower()] = r
            elif r["op"] == "upload_uncertain":
                uncertain.append(r)
            elif r["op"] in ("trash", "purge"):
                fid = r["file_id"].lower()
                trash_any.add(fid)
                if r["op"] == "trash" and r["status"] == 204:
                    trash_204.add(fid)
                if r["op"] == "purge" and r["status"] == 204:
                    purge_204.add(fid)
                    purge_time[fid] = r["t"]
    expected = {fid: r for fid, r in uploads.items() if fid not in trash_any}
    print(f"ledger: {len(uploads)} uploads answered 201, {len(uncertain)} with an unknown outcome, "
          f"{len(trash_204)} trashed (204), {len(purge_204)} purged (204), {len(trash_any - trash_204)} deletes with "
          f"an unknown outcome; {len(expected)} files expected live", flush=True)

    # ---- log in and list every live file of every user ----------------------------------------
    users = json.load(open(args.users))
    tokens, listed = {}, {}
    for u in users:
        status, body = api.json("POST", "/v1/auth/login", body={"login": u["username"], "password": u["password"]})
        if status != 200:
            result("setup", False, f"login {u['username']}: {status} {body}")
            return 1
        tokens[u["username"]] = body["access_token"]
        cursor, pages = None, 0
        while True:
            q = {"limit": 1000}
            if cursor:
                q["cursor"] = cursor
            status, page = api.json("GET", "/v1/files?" + urllib.parse.urlencode(q), tokens[u["username"]])
            if status != 200:
                result("setup", False, f"listing {u['username']}'s files: {status} {page}")
                return 1
            for item in page["items"]:
                listed[item["id"].lower()] = (u["username"], item)
            cursor = page.get("next_cursor")
            pages += 1
            if not cursor:
                break
    print(f"listing: {len(listed)} live files across {len(users)} users", flush=True)

    def download(fid):
        user, item = listed[fid]
        status, data, _ = api.request("GET", f"/v1/files/{fid}/content", tokens[user], timeout=300)
        digest = hashlib.sha256(data).hexdigest() if status == 200 else None
        return fid, status, digest, len(data) if status == 200 else None

    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
        downloads = {fid: (status, digest, size) for fid, status, digest, size in pool.map(download, list(listed))}

    # ---- (a) ----------------------------------------------------------------------------------
    missing = [fid for fid in expected if fid not in listed]
    wrong = [fid for fid, r in expected.items() if fid in listed and
             (downloads[fid][1] != r["sha256"] or downloads[fid][2] != r["size"])]
    trashed_listed = [fid for fid in trash_204 if fid in listed]
    result("(a) every 201 upload not deleted is listed and downloads bit for bit",
           not missing and not wrong and not trashed_listed,
           f"{len(expected)} expected, {len(missing)} missing from the listing"
           + (f" [{short(missing)}]" if missing else "") + f", {len(wrong)} with other bytes"
           + (f" [{short(wrong)}]" if wrong else "") + f", {len(trashed_listed)} trashed (204) but still listed"
           + (f" [{short(trashed_listed)}]" if trashed_listed else ""))

    # ---- (b) ----------------------------------------------------------------------------------
    bad = [f"{fid}: {downloads[fid][0]}" for fid in listed
           if downloads[fid][0] != 200 or downloads[fid][1] != listed[fid][1].get("sha256")]
    unknown_listed = [fid for fid in listed if fid not in uploads]
    result("(b) no file is listed that cannot be downloaded", not bad,
           f"{len(listed)} listed, {len(bad)} not downloadable or with other bytes than listed"
           + (f" [{short(bad)}]" if bad else "")
           + f"; {len(unknown_listed)} listed files came from uploads without a 201 (outcome unknown to the client), all checked")

    # ---- (c) ----------------------------------------------------------------------------------
    images = [fid for fid, (user, item) in listed.items() if (item.get("content_type") or "").startswith("image/")]
    deadline = time.time() + args.thumb_timeout
    waiting = set(images)
    t0 = time.time()
    states = {}
    while waiting and time.time() < deadline:
        for fid in list(waiting):
            user = listed[fid][0]
            status, item = api.json("GET", f"/v1/files/{fid}", tokens[user])
            th = (item or {}).get("thumbnails") or {}
            states[fid] = th.get("status")
            if status == 200 and th.get("status") == "ready" and set(sizes) <= set(th.get("sizes", [])):
                waiting.discard(fid)
        if waiting:
            time.sleep(2)
    ready_after = time.time() - t0
    problems = [f"{fid}: {states.get(fid)}" for fid in waiting]
    # every ready image: an index row and an object per size, and the API serves it
    thumb_rows = {}
    for fid, blob_id, size, key in db.rows("thumbnail", "SELECT file_id, blob_id, size, object_key FROM thumbnails"):
        thumb_rows[(fid.lower(), blob_id, int(size))] = key
    thumb_keys, _ = store_objects(os.path.join(args.stack, "data", "thumbnail"))
    for fid in images:
        if fid in waiting:
            continue
        blob_id = "sha256:" + listed[fid][1]["sha256"]
        for s in sizes:
            key = thumb_rows.get((fid, blob_id, s))
            if key is None:
                problems.append(f"{fid}/{s}: no index row")
            elif key not in thumb_keys:
                problems.append(f"{fid}/{s}: no object")
        status, data, headers = api.request("GET", f"/v1/files/{fid}/thumbnails/{sizes[0]}", tokens[listed[fid][0]])
        if status != 200 or not headers.get("content-type", "").startswith("image/"):
            problems.append(f"{fid}/{sizes[0]}: served {status}")
    result("(c) every ready image has its thumbnails", not problems,
           f"{len(images)} images; {len(images) - len(waiting)} ready with sizes {sizes} after {ready_after:.0f} s "
           f"(bound {args.thumb_timeout:.0f} s); {len(problems)} problems" + (f" [{short(problems)}]" if problems else ""))

    # ---- (d) ----------------------------------------------------------------------------------
    deadline = time.time() + args.gc_timeout
    t0 = time.time()
    while True:
        issues = []
        blob_rows = db.rows("blob", "SELECT object_key, ref_count FROM blobs")
        blob_keys_db = {k for k, _ in blob_rows}
        zero = [k for k, c in blob_rows if int(c) == 0]
        blob_keys, blob_tmp = store_objects(os.path.join(args.stack, "data", "blob"))
        orphans = blob_keys - blob_keys_db
        lost = blob_keys_db - blob_keys
        meta_files = {r[0].lower() for r in db.rows("metadata", "SELECT id FROM items WHERE kind = 'file' UNION SELECT file_id FROM versions")}
        ref_files = {r[0].lower() for r in db.rows("blob", "SELECT DISTINCT file_id FROM blob_refs")}
        dangling_refs = ref_files - meta_files
        thumb_db = {r[0]: r[1].lower() for r in db.rows("thumbnail", "SELECT object_key, file_id FROM thumbnails")}
        thumb_keys, thumb_tmp = store_objects(os.path.join(args.stack, "data", "thumbnail"))
        thumb_orphans = thumb_keys - set(thumb_db)
        thumb_lost = set(thumb_db) - thumb_keys
        thumb_dangling = {f for f in thumb_db.values() if f not in meta_files}
        if orphans: issues.append(f"{len(orphans)} blob objects no row names [{short(orphans, 3)}]")
        if zero: issues.append(f"{len(zero)} blob contents with ref_count 0 not collected")
        if dangling_refs: issues.append(f"{len(dangling_refs)} files with blob references that metadata does not have (purged when: {by_phase(dangling_refs)}) [{short(dangling_refs, 3)}]")
        if blob_tmp: issues.append(f"{len(blob_tmp)} temporary files in blob's store")
        if thumb_orphans: issues.append(f"{len(thumb_orphans)} thumbnail objects no row names [{short(thumb_orphans, 3)}]")
        if thumb_dangling: issues.append(f"renditions of {len(thumb_dangling)} files metadata does not have (purged when: {by_phase(thumb_dangling)}) [{short(thumb_dangling, 3)}]")
        if thumb_tmp: issues.append(f"{len(thumb_tmp)} temporary files in thumbnail's store")
        hard = []
        if lost: hard.append(f"{len(lost)} blob rows whose object is missing [{short(lost, 3)}]")
        if thumb_lost: hard.append(f"{len(thumb_lost)} thumbnail rows whose object is missing [{short(thumb_lost, 3)}]")
        if (not issues and not hard) or time.time() >= deadline:
            break
        time.sleep(3)
    details["d"] = {"blob_orphans": sorted(orphans), "blob_zero_ref": zero, "blob_lost": sorted(lost), "dangling_refs": sorted(dangling_refs),
                    "thumb_orphans": sorted(thumb_orphans), "thumb_lost": sorted(thumb_lost), "thumb_dangling": sorted(thumb_dangling),
                    "blob_tmp": blob_tmp, "thumb_tmp": thumb_tmp}
    result("(d) no object in a store is unreferenced after GC", not issues and not hard,
           f"blob: {len(blob_keys)} objects, {len(blob_keys_db)} rows; thumbnail: {len(thumb_keys)} objects, "
           f"{len(thumb_db)} rows; checked for {time.time() - t0:.0f} s" + ("; " + "; ".join(hard + issues) if issues or hard else ""))

    # ---- (e) ----------------------------------------------------------------------------------
    dup = []
    r = db.rows("metadata", "SELECT content_id, count(*) FROM items WHERE content_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1")
    if r: dup.append(f"{len(r)} uploads with more than one item")
    r = db.rows("metadata", "SELECT parent_id, name, count(*) FROM items WHERE trashed_at IS NULL AND parent_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1")
    if r: dup.append(f"{len(r)} duplicate live names")
    n = int(db.scalar("metadata", "SELECT count(*) FROM versions"))
    if n: dup.append(f"{n} versions (the load never replaces content: a completion applied twice?)")
    r = db.rows("metadata", """
        SELECT u.id, u.used_bytes, COALESCE(f.s, 0) + COALESCE(v.s, 0), u.reserved_bytes, COALESCE(up.s, 0)
        FROM users u
        LEFT JOIN (SELECT owner_id, sum(size) s FROM items WHERE kind = 'file' AND state = 'ready' GROUP BY 1) f ON f.owner_id = u.id
        LEFT JOIN (SELECT owner_id, sum(size) s FROM versions GROUP BY 1) v ON v.owner_id = u.id
        LEFT JOIN (SELECT owner_id, sum(reserved_bytes) s FROM uploads GROUP BY 1) up ON up.owner_id = u.id
        WHERE u.used_bytes <> COALESCE(f.s, 0) + COALESCE(v.s, 0) OR u.reserved_bytes <> COALESCE(up.s, 0)""")
    for uid, used, files, reserved, open_ in r:
        dup.append(f"user {uid}: used_bytes {used} vs files {files}, reserved_bytes {reserved} vs reservations {open_}")
    stale = int(db.scalar("metadata", "SELECT count(*) FROM uploads WHERE expires_at < now() - interval '30 seconds'"))
    if stale: dup.append(f"{stale} reservations past expiry not released")
    r = db.rows("blob", """SELECT b.owner_id, b.sha256, b.ref_count, count(r.ref_id) FROM blobs b
                           LEFT JOIN blob_refs r ON r.owner_id = b.owner_id AND r.sha256 = b.sha256
                           GROUP BY 1, 2, 3 HAVING b.ref_count <> count(r.ref_id)""")
    if r: dup.append(f"{len(r)} blob contents whose ref_count differs from their references")
    live_ids = [fid for fid in listed]
    refs = {}
    for fid, n in db.rows("blob", "SELECT file_id, count(*) FROM blob_refs GROUP BY 1"):
        refs[fid.lower()] = int(n)
    multi = [fid for fid in live_ids if refs.get(fid, 0) != 1]
    if multi: dup.append(f"{len(multi)} live files without exactly one blob reference [{short(f'{f}:{refs.get(f, 0)}' for f in multi)}]")
    r = db.rows("thumbnail", "SELECT file_id, size, count(*) FROM thumbnails GROUP BY 1, 2 HAVING count(*) > 1")
    if r: dup.append(f"{len(r)} (file, size) pairs with more than one rendition")
    for name in ("auth", "metadata", "blob", "thumbnail"):
        n = int(db.scalar(name, "SELECT count(*) FROM cirrus_outbox WHERE published_at IS NULL AND created_at < now() - interval '30 seconds'"))
        if n: dup.append(f"{name}: {n} outbox events unpublished for more than 30 s")
    counts = {
        "items": db.scalar("metadata", "SELECT count(*) FROM items WHERE kind = 'file'"),
        "blob refs": db.scalar("blob", "SELECT count(*) FROM blob_refs"),
        "renditions": db.scalar("thumbnail", "SELECT count(*) FROM thumbnails"),
        "metadata inbox": db.scalar("metadata", "SELECT count(*) FROM cirrus_inbox"),
    }
    result("(e) no duplicates from redelivered events", not dup,
           ", ".join(f"{k} {v}" for k, v in counts.items()) + ("; " + "; ".join(dup) if dup else ""))

    details["a"] = {"missing": missing, "wrong": wrong, "trashed_listed": trashed_listed}
    details["b"] = {"bad": bad}
    details["c"] = {"problems": problems}
    details["e"] = {"problems": dup}
    if args.details:
        with open(args.details, "w") as f:
            json.dump(details, f, indent=1)
    failed = [n for n, ok in RESULTS if not ok]
    print(f"invariants: {len(RESULTS) - len(failed)} PASS, {len(failed)} FAIL", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
