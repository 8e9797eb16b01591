"""What bench/tus.py and bench/webdav.py share: the user they measure with, on a stack they started.
Needs `requests` (the venv)."""
import os
import time
import uuid

import requests


def login(api, name, password):
    return requests.post(api + "/v1/auth/login", json={"login": name, "password": password}).json()["access_token"]


def bench_user(http, api, stack, username, tier_name):
    """Bootstraps the stack's first administrator (with the secret in STACK/secrets), creates the
    tier TIER_NAME (4 GiB uploads, 1 TiB quota, no practical rate limit), registers USERNAME on it
    and waits until metadata knows the tier. Returns an access token of the user."""
    with open(os.path.join(stack, "secrets", "bootstrap-secret")) as handle:
        secret = handle.read().strip()
    password = "Bench-" + uuid.uuid4().hex
    http.post(api + "/v1/auth/bootstrap-admin", headers={"X-Bootstrap-Secret": secret},
              json={"username": "benchadmin", "email": "benchadmin@example.com", "password": password})
    admin = login(api, "benchadmin", password)
    tier = http.post(api + "/v1/admin/tiers", headers={"Authorization": "Bearer " + admin}, json={
        "name": tier_name, "thumbnail_sizes": [200], "original_links": False, "expiring_links": False,
        "link_min_seconds": 300, "link_max_seconds": 3600, "quota_bytes": 1 << 40, "max_upload_bytes": 4 << 30,
        "requests_per_minute": 1000000}).json()["id"]
    http.post(api + "/v1/auth/register", json={"username": username, "email": f"{username}@example.com", "password": password})
    token = login(api, username, password)
    me = http.get(api + "/v1/me", headers={"Authorization": "Bearer " + token}).json()
    http.patch(api + f"/v1/admin/users/{me['id']}", headers={"Authorization": "Bearer " + admin}, json={"tier_id": tier})
    for _ in range(120):
        token = login(api, username, password)
        options = requests.options(api + "/v1/uploads", headers={"Authorization": "Bearer " + token})
        if options.headers.get("Tus-Max-Size") == str(4 << 30):
            break
        time.sleep(0.5)
    return token
