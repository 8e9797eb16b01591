"""The measurements of bench/zip.sh (see there) against a stack it started. Needs the venv (requests)."""
import argparse
import os
import statistics
import subprocess
import threading
import time

import requests

from benchuser import bench_user


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """The peak resident memory of PID while running, sampled every 50 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, rss_kib(pid), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.join()
        return self.peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("api")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--mib", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    api, http = args.api.rstrip("/"), requests.Session()
    token = bench_user(http, api, args.stack, "benchzip", "bench-zip")
    auth = {"Authorization": "Bearer " + token}
    root = http.get(api + "/v1/folders/root", headers=auth).json()["id"]

    def folder(name, parent):
        return http.post(api + "/v1/folders", headers=auth, json={"name": name, "parent_id": parent}).json()["id"]

    top = folder("Archiv ä", root)
    folder("leer", folder("tief", top))
    files = []
    per_file = (args.mib << 20) // 8
    block = os.urandom(1 << 20)

    part = os.path.join(args.stack, "part.bin")
    for i in range(8):
        with open(part, "wb") as handle:  # each part different (contents are deduplicated)
            for k in range(per_file >> 20):
                handle.write(bytes([i, k & 0xFF]) + block[2:])
        with open(part, "rb") as handle:
            r = http.post(api + f"/v1/files?folder_id={top}&name=teil-{i}.bin", data=handle, headers=auth)
        if r.status_code != 201:
            raise SystemExit(f"upload failed: {r.status_code} {r.text[:200]}")
        files.append(r.json()["id"])
    os.remove(part)
    for i in range(20):
        http.post(api + f"/v1/files?folder_id={top}&name=klein-{i}.txt", data=f"small {i}\n".encode(), headers=auth)
    total = per_file * 8
    with open(os.path.join(args.stack, "run", "gateway.pid")) as handle:
        gateway = int(handle.read().strip())

    print(f"Folder ZIP of {total >> 20} MiB (8 files of {per_file >> 20} MiB, 20 small files, 3 folders), {args.runs} runs:")
    zips, singles, peaks = [], [], []
    before = rss_kib(gateway)
    for run in range(args.runs):
        sampler = Sampler(gateway)
        sampler.start()
        started = time.monotonic()
        received = 0
        target = os.path.join(args.stack, "folder.zip")
        with http.get(api + f"/v1/folders/{top}/zip", headers=auth, stream=True) as r, open(target if run == 0 else os.devnull, "wb") as out:
            if r.status_code != 200:
                raise SystemExit(f"zip failed: {r.status_code}")
            for chunk in r.iter_content(1 << 20):
                received += len(chunk)
                out.write(chunk)
        seconds = time.monotonic() - started
        peaks.append(sampler.stop())
        zips.append(received / seconds / 1e6)
        if run == 0:
            check = subprocess.run(["unzip", "-tq", target], capture_output=True, text=True)
            if "No errors detected" not in check.stdout:
                raise SystemExit(f"unzip -t failed: {check.stdout[-300:]} {check.stderr[-300:]}")
            os.remove(target)
        started = time.monotonic()
        for file in files:
            with http.get(api + f"/v1/files/{file}/content", headers=auth, stream=True) as r:
                for _ in r.iter_content(1 << 20):
                    pass
        singles.append(total / (time.monotonic() - started) / 1e6)
        print(f"  run {run + 1}: ZIP {zips[-1]:7.1f} MB/s   files one by one {singles[-1]:7.1f} MB/s   gateway RSS peak {peaks[-1] / 1024:6.1f} MiB")
    print(f"  median: ZIP {statistics.median(zips):.1f} MB/s = {statistics.median(zips) / statistics.median(singles):.2f} of single downloads")
    print(f"  gateway RSS: {before / 1024:.1f} MiB before, {max(peaks) / 1024:.1f} MiB at the peak of a {total >> 20} MiB ZIP"
          f" (+{(max(peaks) - before) / 1024:.1f} MiB); unzip -t: no errors")


if __name__ == "__main__":
    main()
