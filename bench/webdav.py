"""The measurements of bench/webdav.sh (see there) against a stack it started. Needs the venv
(requests), wrk, rclone."""
import argparse
import base64
import hashlib
import os
import re
import statistics
import subprocess
import time

import requests

from benchuser import bench_user


class Bench:
    def __init__(self, args):
        self.args, self.api, self.http = args, args.api.rstrip("/"), requests.Session()
        self.wrk_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk")

    def setup(self):
        self.token = bench_user(self.http, self.api, self.args.stack, "benchdav", "bench-dav")
        self.auth = {"Authorization": "Bearer " + self.token}
        self.app = self.http.post(self.api + "/v1/me/app-passwords", headers=self.auth, json={"name": "bench"}).json()["password"]
        self.basic = base64.b64encode(f"benchdav:{self.app}".encode()).decode()
        self.root = self.http.get(self.api + "/v1/folders/root", headers=self.auth).json()["id"]


    def wrk(self, url, script, header, env=None):
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{self.args.seconds}s", "--latency", "-H", header, "-s",
                              os.path.join(self.wrk_dir, script), url], capture_output=True, text=True,
                             env=dict(os.environ, **(env or {}))).stdout
        m = re.search(r"WRK requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) non2xx=(\d+)", out)
        if not m:
            raise SystemExit(f"wrk gave no report: {out[-400:]}")
        requests_, duration, p50, p99, errors = map(int, m.groups())
        if errors:
            raise SystemExit(f"wrk saw {errors} error answers from {url}")
        return requests_ / (duration / 1e6), p50 / 1000, p99 / 1000

    def listing(self):
        folder = self.http.post(self.api + "/v1/folders", headers=self.auth, json={"name": "thousand", "parent_id": self.root}).json()["id"]
        for i in range(self.args.items):
            r = self.http.post(self.api + f"/v1/files?folder_id={folder}&name=file-{i:04d}.txt", data=f"item {i}\n".encode(),
                               headers=self.auth)
            if r.status_code != 201:
                raise SystemExit(f"could not fill the folder: {r.status_code} {r.text[:200]}")
        check = self.http.request("PROPFIND", self.api + "/dav/thousand/", headers={"Depth": "1", "Authorization": "Basic " + self.basic})
        if check.status_code != 207 or check.text.count("<D:response>") != self.args.items + 1:
            raise SystemExit(f"PROPFIND does not list the folder: {check.status_code}")
        print(f"PROPFIND Depth: 1 of a folder of {self.args.items} files (wrk -t2 -c16 -d{self.args.seconds}s; each answer "
              f"{len(check.content) // 1024} KiB):")
        dav = self.wrk(self.api + "/dav/thousand/", "propfind.lua", "Authorization: Basic " + self.basic, {"DEPTH": "1"})
        print(f"  WebDAV PROPFIND          {dav[0]:8.1f} req/s  p50 {dav[1]:6.1f} ms  p99 {dav[2]:6.1f} ms")
        api = self.wrk(self.api + f"/v1/folders/{folder}/children?limit=1000", "get.lua", "Authorization: Bearer " + self.token)
        print(f"  JSON API children (1000) {api[0]:8.1f} req/s  p50 {api[1]:6.1f} ms  p99 {api[2]:6.1f} ms")
        print(f"  PROPFIND / JSON listing  {dav[0] / api[0]:8.2f}")
        one = self.wrk(self.api + "/dav/thousand/file-0001.txt", "propfind.lua", "Authorization: Basic " + self.basic, {"DEPTH": "0"})
        meta = self.wrk(self.api + "/v1/folders/" + folder, "get.lua", "Authorization: Bearer " + self.token)
        print(f"  PROPFIND Depth: 0 (a file) {one[0]:6.1f} req/s  p50 {one[1]:6.1f} ms   (GET /v1/folders/{{id}}: {meta[0]:.1f} req/s)")

    def rclone(self, *args):
        obscured = subprocess.run(["rclone", "obscure", self.app], capture_output=True, text=True, check=True).stdout.strip()
        env = dict(os.environ, RCLONE_CONFIG_CIRRUS_TYPE="webdav", RCLONE_CONFIG_CIRRUS_URL=self.api + "/dav/",
                   RCLONE_CONFIG_CIRRUS_VENDOR="other", RCLONE_CONFIG_CIRRUS_USER="benchdav", RCLONE_CONFIG_CIRRUS_PASS=obscured,
                   RCLONE_CONFIG=os.path.join(self.args.stack, "rclone.conf"))
        started = time.monotonic()
        subprocess.run(["rclone", *args], env=env, check=True, capture_output=True)
        return time.monotonic() - started

    def transfers(self):
        mib = self.args.mib
        path = os.path.join(self.args.stack, "big.bin")
        with open(path, "wb") as handle:
            block = os.urandom(1 << 20)
            for i in range(mib):
                handle.write(hashlib.sha256(block + i.to_bytes(4, "big")).digest() + block[32:])
        size = mib << 20
        back = os.path.join(self.args.stack, "back.bin")
        results = {"rclone up": [], "rclone down": [], "API up": [], "API down": []}
        for run in range(self.args.runs):
            results["rclone up"].append(self.rclone("copyto", path, f"cirrus:rclone-{run}.bin"))
            results["rclone down"].append(self.rclone("copyto", f"cirrus:rclone-{run}.bin", back))
            if os.path.getsize(back) != size:
                raise SystemExit("rclone's download has the wrong size")
            os.remove(back)
            with open(path, "rb") as handle:
                started = time.monotonic()
                r = self.http.post(self.api + f"/v1/files?folder_id={self.root}&name=api-{run}.bin", data=handle,
                                   headers={**self.auth, "Content-Length": str(size), "Content-Type": "application/octet-stream"})
                results["API up"].append(time.monotonic() - started)
            if r.status_code != 201:
                raise SystemExit(f"API upload: {r.status_code}")
            file_id = r.json()["id"]
            started = time.monotonic()
            with self.http.get(self.api + f"/v1/files/{file_id}/content", headers=self.auth, stream=True) as response:
                got = sum(len(chunk) for chunk in response.iter_content(8 << 20))
            results["API down"].append(time.monotonic() - started)
            if got != size:
                raise SystemExit("API download has the wrong size")
        print(f"\n{mib} MiB file, {self.args.runs} runs each (MB/s = 10^6 bytes/s, median):")
        rates = {name: size / statistics.median(seconds) / 1e6 for name, seconds in results.items()}
        for name, rate in rates.items():
            print(f"  {name:12s} {rate:8.1f} MB/s   ({', '.join(f'{size / s / 1e6:.0f}' for s in results[name])})")
        print(f"  rclone up / API up     {rates['rclone up'] / rates['API up']:.2f}")
        print(f"  rclone down / API down {rates['rclone down'] / rates['API down']:.2f}")
        os.remove(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("api")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2)
    bench = Bench(parser.parse_args())
    bench.setup()
    bench.listing()
    bench.transfers()


if __name__ == "__main__":
    main()
