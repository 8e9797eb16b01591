#!/usr/bin/env python3
"""The first steps of a new user on a stack that has just started (GitHub issue 20, item 2).

Run right after the stack is started, before anything else touches it: waits until
GET /v1/status says ready, then at once registers a new user, logs in and asks for the root
folder. The drive must be there on the first request — no "still being set up" 503 while
/v1/status is green (metadata loads the tier catalogue from auth at start and reports the
`tiers` readiness check until it has it).

Usage: Tests/api/cold-start.py API_URL
Python 3 standard library only. Prints one line per check and `N passed, N failed`.
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main():
    api = sys.argv[1].rstrip("/")
    started = time.monotonic()
    status = None
    while time.monotonic() - started < 120:
        status, _ = call("GET", api + "/v1/status")
        if status == 200:
            break
        time.sleep(0.2)
    check("GET /v1/status turns ready", status == 200, f"after {time.monotonic() - started:.1f} s")
    ready_at = time.monotonic()
    name = "cold" + uuid.uuid4().hex[:10]
    password = "Cold-start-" + uuid.uuid4().hex
    status, body = call("POST", api + "/v1/auth/register", {"username": name, "email": f"{name}@example.com", "password": password})
    check("register at once", status == 201, f"{status} {body[:200]!r}")
    status, body = call("POST", api + "/v1/auth/login", {"login": name, "password": password})
    token = json.loads(body).get("access_token") if status == 200 else None
    check("log in at once", token is not None, str(status))
    status, body = call("GET", api + "/v1/folders/root", token=token)
    root = json.loads(body) if status == 200 else {}
    check("GET /v1/folders/root on the first request → 200, the drive is there", status == 200 and root.get("kind") == "folder",
          f"{status} {body[:200]!r}, {time.monotonic() - ready_at:.2f} s after ready")
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
